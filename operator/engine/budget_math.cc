#include "operator/engine/budget_math.h"

#include <algorithm>
#include <cmath>

namespace budgetgate::engine {
namespace {

constexpr double kNeverSeconds = 1e11;  // about 3,170 years

}  // namespace

const char* budgetUnitName(BudgetUnit unit) {
  switch (unit) {
    case BudgetUnit::Requests:
      return "requests";
    case BudgetUnit::Minutes:
      return "minutes";
    case BudgetUnit::Percent:
      return "percent";
  }
  return "requests";
}

double errorBudgetRatio(double target) {
  return 1.0 - target;
}

double timeBudgetMinutes(Seconds window, double target) {
  return static_cast<double>(window.count()) / 60.0 * errorBudgetRatio(target);
}

double burnRate(double badFraction, double target) {
  const double ratio = errorBudgetRatio(target);
  if (!(ratio > 0) || !std::isfinite(badFraction)) return 0;
  return badFraction / ratio;
}

std::optional<double> burnRateFromCounts(double bad, double total, double target) {
  if (!(total > 0) || !std::isfinite(bad) || !std::isfinite(total)) return std::nullopt;
  return burnRate(std::clamp(bad / total, 0.0, 1.0), target);
}

std::optional<Seconds> timeToExhaustion(double remainingFraction, Seconds window, double burn) {
  if (!(burn > 0) || !std::isfinite(burn)) return std::nullopt;
  if (remainingFraction <= 0) return Seconds(0);
  const double seconds = remainingFraction * static_cast<double>(window.count()) / burn;
  // A burn so slow that the budget outlasts a few thousand years is no burn: this also keeps the
  // figure inside an integer (a tiny positive burn would overflow it) and now + t printable.
  if (!(seconds < kNeverSeconds)) return std::nullopt;
  return Seconds(static_cast<long long>(std::llround(seconds)));
}

double ErrorBudget::remainingPercent() const {
  return std::clamp(remainingPercentRaw(), 0.0, 100.0);
}

namespace {

ErrorBudget makeBudget(BudgetUnit unit, double total, double consumed) {
  ErrorBudget budget;
  budget.unit = unit;
  budget.total = total;
  budget.consumed = consumed;
  if (total > 0) {
    budget.consumedPercent = consumed / total * 100.0;
  } else {
    // An empty budget (no traffic yet) is untouched unless something was already spent.
    budget.consumedPercent = consumed > 0 ? 100.0 : 0.0;
  }
  return budget;
}

double nonNegative(double v) {
  return std::isfinite(v) && v > 0 ? v : 0.0;
}

}  // namespace

ErrorBudget occurrencesBudget(double target, double badEvents, double totalEvents) {
  const double total = nonNegative(totalEvents);
  const double bad = std::min(nonNegative(badEvents), total);
  return makeBudget(BudgetUnit::Requests, errorBudgetRatio(target) * total, bad);
}

ErrorBudget timeslicesBudget(double target, double badSlices, double slicesInWindow,
                             Seconds sliceLength) {
  const double sliceMinutes = static_cast<double>(sliceLength.count()) / 60.0;
  return makeBudget(BudgetUnit::Minutes,
                    errorBudgetRatio(target) * nonNegative(slicesInWindow) * sliceMinutes,
                    nonNegative(badSlices) * sliceMinutes);
}

ErrorBudget ratioTimeslicesBudget(double target, double sumOfSliceBadFractions,
                                  double slicesInWindow, Seconds sliceLength) {
  return timeslicesBudget(target, sumOfSliceBadFractions, slicesInWindow, sliceLength);
}

}  // namespace budgetgate::engine
