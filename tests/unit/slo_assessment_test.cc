#include "operator/engine/slo_assessment.h"

#include <gtest/gtest.h>

#include <cmath>

namespace budgetgate::engine {
namespace {

constexpr Seconds kDay{86400};
const TimePoint kNow = TimePoint(Seconds(1'769'817'600));

AssessmentInput input(double remainingPercent, double burn1h, double burn5m) {
  AssessmentInput in;
  in.target = 0.999;
  in.windowLength = 30 * kDay;
  in.budget = occurrencesBudget(0.999, (100.0 - remainingPercent) / 100.0 * 1000.0, 1e6);
  in.burnRates.set(BurnRateWindow::H1, burn1h);
  in.burnRates.set(BurnRateWindow::M5, burn5m);
  in.now = kNow;
  return in;
}

TEST(Assess, OnePercentErrorsWithAFullBudgetIsCritical) {
  const auto a = assess(input(100, 10, 10), ErrorBudgetPolicy{});
  EXPECT_DOUBLE_EQ(a.confirmedBurnRate, 10.0);
  ASSERT_TRUE(a.exhaustionIn.has_value());
  EXPECT_EQ(*a.exhaustionIn, 3 * kDay);
  EXPECT_EQ(a.rawTier, Tier::Critical);
  EXPECT_EQ(a.tier.effective, Tier::Critical);
  ASSERT_TRUE(a.tier.hold.has_value());
  EXPECT_EQ(a.decisionsByRisk[0], Verdict::Defer);
  EXPECT_EQ(a.decisionsByRisk[1], Verdict::Block);
  EXPECT_EQ(a.decisionsByRisk[2], Verdict::Block);
  ASSERT_EQ(a.alerts.size(), 4u);
  EXPECT_FALSE(a.alerts[0].firing);  // 10x is below the 14.4x page
}

TEST(Assess, UnconfirmedSpikeDoesNotCount) {
  // 1 h burns at 20x but the last 5 minutes are clean: the confirmed burn is 0.5.
  const auto a = assess(input(90, 20, 0.5), ErrorBudgetPolicy{});
  EXPECT_DOUBLE_EQ(a.confirmedBurnRate, 0.5);
  EXPECT_EQ(a.rawTier, Tier::Healthy);
  EXPECT_EQ(a.decisionsByRisk[1], Verdict::Approve);
}

TEST(Assess, PageAlertFiresAtFourteenPointFour) {
  auto in = input(100, 14.4, 15);
  const auto a = assess(in, ErrorBudgetPolicy{});
  EXPECT_TRUE(a.alerts[0].firing);
  EXPECT_EQ(a.alerts[0].rule.name, "page-1h");
  ASSERT_TRUE(a.exhaustionIn.has_value());
  EXPECT_EQ(a.exhaustionIn->count(), 180000);  // 2.08 days
}

TEST(Assess, NoTrafficAnywhereIsHealthyAndFinite) {
  AssessmentInput in;
  in.budget = occurrencesBudget(0.999, 0, 0);
  in.now = kNow;
  const auto a = assess(in, ErrorBudgetPolicy{});
  EXPECT_EQ(a.confirmedBurnRate, 0.0);
  EXPECT_FALSE(a.exhaustionIn.has_value());
  EXPECT_EQ(a.rawTier, Tier::Healthy);
  EXPECT_TRUE(std::isfinite(a.budget.remainingPercent()));
  for (const auto& alert : a.alerts) EXPECT_FALSE(alert.firing);
  for (auto w : kBurnRateWindows) EXPECT_FALSE(a.burnRates.at(w).has_value());
}

TEST(Assess, FloatingPointDustIsNotABurn) {
  const auto a = assess(input(100, 1e-18, 1e-18), ErrorBudgetPolicy{});
  EXPECT_FALSE(a.exhaustionIn.has_value());
  EXPECT_EQ(a.rawTier, Tier::Healthy);
}

TEST(Assess, OverspentBudgetIsExhaustedNow) {
  const auto a = assess(input(-46, 0.2, 0.0), ErrorBudgetPolicy{});
  EXPECT_EQ(a.rawTier, Tier::Exhausted);
  ASSERT_TRUE(a.exhaustionIn.has_value());
  EXPECT_EQ(*a.exhaustionIn, Seconds(0));
  for (auto v : a.decisionsByRisk) EXPECT_EQ(v, Verdict::Block);
}

TEST(Assess, SeventyFivePercentConsumedAtOnePointFiveX) {
  const auto a = assess(input(25, 1.5, 1.5), ErrorBudgetPolicy{});
  EXPECT_EQ(*a.exhaustionIn, 5 * kDay);
  EXPECT_EQ(a.rawTier, Tier::Warning);
  EXPECT_EQ(a.decisionsByRisk[0], Verdict::Review);
  EXPECT_EQ(a.decisionsByRisk[1], Verdict::Defer);
  EXPECT_EQ(a.decisionsByRisk[2], Verdict::Block);
}

TEST(Assess, HysteresisHoldsTheGateClosed) {
  auto in = input(12, 0.1, 0.1);  // raw: warning
  in.previousHold = TierHold{Tier::Critical, kNow - kDay, 5.0};
  const auto a = assess(in, ErrorBudgetPolicy{});
  EXPECT_EQ(a.rawTier, Tier::Warning);
  EXPECT_EQ(a.tier.effective, Tier::Critical);
  EXPECT_TRUE(a.tier.heldBack);
  EXPECT_EQ(a.decisionsByRisk[1], Verdict::Block);  // decisions follow the effective tier
}

TEST(Assess, PolicyThresholdsAndMatrixApply) {
  ErrorBudgetPolicy policy;
  policy.tiers.attention.remainingPercentAtMost = 95.0;
  policy.matrix.set(Tier::Attention, Risk::Medium, Verdict::Block);
  const auto a = assess(input(90, 0, 0), policy);
  EXPECT_EQ(a.rawTier, Tier::Attention);
  EXPECT_EQ(a.decisionsByRisk[1], Verdict::Block);
}

TEST(Assess, AlertOverridesAndWindowLength) {
  auto in = input(100, 0, 0);
  in.windowLength = 28 * kDay;
  in.alertOverrides = {{"ticket-3d", true, ""}};
  const auto a = assess(in, ErrorBudgetPolicy{});
  ASSERT_EQ(a.alerts.size(), 3u);
  EXPECT_NEAR(a.alerts[0].rule.threshold, 13.44, 1e-9);
}

}  // namespace
}  // namespace budgetgate::engine
