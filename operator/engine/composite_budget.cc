#include "operator/engine/composite_budget.h"

namespace budgetgate::engine {

CompositeBudget compositeBudget(const std::vector<WeightedObjective>& objectives) {
  CompositeBudget out;
  out.budget.unit = BudgetUnit::Percent;
  out.budget.total = 100.0;
  double weights = 0;
  double consumed = 0;
  for (const auto& o : objectives) {
    weights += o.weight;
    consumed += o.weight * o.budget.consumedPercent;
  }
  if (!(weights > 0)) return out;
  out.budget.consumedPercent = consumed / weights;
  out.budget.consumed = out.budget.consumedPercent;
  for (auto w : kBurnRateWindows) {
    bool any = false;
    double sum = 0;
    for (const auto& o : objectives) {
      if (const auto b = o.burnRates.at(w)) {
        any = true;
        sum += o.weight * *b;
      }
    }
    if (any) out.burnRates.set(w, sum / weights);
  }
  return out;
}

}  // namespace budgetgate::engine
