// budgetgate: error budgets as Kubernetes resources, enforced at admission.
// One binary: the CLI commands, the controller (`operator`) and the admission webhook.

#include <iostream>

#include <CLI/CLI.hpp>

#include "operator/cli/cli_io.h"
#include "operator/cli/commands.h"

int main(int argc, char** argv) {
  using namespace budgetgate::cli;
  CLI::App app{
      "budgetgate - SLO error budgets computed from Prometheus and enforced on every Deployment "
      "rollout.\n\nRun `budgetgate COMMAND --help` for the options of each command.",
      "budgetgate"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("budgetgate 0.1.0"));
  int exitCode = kExitOk;
  addCalcCommand(app, exitCode);
  addValidateCommand(app, exitCode);
  addGateCommand(app, exitCode);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  }
  return exitCode;
}
