#include "operator/engine/slo_assessment.h"

namespace budgetgate::engine {

Assessment assess(const AssessmentInput& input, const ErrorBudgetPolicy& policy) {
  Assessment a;
  a.budget = input.budget;
  a.burnRates = input.burnRates;
  a.alerts =
      evaluateAlerts(deriveAlertRules(input.windowLength, input.alertOverrides), input.burnRates);
  a.confirmedBurnRate = input.burnRates.confirmedHourly();
  a.exhaustionIn =
      timeToExhaustion(input.budget.remainingFraction(), input.windowLength, a.confirmedBurnRate);
  if (input.budget.remainingPercentRaw() <= 0) a.exhaustionIn = Seconds(0);
  const TierSignals signals{input.budget.remainingPercentRaw(), a.confirmedBurnRate,
                            a.exhaustionIn};
  a.rawTier = classifyTier(signals, policy.tiers);
  a.tier = applyHysteresis(a.rawTier, input.budget.remainingPercentRaw(), input.now,
                           input.previousHold, policy.hysteresis);
  a.freeze = trackFreeze(a.tier.effective, input.budget.remainingPercentRaw(), input.now,
                         input.previousFreeze);
  a.freezeRelief =
      freezeRelief(policy.freeze, a.freeze, input.budget.remainingPercentRaw(), input.now);
  for (auto risk : kRisks) {
    Verdict v = policy.matrix.at(a.tier.effective, risk);
    if (a.freezeRelief.relaxed) v = relaxedVerdict(v, policy.freeze);
    a.decisionsByRisk[static_cast<std::size_t>(risk)] = v;
  }
  return a;
}

}  // namespace budgetgate::engine
