#include "webhook/admission/webhook_metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace budgetgate::admission {
namespace {
constexpr const char* kOutcomeNames[] = {"not-gated", "allowed", "warned", "denied", "error"};
}

WebhookMetrics::WebhookMetrics()
    : latency_({0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1}) {}

void WebhookMetrics::record(engine::Tier tier, Outcome outcome, double seconds, bool dryRun) {
  latency_.observe(seconds);
  decisions_[static_cast<std::size_t>(tier)][static_cast<std::size_t>(outcome)].fetch_add(
      1, std::memory_order_relaxed);
  if (dryRun) dryRuns_.fetch_add(1, std::memory_order_relaxed);
}

void WebhookMetrics::recordKind(std::size_t kindIndex) {
  kinds_[std::min(kindIndex, kinds_.size() - 1)].fetch_add(1, std::memory_order_relaxed);
}

void WebhookMetrics::render(std::string& out, double cacheAgeSeconds, bool ready) const {
  out += "# HELP budgetgate_webhook_reviews_total AdmissionReviews received, by request kind.\n";
  out += "# TYPE budgetgate_webhook_reviews_total counter\n";
  for (std::size_t k = 0; k < kinds_.size(); ++k) {
    out += fmt::format("budgetgate_webhook_reviews_total{{kind=\"{}\"}} {}\n", kKindNames[k],
                       kinds_[k].load(std::memory_order_relaxed));
  }
  out +=
      "# HELP budgetgate_webhook_decision_duration_seconds Time to decide one AdmissionReview.\n";
  out += "# TYPE budgetgate_webhook_decision_duration_seconds histogram\n";
  latency_.render(out, "budgetgate_webhook_decision_duration_seconds", {});
  out +=
      "# HELP budgetgate_webhook_decisions_total Admission decisions by worst tier and outcome.\n";
  out += "# TYPE budgetgate_webhook_decisions_total counter\n";
  for (std::size_t t = 0; t < decisions_.size(); ++t) {
    for (std::size_t o = 0; o < kOutcomeCount; ++o) {
      const auto n = decisions_[t][o].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += fmt::format("budgetgate_webhook_decisions_total{{tier=\"{}\",outcome=\"{}\"}} {}\n",
                         engine::tierName(static_cast<engine::Tier>(t)), kOutcomeNames[o], n);
    }
  }
  out += "# HELP budgetgate_webhook_dry_run_requests_total Dry-run reviews answered.\n";
  out += "# TYPE budgetgate_webhook_dry_run_requests_total counter\n";
  out += fmt::format("budgetgate_webhook_dry_run_requests_total {}\n", dryRuns_.load());
  out +=
      "# HELP budgetgate_webhook_cache_age_seconds Seconds since the SLO cache last heard from the "
      "API server.\n";
  out += "# TYPE budgetgate_webhook_cache_age_seconds gauge\n";
  out += fmt::format("budgetgate_webhook_cache_age_seconds {}\n",
                     metrics::formatValue(cacheAgeSeconds));
  out += "# HELP budgetgate_webhook_ready Whether the SLO cache has loaded (1) or not (0).\n";
  out += "# TYPE budgetgate_webhook_ready gauge\n";
  out += fmt::format("budgetgate_webhook_ready {}\n", ready ? 1 : 0);
}

}  // namespace budgetgate::admission
