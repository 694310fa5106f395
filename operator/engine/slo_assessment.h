#pragma once
// Turns measured facts about one SLO objective (its window budget and burn rates) into the
// verdicts the rest of the system needs: alerts, projected exhaustion, tier (with hysteresis)
// and the gate decision for each risk level. Pure: the caller supplies "now" and the hold.

#include <array>
#include <optional>
#include <vector>

#include "operator/common/time.h"
#include "operator/engine/alert_table.h"
#include "operator/engine/budget_math.h"
#include "operator/engine/burn_rate_window.h"
#include "operator/engine/error_budget_policy.h"
#include "operator/engine/status_tier.h"

namespace budgetgate::engine {

struct AssessmentInput {
  double target = 0.999;
  Seconds windowLength{30 * 86400};  // the full SLO window (or calendar period)
  ErrorBudget budget;
  BurnRates burnRates;
  std::vector<AlertOverride> alertOverrides;
  TimePoint now{};
  std::optional<TierHold> previousHold;
  std::optional<FreezeState> previousFreeze;
};

struct Assessment {
  ErrorBudget budget;
  BurnRates burnRates;
  std::vector<AlertState> alerts;
  double confirmedBurnRate = 0;
  std::optional<Seconds> exhaustionIn;  // nullopt: not burning
  Tier rawTier = Tier::Healthy;
  TierOutcome tier;
  std::optional<FreezeState> freeze;
  FreezeRelief freezeRelief;
  std::array<Verdict, 3> decisionsByRisk{};  // after freeze limits
};

Assessment assess(const AssessmentInput& input, const ErrorBudgetPolicy& policy);

}  // namespace budgetgate::engine
