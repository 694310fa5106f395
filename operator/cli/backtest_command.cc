// budgetgate backtest: what would the gate have done over a past period?

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "operator/cli/cli_io.h"
#include "operator/cli/commands.h"
#include "operator/cli/manifests.h"
#include "operator/cli/prometheus_flags.h"
#include "operator/cli/table.h"
#include "operator/common/json.h"
#include "operator/prometheus/backtest.h"

namespace budgetgate::cli {
namespace {

struct BacktestCliOptions {
  std::vector<std::string> files;
  std::string policy;
  std::string from;
  std::string to;
  std::string step = "1h";
  std::string output;
  bool everyStep = false;
  PrometheusFlags prometheus;
};

std::vector<std::string> firingAlerts(const model::SloStatus& s) {
  std::vector<std::string> out;
  for (const auto& a : s.alerts) {
    if (a.firing) out.push_back(a.rule.name);
  }
  return out;
}

std::string decision(const model::SloStatus& s, engine::Risk r) {
  if (!s.decisionsByRisk) return "no-data";
  return std::string(engine::verdictName((*s.decisionsByRisk)[static_cast<std::size_t>(r)]));
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out.empty() ? "-" : out;
}

void addSummary(rapidjson::Value& out, const prometheus::BacktestSummary& s,
                rapidjson::Document::AllocatorType& a) {
  out.SetObject();
  out.AddMember("steps", static_cast<std::uint64_t>(s.steps), a);
  out.AddMember("tierChanges", static_cast<std::uint64_t>(s.tierChanges), a);
  out.AddMember("stepsWithoutData", static_cast<std::uint64_t>(s.stepsWithoutData), a);
  rapidjson::Value tiers(rapidjson::kObjectType);
  for (const auto& [tier, hours] : s.hoursInTier)
    tiers.AddMember(json::str(tier, a), rapidjson::Value(json::tidy(hours)), a);
  out.AddMember("hoursInTier", tiers, a);
  rapidjson::Value frozen(rapidjson::kObjectType), review(rapidjson::kObjectType);
  for (auto r : engine::kRisks) {
    frozen.AddMember(json::str(engine::riskName(r), a),
                     rapidjson::Value(json::tidy(s.frozenHours[static_cast<std::size_t>(r)])), a);
    review.AddMember(json::str(engine::riskName(r), a),
                     rapidjson::Value(json::tidy(s.reviewHours[static_cast<std::size_t>(r)])), a);
  }
  out.AddMember("frozenHoursByRisk", frozen, a);
  out.AddMember("reviewHoursByRisk", review, a);
  if (s.firstExhausted) {
    out.AddMember("firstExhausted", json::str(formatTime(*s.firstExhausted), a), a);
  } else {
    out.AddMember("firstExhausted", rapidjson::Value(rapidjson::kNullType), a);
  }
  if (s.lowestRemainingPercent) {
    out.AddMember("lowestRemainingPercent", json::tidy(*s.lowestRemainingPercent), a);
  }
  rapidjson::Value episodes(rapidjson::kObjectType);
  for (const auto& [name, n] : s.alertEpisodes) {
    episodes.AddMember(json::str(name, a), rapidjson::Value(static_cast<std::uint64_t>(n)), a);
  }
  out.AddMember("alertEpisodes", episodes, a);
}

int runBacktest(const BacktestCliOptions& o) {
  std::vector<model::ServiceLevelObjective> slos;
  if (!loadSlos(o.files, slos)) return kExitBadInput;
  ManifestSet set;
  std::vector<model::BudgetAdjustment> adjustments;
  if (!loadManifests(o.files, set) || !loadAdjustments(set, adjustments)) return kExitBadInput;
  if (slos.empty()) {
    std::cerr << "budgetgate backtest: no SLO documents in the given files\n";
    return kExitBadInput;
  }
  auto policy = loadPolicy(o.policy);
  if (!policy) return kExitBadInput;
  prometheus::BacktestOptions options;
  const auto from = parseTime(o.from);
  const auto to = parseTime(o.to);
  const auto step = parseDuration(o.step);
  if (!from || !to || !step) {
    std::cerr << "budgetgate backtest: --from and --to take RFC 3339 instants, --step a duration "
                 "such as 1h\n";
    return kExitBadInput;
  }
  options.from = *from;
  options.to = *to;
  options.step = *step;
  options.concurrency = static_cast<std::size_t>(std::max(1, o.prometheus.concurrency));
  auto client = makePrometheusClient(o.prometheus);
  if (!client) return kExitBadInput;

  const bool json = o.output == "json" || (o.output.empty() && !stdoutIsTerminal());
  rapidjson::Document out(rapidjson::kArrayType);
  auto& a = out.GetAllocator();
  int exit = kExitOk;
  for (const auto& slo : slos) {
    spdlog::info("backtesting {} from {} to {} every {}", slo.key(), o.from, o.to, o.step);
    options.adjustments.clear();
    for (const auto& adj : adjustments) {
      if (adj.appliesTo(slo.ns, slo.name, slo.labels)) options.adjustments.push_back(&adj);
    }
    if (!options.adjustments.empty()) {
      spdlog::info("{}: replaying {} BudgetAdjustment(s)", slo.key(), options.adjustments.size());
    }
    const auto result = prometheus::backtest(*client, slo, *policy, options);
    if (!result.error.empty()) {
      std::cerr << fmt::format("budgetgate backtest: {}: {}\n", slo.key(), result.error);
      exit = result.error.rfind("Prometheus", 0) == 0 ? kExitMissingData : kExitBadInput;
      continue;
    }
    spdlog::info("{} steps replayed from {} range queries", result.steps.size(), result.queries);
    if (json) {
      rapidjson::Value item(rapidjson::kObjectType);
      item.AddMember("namespace", json::str(slo.ns, a), a);
      item.AddMember("name", json::str(slo.name, a), a);
      item.AddMember("from", json::str(formatTime(result.alignedFrom), a), a);
      item.AddMember("to", json::str(o.to, a), a);
      item.AddMember("step", json::str(formatDuration(*step), a), a);
      rapidjson::Value steps(rapidjson::kArrayType);
      for (const auto& st : result.steps) {
        const auto& s = st.status;
        rapidjson::Value row(rapidjson::kObjectType);
        row.AddMember("time", json::str(formatTime(st.at), a), a);
        row.AddMember("tier", json::str(engine::tierName(s.tier), a), a);
        if (s.errorBudget) {
          row.AddMember("remainingPercent", json::tidy(s.errorBudget->remainingPercentRaw()), a);
        } else {
          row.AddMember("remainingPercent", rapidjson::Value(rapidjson::kNullType), a);
        }
        if (s.adjustments) {
          row.AddMember("excludedBadEvents", json::tidy(s.adjustments->excludedBadEvents), a);
        }
        row.AddMember("burnRate1h", json::tidy(s.burnRates.orZero(engine::BurnRateWindow::H1)), a);
        rapidjson::Value decisions(rapidjson::kObjectType);
        for (auto r : engine::kRisks) {
          decisions.AddMember(json::str(engine::riskName(r), a), json::str(decision(s, r), a), a);
        }
        row.AddMember("decisions", decisions, a);
        rapidjson::Value firing(rapidjson::kArrayType);
        for (const auto& f : firingAlerts(s)) firing.PushBack(json::str(f, a), a);
        row.AddMember("firing", firing, a);
        // Why the policy's limits changed what the matrix alone would say.
        if (!s.freezeRelaxed.empty()) {
          row.AddMember("freezeRelaxed", json::str(s.freezeRelaxed, a), a);
        }
        if (!s.lowTrafficWindows.empty()) {
          rapidjson::Value low(rapidjson::kArrayType);
          for (const auto& w : s.lowTrafficWindows) low.PushBack(json::str(w, a), a);
          row.AddMember("lowTrafficWindows", low, a);
        }
        steps.PushBack(row, a);
      }
      item.AddMember("steps", steps, a);
      rapidjson::Value summary;
      addSummary(summary, result.summary, a);
      item.AddMember("summary", summary, a);
      out.PushBack(item, a);
      continue;
    }
    std::cout << fmt::format("SLO {} ({} {}, target {:g}%), {} to {} every {}:\n", slo.key(),
                             slo.window.text, model::budgetingMethodName(slo.budgetingMethod),
                             slo.objectives.front().target * 100, formatTime(result.alignedFrom),
                             o.to, formatDuration(*step));
    Table table({"TIME", "TIER", "REMAINING", "BURN-1H", "LOW", "MEDIUM", "HIGH", "FIRING"});
    std::string previousKey;
    for (const auto& st : result.steps) {
      const auto& s = st.status;
      std::vector<std::string> row{
          formatTime(st.at),
          std::string(engine::tierName(s.tier)),
          s.errorBudget ? fmt::format("{:.1f}%", s.errorBudget->remainingPercentRaw()) : "-",
          fmt::format("{:.2f}x", s.burnRates.orZero(engine::BurnRateWindow::H1)),
          decision(s, engine::Risk::Low),
          decision(s, engine::Risk::Medium),
          decision(s, engine::Risk::High),
          join(firingAlerts(s))};
      const std::string key = row[1] + row[4] + row[5] + row[6] + row[7];
      if (o.everyStep || key != previousKey || &st == &result.steps.back()) table.add(row);
      previousKey = key;
    }
    std::cout << table.render();
    const auto& sm = result.summary;
    std::cout << fmt::format(
        "summary: {} steps, {} tier changes; frozen (defer/block) low {:g}h, medium {:g}h, high "
        "{:g}h; review low {:g}h, medium {:g}h, high {:g}h",
        sm.steps, sm.tierChanges, sm.frozenHours[0], sm.frozenHours[1], sm.frozenHours[2],
        sm.reviewHours[0], sm.reviewHours[1], sm.reviewHours[2]);
    if (sm.lowestRemainingPercent)
      std::cout << fmt::format("; lowest remaining {:.1f}%", *sm.lowestRemainingPercent);
    if (sm.firstExhausted) std::cout << "; first exhausted " << formatTime(*sm.firstExhausted);
    for (const auto& [name, n] : sm.alertEpisodes)
      std::cout << fmt::format("; {} fired {}x", name, n);
    std::cout << "\n"
              << (o.everyStep ? ""
                              : "(rows shown where the tier, a decision or the firing alerts "
                                "change; --every-step shows all)\n");
  }
  if (json) printJson(out);
  return exit;
}

}  // namespace

void addBacktestCommand(CLI::App& app, int& exitCode) {
  auto o = std::make_shared<BacktestCliOptions>();
  auto* cmd = app.add_subcommand(
      "backtest",
      "Replay history: the tier and the gate's decision for each risk level at every step, and "
      "a summary (hours frozen per risk, tier changes, alert episodes). Exit 0 on success, 2 on "
      "bad input, 3 when Prometheus failed.");
  cmd->add_option("-f,--filename", o->files,
                  "SLO manifests, and BudgetAdjustment manifests to replay")
      ->required()
      ->expected(1, -1);
  cmd->add_option("--policy", o->policy, "ErrorBudgetPolicy (default: built-in)");
  cmd->add_option("--from", o->from, "first instant (RFC 3339)")->required();
  cmd->add_option("--to", o->to, "last instant (RFC 3339)")->required();
  cmd->add_option("--step", o->step, "step: 5m, 10m, 15m, 30m or whole hours (default 1h)");
  cmd->add_option("-o,--output", o->output, "json or table (default: table on a terminal)");
  cmd->add_flag("--every-step", o->everyStep, "table: print every step, not only changes");
  addPrometheusFlags(cmd, o->prometheus);
  cmd->callback([o, &exitCode] { exitCode = runBacktest(*o); });
}

}  // namespace budgetgate::cli
