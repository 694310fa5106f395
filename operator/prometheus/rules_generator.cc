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

// The error ratio over `range` as one self-contained expression.
std::string errorRatio(const ObjectiveSignals& s, Seconds range) {
  switch (s.shape) {
    case Shape::GoodOverTotal:
      // A missing good series next to real traffic means every request failed.
      return fmt::format("({total} - ({good} or vector(0))) / {total}",
                         fmt::arg("total", s.total->expr(range)),
                         fmt::arg("good", s.numerator.expr(range)));
    case Shape::BadOverTotal:
      return fmt::format("({} or vector(0)) / {}", s.numerator.expr(range), s.total->expr(range));
    case Shape::BadSlices:
    case Shape::BadFractionSum:
      return fmt::format(
          "{} / {}", s.numerator.expr(range),
          promNumber(static_cast<double>(range.count()) / static_cast<double>(s.slice.count())));
  }
  return "vector(0)";
}

void emitLabels(YAML::Emitter& out, const model::ServiceLevelObjective& slo) {
  out << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "slo" << YAML::Value << YAML::DoubleQuoted << slo.name;
  out << YAML::Key << "slo_namespace" << YAML::Value << YAML::DoubleQuoted << slo.ns;
  out << YAML::Key << "service" << YAML::Value << YAML::DoubleQuoted << slo.service;
  out << YAML::EndMap;
}

std::string selectorFor(const model::ServiceLevelObjective& slo) {
  return fmt::format("slo=\"{}\",slo_namespace=\"{}\"", slo.name, slo.ns);
}

// The series whose disappearance means "no data": the total (or threshold) query.
std::string absentExpr(const ObjectiveSignals& s) {
  const Quantity& q = s.total ? *s.total : s.numerator;
  if (q.kind == Quantity::Kind::Increase) return fmt::format("absent_over_time({}[10m])", q.text);
  return fmt::format("absent({})", q.expr(Seconds(600)));
}

}  // namespace

std::string generateRules(const std::vector<model::ServiceLevelObjective>& slos) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq;
  for (const auto& slo : slos) {
    if (slo.objectives.empty()) continue;
    const auto& objective = slo.objectives.front();
    std::string error;
    auto signals = signalsFor(slo, objective, &error);
    if (!signals) throw std::invalid_argument(fmt::format("{}: {}", slo.key(), error));
    const double budgetRatio = 1.0 - objective.target;

    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << fmt::format("budgetgate-{}-{}", slo.ns, slo.name);
    out << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
    for (auto w : engine::kBurnRateWindows) {
      const auto name = std::string(engine::windowName(w));
      const auto ratio = errorRatio(*signals, engine::windowLength(w));
      out << YAML::BeginMap << YAML::Key << "record" << YAML::Value
          << fmt::format("{}:{}", kErrorRatioRecord, name);
      out << YAML::Key << "expr" << YAML::Value << ratio;
      emitLabels(out, slo);
      out << YAML::EndMap;
      out << YAML::BeginMap << YAML::Key << "record" << YAML::Value
          << fmt::format("{}:{}", kBurnRateRecord, name);
      out << YAML::Key << "expr" << YAML::Value
          << fmt::format("({}) / {}", ratio, promNumber(budgetRatio));
      emitLabels(out, slo);
      out << YAML::EndMap;
    }
    if (slo.window.isRolling) {
      out << YAML::BeginMap << YAML::Key << "record" << YAML::Value
          << std::string(kRemainingRecord);
      out << YAML::Key << "expr" << YAML::Value
          << fmt::format("1 - ({}) / {}", errorRatio(*signals, slo.window.duration),
                         promNumber(budgetRatio));
      emitLabels(out, slo);
      out << YAML::EndMap;
    }
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
    int rank = 0;
    for (const auto& rule : engine::deriveAlertRules(windowLength, slo.gate.alerts)) {
      ++rank;
      const auto threshold = promNumber(rule.threshold);
      out << YAML::BeginMap << YAML::Key << "alert" << YAML::Value << "BudgetgateErrorBudgetBurn";
      out << YAML::Key << "expr" << YAML::Value
          << fmt::format("{rec}:{long}{{{sel}}} >= {t} and {rec}:{short}{{{sel}}} >= {t}",
                         fmt::arg("rec", kBurnRateRecord),
                         fmt::arg("long", engine::windowName(rule.longWindow)),
                         fmt::arg("short", engine::windowName(rule.shortWindow)),
                         fmt::arg("sel", selectorFor(slo)), fmt::arg("t", threshold));
      out << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
      out << YAML::Key << "severity" << YAML::Value << rule.severity;
      out << YAML::Key << "budgetgate_alert" << YAML::Value << rule.name;
      // Lower rank = faster burn; inhibit higher ranks while a lower one fires.
      out << YAML::Key << "budgetgate_alert_rank" << YAML::Value << YAML::DoubleQuoted
          << std::to_string(rank);
      out << YAML::Key << "slo" << YAML::Value << YAML::DoubleQuoted << slo.name;
      out << YAML::Key << "slo_namespace" << YAML::Value << YAML::DoubleQuoted << slo.ns;
      out << YAML::EndMap;
      out << YAML::Key << "annotations" << YAML::Value << YAML::BeginMap;
      out << YAML::Key << "summary" << YAML::Value
          << fmt::format("SLO {}/{} is burning its error budget {}x too fast", slo.ns, slo.name,
                         threshold);
      out << YAML::Key << "description" << YAML::Value
          << fmt::format(
                 "Burn rate >= {} over {} and {}: {:g}% of the {} budget would be spent in "
                 "{}. Current {} burn rate: {{{{ $value | printf \"%.2f\" }}}}.",
                 threshold, engine::windowName(rule.longWindow),
                 engine::windowName(rule.shortWindow), rule.budgetFraction * 100, slo.window.text,
                 engine::windowName(rule.longWindow), engine::windowName(rule.longWindow));
      out << YAML::EndMap << YAML::EndMap;
    }
    out << YAML::BeginMap << YAML::Key << "alert" << YAML::Value << "BudgetgateSLIDataAbsent";
    out << YAML::Key << "expr" << YAML::Value << absentExpr(*signals);
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
    out << YAML::EndMap << YAML::EndMap;
    out << YAML::EndSeq << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace budgetgate::prometheus
