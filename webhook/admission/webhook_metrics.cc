#include "webhook/admission/webhook_metrics.h"

#include <algorithm>
#include <mutex>

namespace budgetgate::admission {
namespace {
constexpr const char* kOutcomeNames[] = {"not-gated", "allowed", "warned", "denied", "error"};
}

WebhookMetrics::WebhookMetrics()
    : latency_({0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1}) {}

void WebhookMetrics::record(std::string_view nsLabel, std::size_t kindIndex, engine::Tier tier,
                            Outcome outcome, double seconds, bool dryRun) {
  latency_.observe(seconds);
  Counts* counts = nullptr;
  {
    std::shared_lock lock(decisionsMutex_);
    if (auto it = decisions_.find(nsLabel); it != decisions_.end()) counts = it->second.get();
  }
  if (counts == nullptr) {
    std::unique_lock lock(decisionsMutex_);
    auto& slot = decisions_[std::string(nsLabel)];
    if (!slot) slot = std::make_unique<Counts>();
    counts = slot.get();
  }
  (*counts)[std::min(kindIndex, kOtherKind)][static_cast<std::size_t>(tier)]
           [static_cast<std::size_t>(outcome)]
               .fetch_add(1, std::memory_order_relaxed);
  if (dryRun) dryRuns_.fetch_add(1, std::memory_order_relaxed);
}

void WebhookMetrics::recordKind(std::size_t kindIndex) {
  kinds_[std::min(kindIndex, kinds_.size() - 1)].fetch_add(1, std::memory_order_relaxed);
}

void WebhookMetrics::collectDecisions(std::vector<metrics::Sample>& out) const {
  std::shared_lock lock(decisionsMutex_);
  for (const auto& [ns, counts] : decisions_) {
    for (std::size_t k = 0; k < counts->size(); ++k) {
      for (std::size_t t = 0; t < kTierCount; ++t) {
        for (std::size_t o = 0; o < kOutcomeCount; ++o) {
          const auto n = (*counts)[k][t][o].load(std::memory_order_relaxed);
          if (n == 0) continue;
          out.push_back({{{"namespace", ns},
                          {"kind", kKindNames[k]},
                          {"tier", std::string(engine::tierName(static_cast<engine::Tier>(t)))},
                          {"outcome", kOutcomeNames[o]}},
                         static_cast<double>(n)});
        }
      }
    }
  }
}

std::vector<metrics::Registration> WebhookMetrics::registerIn(metrics::Registry& registry) const {
  using T = metrics::Registry::Type;
  std::vector<metrics::Registration> r;
  registry.describe("budgetgate_webhook_reviews_total", T::Counter,
                    "AdmissionReviews received, by request kind.");
  for (std::size_t k = 0; k < kinds_.size(); ++k) {
    r.push_back(registry.observe(
        "budgetgate_webhook_reviews_total", {{"kind", kKindNames[k]}},
        [this, k] { return static_cast<double>(kinds_[k].load(std::memory_order_relaxed)); }));
  }
  registry.describe("budgetgate_webhook_decision_duration_seconds", T::Histogram,
                    "Time to decide one AdmissionReview.");
  r.push_back(registry.histogram("budgetgate_webhook_decision_duration_seconds", {}, latency_));
  registry.describe("budgetgate_webhook_decisions_total", T::Counter,
                    "Admission decisions by namespace (\"\" unless an SLO exists there), kind, "
                    "worst tier and outcome.");
  r.push_back(
      registry.collect("budgetgate_webhook_decisions_total",
                       [this](std::vector<metrics::Sample>& out) { collectDecisions(out); }));
  registry.describe("budgetgate_webhook_dry_run_requests_total", T::Counter,
                    "Dry-run reviews answered.");
  r.push_back(registry.observe("budgetgate_webhook_dry_run_requests_total", {}, [this] {
    return static_cast<double>(dryRuns_.load(std::memory_order_relaxed));
  }));
  return r;
}

}  // namespace budgetgate::admission
