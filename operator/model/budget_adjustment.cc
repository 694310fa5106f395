#include "operator/model/budget_adjustment.h"

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>

#include "operator/model/field.h"
#include "operator/model/resource_kind.h"
#include "operator/model/slo.h"

namespace budgetgate::model {
namespace {

constexpr Seconds kHour{3600};

TimePoint floorHour(TimePoint t) {
  return TimePoint(std::chrono::floor<std::chrono::hours>(t.time_since_epoch()));
}
TimePoint ceilHour(TimePoint t) {
  return TimePoint(std::chrono::ceil<std::chrono::hours>(t.time_since_epoch()));
}

std::optional<TimePoint> wholeHourInstant(const Field& f, bool required) {
  auto text = f.string(required);
  if (!text) return std::nullopt;
  auto t = parseTime(*text);
  if (!t) {
    f.error(fmt::format("expected an RFC 3339 instant, got \"{}\"", *text));
  } else if (*t != floorHour(*t)) {
    f.error(fmt::format(
        "\"{}\" is not on a whole hour: adjustments exclude whole hours of the hourly data, so "
        "that what they take out is exact; use {} or {}",
        *text, formatTime(floorHour(*t)), formatTime(ceilHour(*t))));
    return std::nullopt;
  }
  return t;
}

const date::time_zone* zone(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace

bool BudgetAdjustment::appliesTo(const std::string& sloNamespace, const std::string& sloName,
                                 const Labels& sloLabels) const {
  if (sloNamespace != ns) return false;
  if (std::find(sloNames.begin(), sloNames.end(), sloName) != sloNames.end()) return true;
  return sloSelector && sloSelector->matches(sloLabels);
}

bool isBudgetAdjustmentDocument(const YAML::Node& doc) {
  return isKindDocument(doc, "BudgetAdjustment");
}

std::optional<BudgetAdjustment> parseBudgetAdjustment(const YAML::Node& doc,
                                                      Diagnostics& diagnostics) {
  const std::size_t errorsBefore = diagnostics.errors().size();
  const Field root(doc, "", diagnostics);
  if (!expectBudgetgateKind(root, "BudgetAdjustment")) return std::nullopt;
  BudgetAdjustment a;
  const Field meta = root.child("metadata");
  if (meta.expectMap(true)) {
    a.name = meta.child("name").string(true).value_or("");
    a.ns = meta.child("namespace").string().value_or("");
    if (auto c = meta.child("creationTimestamp").string()) a.created = parseTime(*c);
  }
  if (a.ns.empty()) a.ns = "default";
  const Field spec = root.child("spec");
  if (!spec.expectMap(true)) return std::nullopt;
  spec.rejectUnknownKeys(
      {"slos", "sloSelector", "start", "end", "recurring", "reason", "reference"});

  const Field slos = spec.child("slos");
  if (slos.present() && slos.expectSequence()) {
    for (std::size_t i = 0; i < slos.size(); ++i) {
      if (auto n = slos.item(i).string(true)) a.sloNames.push_back(*n);
    }
  }
  const Field selector = spec.child("sloSelector");
  if (selector.present() && selector.expectMap()) {
    a.sloSelector = parseLabelSelector(selector);
    if (a.sloSelector->empty()) {
      selector.error("an empty selector would adjust every SLO of the namespace; list them");
    }
  }
  if (!slos.present() && !selector.present()) {
    spec.error("name the SLOs to adjust: slos (names) or sloSelector (labels), same namespace");
  }

  const Field start = spec.child("start");
  const Field end = spec.child("end");
  const Field recurring = spec.child("recurring");
  if (recurring.present() == (start.present() || end.present())) {
    spec.error(
        "set either start and end (one time range) or recurring (a schedule, a duration and a "
        "time zone)");
  }
  if (start.present() || end.present()) {
    a.start = wholeHourInstant(start, true);
    a.end = wholeHourInstant(end, true);
    if (a.start && a.end && *a.end <= *a.start) end.error("must be after start");
  }
  if (recurring.present() && recurring.expectMap()) {
    recurring.rejectUnknownKeys({"schedule", "duration", "timeZone"});
    RecurringWindow w;
    if (auto s = recurring.child("schedule").string(true)) {
      std::string error;
      if (auto cron = parseCronSchedule(*s, &error)) {
        w.schedule = *s;
        w.cron = *cron;
      } else {
        recurring.child("schedule").error(fmt::format("\"{}\": {}", *s, error));
      }
    }
    if (auto d = recurring.child("duration").duration(true)) {
      if (*d <= Seconds(0) || *d > Seconds(7 * 86400)) {
        recurring.child("duration").error("expected a duration from 1m to 7d");
      }
      w.duration = *d;
    }
    if (auto z = recurring.child("timeZone").string()) {
      if (zone(*z) == nullptr) {
        recurring.child("timeZone").error(fmt::format("unknown time zone \"{}\"", *z));
      }
      w.timeZone = *z;
    }
    a.recurring = w;
  }
  if (auto r = spec.child("reason").string(true)) {
    if (std::find(std::begin(kAdjustmentReasons), std::end(kAdjustmentReasons), *r) ==
        std::end(kAdjustmentReasons)) {
      spec.child("reason").error(fmt::format(
          "expected one of maintenance, dependency, miscategorized, load-test, other; got \"{}\"",
          *r));
    }
    a.reason = *r;
  }
  a.reference = spec.child("reference").string().value_or("");
  if (diagnostics.errors().size() != errorsBefore) return std::nullopt;
  return a;
}

std::string adjustmentProblem(const BudgetAdjustment& a, TimePoint now, Seconds sloWindow) {
  if (a.start && a.end) {
    if (*a.start > now + kMaxAdjustmentLead) {
      return fmt::format("starts {}, more than 7 days from now: declare it closer to the time",
                         formatTime(*a.start));
    }
    if (*a.end - *a.start > sloWindow) {
      return fmt::format(
          "lasts longer ({}) than the SLO window ({}): it would exclude the whole budget",
          formatDuration(*a.end - *a.start), formatDuration(sloWindow));
    }
  }
  if (a.recurring && a.recurring->duration > sloWindow) {
    return fmt::format("its occurrences last longer ({}) than the SLO window ({})",
                       formatDuration(a.recurring->duration), formatDuration(sloWindow));
  }
  return "";
}

std::vector<TimeSpan> adjustmentSpans(const BudgetAdjustment& a, TimePoint from, TimePoint to) {
  const TimePoint lo = floorHour(from);
  const TimePoint hi = ceilHour(to);
  std::vector<TimeSpan> spans;
  auto add = [&](TimePoint s, TimePoint e) {
    s = std::max(floorHour(s), lo);
    e = std::min(ceilHour(e), hi);
    if (e <= s) return;
    if (!spans.empty() && s <= spans.back().end) {
      spans.back().end = std::max(spans.back().end, e);
    } else {
      spans.push_back({s, e});
    }
  };
  if (a.start && a.end) {
    add(*a.start, *a.end);
    return spans;
  }
  if (!a.recurring) return spans;
  const auto* tz = zone(a.recurring->timeZone);
  if (tz == nullptr) return spans;
  const auto& cron = a.recurring->cron;
  // Occurrences may start at any local minute the schedule matches, from one duration before
  // `from` (an occurrence that began earlier still covers it) to `to`. Local hours the schedule
  // cannot match are skipped whole, so a 30-day window costs ~720 steps, not 43,200.
  const TimePoint first = from - a.recurring->duration;
  for (TimePoint t = TimePoint(std::chrono::floor<std::chrono::minutes>(first.time_since_epoch()));
       t <= to;) {
    const auto local = tz->to_local(t);
    const auto day = date::floor<date::days>(local);
    const date::year_month_day ymd{day};
    const date::hh_mm_ss hms{local - day};
    const int minute = static_cast<int>(hms.minutes().count());
    const int hour = static_cast<int>(hms.hours().count());
    const int weekday = static_cast<int>(date::weekday{day}.c_encoding());
    if (!cron.hours.test(static_cast<std::size_t>(hour)) ||
        !cron.matchesDay(static_cast<int>(unsigned(ymd.day())),
                         static_cast<int>(unsigned(ymd.month())), weekday)) {
      t += std::chrono::minutes(60 - minute);
      continue;
    }
    if (cron.minutes.test(static_cast<std::size_t>(minute))) add(t, t + a.recurring->duration);
    t += std::chrono::minutes(1);
  }
  return spans;
}

}  // namespace budgetgate::model
