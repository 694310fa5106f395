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
      "window, remaining budget, multi-window burn-rate alerts, an absent-data alert and "
      "alerts on the remaining budget (warning, critical, exhausted; from the controller's "
      "budgetgate_slo_error_budget_remaining_percent, so calendar SLOs are covered). The output "
      "passes `promtool check rules`.");
  cmd->add_option("-f,--filename", *files, "SLO manifests")->required()->expected(1, -1);
  auto policyFile = std::make_shared<std::string>();
  auto options = std::make_shared<prometheus::RulesOptions>();
  cmd->add_option("--runbook-url", options->runbookUrl,
                  "runbook_url annotation on every alert (e.g. your copy of the runbook)");
  cmd->add_option("--dashboard-url", options->dashboardUrl,
                  "dashboard_url annotation on every alert");
  cmd->add_option("--policy", *policyFile,
                  "ErrorBudgetPolicy whose minEvents the alerts apply and whose warning and "
                  "critical remaining-budget thresholds the budget alerts use (default: "
                  "built-in: no minEvents, 25% and 10%)");
  cmd->callback([files, policyFile, options, &exitCode] {
    std::vector<model::ServiceLevelObjective> slos;
    if (!loadSlos(*files, slos)) {
      exitCode = kExitBadInput;
      return;
    }
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
      options->minEvents = policy->minEvents;
      options->thresholds = policy->tiers;
    }
    try {
      std::cout << prometheus::generateRules(slos, *options);
      exitCode = kExitOk;
    } catch (const std::exception& e) {
      std::cerr << "budgetgate rules: " << e.what() << '\n';
      exitCode = kExitBadInput;
    }
  });
}

}  // namespace budgetgate::cli
