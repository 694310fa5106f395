// budgetgate rules: Prometheus recording and alerting rules for SLO manifests.

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "operator/cli/cli_io.h"
#include "operator/cli/commands.h"
#include "operator/cli/manifests.h"
#include "operator/model/policy_parser.h"
#include "operator/prometheus/rules_generator.h"

namespace budgetgate::cli {

void addRulesCommand(CLI::App& app, int& exitCode) {
  auto files = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand(
      "rules",
      "Print Prometheus rule groups (YAML) for SLO manifests: error ratio and burn rate per "
      "window, remaining budget, multi-window burn-rate alerts and an absent-data alert. The "
      "output passes `promtool check rules`.");
  cmd->add_option("-f,--filename", *files, "SLO manifests")->required()->expected(1, -1);
  auto policyFile = std::make_shared<std::string>();
  cmd->add_option("--policy", *policyFile,
                  "ErrorBudgetPolicy whose minEvents the alerts apply (default: built-in, none)");
  cmd->callback([files, policyFile, &exitCode] {
    std::vector<model::ServiceLevelObjective> slos;
    if (!loadSlos(*files, slos)) {
      exitCode = kExitBadInput;
      return;
    }
    double minEvents = 0;
    if (!policyFile->empty()) {
      std::vector<Document> docs;
      std::string error;
      if (!loadDocuments(*policyFile, docs, &error) || docs.size() != 1) {
        std::cerr << "budgetgate rules: "
                  << (error.empty() ? *policyFile + ": expected one ErrorBudgetPolicy" : error)
                  << '\n';
        exitCode = kExitBadInput;
        return;
      }
      model::Diagnostics diag(*policyFile);
      auto policy = model::parsePolicy(docs.front().node, diag);
      if (!policy) {
        std::cerr << diag.format();
        exitCode = kExitBadInput;
        return;
      }
      minEvents = policy->minEvents;
    }
    try {
      std::cout << prometheus::generateRules(slos, minEvents);
      exitCode = kExitOk;
    } catch (const std::exception& e) {
      std::cerr << "budgetgate rules: " << e.what() << '\n';
      exitCode = kExitBadInput;
    }
  });
}

}  // namespace budgetgate::cli
