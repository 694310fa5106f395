#pragma once
// An SLO's status (tier, figures, messages, conditions) from its objectives' outcomes. Pure:
// what the controller writes, what `evaluate` and `backtest` print.

#include <optional>
#include <string>
#include <vector>

#include "operator/engine/error_budget_policy.h"
#include "operator/model/slo.h"
#include "operator/model/slo_status.h"
#include "operator/model/window_bounds.h"
#include "operator/status/objective_outcome.h"

namespace budgetgate::status {

// The status for an SLO from its objectives' outcomes (parallel to slo.objectives): the
// objective in the worst state describes the SLO (for a composite SLO, the weighted composite
// does). `previous` (null: none) supplies the hysteresis hold and, when evaluation failed, the
// last good figures.
model::SloStatus buildStatus(const model::ServiceLevelObjective& slo,
                             const std::vector<ObjectiveOutcome>& outcomes,
                             const model::WindowBounds& bounds,
                             const engine::ErrorBudgetPolicy& policy,
                             const model::SloStatus* previous, TimePoint at);

// A status for an SLO that could not be evaluated at all (e.g. an unusable query).
model::SloStatus invalidStatus(const model::ServiceLevelObjective& slo, const std::string& reason,
                               const std::string& message, const model::SloStatus* previous,
                               TimePoint at);

}  // namespace budgetgate::status
