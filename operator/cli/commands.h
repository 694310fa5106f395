#pragma once
// Each subcommand registers itself on the root CLI::App and stores its exit code in `exitCode`
// when it runs. One file per command.

#include <CLI/CLI.hpp>

namespace budgetgate::cli {

void addCalcCommand(CLI::App& app, int& exitCode);
void addValidateCommand(CLI::App& app, int& exitCode);
void addImportCommand(CLI::App& app, int& exitCode);
void addApproveCommand(CLI::App& app, int& exitCode);
void addGateCommand(CLI::App& app, int& exitCode);
void addCheckCommand(CLI::App& app, int& exitCode);
void addEvaluateCommand(CLI::App& app, int& exitCode);
void addRulesCommand(CLI::App& app, int& exitCode);
void addBacktestCommand(CLI::App& app, int& exitCode);
void addLedgerCommand(CLI::App& app, int& exitCode);
void addReportCommand(CLI::App& app, int& exitCode);
void addOperatorCommand(CLI::App& app, int& exitCode);
void addWebhookCommand(CLI::App& app, int& exitCode);

}  // namespace budgetgate::cli
