#include "webhook/gate/approval_match.h"

#include <fmt/format.h>

#include <algorithm>

#include "operator/common/duration.h"
#include "webhook/gate/denial_message.h"

namespace budgetgate::gate {

bool approvalNamesWorkload(const model::RolloutApproval& a, const RolloutRequest& r) {
  return isRolledWorkload(r.kind) && a.workloadKind == workloadApiKind(r.kind) && a.ns == r.ns &&
         a.workloadName == r.name && !r.name.empty();
}

std::string approvalMismatch(const model::RolloutApproval& a, const RolloutRequest& r,
                             const engine::ErrorBudgetPolicy& policy, TimePoint now) {
  if (now >= a.expires) return fmt::format("it expired at {}", formatTime(a.expires));
  // Offline (a file without creationTimestamp) the lifetime left is what is checked.
  const TimePoint from = a.created.value_or(now);
  if (a.expires - from > policy.approvals.maxDuration) {
    return fmt::format("it lasts {}, longer than policy {}'s maxApprovalDuration {}",
                       formatDuration(a.expires - from), policyName(policy),
                       formatDuration(policy.approvals.maxDuration));
  }
  if (!policy.approvers.admits(a.approvedByUser, a.approvedByGroups)) {
    return fmt::format("{} is not an approver under policy {}", a.approvedByUser,
                       policyName(policy));
  }
  if (!a.podTemplateHash.empty()) {
    if (!r.newTemplate || *r.newTemplate != a.podTemplateHash) {
      return fmt::format("it approves pod template {}, this rollout's is {}",
                         a.podTemplateHash.substr(0, 12),
                         r.newTemplate ? r.newTemplate->substr(0, 12) : std::string("unknown"));
    }
    return {};
  }
  if (r.templateImages.empty()) return "the rollout's images could not be read";
  for (const auto& image : r.templateImages) {
    if (std::find(a.images.begin(), a.images.end(), image) == a.images.end()) {
      return fmt::format("it does not approve image {}", image);
    }
  }
  return {};
}

std::string describeApproval(const model::RolloutApproval& a) {
  return fmt::format("{}/{} by {}", a.ns, a.name, a.approvedByUser);
}

}  // namespace budgetgate::gate
