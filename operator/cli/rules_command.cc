// budgetgate rules: Prometheus recording and alerting rules for SLO manifests.

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "operator/cli/cli_io.h"
#include "operator/cli/commands.h"
#include "operator/cli/manifests.h"
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
  cmd->callback([files, &exitCode] {
    std::vector<model::ServiceLevelObjective> slos;
    if (!loadSlos(*files, slos)) {
      exitCode = kExitBadInput;
      return;
    }
    try {
      std::cout << prometheus::generateRules(slos);
      exitCode = kExitOk;
    } catch (const std::exception& e) {
      std::cerr << "budgetgate rules: " << e.what() << '\n';
      exitCode = kExitBadInput;
    }
  });
}

}  // namespace budgetgate::cli
