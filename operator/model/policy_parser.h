#pragma once
// Parsing of ErrorBudgetPolicy manifests. Every field is optional; absent fields keep the
// design's defaults (engine::ErrorBudgetPolicy's initialisers).

#include <yaml-cpp/yaml.h>

#include <optional>

#include "operator/engine/error_budget_policy.h"
#include "operator/model/diagnostics.h"

namespace budgetgate::model {

bool isPolicyDocument(const YAML::Node& doc);

std::optional<engine::ErrorBudgetPolicy> parsePolicy(const YAML::Node& doc,
                                                     Diagnostics& diagnostics);

}  // namespace budgetgate::model
