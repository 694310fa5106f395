#include "operator/prometheus/rules_generator.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <stdexcept>

#include "operator/engine/alert_table.h"
#include "operator/model/window_bounds.h"
#include "operator/prometheus/slo_signals.h"

namespace budgetgate::prometheus {
namespace {

using Shape = ObjectiveSignals::Shape;

// numerator / denominator, and 0 (not NaN) where the denominator is 0: a window without
// traffic burns nothing, as `evaluate` reports it (burn rate 0, status.noDataWindows).
std::string ratioOrZero(const std::string& numerator, const std::string& denominator) {
  return fmt::format("({n}) / ({d} > 0) or ({d}) * 0", fmt::arg("n", numerator),
                     fmt::arg("d", denominator));
}

// The error ratio over `range` as one self-contained expression.
std::string errorRatio(const ObjectiveSignals& s, Seconds range) {
  switch (s.shape) {
    case Shape::GoodOverTotal:
      // A missing good series next to real traffic means every request failed.
      return ratioOrZero(
          fmt::format("{total} - ({good} or vector(0))", fmt::arg("total", s.total->expr(range)),
                      fmt::arg("good", s.numerator.expr(range))),
          s.total->expr(range));
    case Shape::BadOverTotal:
      return ratioOrZero(fmt::format("{} or vector(0)", s.numerator.expr(range)),
                         s.total->expr(range));
    case Shape::BadSlices:
    case Shape::BadFractionSum:
      return fmt::format(
          "{} / {}", s.numerator.expr(range),
          promNumber(static_cast<double>(range.count()) / static_cast<double>(s.slice.count())));
  }
  return "vector(0)";
}

constexpr const char* kCompositeLabel = "composite";

// The label naming an objective: its displayName, or its position when it has none or when the
// name would not single it out (shared with another objective, or the composite's own label).
std::string objectiveLabel(const model::ServiceLevelObjective& slo, std::size_t i) {
  const auto& name = slo.objectives[i].displayName;
  bool unique = !name.empty() && name != kCompositeLabel;
  for (std::size_t j = 0; unique && j < slo.objectives.size(); ++j) {
    unique = j == i || slo.objectives[j].displayName != name;
  }
  return unique ? name : std::to_string(i);
}

void emitLabels(YAML::Emitter& out, const model::ServiceLevelObjective& slo,
                const std::string& objective) {
  out << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "slo" << YAML::Value << YAML::DoubleQuoted << slo.name;
  out << YAML::Key << "slo_namespace" << YAML::Value << YAML::DoubleQuoted << slo.ns;
  out << YAML::Key << "service" << YAML::Value << YAML::DoubleQuoted << slo.service;
  out << YAML::Key << "objective" << YAML::Value << YAML::DoubleQuoted << objective;
  out << YAML::EndMap;
}

// A label value inside a PromQL string literal (an objective's displayName may hold quotes).
std::string quotedValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string selectorFor(const model::ServiceLevelObjective& slo, const std::string& objective) {
  return fmt::format("slo=\"{}\",slo_namespace=\"{}\",objective=\"{}\"", slo.name, slo.ns,
                     quotedValue(objective));
}

// The series whose disappearance means "no data": the total (or threshold) query.
std::string absentExpr(const ObjectiveSignals& s) {
  const Quantity& q = s.total ? *s.total : s.numerator;
  if (q.kind == Quantity::Kind::Increase) return fmt::format("absent_over_time({}[10m])", q.text);
  return fmt::format("absent({})", q.expr(Seconds(600)));
}

// sum_i(weight_i x burn_i) / sum_i(weight_i) over `range`: the composite's burn rate, the
// weighted mean its status reports. Each objective's expression is written out rather than read
// from its record, so the result does not depend on rule order and `promtool tsdb
// create-blocks-from rules` (which evaluates every rule alone) can backfill it.
std::string weightedBurn(const model::ServiceLevelObjective& slo,
                         const std::vector<ObjectiveSignals>& signals, Seconds range) {
  std::string sum;
  double weights = 0;
  for (std::size_t o = 0; o < slo.objectives.size(); ++o) {
    const double w = slo.objectives[o].compositeWeight;
    weights += w;
    sum += fmt::format("{}{} * ({}) / {}", sum.empty() ? "" : " + ", promNumber(w),
                       errorRatio(signals[o], range), promNumber(1.0 - slo.objectives[o].target));
  }
  return fmt::format("({}) / {}", sum, promNumber(weights));
}

void emitCompositeRecords(YAML::Emitter& out, const model::ServiceLevelObjective& slo,
                          const std::vector<ObjectiveSignals>& signals) {
  for (auto w : engine::kBurnRateWindows) {
    out << YAML::BeginMap << YAML::Key << "record" << YAML::Value
        << fmt::format("{}:{}", kBurnRateRecord, engine::windowName(w));
    out << YAML::Key << "expr" << YAML::Value
        << weightedBurn(slo, signals, engine::windowLength(w));
    emitLabels(out, slo, kCompositeLabel);
    out << YAML::EndMap;
  }
  if (slo.window.isRolling) {
    // 1 - the weighted mean of the objectives' consumed fractions (= their mean burn over the
    // whole window).
    out << YAML::BeginMap << YAML::Key << "record" << YAML::Value << std::string(kRemainingRecord);
    out << YAML::Key << "expr" << YAML::Value
        << fmt::format("1 - {}", weightedBurn(slo, signals, slo.window.duration));
    emitLabels(out, slo, kCompositeLabel);
    out << YAML::EndMap;
  }
}

// Alerts on the remaining budget, in exclusive bands (warning, critical, exhausted) so that one
// fires at a time: from the controller's metric, which counts calendar windows from their start.
template <typename Links>
void emitBudgetAlerts(YAML::Emitter& out, const model::ServiceLevelObjective& slo,
                      const engine::TierThresholds& thresholds, const Links& linkAnnotations) {
  const std::string series =
      fmt::format("{}{{namespace=\"{}\",slo=\"{}\"}}", kRemainingMetric, slo.ns, slo.name);
  const double warning = thresholds.warning.remainingPercentAtMost.value_or(25);
  const double critical = thresholds.critical.remainingPercentAtMost.value_or(10);
  struct Band {
    const char* name;
    const char* severity;
    const char* forDuration;
    std::string expr;
    std::string summary;
  };
  const Band bands[] = {
      {"budget-warning", "ticket", "15m",
       fmt::format("{} <= {} and {} > {}", series, promNumber(warning), series,
                   promNumber(critical)),
       fmt::format("SLO {}/{} has {}% or less of its {} error budget left", slo.ns, slo.name,
                   promNumber(warning), slo.window.text)},
      {"budget-critical", "page", "15m",
       fmt::format("{} <= {} and {} > 0", series, promNumber(critical), series),
       fmt::format("SLO {}/{} has {}% or less of its {} error budget left", slo.ns, slo.name,
                   promNumber(critical), slo.window.text)},
      {"budget-exhausted", "page", "5m", fmt::format("{} <= 0", series),
       fmt::format("SLO {}/{} has spent its {} error budget", slo.ns, slo.name, slo.window.text)},
  };
  for (const auto& b : bands) {
    out << YAML::BeginMap << YAML::Key << "alert" << YAML::Value << "BudgetgateErrorBudgetLow";
    out << YAML::Key << "expr" << YAML::Value << b.expr;
    out << YAML::Key << "for" << YAML::Value << b.forDuration;
    out << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "severity" << YAML::Value << b.severity;
    out << YAML::Key << "budgetgate_alert" << YAML::Value << b.name;
    out << YAML::Key << "slo" << YAML::Value << YAML::DoubleQuoted << slo.name;
    out << YAML::Key << "slo_namespace" << YAML::Value << YAML::DoubleQuoted << slo.ns;
    out << YAML::EndMap;
    out << YAML::Key << "annotations" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "summary" << YAML::Value << b.summary;
    out << YAML::Key << "description" << YAML::Value
        << "Remaining error budget: {{ $value | printf \"%.1f\" }}% (budgetgate's status; "
           "the gate decides rollouts by its tier).";
    linkAnnotations(out);
    out << YAML::EndMap << YAML::EndMap;
  }
}

}  // namespace

std::string generateRules(const std::vector<model::ServiceLevelObjective>& slos,
                          const RulesOptions& options) {
  const double minEvents = options.minEvents;
  const auto linkAnnotations = [&](YAML::Emitter& out) {
    if (!options.runbookUrl.empty()) {
      out << YAML::Key << "runbook_url" << YAML::Value << options.runbookUrl;
    }
    if (!options.dashboardUrl.empty()) {
      out << YAML::Key << "dashboard_url" << YAML::Value << options.dashboardUrl;
    }
  };
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq;
  for (const auto& slo : slos) {
    if (slo.objectives.empty()) continue;
    // Every objective gets its own records and alerts (label objective), each divided by its
    // own budget: with 99.9 % and 99.99 % objectives the second burns ten times faster.
    std::vector<ObjectiveSignals> signals;
    for (const auto& objective : slo.objectives) {
      std::string error;
      auto s = signalsFor(slo, objective, &error);
      if (!s) throw std::invalid_argument(fmt::format("{}: {}", slo.key(), error));
      signals.push_back(std::move(*s));
    }

    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << fmt::format("budgetgate-{}-{}", slo.ns, slo.name);
    out << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
    for (std::size_t o = 0; o < slo.objectives.size(); ++o) {
      const auto label = objectiveLabel(slo, o);
      const double budgetRatio = 1.0 - slo.objectives[o].target;
      for (auto w : engine::kBurnRateWindows) {
        const auto name = std::string(engine::windowName(w));
        const auto ratio = errorRatio(signals[o], engine::windowLength(w));
        out << YAML::BeginMap << YAML::Key << "record" << YAML::Value
            << fmt::format("{}:{}", kErrorRatioRecord, name);
        out << YAML::Key << "expr" << YAML::Value << ratio;
        emitLabels(out, slo, label);
        out << YAML::EndMap;
        out << YAML::BeginMap << YAML::Key << "record" << YAML::Value
            << fmt::format("{}:{}", kBurnRateRecord, name);
        out << YAML::Key << "expr" << YAML::Value
            << fmt::format("({}) / {}", ratio, promNumber(budgetRatio));
        emitLabels(out, slo, label);
        out << YAML::EndMap;
      }
      if (slo.window.isRolling) {
        out << YAML::BeginMap << YAML::Key << "record" << YAML::Value
            << std::string(kRemainingRecord);
        out << YAML::Key << "expr" << YAML::Value
            << fmt::format("1 - ({}) / {}", errorRatio(signals[o], slo.window.duration),
                           promNumber(budgetRatio));
        emitLabels(out, slo, label);
        out << YAML::EndMap;
      }
    }
    if (slo.composite()) emitCompositeRecords(out, slo, signals);
    out << YAML::EndSeq << YAML::EndMap;

    // Alerts in a group of their own: they read the recording rules above.
    const Seconds windowLength =
        slo.window.isRolling
            ? slo.window.duration
            : model::resolveWindow(slo.window, TimePoint(Seconds(1'700'000'000)), nullptr)
                  .value_or(model::WindowBounds{{}, {}, Seconds(30 * 86400)})
                  .length;
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value
        << fmt::format("budgetgate-{}-{}-alerts", slo.ns, slo.name);
    out << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
    // A composite SLO alerts (and gates) on the composite, as its status does.
    std::vector<std::string> alertLabels;
    if (slo.composite()) {
      alertLabels.emplace_back(kCompositeLabel);
    } else {
      for (std::size_t o = 0; o < slo.objectives.size(); ++o) {
        alertLabels.push_back(objectiveLabel(slo, o));
      }
    }
    for (std::size_t l = 0; l < alertLabels.size(); ++l) {
      const auto& label = alertLabels[l];
      // minEvents: only for an objective that counts events (not a composite's mix).
      const ObjectiveSignals* counted =
          minEvents > 0 && !slo.composite() && signals[l].total ? &signals[l] : nullptr;
      int rank = 0;
      for (const auto& rule : engine::deriveAlertRules(windowLength, slo.gate.alerts)) {
        ++rank;
        const auto threshold = promNumber(rule.threshold);
        std::string expr = fmt::format(
            "{rec}:{long}{{{sel}}} >= {t} and {rec}:{short}{{{sel}}} >= {t}",
            fmt::arg("rec", kBurnRateRecord), fmt::arg("long", engine::windowName(rule.longWindow)),
            fmt::arg("short", engine::windowName(rule.shortWindow)),
            fmt::arg("sel", selectorFor(slo, label)), fmt::arg("t", threshold));
        if (counted) {
          for (auto w : {rule.longWindow, rule.shortWindow}) {
            expr +=
                fmt::format(" and on() ({}) >= {}", counted->total->expr(engine::windowLength(w)),
                            promNumber(minEvents));
          }
        }
        out << YAML::BeginMap << YAML::Key << "alert" << YAML::Value << "BudgetgateErrorBudgetBurn";
        out << YAML::Key << "expr" << YAML::Value << expr;
        out << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
        out << YAML::Key << "severity" << YAML::Value << rule.severity;
        out << YAML::Key << "budgetgate_alert" << YAML::Value << rule.name;
        // Lower rank = faster burn; inhibit higher ranks while a lower one fires.
        out << YAML::Key << "budgetgate_alert_rank" << YAML::Value << YAML::DoubleQuoted
            << std::to_string(rank);
        out << YAML::Key << "slo" << YAML::Value << YAML::DoubleQuoted << slo.name;
        out << YAML::Key << "slo_namespace" << YAML::Value << YAML::DoubleQuoted << slo.ns;
        out << YAML::Key << "objective" << YAML::Value << YAML::DoubleQuoted << label;
        out << YAML::EndMap;
        out << YAML::Key << "annotations" << YAML::Value << YAML::BeginMap;
        out << YAML::Key << "summary" << YAML::Value
            << fmt::format("SLO {}/{} ({}) is burning its error budget {}x too fast", slo.ns,
                           slo.name, label, threshold);
        out << YAML::Key << "description" << YAML::Value
            << fmt::format(
                   "Burn rate >= {} over {} and {}: {:g}% of the {} budget would be spent in "
                   "{}. Current {} burn rate: {{{{ $value | printf \"%.2f\" }}}}.",
                   threshold, engine::windowName(rule.longWindow),
                   engine::windowName(rule.shortWindow), rule.budgetFraction * 100, slo.window.text,
                   engine::windowName(rule.longWindow), engine::windowName(rule.longWindow));
        linkAnnotations(out);
        out << YAML::EndMap << YAML::EndMap;
      }
    }
    out << YAML::BeginMap << YAML::Key << "alert" << YAML::Value << "BudgetgateSLIDataAbsent";
    std::string absent;
    for (const auto& sig : signals) {
      const auto expr = absentExpr(sig);
      if (absent.find(expr) == std::string::npos) absent += (absent.empty() ? "" : " or ") + expr;
    }
    out << YAML::Key << "expr" << YAML::Value << absent;
    out << YAML::Key << "for" << YAML::Value << "5m";
    out << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "severity" << YAML::Value << "ticket";
    out << YAML::Key << "budgetgate_alert" << YAML::Value << "data-absent";
    out << YAML::Key << "slo" << YAML::Value << YAML::DoubleQuoted << slo.name;
    out << YAML::Key << "slo_namespace" << YAML::Value << YAML::DoubleQuoted << slo.ns;
    out << YAML::EndMap;
    out << YAML::Key << "annotations" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "summary" << YAML::Value
        << fmt::format("SLO {}/{} has no data: its SLI series disappeared", slo.ns, slo.name);
    linkAnnotations(out);
    out << YAML::EndMap << YAML::EndMap;
    emitBudgetAlerts(out, slo, options.thresholds, linkAnnotations);
    out << YAML::EndSeq << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace budgetgate::prometheus
