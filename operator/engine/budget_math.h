#pragma once
// Error-budget arithmetic from the design's "Budget math" section. Pure functions: no I/O,
// no clocks. Every figure is a double so that raw values (e.g. consumption above 100 %) are
// kept; display clamping happens in one place (ErrorBudget::remainingPercent).

#include <optional>

#include "operator/common/duration.h"

namespace budgetgate::engine {

// Percent: a composite SLO's budget, the weighted mean of its objectives' consumed %.
enum class BudgetUnit { Requests, Minutes, Percent };
const char* budgetUnitName(BudgetUnit unit);

// 1 - target, with target as a fraction in [0, 1).
double errorBudgetRatio(double target);

// The time budget of a window: window x (1 - target), in minutes (99.9 % over 30 d = 43.2).
double timeBudgetMinutes(Seconds window, double target);

// Burn rate from a bad-event fraction: badFraction / (1 - target).
double burnRate(double badFraction, double target);

// Burn rate from counts. No traffic (total <= 0) is "no data", never a division by zero.
std::optional<double> burnRateFromCounts(double bad, double total, double target);

// Time until the remaining budget is spent at a constant burn rate:
// remainingFraction x window / burn. No burn (<= 0), or one so slow that the budget would last
// thousands of years, means never: nullopt. A budget already spent gives zero.
std::optional<Seconds> timeToExhaustion(double remainingFraction, Seconds window, double burn);

struct ErrorBudget {
  BudgetUnit unit = BudgetUnit::Requests;
  double total = 0;            // allowed bad requests or minutes in the window
  double consumed = 0;         // bad requests or minutes spent
  double consumedPercent = 0;  // consumed / total x 100, raw (may exceed 100)

  double remaining() const { return total - consumed; }  // raw, may be negative
  double remainingPercentRaw() const { return 100.0 - consumedPercent; }
  double remainingPercent() const;  // clamped to [0, 100]
  double remainingFraction() const { return remainingPercentRaw() / 100.0; }
};

// Occurrences (request-based): allowed bad = (1 - target) x total events.
// No traffic in the window leaves the budget untouched.
ErrorBudget occurrencesBudget(double target, double badEvents, double totalEvents);

// Timeslices: a slice is bad when its good ratio is below timeSliceTarget; allowed bad slices
// = (1 - target) x slices in the window. Reported in minutes.
ErrorBudget timeslicesBudget(double target, double badSlices, double slicesInWindow,
                             Seconds sliceLength);

// RatioTimeslices: each slice contributes its bad fraction; the sum is compared with
// (1 - target) x slices in the window. Reported in minutes.
ErrorBudget ratioTimeslicesBudget(double target, double sumOfSliceBadFractions,
                                  double slicesInWindow, Seconds sliceLength);

}  // namespace budgetgate::engine
