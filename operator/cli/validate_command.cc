// budgetgate validate: checks SLO and policy manifests the way the controller will read them.

#include <fmt/format.h>

#include <iostream>
#include <string>
#include <vector>

#include "operator/cli/cli_io.h"
#include "operator/cli/commands.h"
#include "operator/cli/manifests.h"
#include "operator/model/budget_adjustment.h"
#include "operator/model/policy_parser.h"
#include "operator/model/slo_parser.h"
#include "operator/prometheus/slo_signals.h"

namespace budgetgate::cli {
namespace {

int runValidate(const std::vector<std::string>& files) {
  int invalid = 0;
  int valid = 0;
  ManifestSet set;
  if (!loadManifests(files, set)) ++invalid;
  const auto report = [&](const Document& doc, model::Diagnostics& diag, const std::string& what) {
    std::cerr << diag.formatWarnings();
    if (diag.ok()) {
      std::cout << fmt::format("{}: valid {}\n", doc.source, what);
      ++valid;
    } else {
      std::cerr << diag.format();
      ++invalid;
    }
  };
  for (const auto& doc : set.slos) {
    model::Diagnostics diag(doc.source);
    std::string what;
    if (auto slo = model::parseSlo(doc.node, diag, &set.catalog)) {
      for (const auto& p : prometheus::evaluationProblems(*slo)) diag.add("spec", p);
      what = fmt::format("{} {}/{} ({}{}, window {}, {})", slo->kind, slo->ns, slo->name,
                         slo->composite() ? "composite of " : "target ",
                         slo->composite()
                             ? fmt::format("{} objectives", slo->objectives.size())
                             : fmt::format("{:g}%", slo->objectives.front().target * 100.0),
                         slo->window.text, model::budgetingMethodName(slo->budgetingMethod));
    }
    report(doc, diag, what);
  }
  for (const auto& doc : set.policies) {
    model::Diagnostics diag(doc.source);
    std::string what;
    if (auto policy = model::parsePolicy(doc.node, diag)) {
      what = fmt::format("ErrorBudgetPolicy {} (mode {})", policy->name,
                         engine::modeName(policy->mode));
    }
    report(doc, diag, what);
  }
  for (const auto& doc : set.adjustments) {
    model::Diagnostics diag(doc.source);
    std::string what;
    if (auto a = model::parseBudgetAdjustment(doc.node, diag)) {
      what = fmt::format(
          "BudgetAdjustment {}/{} ({}, {})", a->ns, a->name, a->reason,
          a->recurring ? fmt::format("every \"{}\" for {} ({})", a->recurring->schedule,
                                     formatDuration(a->recurring->duration), a->recurring->timeZone)
                       : fmt::format("{} to {}", formatTime(*a->start), formatTime(*a->end)));
    }
    report(doc, diag, what);
  }
  for (const auto* list : {&set.slis, &set.dataSources}) {
    for (const auto& doc : *list) {
      model::Diagnostics diag(doc.source);
      model::validateOpenSloSupport(doc.node, diag, &set.catalog);
      report(doc, diag,
             fmt::format("openslo/v1 {} {}", model::openSloKind(doc.node),
                         doc.node["metadata"]["name"].as<std::string>("")));
    }
  }
  for (const auto& note : set.notes) std::cout << note << '\n';
  for (const auto& doc : set.unknown) {
    model::Diagnostics diag(doc.source);
    std::string kind = doc.node.IsMap() && doc.node["kind"] && doc.node["kind"].IsScalar()
                           ? doc.node["kind"].Scalar()
                           : std::string("<none>");
    diag.add("kind",
             fmt::format("unsupported kind \"{}\" (expected ServiceLevelObjective, "
                         "ErrorBudgetPolicy, BudgetAdjustment or OpenSLO v1 SLO, SLI, DataSource)",
                         kind));
    report(doc, diag, "");
  }
  if (invalid > 0) {
    std::cerr << fmt::format("{} valid, {} invalid\n", valid, invalid);
    return kExitBadInput;
  }
  return kExitOk;
}

}  // namespace

void addValidateCommand(CLI::App& app, int& exitCode) {
  auto files = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand(
      "validate",
      "Check ServiceLevelObjective, ErrorBudgetPolicy, BudgetAdjustment and OpenSLO v1 (SLO, SLI, "
      "DataSource) "
      "manifests; references between OpenSLO documents are resolved across the files, other "
      "OpenSLO kinds are noted and ignored. Exit 0 when all are valid, 2 with every error "
      "(file:line:column: field: problem) otherwise.");
  cmd->add_option("-f,--filename", *files, "manifest files (YAML or JSON; - for stdin)")
      ->required()
      ->expected(1, -1);
  cmd->callback([files, &exitCode] { exitCode = runValidate(*files); });
}

}  // namespace budgetgate::cli
