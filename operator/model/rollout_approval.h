#pragma once
// RolloutApproval (slo.budgetgate.dev/v1alpha1): an approver's "yes" to one rollout that the
// policy sends to review (and, where the policy allows it, to defer). It names one workload and
// exactly what may be rolled out (a pod-template fingerprint, or the complete set of images),
// expires, gives a reason, and records who approved it. The webhook checks at creation that the
// recorded approver is the requester; the gate checks at use that the approver is one of the
// deciding policy's approvers. Parsing here; matching in webhook/gate/approval_match.h.

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "operator/common/time.h"
#include "operator/model/diagnostics.h"

namespace budgetgate::model {

struct RolloutApproval {
  std::string ns;
  std::string name;
  std::string workloadKind = "Deployment";
  std::string workloadName;
  // Exactly one of the two says what may be rolled out.
  std::string podTemplateHash;      // as `budgetgate gate` and the denial message print it
  std::vector<std::string> images;  // every container image of the new template must be listed
  TimePoint expires{};
  std::optional<TimePoint> created;  // metadata.creationTimestamp (set by the API server)
  std::string reason;
  std::string approvedByUser;
  std::vector<std::string> approvedByGroups;
};

bool isRolloutApprovalDocument(const YAML::Node& doc);

// Every problem goes to `diagnostics` (nullopt when there was one).
std::optional<RolloutApproval> parseRolloutApproval(const YAML::Node& doc,
                                                    Diagnostics& diagnostics);

}  // namespace budgetgate::model
