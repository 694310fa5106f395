#include "operator/statuspage/slo_events.h"

#include <algorithm>

#include "operator/common/json.h"
#include "operator/common/object_key.h"
#include "operator/kube/event_recorder.h"

namespace budgetgate::statuspage {
SloEvents parseSloEvents(const rapidjson::Value& list, std::size_t perSlo) {
  SloEvents out;
  const auto* items = json::member(&list, "items");
  if (items == nullptr || !items->IsArray()) return out;
  for (const auto& e : items->GetArray()) {
    if (!e.IsObject()) continue;
    const auto* object = json::member(&e, "involvedObject");
    if (json::stringOr(json::member(object, "kind")) != "ServiceLevelObjective") continue;
    const auto ns = json::stringOr(json::member(object, "namespace"));
    const auto name = json::stringOr(json::member(object, "name"));
    const auto when = kube::eventLastSeen(e);
    if (ns.empty() || name.empty() || !when) continue;
    SloEvent ev;
    ev.type = json::stringOr(json::member(&e, "type"));
    ev.reason = json::stringOr(json::member(&e, "reason"));
    ev.message = json::stringOr(json::member(&e, "message"));
    ev.reporter = json::stringOr(json::member(&e, "reportingComponent"));
    if (ev.reporter.empty()) ev.reporter = json::stringOr(json::path(&e, {"source", "component"}));
    ev.last = *when;
    ev.count = std::max<long long>(1, json::asInt(json::member(&e, "count")).value_or(1));
    out[objectKey(ns, name)].push_back(std::move(ev));
  }
  for (auto& [key, events] : out) {
    std::stable_sort(events.begin(), events.end(),
                     [](const SloEvent& a, const SloEvent& b) { return a.last > b.last; });
    if (events.size() > perSlo) events.resize(perSlo);
  }
  return out;
}

const SloEvent* newest(const std::vector<SloEvent>& events, std::string_view reason) {
  for (const auto& e : events) {
    if (e.reason == reason) return &e;
  }
  return nullptr;
}

}  // namespace budgetgate::statuspage
