#include "operator/status/status_builder.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "operator/common/object_key.h"
#include "operator/engine/composite_budget.h"

namespace budgetgate::status {
namespace {

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

model::SloStatus invalidStatus(const model::ServiceLevelObjective& slo, const std::string& reason,
                               const std::string& message, const model::SloStatus* previous,
                               TimePoint at) {
  model::SloStatus s = previous ? *previous : model::SloStatus{};
  s.observedGeneration = slo.generation;
  if (!slo.objectives.empty() && !slo.composite()) s.target = slo.objectives.front().target;
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
                             const model::SloStatus* previous, TimePoint at) {
  const long long gen = slo.generation;
  // Evaluation failure: keep the last good figures; the gate sees them age past staleAfter.
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (!outcomes[i].failure) continue;
    const auto& f = *outcomes[i].failure;
    const std::string reason = f.sourceUnavailable ? "PrometheusUnavailable" : "QueryError";
    const std::string message = fmt::format("evaluation failed ({}): {}", f.failure, f.error);
    model::SloStatus s = previous ? *previous : model::SloStatus{};
    if (!previous) {
      s.tier = engine::Tier::Unknown;
      s.window = windowText(slo);
      s.budgetingMethod = std::string(model::budgetingMethodName(slo.budgetingMethod));
      if (slo.composite()) {
        s.objective = "composite";
      } else if (!slo.objectives.empty()) {
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
  // minEvents: windows that counted too few events are measured but do not alert or drive the
  // tier; they are named in status.lowTrafficWindows.
  std::vector<std::string> lowTraffic;
  const auto countedBurnRates = [&](const ObjectiveOutcome& o) {
    engine::BurnRates b = o.burnRates;
    if (policy.minEvents <= 0) return b;
    for (std::size_t i = 0; i < engine::kBurnRateWindows.size(); ++i) {
      const auto w = engine::kBurnRateWindows[i];
      if (!o.windowEvents[i] || !b.at(w) || *o.windowEvents[i] >= policy.minEvents) continue;
      b.set(w, std::nullopt);
      const std::string name(engine::windowName(w));
      if (std::find(lowTraffic.begin(), lowTraffic.end(), name) == lowTraffic.end()) {
        lowTraffic.push_back(name);
      }
    }
    return b;
  };

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
    input.burnRates = countedBurnRates(outcomes[i]);
    input.alertOverrides = slo.gate.alerts;
    input.now = at;
    // A composite's hold belongs to the composite, not to its parts.
    if (!slo.composite()) input.previousHold = previousHold;
    if (!slo.composite() && previous) input.previousFreeze = previous->freeze;
    evaluated.push_back({i, engine::assess(input, policy)});
  }

  model::SloStatus s;
  if (previous) s.conditions = previous->conditions;
  s.observedGeneration = gen;
  s.lastEvaluated = at;
  s.window = windowText(slo);
  s.windowStart = bounds.start;
  s.budgetingMethod = std::string(model::budgetingMethodName(slo.budgetingMethod));
  s.policy = policy.ns.empty() ? policy.name : objectKey(policy.ns, policy.name);

  if (noDataIndex) {
    // One objective without data makes the SLO's state unknown: never a silent "healthy".
    const auto& o = outcomes[*noDataIndex];
    const auto& objective = slo.objectives[*noDataIndex];
    s.objective = objective.displayName;
    s.target = objective.target;
    s.tier = engine::Tier::Unknown;
    s.tierHold = previousHold;
    if (previous) s.freeze = previous->freeze;
    s.burnRates = o.burnRates;
    s.message = fmt::format("no data: {}", o.noDataDetail);
    s.setCondition(condition("Ready", true, "Evaluated", "evaluated", at, gen));
    s.setCondition(condition("DataAvailable", false, "NoData", s.message, at, gen));
    s.setCondition(condition("BudgetExhausted", false, "NoData", s.message, at, gen));
    return s;
  }

  // A composite SLO is decided by the weighted composite of its objectives; otherwise the worst
  // objective describes the SLO (tier first, then the least budget left).
  const Evaluated* worst = nullptr;
  engine::Assessment a;
  if (slo.composite()) {
    std::vector<engine::WeightedObjective> parts;
    for (const auto& e : evaluated) {
      parts.push_back(
          {slo.objectives[e.index].compositeWeight, e.assessment.budget, e.assessment.burnRates});
    }
    const auto composite = engine::compositeBudget(parts);
    engine::AssessmentInput input;
    input.windowLength = bounds.length;
    input.budget = composite.budget;
    input.burnRates = composite.burnRates;
    input.alertOverrides = slo.gate.alerts;
    input.now = at;
    input.previousHold = previousHold;
    if (previous) input.previousFreeze = previous->freeze;
    a = engine::assess(input, policy);
    s.objective = "composite";
  } else {
    worst =
        &*std::max_element(evaluated.begin(), evaluated.end(), [](const auto& x, const auto& y) {
          const int sx = engine::tierSeverity(x.assessment.tier.effective);
          const int sy = engine::tierSeverity(y.assessment.tier.effective);
          if (sx != sy) return sx < sy;
          return x.assessment.budget.remainingPercentRaw() >
                 y.assessment.budget.remainingPercentRaw();
        });
    a = worst->assessment;
    const auto& objective = slo.objectives[worst->index];
    s.objective = objective.displayName;
    s.target = objective.target;
    s.sli = outcomes[worst->index].sli;
  }
  // The recovery projections follow one objective's hourly history; a composite has none of its
  // own, so it falls back to "one window from now" (rolling) or the period's end (calendar).
  const ObjectiveOutcome* o = worst ? &outcomes[worst->index] : nullptr;
  s.errorBudget = a.budget;
  // Measured burn rates are shown as measured (a window left out by minEvents still has one).
  s.burnRates = o ? o->burnRates : a.burnRates;
  s.alerts = a.alerts;
  s.lowTrafficWindows = lowTraffic;
  if (a.exhaustionIn) s.projectedExhaustion = at + *a.exhaustionIn;
  if (a.budget.consumed > 0) {
    s.projectedRecovery = slo.window.isRolling ? at + bounds.length : bounds.start + bounds.length;
    if (o) {
      const double target = slo.objectives[worst->index].target;
      if (slo.window.isRolling && o->history) {
        if (auto t = engine::recoveryAt(*o->history, target, 100.0 - 1e-9)) {
          s.projectedRecovery = t;
        }
      }
      s.recoveryByTier = recoveryByTier(slo, *o, target, bounds, policy);
    }
  }
  if (o) {
    s.ledger = o->ledger;
    s.adjustments = o->adjustments;
  }
  s.tier = a.tier.effective;
  s.tierHold = a.tier.hold;
  s.freeze = a.freeze;
  s.freezeRelaxed = a.freezeRelief.relaxed ? a.freezeRelief.reason : std::string();
  s.decisionsByRisk = a.decisionsByRisk;
  if (slo.objectives.size() > 1) {
    for (const auto& e : evaluated) {
      const auto& objective = slo.objectives[e.index];
      model::ObjectiveSummary summary;
      summary.displayName = objective.displayName;
      summary.target = objective.target;
      if (slo.composite()) summary.compositeWeight = objective.compositeWeight;
      summary.sli = outcomes[e.index].sli;
      summary.consumedPercent = e.assessment.budget.consumedPercent;
      summary.remainingPercent = e.assessment.budget.remainingPercent();
      summary.burnRates = e.assessment.burnRates;
      summary.tier = e.assessment.tier.effective;
      s.objectives.push_back(std::move(summary));
    }
  }
  // No traffic: for a composite, when none of its objectives counted any event.
  const bool noTraffic =
      o ? o->noTraffic
        : std::all_of(outcomes.begin(), outcomes.end(), [](const auto& x) { return x.noTraffic; });

  std::string firing;
  for (const auto& alert : a.alerts) {
    if (alert.firing) firing += (firing.empty() ? "" : ", ") + alert.rule.name;
  }
  s.message =
      fmt::format("{}{:.1f}% of the error budget left ({:.1f}% consumed); 1h burn rate {:.2f}x",
                  slo.composite() ? "composite: " : "", a.budget.remainingPercent(),
                  a.budget.consumedPercent, s.burnRates.orZero(engine::BurnRateWindow::H1));
  if (noTraffic) s.message += "; no traffic in the window";
  if (s.adjustments && s.adjustments->excludedBadEvents > 0) {
    double refunded = 0;
    for (const auto& x : s.adjustments->applied) refunded += x.refundedPercent;
    s.message += fmt::format("; {:.1f}% refunded by budget adjustments ({:.1f}% left without them)",
                             refunded, s.adjustments->remainingPercentUnadjusted);
  }
  if (a.tier.heldBack) {
    s.message += fmt::format("; tier held at {} since {} (hysteresis)",
                             engine::tierName(a.tier.effective), formatTime(a.tier.hold->since));
  }
  if (a.freezeRelief.relaxed) {
    s.message += fmt::format("; freeze relaxed to {}: {}",
                             engine::verdictName(policy.freeze.relaxTo), a.freezeRelief.reason);
  }
  if (!lowTraffic.empty()) {
    std::string names;
    for (const auto& w : lowTraffic) names += (names.empty() ? "" : ", ") + w;
    s.message += fmt::format(
        "; fewer than {:g} events in the {} window{} (policy minEvents): no alerts or tier from "
        "{}",
        policy.minEvents, names, lowTraffic.size() == 1 ? "" : "s",
        lowTraffic.size() == 1 ? "it" : "them");
  }
  if (!firing.empty()) s.message += "; firing: " + firing;

  const bool exhausted = a.budget.remainingPercentRaw() <= 0;
  // One story with status.noDataWindows, the burn-rate metrics (0) and the recording rules (0):
  // a window without traffic is data, not missing data, and is named.
  std::string quietWindows;
  for (auto w : engine::kBurnRateWindows) {
    if (!s.burnRates.at(w))
      quietWindows += (quietWindows.empty() ? "" : ", ") + std::string(engine::windowName(w));
  }
  std::string reason = "DataPresent";
  std::string detail = "Prometheus returned traffic for the SLO window and every burn-rate window";
  if (noTraffic) {
    reason = "NoTraffic";
    detail = "the SLI counted no events in the SLO window";
  } else if (!quietWindows.empty()) {
    reason = "NoTrafficInSomeWindows";
    detail = fmt::format("no events in the {} window{} (burn rate 0 there; status.noDataWindows)",
                         quietWindows, quietWindows.find(',') == std::string::npos ? "" : "s");
  }
  s.setCondition(condition("Ready", true, "Evaluated", "evaluated", at, gen));
  s.setCondition(condition("DataAvailable", true, reason, detail, at, gen));
  s.setCondition(condition(
      "BudgetExhausted", exhausted, exhausted ? "BudgetSpent" : "BudgetLeft",
      fmt::format("{:.1f}% of the error budget consumed", a.budget.consumedPercent), at, gen));
  return s;
}

}  // namespace budgetgate::status
