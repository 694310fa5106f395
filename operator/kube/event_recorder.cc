#include "operator/kube/event_recorder.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "operator/common/json.h"
#include "operator/common/time.h"

namespace budgetgate::kube {

std::optional<TimePoint> eventLastSeen(const rapidjson::Value& event) {
  for (const auto* v :
       {json::member(&event, "lastTimestamp"), json::member(&event, "eventTime"),
        json::path(&event, {"series", "lastObservedTime"}), json::member(&event, "firstTimestamp"),
        json::path(&event, {"metadata", "creationTimestamp"})}) {
    if (auto t = parseTime(json::stringOr(v))) return t;
  }
  return std::nullopt;
}

EventRecorder::EventRecorder(const KubeConfig& config, std::string component)
    : client_(config), component_(std::move(component)) {}

bool EventRecorder::record(const ObjectRef& object, const std::string& type,
                           const std::string& reason, const std::string& message) {
  const auto now = std::chrono::system_clock::now();
  const auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  const std::string stamp = formatTime(std::chrono::floor<std::chrono::seconds>(now));
  rapidjson::Document e(rapidjson::kObjectType);
  auto& a = e.GetAllocator();
  e.AddMember("apiVersion", "v1", a);
  e.AddMember("kind", "Event", a);
  rapidjson::Value meta(rapidjson::kObjectType);
  // Unique per event, as client-go names them: <object>.<hex nanoseconds>.
  meta.AddMember("name", json::str(fmt::format("{}.{:x}", object.name, nanos), a), a);
  meta.AddMember("namespace", json::str(object.ns, a), a);
  e.AddMember("metadata", meta, a);
  rapidjson::Value involved(rapidjson::kObjectType);
  involved.AddMember("apiVersion", json::str(object.apiVersion, a), a);
  involved.AddMember("kind", json::str(object.kind, a), a);
  involved.AddMember("namespace", json::str(object.ns, a), a);
  involved.AddMember("name", json::str(object.name, a), a);
  if (!object.uid.empty()) involved.AddMember("uid", json::str(object.uid, a), a);
  e.AddMember("involvedObject", involved, a);
  e.AddMember("type", json::str(type, a), a);
  e.AddMember("reason", json::str(reason, a), a);
  e.AddMember("message", json::str(message.substr(0, 1024), a), a);
  e.AddMember("firstTimestamp", json::str(stamp, a), a);
  e.AddMember("lastTimestamp", json::str(stamp, a), a);
  e.AddMember("count", 1, a);
  rapidjson::Value source(rapidjson::kObjectType);
  source.AddMember("component", json::str(component_, a), a);
  e.AddMember("source", source, a);
  e.AddMember("reportingComponent", json::str(component_, a), a);
  auto r = client_.create(kEventResource.collectionPath(object.ns), json::toString(e));
  if (!r.ok()) {
    spdlog::warn("event {} for {}/{} not recorded: {}", reason, object.ns, object.name,
                 r.describe());
    return false;
  }
  return true;
}

}  // namespace budgetgate::kube
