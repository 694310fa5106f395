#pragma once
// Loading SLO and policy manifests from files for the CLI commands, with every problem
// printed as file:line:column: field: message.

#include <optional>
#include <string>
#include <vector>

#include "operator/engine/error_budget_policy.h"
#include "operator/model/slo.h"

namespace budgetgate::cli {

// Parses every SLO document in the files (ServiceLevelObjective or OpenSLO SLO) and checks
// that each objective's queries can be evaluated. Prints errors to stderr; false if any.
bool loadSlos(const std::vector<std::string>& files,
              std::vector<model::ServiceLevelObjective>& out);

// One ErrorBudgetPolicy file, or the built-in default when `file` is empty.
std::optional<engine::ErrorBudgetPolicy> loadPolicy(const std::string& file);

// Problems that only show when evaluating (e.g. a counter query that is not a selector).
std::vector<std::string> evaluationProblems(const model::ServiceLevelObjective& slo);

}  // namespace budgetgate::cli
