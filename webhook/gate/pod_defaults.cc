#include "webhook/gate/pod_defaults.h"

#include <initializer_list>
#include <string_view>

namespace budgetgate::gate {
namespace {

bool isString(const rapidjson::Value& v, std::string_view s) {
  return v.IsString() && std::string_view(v.GetString(), v.GetStringLength()) == s;
}

// Removes `key` from `object` when `isDefault` says its value is the default.
template <typename Predicate>
void removeIf(rapidjson::Value& object, const char* key, Predicate isDefault) {
  if (!object.IsObject()) return;
  auto it = object.FindMember(key);
  if (it != object.MemberEnd() && isDefault(it->value)) object.RemoveMember(it);
}

void removeString(rapidjson::Value& object, const char* key, std::string_view value) {
  removeIf(object, key, [&](const rapidjson::Value& v) { return isString(v, value); });
}

void removeInt(rapidjson::Value& object, const char* key, long long value) {
  removeIf(object, key,
           [&](const rapidjson::Value& v) { return v.IsInt64() && v.GetInt64() == value; });
}

void removeEmptyObject(rapidjson::Value& object, const char* key) {
  removeIf(object, key, [](const rapidjson::Value& v) { return v.IsObject() && v.ObjectEmpty(); });
}

void removeNull(rapidjson::Value& object, const char* key) {
  removeIf(object, key, [](const rapidjson::Value& v) { return v.IsNull(); });
}

rapidjson::Value* child(rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(key);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

template <typename Fn>
void forEach(rapidjson::Value* list, Fn fn) {
  if (list == nullptr || !list->IsArray()) return;
  for (auto& item : list->GetArray()) fn(item);
}

// The image pull policy the API server picks: Always for `:latest` or no tag, else IfNotPresent.
std::string_view defaultPullPolicy(const rapidjson::Value& container) {
  const auto* image =
      container.IsObject() && container.HasMember("image") ? &container["image"] : nullptr;
  if (image == nullptr || !image->IsString()) return "IfNotPresent";
  const std::string_view s(image->GetString(), image->GetStringLength());
  if (s.find('@') != std::string_view::npos) return "IfNotPresent";  // by digest
  const auto slash = s.rfind('/');
  const auto colon = s.rfind(':');
  const bool tagged =
      colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash);
  return !tagged || s.substr(colon + 1) == "latest" ? "Always" : "IfNotPresent";
}

void removeProbeDefaults(rapidjson::Value* probe) {
  if (probe == nullptr || !probe->IsObject()) return;
  removeInt(*probe, "timeoutSeconds", 1);
  removeInt(*probe, "periodSeconds", 10);
  removeInt(*probe, "successThreshold", 1);
  removeInt(*probe, "failureThreshold", 3);
  if (auto* get = child(*probe, "httpGet")) removeString(*get, "scheme", "HTTP");
}

void removeContainerDefaults(rapidjson::Value& c) {
  if (!c.IsObject()) return;
  const auto pull = defaultPullPolicy(c);
  removeString(c, "imagePullPolicy", pull);
  removeString(c, "terminationMessagePath", "/dev/termination-log");
  removeString(c, "terminationMessagePolicy", "File");
  removeEmptyObject(c, "resources");
  forEach(child(c, "ports"), [](rapidjson::Value& p) { removeString(p, "protocol", "TCP"); });
  for (const char* probe : {"livenessProbe", "readinessProbe", "startupProbe"}) {
    removeProbeDefaults(child(c, probe));
  }
  forEach(child(c, "env"), [](rapidjson::Value& e) {
    if (auto* from = child(e, "valueFrom")) {
      if (auto* field = child(*from, "fieldRef")) removeString(*field, "apiVersion", "v1");
    }
  });
}

void removeVolumeDefaults(rapidjson::Value& v) {
  for (const char* source : {"configMap", "secret"}) {
    if (auto* s = child(v, source)) removeInt(*s, "defaultMode", 420);
  }
  if (auto* projected = child(v, "projected")) removeInt(*projected, "defaultMode", 420);
  if (auto* downward = child(v, "downwardAPI")) {
    removeInt(*downward, "defaultMode", 420);
    forEach(child(*downward, "items"), [](rapidjson::Value& item) {
      if (auto* field = child(item, "fieldRef")) removeString(*field, "apiVersion", "v1");
    });
  }
  if (auto* hostPath = child(v, "hostPath")) removeString(*hostPath, "type", "");
}

}  // namespace

void removePodDefaults(rapidjson::Value& podTemplate) {
  if (!podTemplate.IsObject()) return;
  if (auto* meta = child(podTemplate, "metadata")) {
    removeNull(*meta, "creationTimestamp");
    removeEmptyObject(podTemplate, "metadata");
  }
  auto* spec = child(podTemplate, "spec");
  if (spec == nullptr || !spec->IsObject()) return;
  removeString(*spec, "restartPolicy", "Always");
  removeString(*spec, "dnsPolicy", "ClusterFirst");
  removeString(*spec, "schedulerName", "default-scheduler");
  removeInt(*spec, "terminationGracePeriodSeconds", 30);
  removeEmptyObject(*spec, "securityContext");
  for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
    forEach(child(*spec, list), removeContainerDefaults);
  }
  forEach(child(*spec, "volumes"), removeVolumeDefaults);
}

}  // namespace budgetgate::gate
