#pragma once
// The weighted composite of several objectives' budgets and burn rates (a composite SLO, OpenSLO
// v1 "Notes (Composite SLO)"): consumed % and each window's burn rate are the weighted means of
// the objectives' (seed 002's CompositeErrorBudgetManager), so an objective of weight 2 burns the
// composite twice as fast as one of weight 1. Pure.

#include <vector>

#include "operator/engine/budget_math.h"
#include "operator/engine/burn_rate_window.h"

namespace budgetgate::engine {

struct WeightedObjective {
  double weight = 1.0;  // compositeWeight, > 0
  ErrorBudget budget;
  BurnRates burnRates;
};

struct CompositeBudget {
  ErrorBudget budget;  // unit percent: total 100, consumed = weighted consumed %
  BurnRates burnRates;
};

// A window in which no objective has a burn rate (no traffic anywhere) has none; one in which
// only some objectives have traffic counts the quiet ones as burning nothing.
CompositeBudget compositeBudget(const std::vector<WeightedObjective>& objectives);

}  // namespace budgetgate::engine
