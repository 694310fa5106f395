// budgetgate calc: the budget arithmetic for a target and window, without Prometheus.

#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <optional>
#include <string>

#include "operator/cli/cli_io.h"
#include "operator/cli/commands.h"
#include "operator/common/duration.h"
#include "operator/common/json.h"
#include "operator/engine/alert_table.h"
#include "operator/engine/budget_math.h"

namespace budgetgate::cli {
namespace {

// "99.9", "99.9%" -> 0.999; "0.999" -> 0.999. Values >= 1 are percentages.
std::optional<double> parseTarget(std::string text) {
  if (!text.empty() && text.back() == '%') text.pop_back();
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
  const double fraction = v >= 1.0 ? v / 100.0 : v;
  if (!(fraction > 0 && fraction < 1)) return std::nullopt;
  return fraction;
}

// "1%" -> 0.01; "0.01" -> 0.01 (a bare number below 1 is a fraction, otherwise a percentage).
std::optional<double> parseRate(std::string text) {
  bool percent = false;
  if (!text.empty() && text.back() == '%') {
    text.pop_back();
    percent = true;
  }
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v) || v < 0) {
    return std::nullopt;
  }
  const double fraction = percent || v >= 1.0 ? v / 100.0 : v;
  if (fraction > 1.0) return std::nullopt;
  return fraction;
}

struct CalcOptions {
  std::string target;
  std::string window = "30d";
  std::string errorRate;
  std::string consumed;
  std::string elapsed;
};

int runCalc(const CalcOptions& o) {
  const auto target = parseTarget(o.target);
  if (!target) {
    std::cerr << fmt::format(
        "budgetgate calc: --target \"{}\": expected a percentage such as 99.9 "
        "(or a fraction such as 0.999) strictly between 0 and 100 %\n",
        o.target);
    return kExitBadInput;
  }
  const auto window = parseDuration(o.window);
  if (!window || window->count() <= 0) {
    std::cerr << fmt::format("budgetgate calc: --window \"{}\": expected a duration such as 30d\n",
                             o.window);
    return kExitBadInput;
  }
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  out.AddMember("target", json::tidy(*target), a);
  out.AddMember("targetPercent", json::tidy(*target * 100.0), a);
  out.AddMember("window", json::str(formatDuration(*window), a), a);
  out.AddMember("errorBudgetRatio", json::tidy(engine::errorBudgetRatio(*target)), a);
  const double minutes = engine::timeBudgetMinutes(*window, *target);
  out.AddMember("budgetMinutes", json::tidy(minutes), a);
  out.AddMember("budgetHours", json::tidy(minutes / 60.0), a);

  if (!o.errorRate.empty()) {
    const auto rate = parseRate(o.errorRate);
    if (!rate) {
      std::cerr << fmt::format(
          "budgetgate calc: --error-rate \"{}\": expected a percentage such as "
          "1% or a fraction such as 0.01\n",
          o.errorRate);
      return kExitBadInput;
    }
    const double burn = engine::burnRate(*rate, *target);
    out.AddMember("errorRate", json::tidy(*rate), a);
    out.AddMember("burnRate", json::tidy(burn), a);
    if (auto t = engine::timeToExhaustion(1.0, *window, burn)) {
      out.AddMember("exhaustionDays", json::tidy(static_cast<double>(t->count()) / 86400.0), a);
      out.AddMember("exhaustionHours", json::tidy(static_cast<double>(t->count()) / 3600.0), a);
    } else {
      out.AddMember("exhaustionDays", rapidjson::Value(rapidjson::kNullType), a);
      out.AddMember("exhaustionHours", rapidjson::Value(rapidjson::kNullType), a);
    }
  }
  if (!o.consumed.empty() || !o.elapsed.empty()) {
    const std::string consumedText =
        o.consumed.empty() || o.consumed.back() == '%' ? o.consumed : o.consumed + "%";
    const auto consumed = parseRate(consumedText);
    const auto elapsed = parseDuration(o.elapsed);
    if (!consumed || !elapsed || elapsed->count() <= 0 || *elapsed > *window) {
      std::cerr << "budgetgate calc: --consumed PERCENT and --elapsed DURATION go together "
                   "(e.g. --consumed 75 --elapsed 15d), elapsed within the window\n";
      return kExitBadInput;
    }
    // Average burn so far: share of budget spent / share of window elapsed.
    const double elapsedShare =
        static_cast<double>(elapsed->count()) / static_cast<double>(window->count());
    out.AddMember("consumedPercent", json::tidy(*consumed * 100.0), a);
    out.AddMember("elapsed", json::str(formatDuration(*elapsed), a), a);
    out.AddMember("averageBurnRate", json::tidy(*consumed / elapsedShare), a);
  }
  rapidjson::Value alerts(rapidjson::kArrayType);
  for (const auto& rule : engine::deriveAlertRules(*window)) {
    rapidjson::Value r(rapidjson::kObjectType);
    r.AddMember("name", json::str(rule.name, a), a);
    r.AddMember("severity", json::str(rule.severity, a), a);
    r.AddMember("longWindow", json::str(engine::windowName(rule.longWindow), a), a);
    r.AddMember("shortWindow", json::str(engine::windowName(rule.shortWindow), a), a);
    r.AddMember("burnRateThreshold", json::tidy(rule.threshold), a);
    r.AddMember("budgetPercentAtThreshold", json::tidy(rule.budgetFraction * 100.0), a);
    alerts.PushBack(r, a);
  }
  out.AddMember("alerts", alerts, a);
  printJson(out);
  return kExitOk;
}

}  // namespace

void addCalcCommand(CLI::App& app, int& exitCode) {
  auto options = std::make_shared<CalcOptions>();
  auto* cmd = app.add_subcommand(
      "calc",
      "Error-budget arithmetic for a target and window: budget minutes, burn rate and time to "
      "exhaustion for an error rate, and the burn-rate alert thresholds. Prints JSON.");
  cmd->add_option("--target", options->target, "SLO target: 99.9 (percent) or 0.999")->required();
  cmd->add_option("--window", options->window, "SLO window (default 30d)");
  cmd->add_option("--error-rate", options->errorRate,
                  "current error rate (1% or 0.01): adds burnRate and exhaustionDays");
  cmd->add_option("--consumed", options->consumed,
                  "budget consumed so far, in percent (with --elapsed): adds averageBurnRate");
  cmd->add_option("--elapsed", options->elapsed, "time elapsed in the window (with --consumed)");
  cmd->callback([options, &exitCode] { exitCode = runCalc(*options); });
}

}  // namespace budgetgate::cli
