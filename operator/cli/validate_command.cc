// budgetgate validate: checks SLO and policy manifests the way the controller will read them.

#include <fmt/format.h>

#include <iostream>
#include <string>
#include <vector>

#include "operator/cli/cli_io.h"
#include "operator/cli/commands.h"
#include "operator/model/policy_parser.h"
#include "operator/model/slo_parser.h"

namespace budgetgate::cli {
namespace {

int runValidate(const std::vector<std::string>& files) {
  int invalid = 0;
  int valid = 0;
  for (const auto& file : files) {
    std::vector<Document> docs;
    std::string error;
    if (!loadDocuments(file, docs, &error)) {
      std::cerr << error << '\n';
      ++invalid;
      continue;
    }
    for (const auto& doc : docs) {
      model::Diagnostics diag(doc.source);
      std::string what;
      if (model::isSloDocument(doc.node)) {
        if (auto slo = model::parseSlo(doc.node, diag)) {
          what = fmt::format("{} {}/{} (target {:g}%, window {}, {})", slo->kind, slo->ns,
                             slo->name, slo->objectives.front().target * 100.0, slo->window.text,
                             model::budgetingMethodName(slo->budgetingMethod));
        }
      } else if (model::isPolicyDocument(doc.node)) {
        if (auto policy = model::parsePolicy(doc.node, diag)) {
          what = fmt::format("ErrorBudgetPolicy {} (mode {})", policy->name,
                             engine::modeName(policy->mode));
        }
      } else {
        std::string kind = doc.node.IsMap() && doc.node["kind"] && doc.node["kind"].IsScalar()
                               ? doc.node["kind"].Scalar()
                               : std::string("<none>");
        diag.add("kind", fmt::format("unsupported kind \"{}\" (expected ServiceLevelObjective, "
                                     "ErrorBudgetPolicy or OpenSLO SLO)",
                                     kind));
      }
      if (diag.ok()) {
        std::cout << fmt::format("{}: valid {}\n", doc.source, what);
        ++valid;
      } else {
        std::cerr << diag.format();
        ++invalid;
      }
    }
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
      "Check ServiceLevelObjective, OpenSLO SLO and ErrorBudgetPolicy manifests. Exit 0 when all "
      "are valid, 2 with every error (file:line:column: field: problem) otherwise.");
  cmd->add_option("-f,--filename", *files, "manifest files (YAML or JSON; - for stdin)")
      ->required()
      ->expected(1, -1);
  cmd->callback([files, &exitCode] { exitCode = runValidate(*files); });
}

}  // namespace budgetgate::cli
