#include "operator/model/cron_schedule.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <sstream>
#include <vector>

namespace budgetgate::model {
namespace {

struct FieldRange {
  const char* name;
  int low;
  int high;
};
constexpr std::array<FieldRange, 5> kFields{{{"minute", 0, 59},
                                             {"hour", 0, 23},
                                             {"day of month", 1, 31},
                                             {"month", 1, 12},
                                             {"day of week", 0, 7}}};

std::optional<int> number(const std::string& s) {
  int v = 0;
  const auto* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p != end || s.empty()) return std::nullopt;
  return v;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!s.empty() && s.back() == sep) parts.emplace_back();
  return parts;
}

// Sets the values of one field's text; returns an error message or "".
std::string parseField(const std::string& text, const FieldRange& range, std::vector<bool>& set) {
  set.assign(static_cast<std::size_t>(range.high) + 1, false);
  for (const auto& item : split(text, ',')) {
    if (item.empty()) return "an empty list item";
    std::string span = item;
    int step = 1;
    if (auto slash = item.find('/'); slash != std::string::npos) {
      span = item.substr(0, slash);
      auto s = number(item.substr(slash + 1));
      if (!s || *s < 1) return fmt::format("\"{}\": the step must be a positive number", item);
      step = *s;
    }
    int from = range.low;
    int to = range.high;
    if (span != "*") {
      const auto dash = span.find('-');
      auto a = number(span.substr(0, dash));
      auto b = dash == std::string::npos ? a : number(span.substr(dash + 1));
      if (!a || !b) return fmt::format("\"{}\" is not a number, a range or *", item);
      if (*a < range.low || *b > range.high || *a > *b) {
        return fmt::format("\"{}\" is out of range {}-{}", span, range.low, range.high);
      }
      from = *a;
      // "a/n" runs from a to the field's end, as in cron; "a" alone is just a.
      to = dash != std::string::npos ? *b : step != 1 ? range.high : *a;
    }
    for (int v = from; v <= to; v += step) set[static_cast<std::size_t>(v)] = true;
  }
  return "";
}

}  // namespace

bool CronSchedule::matches(int minute, int hour, int dayOfMonth, int month, int dayOfWeek) const {
  return minutes.test(static_cast<std::size_t>(minute)) &&
         hours.test(static_cast<std::size_t>(hour)) && matchesDay(dayOfMonth, month, dayOfWeek);
}

bool CronSchedule::matchesDay(int dayOfMonth, int month, int dayOfWeek) const {
  if (!months.test(static_cast<std::size_t>(month))) return false;
  const bool dom = daysOfMonth.test(static_cast<std::size_t>(dayOfMonth));
  const bool dow = daysOfWeek.test(static_cast<std::size_t>(dayOfWeek));
  if (dayOfMonthRestricted && dayOfWeekRestricted) return dom || dow;
  return dom && dow;
}

std::optional<CronSchedule> parseCronSchedule(const std::string& text, std::string* error) {
  std::vector<std::string> fields;
  std::istringstream in(text);
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() != 5) {
    if (error) {
      *error =
          fmt::format("expected five fields (minute hour day-of-month month day-of-week), got {}",
                      fields.size());
    }
    return std::nullopt;
  }
  CronSchedule c;
  std::vector<bool> set;
  for (std::size_t i = 0; i < 5; ++i) {
    if (auto e = parseField(fields[i], kFields[i], set); !e.empty()) {
      if (error) *error = fmt::format("field {} ({}): {}", i + 1, kFields[i].name, e);
      return std::nullopt;
    }
    for (std::size_t v = 0; v < set.size(); ++v) {
      if (!set[v]) continue;
      switch (i) {
        case 0:
          c.minutes.set(v);
          break;
        case 1:
          c.hours.set(v);
          break;
        case 2:
          c.daysOfMonth.set(v);
          break;
        case 3:
          c.months.set(v);
          break;
        default:
          c.daysOfWeek.set(v % 7);
          break;
      }
    }
  }
  c.dayOfMonthRestricted = fields[2] != "*";
  c.dayOfWeekRestricted = fields[4] != "*";
  return c;
}

}  // namespace budgetgate::model
