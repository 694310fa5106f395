#pragma once
// What the gate needs to know about one admission request for a workload (a Deployment, or a
// Pod or ReplicaSet written by hand), independent of the wire format (AdmissionReview JSON or
// the CLI's files).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operator/model/label_selector.h"

namespace budgetgate::gate {

enum class Operation { Create, Update, Delete, Connect };

// ArgoRollout: argoproj.io/v1alpha1 Rollout (Argo Rollouts), when the gate is enabled for it.
enum class WorkloadKind { Deployment, StatefulSet, DaemonSet, ArgoRollout, ReplicaSet, Pod };
// "deployment", "statefulset", "daemonset", "rollout", "replicaset", "pod": as kubectl names
// them in messages.
std::string_view workloadKindName(WorkloadKind kind);
// "Deployment", "StatefulSet", "Rollout"...: the API kind (ownerReferences,
// RolloutApproval.workload.kind).
std::string_view workloadApiKind(WorkloadKind kind);
// The API kind's WorkloadKind, for the kinds whose template changes are rollouts; nullopt for
// any other kind.
std::optional<WorkloadKind> rolledWorkloadKind(std::string_view apiKind);
// Deployments, StatefulSets, DaemonSets and Argo Rollouts: a pod template their controller
// rolls out, with a revision history (ReplicaSets, ControllerRevisions) that tells a rollback.
// ReplicaSets and Pods written by hand are judged as what they would join.
constexpr bool isRolledWorkload(WorkloadKind kind) {
  return kind == WorkloadKind::Deployment || kind == WorkloadKind::StatefulSet ||
         kind == WorkloadKind::DaemonSet || kind == WorkloadKind::ArgoRollout;
}
// The apiVersion of a workload kind ("apps/v1", "argoproj.io/v1alpha1", "v1").
std::string_view workloadApiVersion(WorkloadKind kind);

struct UserInfo {
  std::string username;
  std::vector<std::string> groups;
};

inline constexpr std::string_view kRiskAnnotation = "budgetgate.dev/risk";
inline constexpr std::string_view kReleaseTypeAnnotation = "budgetgate.dev/release-type";
// Changing it re-claims the release type for another rollout (an exception applies only to the
// rollout that asked for it, i.e. the request that sets or changes these annotations).
inline constexpr std::string_view kReleaseRefAnnotation = "budgetgate.dev/release-ref";
// What `kubectl rollout restart` writes into the pod template.
inline constexpr std::string_view kRestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt";

// What identifies a workload to an SLO's selector: its own labels and the labels its pods get
// from its pod template. (A Pod has only the former.)
struct WorkloadLabels {
  model::Labels labels;
  std::optional<model::Labels> templateLabels;  // absent for a Pod
};

// How the request changes the object, as far as the gate is concerned. The caller compares the
// old and new objects (it has both parsed).
enum class Change {
  Created,      // CREATE: a new workload is a rollout
  Template,     // the pod template (a Pod's spec) changed: a rollout
  RestartOnly,  // only the restartedAt annotation of the pod template changed
  Labels,       // labels changed (ReplicaSets: or owner references), the template did not
  None,         // nothing the gate looks at (annotations, replicas, status)
};

// A workload that a hand-made Pod or ReplicaSet belongs to: its controller owner, or one whose
// selector picks it up (it would adopt it, and its pods' Service sends it traffic).
struct RelatedWorkload {
  WorkloadKind kind = WorkloadKind::Deployment;
  std::string name;
  WorkloadLabels identity;
  // UPDATE: it already owned or selected the object as it was (else the object joins it now).
  bool relatedBefore = false;
};

// A workload's rollout strategy as the API server holds it, for the policy's requirements.
// Defaults are a Deployment's (RollingUpdate, 25 %/25 %, 1 replica); a StatefulSet's and a
// DaemonSet's are read from spec.updateStrategy (1 unavailable, no surge).
struct RolloutStrategy {
  std::string field = "spec.strategy";  // where it lives: spec.strategy, spec.updateStrategy
  std::string type = "RollingUpdate";
  std::string maxUnavailable = "25%";  // an integer or a percentage, as Kubernetes writes it
  std::string maxSurge = "25%";
  // Pods the percentages scale with; 0 when unknown (a DaemonSet: one per eligible node).
  long long replicas = 1;
  int canarySteps = 0;  // an Argo Rollout's spec.strategy.canary.steps
};

// A StatefulSet's or DaemonSet's spec.updateStrategy as Kubernetes defaults it. (Built whole:
// GCC 12 at -O3 reports a false -Werror=restrict for assigning literals to the strings.)
inline RolloutStrategy updateStrategyDefaults() {
  return RolloutStrategy{"spec.updateStrategy", "RollingUpdate", "1", "0", 1};
}

struct RolloutRequest {
  Operation operation = Operation::Create;
  std::string subResource;  // "scale", "status" or empty
  bool dryRun = false;
  WorkloadKind kind = WorkloadKind::Deployment;
  std::string ns;
  std::string name;
  WorkloadLabels identity;                    // of the new object
  std::optional<WorkloadLabels> oldIdentity;  // UPDATE: of the object as it was
  model::Labels annotations;                  // of the new object
  model::Labels oldAnnotations;               // UPDATE
  Change change = Change::Created;
  // Fingerprint (pod_template.h) of the new template, to recognise a rollback; the webhook
  // only computes it when the Deployment has revisions to compare with.
  std::optional<std::string> newTemplate;
  // Container images of the new template; filled in only when a RolloutApproval by images
  // names the workload.
  std::vector<std::string> templateImages;
  std::optional<RolloutStrategy> strategy;  // Deployments, StatefulSets, DaemonSets
  UserInfo user;
  // The requester is a workload controller (the deployment or replicaset controller...): the
  // Pods and ReplicaSets it writes are the consequence of a rollout already gated.
  bool byWorkloadController = false;
  // Fingerprints of the pod templates of the revisions (ReplicaSets) that the Deployment's own
  // controller created for this object (matched by UID; see gate_cache.h).
  std::vector<std::string> previousTemplates;
  std::vector<RelatedWorkload> related;
};

// Whether the request claims its release type: a CREATE, or an UPDATE that sets or changes the
// release-type or release-ref annotation. A claim left on the object by an earlier rollout is
// not a claim for this one.
bool claimsReleaseType(const RolloutRequest& request);

}  // namespace budgetgate::gate
