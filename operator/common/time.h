#pragma once
// Instants: RFC 3339 text <-> a seconds-resolution UTC time point.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "operator/common/duration.h"

namespace budgetgate {

using TimePoint = std::chrono::sys_seconds;

// Accepts RFC 3339 ("2026-01-31T00:00:00Z", with fractional seconds or a numeric offset) and,
// for command-line convenience, Unix seconds ("1769817600"). Fractions are truncated. Instants
// outside the years 0000-9999 are rejected, so that every accepted one can be written back.
std::optional<TimePoint> parseTime(std::string_view text);

// "YYYY-MM-DD HH:MM:SS" (or with T) read as a civil time without zone; *consumed gets the
// number of characters read. Used for RFC 3339 and for OpenSLO calendar start times.
std::optional<std::chrono::sys_seconds> parseCivilTime(std::string_view text,
                                                       std::size_t* consumed);

// "2026-01-31T00:00:00Z"
std::string formatTime(TimePoint t);

// The wall clock, truncated to seconds. The only clock read in the project's libraries is
// passed in by callers; this helper lives here so that the edges all read it the same way.
TimePoint nowSeconds();

}  // namespace budgetgate
