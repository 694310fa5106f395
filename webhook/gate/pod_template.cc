#include "webhook/gate/pod_template.h"

#include "operator/common/json.h"
#include "operator/common/sha256.h"
#include "webhook/gate/pod_defaults.h"

namespace budgetgate::gate {

std::optional<std::string> templateFingerprint(const rapidjson::Value& podTemplate) {
  if (!podTemplate.IsObject()) return std::nullopt;
  // The hash label each controller adds to its ReplicaSets' templates (the deployment
  // controller's, Argo Rollouts') is not part of what the workload asked for.
  const auto* labels = json::path(&podTemplate, {"metadata", "labels"});
  if (labels == nullptr || !labels->IsObject() ||
      (!labels->HasMember("pod-template-hash") &&
       !labels->HasMember("rollouts-pod-template-hash"))) {
    return sha256Hex(json::canonical(podTemplate));
  }
  rapidjson::Document copy;
  copy.CopyFrom(podTemplate, copy.GetAllocator());
  copy["metadata"]["labels"].RemoveMember("pod-template-hash");
  copy["metadata"]["labels"].RemoveMember("rollouts-pod-template-hash");
  if (copy["metadata"]["labels"].ObjectEmpty()) copy["metadata"].RemoveMember("labels");
  return sha256Hex(json::canonical(copy));
}

std::optional<std::string> templateFingerprintWithoutDefaults(const rapidjson::Value& podTemplate) {
  if (!podTemplate.IsObject()) return std::nullopt;
  rapidjson::Document copy;
  copy.CopyFrom(podTemplate, copy.GetAllocator());
  removePodDefaults(copy);
  return templateFingerprint(copy);
}

std::vector<std::string> templateImages(const rapidjson::Value& podTemplate) {
  std::vector<std::string> out;
  for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
    const auto* containers = json::path(&podTemplate, {"spec", list});
    if (containers == nullptr || !containers->IsArray()) continue;
    for (const auto& c : containers->GetArray()) {
      const auto* image = json::member(&c, "image");
      if (image != nullptr && image->IsString()) out.emplace_back(image->GetString());
    }
  }
  return out;
}

}  // namespace budgetgate::gate
