#pragma once
// The burn-down of an SLO's error budget over its window: after each hour, how much of the
// window's budget was left counting only the bad events up to that hour. It starts at 100 %
// at the window's start and ends at the budget the status shows now, so the chart's last point
// and the figure beside it agree. Pure: fed the evaluator's hourly counts.

#include <utility>
#include <vector>

#include "operator/common/time.h"
#include "operator/engine/budget_ledger.h"

namespace budgetgate::engine {

struct BurnDownPoint {
  TimePoint at{};
  double remainingPercent = 100;  // raw: below 0 once more than the budget was spent
};

// `hours`: the window oldest first. `excluded`: [start, end) spans whose hours' bad events
// leave the budget (BudgetAdjustments; they leave the total too, as in the status). The
// allowed bad events are (1 - target) x the window's total; with no traffic the budget stays
// whole. The first point is the window's start at 100 %.
std::vector<BurnDownPoint> budgetBurnDown(
    const std::vector<HourCounts>& hours, double target,
    const std::vector<std::pair<TimePoint, TimePoint>>& excluded = {});

}  // namespace budgetgate::engine
