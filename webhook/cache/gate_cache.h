#pragma once
// What the admission gate reads on every request, kept in memory and current by watches:
// SLO selectors and statuses, policies, workloads (Deployments, StatefulSets, DaemonSets:
// labels, template labels, selector: which SLOs gate them, which hand-made Pods and ReplicaSets
// they pick up) and the pod-template fingerprints of their revisions (for rollback
// recognition: a Deployment's ReplicaSets, a StatefulSet's or DaemonSet's ControllerRevisions).
// Requests read an immutable snapshot; updates build a new one in the background, so the request
// path never waits on the API server or Prometheus.
//
// A revision counts for a Deployment only when the ReplicaSet's controller owner reference
// names that Deployment's UID: a ReplicaSet made by hand for a same-named Deployment, or one
// left by a deleted predecessor, is not its history. The webhook itself refuses ReplicaSets of
// gated Deployments written by anyone but their controller (gate::GateAction::RevisionGuard),
// so every revision of a gated Deployment was written by its controller. ControllerRevisions
// count the same way (controller owner reference by UID); Kubernetes' `edit` and `admin` roles
// only read them, so namespace editors cannot write one at all.

#include <rapidjson/document.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "operator/engine/error_budget_policy.h"
#include "operator/kube/informer.h"
#include "operator/model/policy_resolution.h"
#include "operator/model/rollout_approval.h"
#include "webhook/gate/gate_decision.h"
#include "webhook/gate/known_workload.h"

namespace budgetgate::cache {

struct GateSnapshot {
  std::map<std::string, std::vector<gate::GatedSlo>, std::less<>> slosByNamespace;
  std::vector<gate::GatedSlo> allSlos;  // the same, in one list (policy writes judge them all)
  model::PolicyMap policies;            // "ns/name"; also keeps the GatedSlo pointers valid
  std::shared_ptr<const engine::ErrorBudgetPolicy> fallback;
  // Pod-template fingerprints of the revisions of each workload an SLO selects, by the
  // workload's UID.
  std::map<std::string, std::vector<std::string>, std::less<>> revisionsByOwnerUid;
  std::map<std::string, std::vector<gate::KnownWorkload>, std::less<>> workloadsByNamespace;
  // Valid RolloutApprovals (expired ones too: the gate says why one does not count).
  std::map<std::string, std::vector<model::RolloutApproval>, std::less<>> approvalsByNamespace;
  std::size_t sloCount = 0;
  std::size_t policyCount = 0;
  std::size_t replicaSetCount = 0;
  std::size_t controllerRevisionCount = 0;
  std::size_t gatedRevisionCount = 0;  // in revisionsByOwnerUid
  std::size_t workloadCount = 0;
  std::size_t approvalCount = 0;
};

struct GateCacheOptions {
  std::string gateNamespace = "budgetgate";
  std::string defaultPolicyName = "default";
  // Used when an SLO's policy (or the default one) does not exist as an object.
  engine::ErrorBudgetPolicy fallbackPolicy;
  bool watchReplicaSets = true;
  bool watchDeployments = true;
  // StatefulSets, DaemonSets and their ControllerRevisions.
  bool watchStatefulSetsAndDaemonSets = true;
  // Argo Rollouts (argoproj.io/v1alpha1 rollouts; an absent CRD reads as none).
  bool watchArgoRollouts = false;
  bool watchApprovals = true;
};

class GateCache {
 public:
  explicit GateCache(GateCacheOptions options);
  ~GateCache();

  // Starts informers for SLOs, policies and ReplicaSets.
  void start(const kube::KubeConfig& config);
  void stop();

  // Ready once every informer has listed and a snapshot reflects it.
  bool ready() const;
  std::shared_ptr<const GateSnapshot> snapshot() const;
  // Seconds since the cache last heard from the API server (watch events, bookmarks, lists).
  double secondsSinceContact() const;

  // Direct feeding (used by the informers, and by tests without an API server).
  void upsertSlo(const rapidjson::Value& object);
  void deleteSlo(const std::string& ns, const std::string& name);
  void upsertPolicy(const rapidjson::Value& object);
  void deletePolicy(const std::string& ns, const std::string& name);
  void upsertReplicaSet(const rapidjson::Value& object);
  void deleteReplicaSet(const std::string& ns, const std::string& name);
  void upsertDeployment(const rapidjson::Value& object) {
    upsertWorkload(gate::WorkloadKind::Deployment, object);
  }
  void deleteDeployment(const std::string& ns, const std::string& name) {
    deleteWorkload(gate::WorkloadKind::Deployment, ns, name);
  }
  // Deployments, StatefulSets, DaemonSets, Argo Rollouts.
  void upsertWorkload(gate::WorkloadKind kind, const rapidjson::Value& object);
  void deleteWorkload(gate::WorkloadKind kind, const std::string& ns, const std::string& name);
  // A StatefulSet's or DaemonSet's revision (apps/v1 ControllerRevision).
  void upsertControllerRevision(const rapidjson::Value& object);
  void deleteControllerRevision(const std::string& ns, const std::string& name);
  void upsertApproval(const rapidjson::Value& object);
  void deleteApproval(const std::string& ns, const std::string& name);
  // Builds a snapshot now (tests; the background thread does it otherwise).
  void rebuild();
  model::PolicyLookup lookup() const {
    return {options_.gateNamespace, options_.defaultPolicyName};
  }

 private:
  struct SloEntry {
    std::string ns, name, uid;
    std::optional<model::LabelSelector> selector;
    std::string policyRef;
    std::optional<model::SloStatus> status;
    long long generation = 0;
  };
  struct RevisionEntry {
    std::string ownerUid;  // of the workload named by its controller owner reference
    std::string fingerprint;
  };
  // Stores (or, without a fingerprint, removes) a revision; false when nothing changed, so that
  // status-only updates do not rebuild the snapshot.
  bool storeRevision(std::map<std::string, RevisionEntry>& revisions, const std::string& key,
                     const std::string& ownerUid, const std::optional<std::string>& fingerprint);
  void addWorkloadInformer(const kube::KubeConfig& config, gate::WorkloadKind kind,
                           const kube::Resource& resource);
  void markDirty();
  void publisher(std::stop_token stop);

  GateCacheOptions options_;
  mutable std::mutex mutex_;  // guards the raw maps below
  std::map<std::string, SloEntry> slos_;
  model::PolicyMap policies_;
  std::map<std::string, RevisionEntry> replicaSets_;
  std::map<std::string, RevisionEntry> controllerRevisions_;
  // "kind/ns/name" -> (ns, workload)
  std::map<std::string, std::pair<std::string, gate::KnownWorkload>> workloads_;
  std::map<std::string, model::RolloutApproval> approvals_;
  std::shared_ptr<const engine::ErrorBudgetPolicy> fallback_;

  mutable std::mutex snapshotMutex_;
  std::shared_ptr<const GateSnapshot> snapshot_;
  std::atomic<bool> dirty_{true};
  std::atomic<bool> builtAfterSync_{false};
  std::condition_variable_any wake_;
  std::mutex wakeMutex_;

  std::vector<std::unique_ptr<kube::Informer>> informers_;
  std::jthread publisherThread_;
};

}  // namespace budgetgate::cache
