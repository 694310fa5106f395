#pragma once
// A workload as the webhook's cache knows it (from a watch): enough to tell which SLOs gate it
// and which hand-made Pods and ReplicaSets it would pick up.

#include <optional>
#include <string>

#include "webhook/gate/rollout_request.h"

namespace budgetgate::gate {

struct KnownWorkload {
  WorkloadKind kind = WorkloadKind::Deployment;
  std::string name;
  std::string uid;
  WorkloadLabels identity;
  std::optional<model::LabelSelector> selector;  // spec.selector: the pods it owns
  // An Argo Rollout with spec.workloadRef: the Deployment holding its pod template (whose
  // template labels are then its template labels).
  std::string workloadRef;
};

}  // namespace budgetgate::gate
