#pragma once
// Fingerprints of pod templates, used for two questions the gate asks: "did spec.template
// change?" (only then is an update a rollout) and "is this template one the Deployment ran
// before?" (a rollback). ReplicaSets carry the Deployment's template plus a pod-template-hash
// label, which is removed before fingerprinting so the two compare equal.

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <vector>

namespace budgetgate::gate {

// SHA-256 (hex) of the template's canonical JSON (sorted keys, pod-template-hash removed).
// nullopt when the value is not an object.
std::optional<std::string> templateFingerprint(const rapidjson::Value& podTemplate);
// The same after removing the API server's defaults (pod_defaults.h): how an Argo Rollout's
// template (stored as written) and its ReplicaSets' (defaulted) are compared.
std::optional<std::string> templateFingerprintWithoutDefaults(const rapidjson::Value& podTemplate);

// Every container image of the template (init, app and ephemeral containers), in order.
std::vector<std::string> templateImages(const rapidjson::Value& podTemplate);

}  // namespace budgetgate::gate
