#include "operator/prometheus/objective_outcome.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace budgetgate::prometheus {
namespace {

using engine::kBurnRateWindows;
using Shape = ObjectiveSignals::Shape;

double valueOrZero(const Measurement& m) {
  return m.hasValue() ? m.value : 0.0;
}

model::Condition condition(std::string type, bool ok, std::string reason, std::string message,
                           TimePoint at, long long generation) {
  return {std::move(type), ok ? "True" : "False", std::move(reason), std::move(message), at,
          generation};
}

std::string windowText(const model::ServiceLevelObjective& slo) {
  return slo.window.text;
}

// For each tier better than where the remaining budget now puts the SLO, when the remaining
// budget alone is back there with no new errors (see SloStatus::recoveryByTier).
std::vector<std::pair<engine::Tier, TimePoint>> recoveryByTier(
    const model::ServiceLevelObjective& slo, const ObjectiveOutcome& o, double target,
    const model::WindowBounds& bounds, const engine::ErrorBudgetPolicy& policy) {
  using engine::Tier;
  const std::pair<Tier, std::optional<double>> marks[] = {
      {Tier::Critical, 0.0},
      {Tier::Warning, policy.tiers.critical.remainingPercentAtMost},
      {Tier::Attention, policy.tiers.warning.remainingPercentAtMost},
      {Tier::Healthy, policy.tiers.attention.remainingPercentAtMost},
  };
  std::vector<std::pair<Tier, TimePoint>> out;
  const double remaining = o.budget.remainingPercentRaw();
  for (const auto& [tier, above] : marks) {
    if (!above || remaining > *above) continue;  // already there as far as the budget goes
    if (!slo.window.isRolling) {
      out.emplace_back(tier, bounds.start + bounds.length);  // a new period starts afresh
    } else if (o.history) {
      if (auto t = engine::recoveryAt(*o.history, target, *above)) out.emplace_back(tier, *t);
    }
  }
  return out;
}

}  // namespace

Measurement Measurement::of(double v) {
  Measurement m;
  if (std::isfinite(v)) {
    m.kind = Kind::Value;
    m.value = v;
  } else {
    m.kind = Kind::NotANumber;
  }
  return m;
}

Measurement Measurement::failed(QueryState state, std::string error) {
  Measurement m;
  m.kind = Kind::Failed;
  m.failure = state;
  m.error = std::move(error);
  return m;
}

ObjectiveOutcome measureObjective(const ObjectiveSignals& signals, const ObjectiveData& data,
                                  const model::WindowBounds& bounds, double target) {
  ObjectiveOutcome out;
  const bool occurrences = signals.total.has_value();
  // Any failed query makes the whole objective unknown: a partial answer could be wrong.
  std::vector<const Measurement*> all{&data.numeratorWindow};
  if (occurrences) all.push_back(&data.totalWindow);
  for (std::size_t i = 0; i < kBurnRateWindows.size(); ++i) {
    all.push_back(&data.numerator[i]);
    if (occurrences) all.push_back(&data.total[i]);
  }
  for (const auto* m : all) {
    if (m->kind == Measurement::Kind::Failed) {
      out.failure = *m;
      return out;
    }
  }

  // Burn rates. A window without traffic (or without series) has no burn rate.
  for (std::size_t i = 0; i < kBurnRateWindows.size(); ++i) {
    const auto w = kBurnRateWindows[i];
    std::optional<double> burn;
    if (occurrences) {
      const auto& t = data.total[i];
      const auto& n = data.numerator[i];
      if (t.hasValue() && t.value > 0 && n.kind != Measurement::Kind::NotANumber) {
        // An empty numerator next to real traffic means zero good (or zero bad) events.
        const double bad =
            signals.shape == Shape::GoodOverTotal ? t.value - valueOrZero(n) : valueOrZero(n);
        burn = engine::burnRateFromCounts(std::clamp(bad, 0.0, t.value), t.value, target);
      }
    } else if (data.numerator[i].hasValue()) {
      const double slices = static_cast<double>(engine::windowLength(w).count()) /
                            static_cast<double>(signals.slice.count());
      burn = engine::burnRate(std::clamp(data.numerator[i].value / slices, 0.0, 1.0), target);
    }
    out.burnRates.set(w, burn);
  }

  // The SLO window.
  if (occurrences) {
    const auto& t = data.totalWindow;
    const auto& n = data.numeratorWindow;
    if (!t.hasValue()) {
      out.noData = true;
      out.noDataDetail = t.kind == Measurement::Kind::NotANumber
                             ? "the total query returned NaN"
                             : "the total query returned no series for the SLO window";
      return out;
    }
    const double total = std::max(0.0, t.value);
    double bad = signals.shape == Shape::GoodOverTotal ? total - valueOrZero(n) : valueOrZero(n);
    bad = std::clamp(bad, 0.0, total);
    out.budget = engine::occurrencesBudget(target, bad, total);
    out.noTraffic = !(total > 0);
    if (total > 0) out.sli = 1.0 - bad / total;
  } else {
    const auto& n = data.numeratorWindow;
    if (!n.hasValue()) {
      out.noData = true;
      out.noDataDetail = "no time slice of the SLO window had data";
      return out;
    }
    const double sliceSeconds = static_cast<double>(signals.slice.count());
    const double slicesInWindow = static_cast<double>(bounds.length.count()) / sliceSeconds;
    const double elapsedSlices =
        std::max(1.0, static_cast<double>((bounds.end - bounds.start).count()) / sliceSeconds);
    const double bad = std::max(0.0, n.value);
    out.budget = signals.shape == Shape::BadSlices
                     ? engine::timeslicesBudget(target, bad, slicesInWindow, signals.slice)
                     : engine::ratioTimeslicesBudget(target, bad, slicesInWindow, signals.slice);
    out.sli = std::clamp(1.0 - bad / elapsedSlices, 0.0, 1.0);
  }
  return out;
}

