#pragma once
// The Events recorded on ServiceLevelObjectives — tier changes and missing data (the
// controller), rollouts denied or warned (the webhook), adjustments — read from an Events list
// for the status page's "last denial" and history. Pure: parses what the API server returned.
//
// Events are not evidence: anyone who may create Events in a namespace (the `edit` role may)
// can write one that names an SLO. The page shows them as the API server holds them, marked
// as Events; decisions themselves are in the API server's audit log.

#include <rapidjson/document.h>

#include <map>
#include <string>
#include <vector>

#include "operator/common/time.h"

namespace budgetgate::statuspage {

struct SloEvent {
  std::string type;  // Normal, Warning
  std::string reason;
  std::string message;
  std::string reporter;  // reportingComponent or source.component
  TimePoint last{};
  long long count = 1;
};

// Events by SLO key ("ns/name"), newest first, at most `perSlo` each.
using SloEvents = std::map<std::string, std::vector<SloEvent>, std::less<>>;

// From the body of GET /api/v1/events (items of kind Event); items about other kinds are
// skipped, unreadable ones too.
SloEvents parseSloEvents(const rapidjson::Value& list, std::size_t perSlo);

// The newest event with this reason, or nullptr.
const SloEvent* newest(const std::vector<SloEvent>& events, std::string_view reason);

}  // namespace budgetgate::statuspage
