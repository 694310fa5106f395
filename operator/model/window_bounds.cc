#include "operator/model/window_bounds.h"

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include <cmath>

namespace budgetgate::model {
namespace {

using LocalSeconds = date::local_seconds;

const date::time_zone* findZone(std::string_view name) {
  try {
    return date::locate_zone(std::string(name));
  } catch (const std::exception&) {
    return nullptr;
  }
}

// Adds n calendar units to a local time, clamping the day of month (Jan 31 + 1 month = Feb 28).
LocalSeconds addUnits(LocalSeconds t, CalendarUnit unit, long long n) {
  const auto day = date::floor<date::days>(t);
  const auto timeOfDay = t - day;
  date::year_month_day ymd{day};
  switch (unit) {
    case CalendarUnit::Day:
      return t + date::days(n);
    case CalendarUnit::Week:
      return t + date::days(7 * n);
    case CalendarUnit::Month:
    case CalendarUnit::Quarter:
    case CalendarUnit::Year: {
      const long long months = n * (unit == CalendarUnit::Month     ? 1
                                    : unit == CalendarUnit::Quarter ? 3
                                                                    : 12);
      auto ym = date::year_month(ymd.year(), ymd.month()) + date::months(months);
      auto target = ym / ymd.day();
      if (!target.ok()) target = ym / date::last;
      return LocalSeconds(date::local_days(target)) + timeOfDay;
    }
  }
  return t;
}

long long approxUnitSeconds(CalendarUnit unit) {
  switch (unit) {
    case CalendarUnit::Day:
      return 86400;
    case CalendarUnit::Week:
      return 7 * 86400;
    case CalendarUnit::Month:
      return 2629746;  // average Gregorian month
    case CalendarUnit::Quarter:
      return 3 * 2629746;
    case CalendarUnit::Year:
      return 12 * 2629746;
  }
  return 86400;
}

}  // namespace

bool isKnownTimeZone(std::string_view name) {
  return findZone(name) != nullptr;
}

std::optional<WindowBounds> resolveWindow(const TimeWindow& window, TimePoint at,
                                          std::string* error) {
  if (window.isRolling) return WindowBounds{at - window.duration, at, window.duration};

  const std::string zoneName = window.calendarTimeZone.empty() ? "UTC" : window.calendarTimeZone;
  const auto* zone = findZone(zoneName);
  if (zone == nullptr) {
    if (error) *error = fmt::format("unknown time zone \"{}\"", zoneName);
    return std::nullopt;
  }
  LocalSeconds anchor{};
  {
    const std::string text =
        window.calendarStart.empty() ? std::string("2020-01-01 00:00:00") : window.calendarStart;
    std::size_t used = 0;
    const auto civil = parseCivilTime(text, &used);
    if (civil && used == text.size()) anchor = LocalSeconds(civil->time_since_epoch());
    if (!civil || used != text.size()) {
      if (error) {
        *error = fmt::format("calendar.startTime \"{}\" is not \"YYYY-MM-DD HH:MM:SS\"",
                             window.calendarStart);
      }
      return std::nullopt;
    }
  }
  const auto toSys = [&](LocalSeconds l) {
    return date::floor<std::chrono::seconds>(zone->to_sys(l, date::choose::earliest));
  };
  const long long count = std::max(1, window.calendarCount);
  // Jump close to the right period, then step to it exactly.
  const long long periodSeconds = count * approxUnitSeconds(window.calendarUnit);
  long long k = (at - toSys(anchor)).count() / periodSeconds;
  if ((at - toSys(anchor)).count() < 0) --k;
  auto periodStart = [&](long long i) {
    return toSys(addUnits(anchor, window.calendarUnit, i * count));
  };
  for (int guard = 0; guard < 8 && periodStart(k) > at; ++guard) --k;
  for (int guard = 0; guard < 8 && periodStart(k + 1) <= at; ++guard) ++k;
  const TimePoint start = periodStart(k);
  const TimePoint next = periodStart(k + 1);
  // A period must lie within RFC 3339's years 0000-9999 (it is written to the status), and periods
  // reaching beyond the calendar library's years (±32767) wrap around: they show as a period that
  // misses `at` or whose length is far from count x the unit's average length.
  const TimePoint firstDay{date::sys_days(date::year(0) / 1 / 1)};
  const TimePoint afterLastDay{date::sys_days(date::year(10000) / 1 / 1)};
  const double expected = static_cast<double>(periodSeconds);
  if (!(start <= at && at < next) || start < firstDay || next > afterLastDay ||
      std::abs(static_cast<double>((next - start).count()) - expected) > expected / 10) {
    if (error) {
      *error = fmt::format("a calendar window of {} cannot be placed around {}", window.text,
                           formatTime(at));
    }
    return std::nullopt;
  }
  return WindowBounds{start, at, next - start};
}

}  // namespace budgetgate::model
