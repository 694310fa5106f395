#pragma once
// Whether a RolloutApproval lets one rollout through under one policy: same workload, exactly
// the approved pod template (or only approved images), unexpired, not longer-lived than the
// policy allows, and approved by one of the policy's approvers. Pure.

#include <string>
#include <vector>

#include "operator/engine/error_budget_policy.h"
#include "operator/model/rollout_approval.h"
#include "webhook/gate/rollout_request.h"

namespace budgetgate::gate {

// Whether the approval is about this request's workload at all (namespace, kind, name).
bool approvalNamesWorkload(const model::RolloutApproval& approval, const RolloutRequest& request);

// Empty when `approval` (which names the request's workload) admits it under `policy` at
// `now`; else why not, for the requester ("expired at ...", "approves another pod template").
std::string approvalMismatch(const model::RolloutApproval& approval, const RolloutRequest& request,
                             const engine::ErrorBudgetPolicy& policy, TimePoint now);

// "shop/checkout-v2 by alice"
std::string describeApproval(const model::RolloutApproval& approval);

}  // namespace budgetgate::gate
