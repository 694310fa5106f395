#pragma once
// Parsing of ServiceLevelObjective manifests and plain OpenSLO v1 SLO documents.

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "operator/model/diagnostics.h"
#include "operator/model/slo.h"

namespace budgetgate::model {

// metadata.name as OpenSLO and Kubernetes name objects (and data source names): a DNS label.
bool isDnsLabel(std::string_view name);

// True for apiVersion slo.budgetgate.dev/v1alpha1 kind ServiceLevelObjective and for
// apiVersion openslo/v1 kind SLO.
bool isSloDocument(const YAML::Node& doc);

// The OpenSLO v1 documents an SLO may refer to, by metadata.name: SLIs (spec.indicatorRef,
// objectives[].indicatorRef) and DataSources (metricSource.metricSourceRef).
struct OpenSloCatalog {
  std::map<std::string, YAML::Node> slis;
  std::map<std::string, YAML::Node> dataSources;
  // ServiceLevelObjectives: a metricSourceRef names a data source the administrator declares
  // to the controller (--datasources), not a document of the bundle.
  bool dataSourcesByName = false;
};

// Parses and validates one document; every problem is recorded in `diagnostics` (the result
// is nullopt when any was found). OpenSLO documents get namespace "default" unless set.
// References are resolved in `catalog` (without one, a reference is an error that says so).
std::optional<ServiceLevelObjective> parseSlo(const YAML::Node& doc, Diagnostics& diagnostics,
                                              const OpenSloCatalog* catalog = nullptr);

// The OpenSLO v1 kinds budgetgate reads (SLO; SLI and DataSource through references) and those
// it knows but has no use for (Service, AlertPolicy, AlertCondition, AlertNotificationTarget).
bool isOpenSloDocument(const YAML::Node& doc);
// Validates an openslo/v1 SLI or DataSource document on its own; false (with diagnostics)
// when invalid.
bool validateOpenSloSupport(const YAML::Node& doc, Diagnostics& diagnostics,
                            const OpenSloCatalog* catalog);
std::string_view openSloKind(const YAML::Node& doc);  // "" when not openslo/v1

}  // namespace budgetgate::model
