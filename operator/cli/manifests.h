#pragma once
// Loading SLO and policy manifests from files for the CLI commands, with every problem
// printed as file:line:column: field: message.

#include <optional>
#include <string>
#include <vector>

#include "operator/cli/cli_io.h"
#include "operator/engine/error_budget_policy.h"
#include "operator/model/budget_adjustment.h"
#include "operator/model/slo.h"
#include "operator/model/slo_parser.h"

namespace budgetgate::cli {

// Documents sorted by what budgetgate does with them: SLOs (ServiceLevelObjective and OpenSLO
// SLO) and policies to read, OpenSLO SLIs and DataSources for references, the other OpenSLO
// kinds noted as ignored, anything else unknown.
struct ManifestSet {
  std::vector<Document> slos;
  std::vector<Document> policies;
  std::vector<Document> slis;
  std::vector<Document> dataSources;
  std::vector<Document> adjustments;  // BudgetAdjustment
  std::vector<Document> unknown;
  model::OpenSloCatalog catalog;
  std::vector<std::string> notes;   // "file#2: openslo/v1 Service checkout: ignored (...)"
  std::vector<std::string> errors;  // duplicate SLI or DataSource names
};
ManifestSet sortManifests(const std::vector<Document>& docs);
// Loads and sorts every document of the files; prints load errors to stderr (false if any).
bool loadManifests(const std::vector<std::string>& files, ManifestSet& out);

// Parses every SLO document in the files (ServiceLevelObjective or OpenSLO SLO) and checks
// that each objective's queries can be evaluated. Prints errors to stderr; false if any.
bool loadSlos(const std::vector<std::string>& files,
              std::vector<model::ServiceLevelObjective>& out);

// Parses the BudgetAdjustment documents of the set; prints errors to stderr (false if any).
bool loadAdjustments(const ManifestSet& set, std::vector<model::BudgetAdjustment>& out);

// One ErrorBudgetPolicy file, or the built-in default when `file` is empty.
std::optional<engine::ErrorBudgetPolicy> loadPolicy(const std::string& file);

}  // namespace budgetgate::cli
