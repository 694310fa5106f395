#pragma once
// OpenSLO v1 bundles as budgetgate reads them: an SLO document turned into a
// ServiceLevelObjective manifest that `kubectl apply` accepts, with its references resolved
// (indicatorRef -> the SLI inline, metricSourceRef -> the DataSource's type), the
// display name kept as an annotation and what the CRD has no field for left out (and said).
// Pure: YAML in, YAML out.

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "operator/model/diagnostics.h"
#include "operator/model/slo_parser.h"

namespace budgetgate::model {

inline constexpr std::string_view kDisplayNameAnnotation = "budgetgate.dev/display-name";

struct ImportResult {
  YAML::Node manifest;
  std::vector<std::string> notes;  // what was dropped or converted, for the user
};

// `doc` must be a valid OpenSLO v1 SLO (parseSlo with the same catalog says so); `ns` is the
// namespace to write (empty: the document's own, else "default").
std::optional<ImportResult> importOpenSloSlo(const YAML::Node& doc, const OpenSloCatalog& catalog,
                                             const std::string& ns, Diagnostics& diagnostics);

}  // namespace budgetgate::model
