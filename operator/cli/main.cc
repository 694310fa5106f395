// budgetgate: error budgets as Kubernetes resources, enforced at admission.
// One binary: the CLI commands, the controller (`operator`) and the admission webhook.

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "operator/cli/cli_io.h"
#include "operator/cli/commands.h"

int main(int argc, char** argv) {
  using namespace budgetgate::cli;
#if defined(__GLIBC__)
  // glibc gives each thread that allocates its own arena (up to 8 per core), and memory freed
  // in one stays there: the webhook listing 50,000 ReplicaSets peaked at 378 MB with them. Four
  // arenas bound that; two did too, but the webhook's threads then waited on the arena locks and
  // answered half as many reviews (26,790/s against 56,714/s over TLS). MALLOC_ARENA_MAX, when
  // set, still decides.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 4);
#endif
  CLI::App app{
      "budgetgate - SLO error budgets computed from Prometheus and enforced on every Deployment "
      "rollout.\n\nRun `budgetgate COMMAND --help` for the options of each command.",
      "budgetgate"};
  app.require_subcommand(1);
  // Subcommands inherit this: global options such as --log-level may follow the command name.
  app.fallthrough();
  app.set_version_flag("--version", std::string("budgetgate 0.1.0"));
  // Logs go to stderr so that stdout stays machine-readable (JSON, tables).
  spdlog::set_default_logger(spdlog::stderr_color_mt("budgetgate"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  std::string logLevel = "info";
  app.add_option("--log-level", logLevel, "debug, info, warn or error (default info)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.parse_complete_callback(
      [&logLevel] { spdlog::set_level(spdlog::level::from_str(logLevel)); });
  int exitCode = kExitOk;
  addCalcCommand(app, exitCode);
  addValidateCommand(app, exitCode);
  addImportCommand(app, exitCode);
  addGateCommand(app, exitCode);
  addApproveCommand(app, exitCode);
  addCheckCommand(app, exitCode);
  addEvaluateCommand(app, exitCode);
  addRulesCommand(app, exitCode);
  addBacktestCommand(app, exitCode);
  addLedgerCommand(app, exitCode);
  addReportCommand(app, exitCode);
  addOperatorCommand(app, exitCode);
  addWebhookCommand(app, exitCode);
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