model::SloStatus invalidStatus(const model::ServiceLevelObjective& slo, const std::string& reason,
                               const std::string& message,
                               const std::optional<model::SloStatus>& previous, TimePoint at) {
  model::SloStatus s = previous.value_or(model::SloStatus{});
  s.observedGeneration = slo.generation;
  if (!slo.objectives.empty()) s.target = slo.objectives.front().target;
  s.window = windowText(slo);
  s.budgetingMethod = std::string(model::budgetingMethodName(slo.budgetingMethod));
  s.tier = engine::Tier::Unknown;
  s.message = message;
  s.setCondition(condition("Ready", false, reason, message, at, slo.generation));
  s.setCondition(condition("DataAvailable", false, reason, message, at, slo.generation));
  return s;
}

model::SloStatus buildStatus(const model::ServiceLevelObjective& slo,
                             const std::vector<ObjectiveOutcome>& outcomes,
                             const model::WindowBounds& bounds,
                             const engine::ErrorBudgetPolicy& policy,
                             const std::optional<model::SloStatus>& previous, TimePoint at) {
  const long long gen = slo.generation;
  // Evaluation failure: keep the last good figures; the gate sees them age past staleAfter.
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (!outcomes[i].failure) continue;
    const auto& f = *outcomes[i].failure;
    const bool transport = isTransportFailure(f.failure);
    const std::string reason = transport ? "PrometheusUnavailable" : "QueryError";
    const std::string message =
        fmt::format("evaluation failed ({}): {}", queryStateName(f.failure), f.error);
    model::SloStatus s = previous.value_or(model::SloStatus{});
    if (!previous) {
      s.tier = engine::Tier::Unknown;
      s.window = windowText(slo);
      s.budgetingMethod = std::string(model::budgetingMethodName(slo.budgetingMethod));
      if (!slo.objectives.empty()) {
        s.objective = slo.objectives.front().displayName;
        s.target = slo.objectives.front().target;
      }
    }
    s.observedGeneration = gen;
    s.message = message;
    s.setCondition(condition("Ready", false, reason, message, at, gen));
    s.setCondition(condition("DataAvailable", false, reason, message, at, gen));
    return s;
  }

  std::optional<engine::TierHold> previousHold;
  if (previous) previousHold = previous->tierHold;

  struct Evaluated {
    std::size_t index;
    engine::Assessment assessment;
  };
  std::vector<Evaluated> evaluated;
  std::optional<std::size_t> noDataIndex;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (outcomes[i].noData) {
      if (!noDataIndex) noDataIndex = i;
      continue;
    }
    engine::AssessmentInput input;
    input.target = slo.objectives[i].target;
    input.windowLength = bounds.length;
    input.budget = outcomes[i].budget;
    input.burnRates = outcomes[i].burnRates;
    input.alertOverrides = slo.gate.alerts;
    input.now = at;
    input.previousHold = previousHold;
    evaluated.push_back({i, engine::assess(input, policy)});
  }

  model::SloStatus s;
  if (previous) s.conditions = previous->conditions;
  s.observedGeneration = gen;
  s.lastEvaluated = at;
  s.window = windowText(slo);
  s.windowStart = bounds.start;
  s.budgetingMethod = std::string(model::budgetingMethodName(slo.budgetingMethod));
  s.policy = policy.ns.empty() ? policy.name : policy.ns + "/" + policy.name;

  if (noDataIndex) {
    // One objective without data makes the SLO's state unknown: never a silent "healthy".
    const auto& o = outcomes[*noDataIndex];
    const auto& objective = slo.objectives[*noDataIndex];
    s.objective = objective.displayName;
    s.target = objective.target;
    s.tier = engine::Tier::Unknown;
    s.tierHold = previousHold;
    s.burnRates = o.burnRates;
    s.message = fmt::format("no data: {}", o.noDataDetail);
    s.setCondition(condition("Ready", true, "Evaluated", "evaluated", at, gen));
    s.setCondition(condition("DataAvailable", false, "NoData", s.message, at, gen));
    s.setCondition(condition("BudgetExhausted", false, "NoData", s.message, at, gen));
    return s;
  }

  // The worst objective describes the SLO (tier first, then the least budget left).
  const auto worst =
      std::max_element(evaluated.begin(), evaluated.end(), [](const auto& a, const auto& b) {
        const int sa = engine::tierSeverity(a.assessment.tier.effective);
        const int sb = engine::tierSeverity(b.assessment.tier.effective);
        if (sa != sb) return sa < sb;
        return a.assessment.budget.remainingPercentRaw() >
               b.assessment.budget.remainingPercentRaw();
      });
  const auto& a = worst->assessment;
  const auto& o = outcomes[worst->index];
  const auto& objective = slo.objectives[worst->index];
  s.objective = objective.displayName;
  s.target = objective.target;
  s.sli = o.sli;
  s.errorBudget = a.budget;
  s.burnRates = a.burnRates;
  s.alerts = a.alerts;
  if (a.exhaustionIn) s.projectedExhaustion = at + *a.exhaustionIn;
  if (a.budget.consumed > 0) {
    s.projectedRecovery = slo.window.isRolling ? at + bounds.length : bounds.start + bounds.length;
    if (slo.window.isRolling && o.history) {
      if (auto t = engine::recoveryAt(*o.history, objective.target, 100.0 - 1e-9)) {
        s.projectedRecovery = t;
      }
    }
    s.recoveryByTier = recoveryByTier(slo, o, objective.target, bounds, policy);
  }
  s.tier = a.tier.effective;
  s.tierHold = a.tier.hold;
  s.decisionsByRisk = a.decisionsByRisk;
  if (slo.objectives.size() > 1) {
    for (const auto& e : evaluated) {
      s.objectives.push_back({slo.objectives[e.index].displayName, slo.objectives[e.index].target,
                              e.assessment.budget.remainingPercent(), e.assessment.tier.effective});
    }
  }

  std::string firing;
  for (const auto& alert : a.alerts) {
    if (alert.firing) firing += (firing.empty() ? "" : ", ") + alert.rule.name;
  }
  s.message =
      fmt::format("{:.1f}% of the error budget left ({:.1f}% consumed); 1h burn rate {:.2f}x",
                  a.budget.remainingPercent(), a.budget.consumedPercent,
                  a.burnRates.orZero(engine::BurnRateWindow::H1));
  if (o.noTraffic) s.message += "; no traffic in the window";
  if (a.tier.heldBack) {
    s.message += fmt::format("; tier held at {} since {} (hysteresis)",
                             engine::tierName(a.tier.effective), formatTime(a.tier.hold->since));
  }
  if (!firing.empty()) s.message += "; firing: " + firing;

  const bool exhausted = a.budget.remainingPercentRaw() <= 0;
  s.setCondition(condition("Ready", true, "Evaluated", "evaluated", at, gen));
  s.setCondition(condition("DataAvailable", true, o.noTraffic ? "NoTraffic" : "DataPresent",
                           o.noTraffic ? "the SLI counted no events in the window"
                                       : "Prometheus returned data for every window",
                           at, gen));
  s.setCondition(condition(
      "BudgetExhausted", exhausted, exhausted ? "BudgetSpent" : "BudgetLeft",
      fmt::format("{:.1f}% of the error budget consumed", a.budget.consumedPercent), at, gen));
  return s;
}

}  // namespace budgetgate::prometheus
