// Composite SLOs: the weighted composite of the objectives' budgets and burn rates (seed 002,
// OpenSLO v1 "Notes (Composite SLO)") decides the tier; each objective keeps its own figures.
// Expected numbers are worked out by hand in the comments.
#include "operator/engine/composite_budget.h"

#include <gtest/gtest.h>

#include "operator/engine/error_budget_policy.h"
#include "operator/model/slo.h"
#include "operator/status/status_builder.h"

namespace budgetgate {
namespace {

using engine::BurnRateWindow;
using engine::Tier;

constexpr TimePoint kAt{Seconds(1'760'000'000)};
constexpr Seconds kWindow{30 * 86400};

engine::ErrorBudget budgetWithConsumed(double percent) {
  // 1,000,000 requests at 99.9 %: 1,000 allowed bad.
  return engine::occurrencesBudget(0.999, percent * 10.0, 1'000'000);
}

engine::BurnRates burning(double rate) {
  engine::BurnRates b;
  for (auto w : engine::kBurnRateWindows) b.set(w, rate);
  return b;
}

TEST(CompositeBudget, WeightedMeansOfConsumedAndBurn) {
  // (2 x 100 % + 1 x 10 %) / 3 = 70 % consumed; 1 h burn (2 x 12 + 1 x 0) / 3 = 8.
  engine::BurnRates quiet;
  quiet.set(BurnRateWindow::H1, 0.0);
  const auto c = engine::compositeBudget(
      {{2.0, budgetWithConsumed(100), burning(12)}, {1.0, budgetWithConsumed(10), quiet}});
  EXPECT_EQ(c.budget.unit, engine::BudgetUnit::Percent);
  EXPECT_DOUBLE_EQ(c.budget.total, 100.0);
  EXPECT_NEAR(c.budget.consumedPercent, 70.0, 1e-9);
  EXPECT_NEAR(c.budget.remainingPercent(), 30.0, 1e-9);
  EXPECT_NEAR(*c.burnRates.at(BurnRateWindow::H1), 8.0, 1e-9);
  // Only the first objective has traffic over 5 m: the quiet one burns nothing there.
  EXPECT_NEAR(*c.burnRates.at(BurnRateWindow::M5), 8.0, 1e-9);
}

TEST(CompositeBudget, WindowWithoutTrafficAnywhereHasNoBurnRate) {
  const auto c = engine::compositeBudget(
      {{1.0, budgetWithConsumed(5), {}}, {3.0, budgetWithConsumed(15), {}}});
  EXPECT_NEAR(c.budget.consumedPercent, (5.0 + 45.0) / 4.0, 1e-9);
  for (auto w : engine::kBurnRateWindows) EXPECT_FALSE(c.burnRates.at(w).has_value());
}

TEST(CompositeBudget, OverspentObjectiveKeepsItsRawShare) {
  // 250 % and 0 % at equal weight: 125 % consumed, remaining -25 % raw (0 shown).
  const auto c = engine::compositeBudget(
      {{1.0, budgetWithConsumed(250), {}}, {1.0, budgetWithConsumed(0), {}}});
  EXPECT_NEAR(c.budget.remainingPercentRaw(), -25.0, 1e-9);
  EXPECT_DOUBLE_EQ(c.budget.remainingPercent(), 0.0);
}

model::ServiceLevelObjective compositeSlo(double firstWeight, double secondWeight) {
  model::ServiceLevelObjective slo;
  slo.name = "checkout-journey";
  slo.ns = "shop";
  slo.window.text = "30d";
  slo.window.duration = kWindow;
  slo.window.isRolling = true;
  for (auto [name, weight] : {std::pair{"availability", firstWeight}, {"latency", secondWeight}}) {
    model::Objective o;
    o.displayName = name;
    o.target = 0.999;
    o.indicator = model::Indicator{};
    o.compositeWeight = weight;
    slo.objectives.push_back(o);
  }
  return slo;
}

status::ObjectiveOutcome outcome(double consumedPercent, double burn) {
  status::ObjectiveOutcome o;
  o.budget = budgetWithConsumed(consumedPercent);
  o.burnRates = burning(burn);
  o.sli = 1.0 - consumedPercent * 10.0 / 1'000'000;
  return o;
}

model::SloStatus statusOf(const model::ServiceLevelObjective& slo,
                          const std::vector<status::ObjectiveOutcome>& outcomes) {
  const model::WindowBounds bounds{kAt - kWindow, kAt, kWindow};
  return status::buildStatus(slo, outcomes, bounds, engine::ErrorBudgetPolicy{}, nullptr, kAt);
}

TEST(CompositeStatus, TheCompositeDecidesNotTheWorstObjective) {
  // availability is exhausted (103 %), latency has spent 10 %; neither burns now.
  const std::vector outcomes{outcome(103, 0), outcome(10, 0)};
  // Weight 1:2 -> (103 + 2 x 10) / 3 = 41 % consumed, 59 % left: healthy (> 50 %).
  const auto light = statusOf(compositeSlo(1, 2), outcomes);
  EXPECT_EQ(light.objective, "composite");
  EXPECT_EQ(light.tier, Tier::Healthy);
  ASSERT_TRUE(light.errorBudget.has_value());
  EXPECT_NEAR(light.errorBudget->remainingPercent(), 59.0, 1e-9);
  EXPECT_EQ(light.errorBudget->unit, engine::BudgetUnit::Percent);
  // Weight 2:1 -> (2 x 103 + 10) / 3 = 72 % consumed, 28 % left: attention (<= 50 %).
  const auto heavy = statusOf(compositeSlo(2, 1), outcomes);
  EXPECT_EQ(heavy.tier, Tier::Attention);
  EXPECT_NEAR(heavy.errorBudget->remainingPercent(), 28.0, 1e-9);
  // Each objective is still reported with its own figures and tier.
  ASSERT_EQ(heavy.objectives.size(), 2u);
  EXPECT_EQ(heavy.objectives[0].displayName, "availability");
  EXPECT_EQ(heavy.objectives[0].tier, Tier::Exhausted);
  EXPECT_EQ(heavy.objectives[0].compositeWeight, 2.0);
  EXPECT_NEAR(heavy.objectives[1].consumedPercent, 10.0, 1e-9);
  EXPECT_EQ(heavy.objectives[1].tier, Tier::Healthy);
  EXPECT_DOUBLE_EQ(heavy.target, 0.0);  // a composite has no single target
}

TEST(CompositeStatus, CompositeBurnRateDrivesAlertsAndTier) {
  // Latency burns at 15x (weight 1), availability at 0 (weight 2): composite 5x -> critical
  // (burn >= 5x) even though only 5 % of each budget is spent; the 14.4x page does not fire,
  // the 6x page neither, the 3x ticket does (5 >= 3 over 1 d and 2 h).
  const auto s = statusOf(compositeSlo(2, 1), {outcome(5, 0), outcome(5, 15)});
  EXPECT_NEAR(*s.burnRates.at(BurnRateWindow::H1), 5.0, 1e-9);
  EXPECT_EQ(s.tier, Tier::Critical);
  ASSERT_EQ(s.objectives.size(), 2u);
  EXPECT_NEAR(*s.objectives[1].burnRates.at(BurnRateWindow::H1), 15.0, 1e-9);
  std::vector<std::string> firing;
  for (const auto& a : s.alerts) {
    if (a.firing) firing.push_back(a.rule.name);
  }
  EXPECT_EQ(firing, (std::vector<std::string>{"ticket-1d", "ticket-3d"}));
  ASSERT_TRUE(s.decisionsByRisk.has_value());
  EXPECT_EQ((*s.decisionsByRisk)[0], engine::Verdict::Defer);  // critical x low
}

TEST(CompositeStatus, AnObjectiveWithoutDataMakesTheCompositeUnknown) {
  auto missing = outcome(0, 0);
  missing.noData = true;
  missing.noDataDetail = "the total query returned no series for the SLO window";
  const auto s = statusOf(compositeSlo(1, 1), {outcome(1, 0), missing});
  EXPECT_EQ(s.tier, Tier::Unknown);
  const auto* data = s.condition("DataAvailable");
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(data->status, "False");
}

}  // namespace
}  // namespace budgetgate
