#pragma once
// Keeps the label budgetgate.dev/gated=true on exactly the namespaces that hold a gating SLO
// (one with spec.gate.selector). The chart's webhook configuration selects namespaces by this
// label, so the API server calls the webhook only where a rollout can be gated: with budgetgate
// down, workload writes in every other namespace go on. Namespace labels are cluster-scoped:
// namespace editors cannot set or remove them; only cluster admins and the operator can.

#include <set>
#include <string>

#include "operator/kube/kube_client.h"

namespace budgetgate::controller {

inline constexpr std::string_view kGatedNamespaceLabel = "budgetgate.dev/gated";

class NamespaceLabeler {
 public:
  explicit NamespaceLabeler(const kube::KubeConfig& config);

  // Labels the namespaces in `gated`, unlabels the others that carry the label. Returns false
  // when the API server refused or failed (logged; retried on the next call).
  bool reconcile(const std::set<std::string>& gated);
  long long patches() const { return patches_; }

 private:
  bool setLabel(const std::string& ns, bool gated);

  kube::KubeClient client_;
  std::string lastError_;
  long long patches_ = 0;
};

}  // namespace budgetgate::controller
