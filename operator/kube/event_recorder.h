#pragma once
// Kubernetes Events about budgetgate's objects (core/v1 Event), e.g. tier changes and
// exceptions used at admission. Best effort: a failure is logged, never fatal.

#include <rapidjson/document.h>

#include <optional>
#include <string>

#include "operator/common/time.h"
#include "operator/kube/kube_client.h"

namespace budgetgate::kube {

// When an Event (as the API server returns it) was last seen: lastTimestamp, else eventTime,
// series.lastObservedTime, firstTimestamp, metadata.creationTimestamp; nullopt when none parses.
std::optional<TimePoint> eventLastSeen(const rapidjson::Value& event);

struct ObjectRef {
  std::string apiVersion;
  std::string kind;
  std::string ns;
  std::string name;
  std::string uid;
};

class EventRecorder {
 public:
  EventRecorder(const KubeConfig& config, std::string component);
  // type: "Normal" or "Warning"; reason: CamelCase ("TierChanged").
  bool record(const ObjectRef& object, const std::string& type, const std::string& reason,
              const std::string& message);

 private:
  KubeClient client_;
  std::string component_;
};

}  // namespace budgetgate::kube
