#pragma once
// The SLO controller: watches ServiceLevelObjectives and ErrorBudgetPolicies, evaluates every
// SLO against Prometheus on an interval (and soon after a spec change), writes the status
// subresource, records Events when a tier changes, and exports metrics. With leader election
// only the lease holder evaluates and writes; the others keep their caches warm.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "operator/common/rate_limiter.h"
#include "operator/controller/namespace_labeler.h"
#include "operator/controller/shard.h"
#include "operator/controller/webhook_condition_sync.h"
#include "operator/kube/event_recorder.h"
#include "operator/kube/informer.h"
#include "operator/kube/leader_election.h"
#include "operator/kube/rollout_history.h"
#include "operator/metrics/registry.h"
#include "operator/model/budget_adjustment.h"
#include "operator/model/policy_resolution.h"
#include "operator/model/slo.h"
#include "operator/model/slo_view.h"
#include "operator/prometheus/multi_source_evaluator.h"

namespace budgetgate::controller {

struct ControllerOptions {
  std::chrono::seconds interval{30};
  std::chrono::seconds heartbeat{120};  // rewrite an unchanged status this often (freshness)
  model::PolicyLookup policyLookup;
  engine::ErrorBudgetPolicy fallbackPolicy;
  bool leaderElection = true;
  kube::LeaderElectionConfig election;
  prometheus::EvaluatorOptions evaluator;
  // Named data sources (--datasources) SLOs may read by metricSourceRef; the others read the
  // default Prometheus given to the constructor.
  std::vector<prometheus::NamedDataSource> dataSources;
  std::size_t writeConcurrency = 4;
  // Status writes per second (and at once) this controller allows itself against the API
  // server, like client-go's QPS/burst; 0: unlimited. Heartbeats only use spare capacity.
  // The SLOs this controller evaluates (shard.h); 0/1 evaluates all. A sharded controller
  // elects its leader on the Lease election.name + "-shard-K"; shard 0 alone keeps the
  // namespace labels and the webhook's matchCondition (they cover every SLO).
  ShardAssignment shard;
  double statusWriteQps = 200;
  int statusWriteBurst = 400;
  // Keep budgetgate.dev/gated on the namespaces with gating SLOs (namespace_labeler.h).
  bool manageNamespaceLabels = true;
  // budgetgate's ValidatingWebhookConfiguration: keep its Deployment entry's "gated-workloads"
  // matchCondition equal to the gating SLOs' selectors (webhook_condition_sync.h). Empty: off.
  std::string webhookConfiguration;
  // The SLO label whose value is the `team` label of the per-SLO metrics ("" when absent).
  std::string teamLabel = "team";
};

class SloController {
 public:
  SloController(const kube::KubeConfig& config, prometheus::PrometheusApi& prometheus,
                metrics::Registry& registry, ControllerOptions options);
  ~SloController();

  void start();
  void stop();
  bool ready() const;    // caches listed
  bool healthy() const;  // the loop is making progress
  bool leading() const;
  long long cycles() const { return cycles_; }
  // Every SLO, ordered by namespace and name; only those of `ns` when it is not empty; only
  // the one named `name` in `ns` when that is given too.
  std::vector<model::SloView> views(const std::string& ns = {}, const std::string& name = {}) const;

 private:
  struct SloState {
    std::string ns, name, uid;
    long long generation = 0;
    std::optional<model::ServiceLevelObjective> spec;
    std::string specError;
    std::string specFingerprint;  // spec, labels and annotations as read: unchanged, not re-parsed
    std::optional<model::SloStatus> serverStatus;  // as last seen on the API server
    std::string writtenDigest;
    std::chrono::steady_clock::time_point writtenAt{};
    long long evaluatedGeneration = -1;
  };

  void onSloUpsert(const rapidjson::Value& object);
  void onSloDelete(const std::string& ns, const std::string& name);
  void onPolicyUpsert(const rapidjson::Value& object);
  void onPolicyDelete(const std::string& ns, const std::string& name);
  void onAdjustmentUpsert(const rapidjson::Value& object);
  void onAdjustmentDelete(const std::string& ns, const std::string& name);
  // The rollouts of the workloads each item's SLO gates, one ReplicaSet list per namespace.
  std::map<std::string, std::vector<kube::WorkloadRevision>> revisionsByNamespace(
      const std::set<std::string>& namespaces);
  void loop(std::stop_token stop);
  void cycle();
  bool writeStatus(const std::string& ns, const std::string& name, const model::SloStatus& status);
  // Under mutex_.
  void exportMetrics(const model::ServiceLevelObjective& slo, const model::SloStatus& status);
  void wake();

  kube::KubeConfig config_;
  kube::KubeClient client_;
  metrics::Registry& registry_;
  ControllerOptions options_;
  RateLimiter writeLimiter_;
  prometheus::MultiSourceEvaluator evaluator_;
  kube::EventRecorder events_;
  NamespaceLabeler namespaceLabeler_;
  std::unique_ptr<WebhookConditionSync> conditionSync_;
  std::shared_ptr<const engine::ErrorBudgetPolicy> fallback_;

  mutable std::mutex mutex_;
  std::map<std::string, SloState> slos_;
  model::PolicyMap policies_;
  std::map<std::string, std::shared_ptr<const model::BudgetAdjustment>> adjustments_;
  // The service and team each SLO's series were last exported with: a changed service or team
  // replaces the series instead of adding to them.
  metrics::SeriesLabels exportedLabels_{registry_};

  std::unique_ptr<kube::Informer> sloInformer_;
  std::unique_ptr<kube::Informer> policyInformer_;
  std::unique_ptr<kube::Informer> adjustmentInformer_;
  std::unique_ptr<kube::LeaderElector> elector_;
  std::atomic<bool> leading_{false};
  std::atomic<bool> wakeRequested_{false};
  std::atomic<bool> stopping_{false};  // no status writes from a cycle cut short by stop()
  std::atomic<long long> cycles_{0};
  std::atomic<long long> lastLoopNs_{0};
  std::mutex wakeMutex_;
  std::condition_variable_any wakeCv_;
  std::jthread thread_;
};

}  // namespace budgetgate::controller
