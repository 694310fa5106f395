#include "webhook/gate/deployment_view.h"

#include "operator/common/json.h"
#include "webhook/gate/pod_template.h"

namespace budgetgate::gate {

model::Labels readStringMap(const rapidjson::Value* map) {
  model::Labels out;
  if (map == nullptr || !map->IsObject()) return out;
  for (const auto& m : map->GetObject()) {
    if (m.value.IsString()) {
      out.emplace(std::string(m.name.GetString(), m.name.GetStringLength()),
                  std::string(m.value.GetString(), m.value.GetStringLength()));
    }
  }
  return out;
}

std::optional<DeploymentView> readDeployment(const rapidjson::Value& object, std::string* error) {
  if (!object.IsObject()) {
    if (error) *error = "the object is not a JSON object";
    return std::nullopt;
  }
  const auto* meta = json::member(&object, "metadata");
  if (meta == nullptr || !meta->IsObject()) {
    if (error) *error = "the object has no metadata";
    return std::nullopt;
  }
  DeploymentView v;
  v.ns = json::stringOr(json::member(meta, "namespace"));
  v.name = json::stringOr(json::member(meta, "name"));
  v.labels = readStringMap(json::member(meta, "labels"));
  v.annotations = readStringMap(json::member(meta, "annotations"));
  if (const auto* tpl = json::path(&object, {"spec", "template"})) {
    v.templateFingerprint = templateFingerprint(*tpl);
  }
  return v;
}

std::optional<std::string> replicaSetTemplate(const rapidjson::Value& replicaSet) {
  const auto* tpl = json::path(&replicaSet, {"spec", "template"});
  if (tpl == nullptr) return std::nullopt;
  return templateFingerprint(*tpl);
}

}  // namespace budgetgate::gate
