#pragma once
// Which ErrorBudgetPolicy governs an SLO: spec.gate.policyRef (or the default policy's name)
// looked up in the SLO's namespace, then in budgetgate's own namespace, else the built-in
// fallback. The controller and the webhook must agree, so both call this.

#include <map>
#include <memory>
#include <string>

#include "operator/common/object_key.h"
#include "operator/engine/error_budget_policy.h"

namespace budgetgate::model {

using PolicyMap =
    std::map<std::string, std::shared_ptr<const engine::ErrorBudgetPolicy>>;  // "ns/name"

struct PolicyLookup {
  std::string gateNamespace = "budgetgate";
  std::string defaultPolicyName = "default";
};

inline std::shared_ptr<const engine::ErrorBudgetPolicy> resolvePolicy(
    const PolicyMap& policies, const PolicyLookup& lookup, const std::string& sloNamespace,
    const std::string& policyRef,
    const std::shared_ptr<const engine::ErrorBudgetPolicy>& fallback) {
  const std::string& name = policyRef.empty() ? lookup.defaultPolicyName : policyRef;
  if (auto it = policies.find(objectKey(sloNamespace, name)); it != policies.end())
    return it->second;
  if (auto it = policies.find(objectKey(lookup.gateNamespace, name)); it != policies.end())
    return it->second;
  return fallback;
}

}  // namespace budgetgate::model
