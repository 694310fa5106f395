#pragma once
// Where an SLO window starts and ends at a given instant: rolling windows end "now", calendar
// windows are the calendar period (in the SLO's time zone) that contains "now".

#include <optional>
#include <string>
#include <string_view>

#include "operator/common/time.h"
#include "operator/model/slo.h"

namespace budgetgate::model {

struct WindowBounds {
  TimePoint start;  // inclusive
  TimePoint end;    // the evaluation instant
  Seconds length;   // the full window: rolling duration, or the whole calendar period
};

// Returns nullopt and sets *error for an unknown time zone or a malformed startTime.
std::optional<WindowBounds> resolveWindow(const TimeWindow& window, TimePoint at,
                                          std::string* error);

bool isKnownTimeZone(std::string_view name);

}  // namespace budgetgate::model
