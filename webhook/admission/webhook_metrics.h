#pragma once
// The webhook's own metrics: decision latency, decisions by namespace, kind, tier and outcome,
// reviews by kind. Counted with atomics so the request path takes no exclusive lock (only a
// shared one, and an exclusive one the first time a namespace is seen); rendered through a
// metrics::Registry.

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "operator/engine/status_tier.h"
#include "operator/metrics/registry.h"

namespace budgetgate::admission {

enum class Outcome { NotGated, Allowed, Warned, Denied, Error };
inline constexpr std::size_t kOutcomeCount = 5;
inline constexpr std::size_t kTierCount = static_cast<std::size_t>(engine::Tier::Unknown) + 1;

class WebhookMetrics {
 public:
  WebhookMetrics();
  // `nsLabel` is the namespace label of the decision: the caller bounds it (see
  // AdmissionHandler::handle: "" unless an SLO exists in the namespace). `kindIndex` indexes
  // kKindNames.
  void record(std::string_view nsLabel, std::size_t kindIndex, engine::Tier tier, Outcome outcome,
              double seconds, bool dryRun);
  // Reviews received by request.kind (kKindNames below), to see which kinds reach the webhook.
  void recordKind(std::size_t kindIndex);
  // In the order of ReviewedKind (admission_review.h).
  static constexpr std::array<const char*, 10> kKindNames = {
      "Deployment", "StatefulSet",           "DaemonSet",         "Rollout",         "ReplicaSet",
      "Pod",        "ServiceLevelObjective", "ErrorBudgetPolicy", "RolloutApproval", "other"};
  static constexpr std::size_t kOtherKind = kKindNames.size() - 1;
  // Describes and registers the families (reviews, latency, decisions, dry runs) in `registry`;
  // the registrations must be destroyed before this object.
  std::vector<metrics::Registration> registerIn(metrics::Registry& registry) const;

 private:
  using Counts =
      std::array<std::array<std::array<std::atomic<std::uint64_t>, kOutcomeCount>, kTierCount>,
                 kKindNames.size()>;
  void collectDecisions(std::vector<metrics::Sample>& out) const;

  metrics::Histogram latency_;
  // By namespace label; entries are never erased, so a Counts pointer stays valid.
  mutable std::shared_mutex decisionsMutex_;
  std::map<std::string, std::unique_ptr<Counts>, std::less<>> decisions_;
  std::atomic<std::uint64_t> dryRuns_{0};
  std::array<std::atomic<std::uint64_t>, kKindNames.size()> kinds_{};
};

}  // namespace budgetgate::admission
