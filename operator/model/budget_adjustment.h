#pragma once
// BudgetAdjustment (slo.budgetgate.dev/v1alpha1): bad events that should not count against an
// SLO's budget — another team's outage, a maintenance window, a load test, miscategorised
// errors. It names SLOs of its own namespace (by name or label selector), a time range or a
// recurring window (a cron schedule, a duration and a time zone), a reason and a reference.
// Adjustments count whole hours of the evaluator's hourly data, so the excluded events are
// exact: one-off ranges must start and end on a whole hour (UTC); a recurring occurrence is
// widened to the whole hours it touches. Parsing and occurrence expansion here; what they
// exclude is computed in operator/engine/budget_ledger.h.

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "operator/common/duration.h"
#include "operator/common/time.h"
#include "operator/model/cron_schedule.h"
#include "operator/model/diagnostics.h"
#include "operator/model/label_selector.h"

namespace budgetgate::model {

inline constexpr std::string_view kAdjustmentReasons[] = {"maintenance", "dependency",
                                                          "miscategorized", "load-test", "other"};

struct RecurringWindow {
  std::string schedule;  // as written, e.g. "0 2 * * 6"
  CronSchedule cron;
  Seconds duration{0};
  std::string timeZone = "UTC";
};

struct BudgetAdjustment {
  std::string ns;
  std::string name;
  std::vector<std::string> sloNames;
  std::optional<LabelSelector> sloSelector;
  // Exactly one of a range and a recurring window.
  std::optional<TimePoint> start;
  std::optional<TimePoint> end;
  std::optional<RecurringWindow> recurring;
  std::string reason;     // one of kAdjustmentReasons
  std::string reference;  // incident or ticket URL, free text
  std::optional<TimePoint> created;

  // Whether it names this SLO (same namespace, listed or selected by its labels).
  bool appliesTo(const std::string& sloNamespace, const std::string& sloName,
                 const Labels& sloLabels) const;
};

struct TimeSpan {
  TimePoint start{};
  TimePoint end{};
};

bool isBudgetAdjustmentDocument(const YAML::Node& doc);

// Every problem goes to `diagnostics` (nullopt when there was one).
std::optional<BudgetAdjustment> parseBudgetAdjustment(const YAML::Node& doc,
                                                      Diagnostics& diagnostics);

// The limits that depend on the moment and the SLO: an adjustment may not start more than
// `maxLead` after `now`, nor last longer than the SLO window. "" when it may be used.
inline constexpr Seconds kMaxAdjustmentLead{7 * 86400};
std::string adjustmentProblem(const BudgetAdjustment& adjustment, TimePoint now, Seconds sloWindow);

// The adjustment's spans that overlap [from, to], each widened to whole hours (UTC) and
// clipped to [floor-hour(from), ceil-hour(to)], oldest first, merged where they touch.
std::vector<TimeSpan> adjustmentSpans(const BudgetAdjustment& adjustment, TimePoint from,
                                      TimePoint to);

}  // namespace budgetgate::model
