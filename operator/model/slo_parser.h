#pragma once
// Parsing of ServiceLevelObjective manifests and plain OpenSLO v1 SLO documents.

#include <yaml-cpp/yaml.h>

#include <optional>

#include "operator/model/diagnostics.h"
#include "operator/model/slo.h"

namespace budgetgate::model {

// True for apiVersion slo.budgetgate.dev/v1alpha1 kind ServiceLevelObjective and for
// apiVersion openslo/v1 kind SLO.
bool isSloDocument(const YAML::Node& doc);

// Parses and validates one document; every problem is recorded in `diagnostics` (the result
// is nullopt when any was found). OpenSLO documents get namespace "default" unless set.
std::optional<ServiceLevelObjective> parseSlo(const YAML::Node& doc, Diagnostics& diagnostics);

}  // namespace budgetgate::model
