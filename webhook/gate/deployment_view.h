#pragma once
// Reads the parts of an apps/v1 Deployment, StatefulSet or DaemonSet (as JSON) that the gate
// needs.

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <vector>

#include "webhook/gate/rollout_request.h"

namespace budgetgate::gate {

struct DeploymentView {
  WorkloadKind kind = WorkloadKind::Deployment;  // or StatefulSet, DaemonSet (by its `kind`)
  std::string ns;
  std::string name;
  std::string uid;
  model::Labels labels;
  model::Labels templateLabels;
  model::Labels annotations;
  std::optional<std::string> templateFingerprint;
  // The same without the restartedAt annotation: equal for two templates that differ only by
  // a `kubectl rollout restart`.
  std::optional<std::string> restartlessFingerprint;
  std::vector<std::string> images;
  RolloutStrategy strategy;  // spec.strategy and spec.replicas, Kubernetes' defaults when absent //
                             // of the template's containers (pod_template.h)
};

// nullopt (and *error) when the value is not an object or lacks metadata.
std::optional<DeploymentView> readDeployment(const rapidjson::Value& object, std::string* error);

// The fingerprint of a ReplicaSet's spec.template, or nullopt; without the API server's pod
// defaults for an Argo Rollout's ReplicaSet (pod_template.h).
std::optional<std::string> replicaSetTemplate(const rapidjson::Value& replicaSet,
                                              bool withoutDefaults = false);
// The fingerprint of the pod template a StatefulSet's or DaemonSet's ControllerRevision
// records (data.spec.template, a strategic-merge patch marked "$patch": "replace"), or nullopt.
std::optional<std::string> controllerRevisionTemplate(const rapidjson::Value& revision);
// The UID in a revision's controller owner reference to an apps/v1 Deployment, StatefulSet or
// DaemonSet or an Argo Rollout (a ReplicaSet's or a ControllerRevision's), or empty.
// *ownerKind, when given, gets the owner's kind.
std::string revisionOwnerUid(const rapidjson::Value& revision, std::string* ownerKind = nullptr);

// Copies a string map (labels, annotations), skipping non-string values.
model::Labels readStringMap(const rapidjson::Value* map);

}  // namespace budgetgate::gate
