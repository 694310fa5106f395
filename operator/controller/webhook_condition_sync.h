#pragma once
// Keeps a matchCondition named "gated-workloads" on the Deployment entry of budgetgate's own
// ValidatingWebhookConfiguration equal to the CEL form of every gating SLO's selector
// (model/selector_cel.h). The API server then calls the webhook only for Deployments some SLO
// selects, so with budgetgate down only gated rollouts wait for it. The condition stays as
// last written while the operator is down: gated Deployments stay gated.
//
// If the API server refuses an expression (too large or too costly for its CEL limits), the
// condition is set to `true`: every Deployment in the gated namespaces is sent to the webhook,
// which is safe (the webhook decides), only less precise.

#include <string>

#include "operator/kube/kube_client.h"

namespace budgetgate::controller {

inline constexpr std::string_view kGatedWorkloadsCondition = "gated-workloads";

class WebhookConditionSync {
 public:
  WebhookConditionSync(const kube::KubeConfig& config, std::string configurationName,
                       std::string webhookName = "deployments.budgetgate.dev");

  // Returns true when the stored configuration carries `expression` (or the fallback `true`).
  bool reconcile(const std::string& expression);
  // The expression stored now ("" when unknown), for tests and logs.
  const std::string& stored() const { return stored_; }

 private:
  bool write(const std::string& expression, std::string* error);

  kube::KubeClient client_;
  std::string configuration_;
  std::string webhook_;
  std::string stored_;
  std::string lastError_;
  int sinceCheck_ = 0;
};

}  // namespace budgetgate::controller
