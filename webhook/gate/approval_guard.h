#pragma once
// Who may write a RolloutApproval: one of the approvers of a policy that decides the approved
// workload's rollouts, recording themselves (spec.approvedBy is the requester, with groups the
// requester has), for at most that policy's maxApprovalDuration, not already expired. Anyone
// may delete one (that only takes a pass away); metadata-only updates pass. Pure.

#include <string>
#include <utility>
#include <vector>

#include "operator/engine/error_budget_policy.h"
#include "operator/model/rollout_approval.h"
#include "webhook/gate/gate_decision.h"
#include "webhook/gate/known_workload.h"

namespace budgetgate::gate {

// The policies that decide rollouts of the approved workload: those of the namespace's SLOs
// that select it (by its cached labels), or of every SLO in the namespace when the workload is
// not known (yet); `fallback` (the default policy) when there is none.
std::vector<const engine::ErrorBudgetPolicy*> policiesForApproval(
    const model::RolloutApproval& approval, const std::vector<GatedSlo>& slosInNamespace,
    const std::vector<KnownWorkload>& workloadsInNamespace,
    const engine::ErrorBudgetPolicy* fallback);

struct ApprovalWriteDecision {
  bool allowed = true;
  int code = 200;  // 403: not an approver / not themselves; 422: expired or too long
  std::string message;
  std::vector<std::pair<std::string, std::string>> auditAnnotations;
};

ApprovalWriteDecision guardApprovalWrite(
    const model::RolloutApproval& approval, const UserInfo& requester,
    const std::vector<const engine::ErrorBudgetPolicy*>& policies, TimePoint now);

}  // namespace budgetgate::gate
