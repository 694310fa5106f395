#pragma once
// The webhook's own metrics: decision latency and decisions by tier and outcome, counted with
// atomics so the request path takes no lock.

#include <array>
#include <atomic>
#include <string>

#include "operator/engine/status_tier.h"
#include "operator/metrics/registry.h"

namespace budgetgate::admission {

enum class Outcome { NotGated, Allowed, Warned, Denied, Error };
inline constexpr std::size_t kOutcomeCount = 5;

class WebhookMetrics {
 public:
  WebhookMetrics();
  void record(engine::Tier tier, Outcome outcome, double seconds, bool dryRun);
  // Reviews received by request.kind (kKindNames below), to see which kinds reach the webhook.
  void recordKind(std::size_t kindIndex);
  // In the order of ReviewedKind (admission_review.h).
  static constexpr std::array<const char*, 10> kKindNames = {
      "Deployment", "StatefulSet",           "DaemonSet",         "Rollout",         "ReplicaSet",
      "Pod",        "ServiceLevelObjective", "ErrorBudgetPolicy", "RolloutApproval", "other"};
  void render(std::string& out, double cacheAgeSeconds, bool ready) const;

 private:
  metrics::Histogram latency_;
  std::array<std::array<std::atomic<std::uint64_t>, kOutcomeCount>, 6> decisions_{};
  std::atomic<std::uint64_t> dryRuns_{0};
  std::array<std::atomic<std::uint64_t>, kKindNames.size()> kinds_{};
};

}  // namespace budgetgate::admission
