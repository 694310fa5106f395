#include "operator/engine/status_tier.h"

#include <gtest/gtest.h>

namespace budgetgate::engine {
namespace {

constexpr Seconds kDay{86400};
const TierThresholds kDefaults{};

Tier byRemaining(double percent) {
  return classifyTier({percent, 0, std::nullopt}, kDefaults);
}
Tier byBurn(double burn) {
  return classifyTier({100, burn, std::nullopt}, kDefaults);
}
Tier byExhaustion(Seconds in) {
  return classifyTier({100, 0, in}, kDefaults);
}

TEST(TierNames, RoundTrip) {
  for (Tier t : {Tier::Healthy, Tier::Attention, Tier::Warning, Tier::Critical, Tier::Exhausted,
                 Tier::Unknown}) {
    EXPECT_EQ(tierFromName(tierName(t)), t);
  }
  EXPECT_EQ(tierName(Tier::Critical), "critical");
  EXPECT_FALSE(tierFromName("Critical").has_value());
  EXPECT_FALSE(tierFromName("").has_value());
  EXPECT_LT(tierSeverity(Tier::Healthy), tierSeverity(Tier::Attention));
  EXPECT_LT(tierSeverity(Tier::Attention), tierSeverity(Tier::Warning));
  EXPECT_LT(tierSeverity(Tier::Warning), tierSeverity(Tier::Critical));
  EXPECT_LT(tierSeverity(Tier::Critical), tierSeverity(Tier::Exhausted));
}

TEST(ClassifyTier, DefaultThresholds) {
  EXPECT_EQ(kDefaults.critical.remainingPercentAtMost, 10.0);
  EXPECT_EQ(kDefaults.warning.remainingPercentAtMost, 25.0);
  EXPECT_EQ(kDefaults.attention.remainingPercentAtMost, 50.0);
  EXPECT_EQ(kDefaults.critical.burnRateAtLeast, 5.0);
  EXPECT_EQ(kDefaults.warning.burnRateAtLeast, 2.0);
  EXPECT_EQ(kDefaults.attention.burnRateAtLeast, 1.5);
  EXPECT_EQ(kDefaults.critical.exhaustionWithin, 3 * kDay);
  EXPECT_EQ(kDefaults.warning.exhaustionWithin, 7 * kDay);
  EXPECT_EQ(kDefaults.attention.exhaustionWithin, 15 * kDay);
}

TEST(ClassifyTier, ByRemainingBudget) {
  EXPECT_EQ(byRemaining(100), Tier::Healthy);
  EXPECT_EQ(byRemaining(50.01), Tier::Healthy);
  EXPECT_EQ(byRemaining(50), Tier::Attention);
  EXPECT_EQ(byRemaining(25.01), Tier::Attention);
  EXPECT_EQ(byRemaining(25), Tier::Warning);
  EXPECT_EQ(byRemaining(10.01), Tier::Warning);
  EXPECT_EQ(byRemaining(10), Tier::Critical);
  EXPECT_EQ(byRemaining(0.001), Tier::Critical);
  EXPECT_EQ(byRemaining(0), Tier::Exhausted);
  EXPECT_EQ(byRemaining(-46), Tier::Exhausted);
}

TEST(ClassifyTier, ByConfirmedBurnRate) {
  EXPECT_EQ(byBurn(0), Tier::Healthy);
  EXPECT_EQ(byBurn(1.49), Tier::Healthy);
  EXPECT_EQ(byBurn(1.5), Tier::Attention);
  EXPECT_EQ(byBurn(1.99), Tier::Attention);
  EXPECT_EQ(byBurn(2), Tier::Warning);
  EXPECT_EQ(byBurn(4.99), Tier::Warning);
  EXPECT_EQ(byBurn(5), Tier::Critical);
  EXPECT_EQ(byBurn(1000), Tier::Critical);  // burning fast is never "exhausted" by itself
}

TEST(ClassifyTier, ByProjectedExhaustion) {
  EXPECT_EQ(classifyTier({100, 0, std::nullopt}, kDefaults), Tier::Healthy);  // not burning
  EXPECT_EQ(byExhaustion(15 * kDay + Seconds(1)), Tier::Healthy);
  EXPECT_EQ(byExhaustion(15 * kDay), Tier::Attention);
  EXPECT_EQ(byExhaustion(7 * kDay + Seconds(1)), Tier::Attention);
  EXPECT_EQ(byExhaustion(7 * kDay), Tier::Warning);
  EXPECT_EQ(byExhaustion(3 * kDay + Seconds(1)), Tier::Warning);
  EXPECT_EQ(byExhaustion(3 * kDay), Tier::Critical);
  EXPECT_EQ(byExhaustion(Seconds(0)), Tier::Critical);
}

TEST(ClassifyTier, WorstOfTheThreeSignals) {
  // remaining says attention, burn says warning, exhaustion says healthy.
  EXPECT_EQ(classifyTier({40, 2.5, 20 * kDay}, kDefaults), Tier::Warning);
  // remaining says critical, burn says healthy.
  EXPECT_EQ(classifyTier({8, 0.1, std::nullopt}, kDefaults), Tier::Critical);
  // Only exhaustion is alarming.
  EXPECT_EQ(classifyTier({90, 1.0, 2 * kDay}, kDefaults), Tier::Critical);
  // Exhausted beats everything.
  EXPECT_EQ(classifyTier({-1, 0, std::nullopt}, kDefaults), Tier::Exhausted);
}

TEST(ClassifyTier, SeedScenarios) {
  // 1 % errors at 99.9 % over 30 d with a full budget: 10x, exhaustion in 3 d -> critical.
  EXPECT_EQ(classifyTier({100, 10, 3 * kDay}, kDefaults), Tier::Critical);
  // 75 % consumed in 15 of 30 days: 1.5x, 25 % left, 5 days to go -> warning.
  EXPECT_EQ(classifyTier({25, 1.5, 5 * kDay}, kDefaults), Tier::Warning);
}

TEST(ClassifyTier, CustomThresholdsAndAbsentSignals) {
  TierThresholds t;
  t.critical = {5.0, std::nullopt, std::nullopt};  // remaining only
  t.warning = {std::nullopt, 3.0, std::nullopt};   // burn only
  t.attention = {std::nullopt, std::nullopt, 20 * kDay};
  EXPECT_EQ(classifyTier({9, 0, std::nullopt}, t), Tier::Healthy);
  EXPECT_EQ(classifyTier({5, 0, std::nullopt}, t), Tier::Critical);
  EXPECT_EQ(classifyTier({100, 100, std::nullopt}, t), Tier::Warning);
  EXPECT_EQ(classifyTier({100, 0, 1 * kDay}, t), Tier::Attention);
  EXPECT_EQ(classifyTier({0, 0, std::nullopt}, t), Tier::Exhausted);
}

// --- hysteresis -------------------------------------------------------------------------------

const Hysteresis kHysteresis{};
const TimePoint kT0 = TimePoint(Seconds(1'769'817'600));  // 2026-01-31T00:00:00Z

TEST(Hysteresis, Defaults) {
  EXPECT_EQ(kHysteresis.restorePercent, 10.0);
  EXPECT_EQ(kHysteresis.maxHold, 7 * kDay);
}

TEST(Hysteresis, EnteringCriticalStartsAHold) {
  const auto out = applyHysteresis(Tier::Critical, 8, kT0, std::nullopt, kHysteresis);
  EXPECT_EQ(out.effective, Tier::Critical);
  ASSERT_TRUE(out.hold.has_value());
  EXPECT_EQ(out.hold->tier, Tier::Critical);
  EXPECT_EQ(out.hold->since, kT0);
  EXPECT_EQ(out.hold->lowestRemainingPercent, 8);
  EXPECT_FALSE(out.heldBack);
  const auto exhausted = applyHysteresis(Tier::Exhausted, -3, kT0, std::nullopt, kHysteresis);
  ASSERT_TRUE(exhausted.hold.has_value());
  EXPECT_EQ(exhausted.hold->tier, Tier::Exhausted);
}

TEST(Hysteresis, MilderTiersAreNeverHeld) {
  for (Tier t : {Tier::Healthy, Tier::Attention, Tier::Warning}) {
    const auto out = applyHysteresis(t, 30, kT0, std::nullopt, kHysteresis);
    EXPECT_EQ(out.effective, t);
    EXPECT_FALSE(out.hold.has_value());
    EXPECT_FALSE(out.heldBack);
  }
}

TEST(Hysteresis, HeldUntilTenPointsRestored) {
  const TierHold hold{Tier::Critical, kT0, 5.0};
  // 14.99 % is 9.99 points above the low of 5 %: still held, although raw says warning.
  auto out = applyHysteresis(Tier::Warning, 14.99, kT0 + kDay, hold, kHysteresis);
  EXPECT_EQ(out.effective, Tier::Critical);
  EXPECT_TRUE(out.heldBack);
  ASSERT_TRUE(out.hold.has_value());
  EXPECT_EQ(out.hold->since, kT0);
  EXPECT_EQ(out.hold->lowestRemainingPercent, 5.0);
  // 15 % is 10 points above the low: released to the raw tier.
  out = applyHysteresis(Tier::Warning, 15, kT0 + kDay, hold, kHysteresis);
  EXPECT_EQ(out.effective, Tier::Warning);
  EXPECT_FALSE(out.hold.has_value());
  EXPECT_FALSE(out.heldBack);
}

TEST(Hysteresis, HeldAtMostSevenDays) {
  const TierHold hold{Tier::Critical, kT0, 5.0};
  auto out = applyHysteresis(Tier::Healthy, 6, kT0 + 7 * kDay - Seconds(1), hold, kHysteresis);
  EXPECT_EQ(out.effective, Tier::Critical);
  EXPECT_TRUE(out.heldBack);
  out = applyHysteresis(Tier::Healthy, 6, kT0 + 7 * kDay, hold, kHysteresis);
  EXPECT_EQ(out.effective, Tier::Healthy);
  EXPECT_FALSE(out.hold.has_value());
}

TEST(Hysteresis, TheLowIsTrackedDuringTheHold) {
  TierHold hold{Tier::Critical, kT0, 5.0};
  auto out = applyHysteresis(Tier::Critical, 3, kT0 + kDay, hold, kHysteresis);
  ASSERT_TRUE(out.hold.has_value());
  EXPECT_EQ(out.hold->lowestRemainingPercent, 3.0);
  EXPECT_EQ(out.hold->since, kT0);  // the same hold continues
  EXPECT_FALSE(out.heldBack);       // raw is critical too
  // 12 % is 9 points above the new low of 3 %: still held.
  out = applyHysteresis(Tier::Warning, 12, kT0 + 2 * kDay, *out.hold, kHysteresis);
  EXPECT_EQ(out.effective, Tier::Critical);
  out = applyHysteresis(Tier::Warning, 13, kT0 + 2 * kDay, *out.hold, kHysteresis);
  EXPECT_EQ(out.effective, Tier::Warning);
}

TEST(Hysteresis, WorseningIsNeverDelayed) {
  const TierHold hold{Tier::Critical, kT0, 5.0};
  const auto out = applyHysteresis(Tier::Exhausted, -1, kT0 + Seconds(60), hold, kHysteresis);
  EXPECT_EQ(out.effective, Tier::Exhausted);
  ASSERT_TRUE(out.hold.has_value());
  EXPECT_EQ(out.hold->tier, Tier::Exhausted);
  EXPECT_EQ(out.hold->since, kT0 + Seconds(60));
  EXPECT_EQ(out.hold->lowestRemainingPercent, -1);
  EXPECT_FALSE(out.heldBack);
}

TEST(Hysteresis, ExhaustedHoldsThroughCritical) {
  const TierHold hold{Tier::Exhausted, kT0, -20.0};
  // Back above zero but only 8 points above the low.
  auto out = applyHysteresis(Tier::Critical, -12, kT0 + kDay, hold, kHysteresis);
  EXPECT_EQ(out.effective, Tier::Exhausted);
  out = applyHysteresis(Tier::Critical, 2, kT0 + kDay, hold, kHysteresis);
  // 22 points restored: released to critical, which starts its own hold.
  EXPECT_EQ(out.effective, Tier::Critical);
  ASSERT_TRUE(out.hold.has_value());
  EXPECT_EQ(out.hold->tier, Tier::Critical);
  EXPECT_EQ(out.hold->since, kT0 + kDay);
}

TEST(Hysteresis, NoDataKeepsTheHoldAsItIs) {
  const TierHold hold{Tier::Critical, kT0, 5.0};
  const auto out = applyHysteresis(Tier::Unknown, 0, kT0 + 30 * kDay, hold, kHysteresis);
  EXPECT_EQ(out.effective, Tier::Unknown);
  ASSERT_TRUE(out.hold.has_value());
  EXPECT_EQ(out.hold->since, kT0);
  EXPECT_EQ(out.hold->lowestRemainingPercent, 5.0);
}

TEST(Hysteresis, ConfigurableRestoreAndHold) {
  const Hysteresis strict{20.0, Seconds(14 * 86400)};
  const TierHold hold{Tier::Critical, kT0, 5.0};
  EXPECT_EQ(applyHysteresis(Tier::Healthy, 24, kT0 + 8 * kDay, hold, strict).effective,
            Tier::Critical);
  EXPECT_EQ(applyHysteresis(Tier::Healthy, 25, kT0 + 8 * kDay, hold, strict).effective,
            Tier::Healthy);
  EXPECT_EQ(applyHysteresis(Tier::Healthy, 6, kT0 + 14 * kDay, hold, strict).effective,
            Tier::Healthy);
}

}  // namespace
}  // namespace budgetgate::engine
