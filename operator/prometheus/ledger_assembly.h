#pragma once
// The last stage for one objective's ledger and budget adjustments: which adjustments' hours
// fall in the SLO window, the ledger over the window's hourly counts, the objective's numbers
// with the excluded bad events taken out, and what the status says about both. Pure.

#include <optional>
#include <string>
#include <vector>

#include "operator/engine/budget_ledger.h"
#include "operator/engine/budget_recovery.h"
#include "operator/model/budget_adjustment.h"
#include "operator/model/slo_status.h"
#include "operator/model/window_bounds.h"
#include "operator/status/objective_outcome.h"

namespace budgetgate::prometheus {

// The spans of the adjustments usable for this window (in order); the others go to *ignored
// with the reason.
std::vector<engine::AdjustmentSpans> usableAdjustments(
    const std::vector<const model::BudgetAdjustment*>& adjustments,
    const model::WindowBounds& bounds, TimePoint at,
    std::vector<model::AdjustmentStatus::Ignored>* ignored);

// `data` without the bad events the ledger excluded (they leave the total as well; good events
// count as usual).
status::ObjectiveData adjustedData(const status::ObjectiveData& data, status::ObjectiveShape shape,
                                   double excludedBadEvents);

model::LedgerStatus ledgerStatus(const engine::BudgetLedger& ledger, std::size_t maxEntries);

// Which adjustments applied (those with hours in the window), what each excluded.
model::AdjustmentStatus adjustmentStatus(const engine::BudgetLedger& ledger,
                                         const std::vector<engine::AdjustmentSpans>& usable,
                                         std::vector<model::AdjustmentStatus::Ignored> ignored,
                                         const engine::ErrorBudget& unadjusted);

// The recovery projection's history without the adjusted hours' bad events (taken out of the
// totals too), so that it projects the adjusted budget the status shows.
void excludeAdjustedHours(engine::WindowHistory& history,
                          const std::vector<engine::AdjustmentSpans>& usable);

// What the ledger needs besides the numbers, and what the status keeps of it.
struct LedgerInputs {
  const std::vector<const model::BudgetAdjustment*>* adjustments = nullptr;
  const std::vector<engine::RolloutRecord>* rollouts = nullptr;
  engine::LedgerOptions options;
  std::size_t maxEntries = 10;
};

// One objective's outcome: measured with the adjustments' bad events taken out, with its
// ledger and what the adjustments did — when `hours` (the window hour by hour) is known;
// otherwise measured as is, every adjustment reported as not applicable. The one place the
// live evaluator and the backtest both go through.
status::ObjectiveOutcome measureWithLedger(
    const status::ObjectiveKind& kind, const status::ObjectiveData& data,
    const std::optional<std::vector<engine::HourCounts>>& hours, const model::WindowBounds& bounds,
    TimePoint at, double target, const LedgerInputs& inputs);

}  // namespace budgetgate::prometheus
