#pragma once
// What the gate needs to know about one admission request for a Deployment, independent of
// the wire format (AdmissionReview JSON or the CLI's files).

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "operator/model/label_selector.h"

namespace budgetgate::gate {

enum class Operation { Create, Update, Delete, Connect };

struct UserInfo {
  std::string username;
  std::vector<std::string> groups;
};

inline constexpr std::string_view kRiskAnnotation = "budgetgate.dev/risk";
inline constexpr std::string_view kReleaseTypeAnnotation = "budgetgate.dev/release-type";

struct RolloutRequest {
  Operation operation = Operation::Create;
  std::string subResource;  // "scale", "status" or empty
  bool dryRun = false;
  std::string ns;
  std::string name;
  model::Labels labels;       // of the new object
  model::Labels annotations;  // of the new object
  // UPDATE: whether spec.template differs from the old object's (a missing template counts as
  // changed); CREATE: always a rollout. The caller compares: the webhook compares the parsed
  // objects, which is cheaper than fingerprinting both.
  bool templateChanged = true;
  // Fingerprint (pod_template.h) of the new template, to recognise a rollback; the webhook
  // only computes it when the Deployment has ReplicaSets to compare with.
  std::optional<std::string> newTemplate;
  UserInfo user;
  // Fingerprints of the templates of this Deployment's ReplicaSets (its recent revisions).
  std::vector<std::string> previousTemplates;
};

}  // namespace budgetgate::gate
