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
  v.uid = json::stringOr(json::member(meta, "uid"));
  v.labels = readStringMap(json::member(meta, "labels"));
  v.annotations = readStringMap(json::member(meta, "annotations"));
  const auto intOrString = [](const rapidjson::Value* x, const std::string& fallback) {
    if (x != nullptr && x->IsInt64()) return std::to_string(x->GetInt64());
    return x != nullptr && x->IsString() ? std::string(x->GetString()) : fallback;
  };
  v.kind = rolledWorkloadKind(json::stringOr(json::member(&object, "kind")))
               .value_or(WorkloadKind::Deployment);
  // A StatefulSet's or DaemonSet's spec.updateStrategy: one Pod at a time, no surge.
  if (v.kind != WorkloadKind::Deployment) v.strategy = updateStrategyDefaults();
  const auto* strategy = json::path(
      &object, {"spec", v.kind == WorkloadKind::Deployment ? "strategy" : "updateStrategy"});
  v.strategy.type = json::stringOr(json::member(strategy, "type"), v.strategy.type);
  const auto* rolling = json::member(strategy, "rollingUpdate");
  v.strategy.maxUnavailable =
      intOrString(json::member(rolling, "maxUnavailable"), v.strategy.maxUnavailable);
  v.strategy.maxSurge = intOrString(json::member(rolling, "maxSurge"), v.strategy.maxSurge);
  if (const auto* replicas = json::path(&object, {"spec", "replicas"});
      replicas && replicas->IsInt64()) {
    v.strategy.replicas = replicas->GetInt64();
  }
  if (v.kind == WorkloadKind::DaemonSet) v.strategy.replicas = 0;  // one per node: unknown
  if (const auto* tpl = json::path(&object, {"spec", "template"})) {
    v.templateLabels = readStringMap(json::path(tpl, {"metadata", "labels"}));
    // An Argo Rollout's template is stored as written: compared without defaults.
    const auto fingerprint = [&](const rapidjson::Value& t) {
      return v.kind == WorkloadKind::ArgoRollout ? templateFingerprintWithoutDefaults(t)
                                                 : templateFingerprint(t);
    };
    v.templateFingerprint = fingerprint(*tpl);
    v.images = templateImages(*tpl);
    if (tpl->IsObject()) {
      rapidjson::Document copy;
      copy.CopyFrom(*tpl, copy.GetAllocator());
      if (auto m = copy.FindMember("metadata"); m != copy.MemberEnd() && m->value.IsObject()) {
        auto& templateMeta = m->value;
        if (auto a = templateMeta.FindMember("annotations");
            a != templateMeta.MemberEnd() && a->value.IsObject()) {
          a->value.RemoveMember(std::string(kRestartedAtAnnotation));
          if (a->value.ObjectEmpty()) templateMeta.RemoveMember("annotations");
        }
      }
      v.restartlessFingerprint = fingerprint(copy);
    }
  }
  return v;
}

std::string revisionOwnerUid(const rapidjson::Value& revision, std::string* ownerKind) {
  const auto* refs = json::path(&revision, {"metadata", "ownerReferences"});
  if (refs == nullptr || !refs->IsArray()) return {};
  for (const auto& ref : refs->GetArray()) {
    const auto kind = json::stringOr(json::member(&ref, "kind"));
    const auto workload = rolledWorkloadKind(kind);
    if (workload &&
        json::stringOr(json::member(&ref, "apiVersion")) == workloadApiVersion(*workload) &&
        json::asBool(json::member(&ref, "controller")).value_or(false)) {
      if (ownerKind != nullptr) *ownerKind = kind;
      return json::stringOr(json::member(&ref, "uid"));
    }
  }
  return {};
}

std::optional<std::string> replicaSetTemplate(const rapidjson::Value& replicaSet,
                                              bool withoutDefaults) {
  const auto* tpl = json::path(&replicaSet, {"spec", "template"});
  if (tpl == nullptr) return std::nullopt;
  return withoutDefaults ? templateFingerprintWithoutDefaults(*tpl) : templateFingerprint(*tpl);
}

std::optional<std::string> controllerRevisionTemplate(const rapidjson::Value& revision) {
  const auto* tpl = json::path(&revision, {"data", "spec", "template"});
  if (tpl == nullptr || !tpl->IsObject()) return std::nullopt;
  if (!tpl->HasMember("$patch")) return templateFingerprint(*tpl);
  // The controllers store the template as a patch that replaces the workload's; the marker is
  // not part of the template.
  rapidjson::Document copy;
  copy.CopyFrom(*tpl, copy.GetAllocator());
  copy.RemoveMember("$patch");
  return templateFingerprint(copy);
}

}  // namespace budgetgate::gate
