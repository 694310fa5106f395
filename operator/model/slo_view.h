#pragma once
// One SLO with what decides it, as an operator replica's caches hold it (every replica keeps
// them, leading or not): what the status page shows, and what it needs to redraw the SLO's
// burn-down.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "operator/engine/error_budget_policy.h"
#include "operator/model/budget_adjustment.h"
#include "operator/model/slo.h"
#include "operator/model/slo_status.h"

namespace budgetgate::model {

struct SloView {
  std::string ns, name;
  std::optional<model::ServiceLevelObjective> spec;  // nullopt: the spec is invalid
  std::string specError;
  std::optional<model::SloStatus> status;  // as last seen on the API server
  std::shared_ptr<const engine::ErrorBudgetPolicy> policy;
  std::vector<std::shared_ptr<const model::BudgetAdjustment>> adjustments;
};

}  // namespace budgetgate::model
