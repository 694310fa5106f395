#pragma once
// Replays an SLO's history: for each step between two instants, the status (tier with
// hysteresis carried from step to step) and the gate's decision for each risk level, plus a
// summary — how long rollouts would have been frozen and how often the tier changed.
// Costs a handful of range queries, whatever the number of steps.

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "operator/engine/error_budget_policy.h"
#include "operator/model/budget_adjustment.h"
#include "operator/model/slo.h"
#include "operator/model/slo_status.h"
#include "operator/prometheus/prometheus_api.h"
#include "operator/prometheus/query_planner.h"

namespace budgetgate::prometheus {

struct BacktestOptions {
  TimePoint from{};
  TimePoint to{};
  Seconds step{3600};
  std::size_t concurrency = 4;
  PlannerOptions planner;
  // Replayed as the controller applies them: each step's window without their bad events.
  std::vector<const model::BudgetAdjustment*> adjustments;
};

struct BacktestStep {
  TimePoint at{};
  model::SloStatus status;
};

struct BacktestSummary {
  std::size_t steps = 0;
  std::size_t tierChanges = 0;
  std::map<std::string, double> hoursInTier;  // tier name -> hours
  std::array<double, 3> frozenHours{};        // per risk: verdict defer or block
  std::array<double, 3> reviewHours{};        // per risk: verdict review
  std::optional<TimePoint> firstExhausted;
  std::optional<double> lowestRemainingPercent;
  std::map<std::string, std::size_t> alertEpisodes;  // alert name -> times it started firing
  std::size_t stepsWithoutData = 0;
};

struct BacktestResult {
  std::string error;  // non-empty: the backtest could not run (bad range, query failure)
  std::vector<BacktestStep> steps;
  BacktestSummary summary;
  std::size_t queries = 0;
  TimePoint alignedFrom{};
};

BacktestResult backtest(PrometheusApi& api, const model::ServiceLevelObjective& slo,
                        const engine::ErrorBudgetPolicy& policy, const BacktestOptions& options);

}  // namespace budgetgate::prometheus
