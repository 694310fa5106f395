#include "webhook/gate/approval_guard.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "operator/common/duration.h"
#include "operator/common/object_key.h"
#include "webhook/gate/denial_message.h"

namespace budgetgate::gate {
namespace {

std::string subjectsText(const engine::Subjects& s) {
  return s.empty() ? std::string("nobody") : describeSubjects(s);
}

bool selects(const GatedSlo& slo, const WorkloadLabels& w) {
  return slo.selector && (slo.selector->matches(w.labels) ||
                          (w.templateLabels && slo.selector->matches(*w.templateLabels)));
}

ApprovalWriteDecision refuse(int code, std::string message) {
  ApprovalWriteDecision d;
  d.allowed = false;
  d.code = code;
  d.message = std::move(message);
  d.auditAnnotations = {{"decision", "denied"}};
  return d;
}

}  // namespace

std::vector<const engine::ErrorBudgetPolicy*> policiesForApproval(
    const model::RolloutApproval& a, const std::vector<GatedSlo>& slos,
    const std::vector<KnownWorkload>& workloads, const engine::ErrorBudgetPolicy* fallback) {
  const auto known = std::find_if(workloads.begin(), workloads.end(), [&](const KnownWorkload& w) {
    return isRolledWorkload(w.kind) && workloadApiKind(w.kind) == a.workloadKind &&
           w.name == a.workloadName;
  });
  std::vector<const engine::ErrorBudgetPolicy*> out;
  for (const auto& slo : slos) {
    if (slo.policy == nullptr || slo.ns != a.ns) continue;
    if (known != workloads.end() && !selects(slo, known->identity)) continue;
    if (std::find(out.begin(), out.end(), slo.policy) == out.end()) out.push_back(slo.policy);
  }
  if (out.empty() && fallback != nullptr) out.push_back(fallback);
  return out;
}

ApprovalWriteDecision guardApprovalWrite(
    const model::RolloutApproval& a, const UserInfo& requester,
    const std::vector<const engine::ErrorBudgetPolicy*>& policies, TimePoint now) {
  const std::string object = fmt::format("RolloutApproval {}/{}", a.ns, a.name);
  if (a.approvedByUser != requester.username) {
    // The record must be true: nobody approves in someone else's name.
    return refuse(403, fmt::format("budgetgate: {}: spec.approvedBy.user must be the requester "
                                   "({}), not \"{}\"",
                                   object, requester.username, a.approvedByUser));
  }
  for (const auto& g : a.approvedByGroups) {
    if (std::find(requester.groups.begin(), requester.groups.end(), g) == requester.groups.end()) {
      return refuse(403, fmt::format("budgetgate: {}: spec.approvedBy.groups lists \"{}\", a "
                                     "group {} is not in",
                                     object, g, requester.username));
    }
  }
  if (a.expires <= now) {
    return refuse(422, fmt::format("budgetgate: {}: spec.expires {} is not in the future", object,
                                   formatTime(a.expires)));
  }
  // The approver must be one under a policy that decides this workload; the longest lifetime
  // among those policies bounds the approval.
  const engine::ErrorBudgetPolicy* best = nullptr;
  std::string policyNames;
  std::string approversText;
  for (const auto* p : policies) {
    policyNames += (policyNames.empty() ? "" : ", ") + policyName(*p);
    approversText += fmt::format("{}{}: {}", approversText.empty() ? "" : "; ", policyName(*p),
                                 subjectsText(p->approvers));
    if (!p->approvers.admits(a.approvedByUser, a.approvedByGroups)) continue;
    if (best == nullptr || p->approvals.maxDuration > best->approvals.maxDuration) best = p;
  }
  if (best == nullptr) {
    return refuse(
        403, fmt::format("budgetgate: {}: {} (as recorded in spec.approvedBy) is not an approver "
                         "under the policies that decide deployment {}/{} ({}); their "
                         "review.approvers are {}",
                         object, a.approvedByUser, a.ns, a.workloadName,
                         policyNames.empty() ? std::string("none") : policyNames,
                         approversText.empty() ? std::string("none") : approversText));
  }
  if (a.expires - now > best->approvals.maxDuration) {
    return refuse(422, fmt::format("budgetgate: {}: it would last {}, longer than policy {}'s "
                                   "review.maxApprovalDuration {}",
                                   object, formatDuration(a.expires - now), policyName(*best),
                                   formatDuration(best->approvals.maxDuration)));
  }
  ApprovalWriteDecision d;
  d.message = fmt::format("{} approves {} of deployment {}/{} until {} (by {}: {})", object,
                          a.podTemplateHash.empty()
                              ? "images " + fmt::format("{}", fmt::join(a.images, ", "))
                              : "pod template " + a.podTemplateHash.substr(0, 12),
                          a.ns, a.workloadName, formatTime(a.expires), a.approvedByUser, a.reason);
  d.auditAnnotations = {{"decision", "allowed"},
                        {"approver", a.approvedByUser},
                        {"workload", "deployment " + objectKey(a.ns, a.workloadName)},
                        {"expires", formatTime(a.expires)}};
  return d;
}

}  // namespace budgetgate::gate
