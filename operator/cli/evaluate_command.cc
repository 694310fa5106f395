// budgetgate evaluate: SLO status from Prometheus, without a cluster.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "operator/cli/cli_io.h"
#include "operator/cli/commands.h"
#include "operator/cli/data_source_flags.h"
#include "operator/cli/manifests.h"
#include "operator/cli/prometheus_flags.h"
#include "operator/cli/table.h"
#include "operator/common/json.h"
#include "operator/prometheus/slo_evaluator.h"

namespace budgetgate::cli {
namespace {

struct EvaluateOptions {
  std::vector<std::string> files;
  std::string policy;
  std::string at;
  std::string output;
  bool noShare = false;
  PrometheusFlags prometheus;
  std::string dataSourcesFile;
};

std::string percent(const model::SloStatus& s) {
  return s.errorBudget ? fmt::format("{:.1f}%", s.errorBudget->remainingPercent()) : "-";
}

std::string burn(const model::SloStatus& s) {
  auto v = s.burnRates.at(engine::BurnRateWindow::H1);
  return v ? fmt::format("{:.2f}x", *v) : "no-data";
}

std::string firing(const model::SloStatus& s) {
  std::string out;
  for (const auto& a : s.alerts) {
    if (a.firing) out += (out.empty() ? "" : ",") + a.rule.name;
  }
  return out.empty() ? "-" : out;
}

int runEvaluate(const EvaluateOptions& o) {
  if (!o.output.empty() && o.output != "json" && o.output != "table") {
    std::cerr << fmt::format("budgetgate evaluate: -o \"{}\": expected json or table\n", o.output);
    return kExitBadInput;
  }
  std::vector<model::ServiceLevelObjective> slos;
  if (!loadSlos(o.files, slos)) return kExitBadInput;
  if (slos.empty()) {
    std::cerr << "budgetgate evaluate: no SLO documents in the given files\n";
    return kExitBadInput;
  }
  auto policy = loadPolicy(o.policy);
  if (!policy) return kExitBadInput;
  TimePoint at = nowSeconds();
  if (!o.at.empty()) {
    auto t = parseTime(o.at);
    if (!t) {
      std::cerr << fmt::format(
          "budgetgate evaluate: --at \"{}\": expected RFC 3339 such as "
          "2026-01-31T00:00:00Z\n",
          o.at);
      return kExitBadInput;
    }
    at = *t;
  }
  auto client = makePrometheusClient(o.prometheus);
  if (!client) return kExitBadInput;
  auto sources = makeDataSourceClients(o.dataSourcesFile, o.prometheus);
  if (!sources) return kExitBadInput;

  prometheus::EvaluatorOptions options;
  options.concurrency = static_cast<std::size_t>(std::max(1, o.prometheus.concurrency));
  options.planner.shareAcrossSlos = !o.noShare;
  std::vector<prometheus::EvaluationTarget> targets;
  for (const auto& slo : slos) targets.push_back({&slo, &*policy, nullptr, {}, {}});
  spdlog::info("evaluating {} SLOs against {} at {}", slos.size(), o.prometheus.url,
               formatTime(at));
  // Without --datasources every SLO reads --prometheus, whatever its metricSourceRef says
  // (the caller chose the address); with it, as the controller does.
  std::vector<model::SloStatus> statuses;
  prometheus::CycleReport report;
  if (o.dataSourcesFile.empty()) {
    prometheus::SloEvaluator evaluator(*client, options);
    statuses = evaluator.evaluate(targets, at);
    report = evaluator.lastCycle();
  } else {
    prometheus::MultiSourceEvaluator evaluator(*client, sources->sources, options);
    statuses = evaluator.evaluate(targets, at);
    report = evaluator.lastCycle();
  }
  spdlog::info("done in {} ms: {} instant and {} range queries, {} failed", report.duration.count(),
               report.instantQueries, report.rangeQueries, report.failedQueries);

  bool missing = false;
  for (const auto& s : statuses) {
    const auto* data = s.condition("DataAvailable");
    missing = missing || s.tier == engine::Tier::Unknown || (data && data->status != "True");
  }
  const bool json = o.output == "json" || (o.output.empty() && !stdoutIsTerminal());
  if (json) {
    rapidjson::Document out(rapidjson::kArrayType);
    auto& a = out.GetAllocator();
    for (std::size_t i = 0; i < slos.size(); ++i) {
      rapidjson::Value item(rapidjson::kObjectType);
      item.AddMember("namespace", json::str(slos[i].ns, a), a);
      item.AddMember("name", json::str(slos[i].name, a), a);
      rapidjson::Value status;
      model::statusToValue(statuses[i], status, a);
      item.AddMember("status", status, a);
      out.PushBack(item, a);
    }
    printJson(out);
  } else {
    Table table({"NAMESPACE", "NAME", "TARGET", "WINDOW", "REMAINING", "BURN-1H", "TIER", "FIRING",
                 "MESSAGE"});
    for (std::size_t i = 0; i < slos.size(); ++i) {
      const auto& s = statuses[i];
      table.add({slos[i].ns, slos[i].name, fmt::format("{:g}%", s.target * 100), s.window,
                 percent(s), burn(s), std::string(engine::tierName(s.tier)), firing(s), s.message});
    }
    std::cout << table.render();
  }
  return missing ? kExitMissingData : kExitOk;
}

}  // namespace

void addEvaluateCommand(CLI::App& app, int& exitCode) {
  auto o = std::make_shared<EvaluateOptions>();
  auto* cmd = app.add_subcommand(
      "evaluate",
      "Evaluate SLO manifests against Prometheus and print each SLO's status (budget, burn "
      "rates, alerts, tier, gate decisions). Exit 0 when every SLO was evaluated, 3 when data "
      "was missing for any, 2 on bad input.");
  cmd->add_option("-f,--filename", o->files, "SLO manifests (ServiceLevelObjective or OpenSLO)")
      ->required()
      ->expected(1, -1);
  cmd->add_option("--policy", o->policy,
                  "ErrorBudgetPolicy for tiers and decisions (default: built-in)");
  cmd->add_option("--at", o->at, "evaluate at this instant (RFC 3339) instead of now");
  cmd->add_option("-o,--output", o->output,
                  "json or table (default: table on a terminal, else json)");
  cmd->add_flag("--no-share", o->noShare, "one query per SLO (disables sharing across SLOs)");
  addPrometheusFlags(cmd, o->prometheus);
  addDataSourcesFlag(cmd, o->dataSourcesFile);
  cmd->callback([o, &exitCode] { exitCode = runEvaluate(*o); });
}

}  // namespace budgetgate::cli
