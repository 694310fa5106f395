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
  for (auto risk : kRisks) {
    a.decisionsByRisk[static_cast<std::size_t>(risk)] = policy.matrix.at(a.tier.effective, risk);
  }
  return a;
}

}  // namespace budgetgate::engine
