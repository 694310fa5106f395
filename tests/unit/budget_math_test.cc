// The worked examples of the design's "Budget math" section and of the seed documents (with the
// seed errata applied), one test each.

#include "operator/engine/budget_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace budgetgate::engine {
namespace {

constexpr double kEps = 1e-9;
constexpr Seconds kDay{86400};
const Seconds k30d = 30 * kDay;
const Seconds k28d = 28 * kDay;

double days(Seconds s) {
  return static_cast<double>(s.count()) / 86400.0;
}

TEST(ErrorBudgetRatio, IsOneMinusTarget) {
  EXPECT_NEAR(errorBudgetRatio(0.999), 0.001, kEps);
  EXPECT_NEAR(errorBudgetRatio(0.9995), 0.0005, kEps);
  EXPECT_NEAR(errorBudgetRatio(0.99), 0.01, kEps);
  EXPECT_NEAR(errorBudgetRatio(0.5), 0.5, kEps);
}

TEST(TimeBudget, NinetyNinePointNineOverThirtyDaysIs43Point2Minutes) {
  EXPECT_NEAR(timeBudgetMinutes(k30d, 0.999), 43.2, kEps);
}

TEST(TimeBudget, NinetyNinePointNineFiveIs21Point6Minutes) {
  EXPECT_NEAR(timeBudgetMinutes(k30d, 0.9995), 21.6, kEps);
}

TEST(TimeBudget, NinetyNinePointNineNineIs4Point32Minutes) {
  EXPECT_NEAR(timeBudgetMinutes(k30d, 0.9999), 4.32, kEps);
}

TEST(TimeBudget, NinetyNineOverThirtyDaysIs7Point2Hours) {
  EXPECT_NEAR(timeBudgetMinutes(k30d, 0.99) / 60.0, 7.2, kEps);
}

TEST(TimeBudget, ScalesWithTheWindow) {
  EXPECT_NEAR(timeBudgetMinutes(k28d, 0.999), 40.32, kEps);
  EXPECT_NEAR(timeBudgetMinutes(7 * kDay, 0.999), 10.08, kEps);  // "weekly 10.1 minutes"
}

TEST(BurnRate, OnePercentErrorsAtNinetyNinePointNineIsTenX) {
  EXPECT_NEAR(burnRate(0.01, 0.999), 10.0, kEps);
}

TEST(BurnRate, SeedTable) {
  EXPECT_NEAR(burnRate(0.001, 0.999), 1.0, kEps);  // consuming exactly at budget
  EXPECT_NEAR(burnRate(0.005, 0.999), 5.0, kEps);
  EXPECT_NEAR(burnRate(0.0005, 0.999), 0.5, kEps);  // slower than budget
  EXPECT_NEAR(burnRate(0.02, 0.999), 20.0, kEps);   // seed exercise: 2 % errors
  EXPECT_NEAR(burnRate(0.0, 0.999), 0.0, kEps);
}

TEST(BurnRate, NeverDividesByZeroOrPropagatesNaN) {
  EXPECT_EQ(burnRate(0.01, 1.0), 0.0);  // a 100 % target has no budget to burn
  EXPECT_EQ(burnRate(0.01, 1.5), 0.0);
  EXPECT_EQ(burnRate(std::nan(""), 0.999), 0.0);
  EXPECT_EQ(burnRate(std::numeric_limits<double>::infinity(), 0.999), 0.0);
  EXPECT_EQ(burnRate(0.01, std::nan("")), 0.0);
}

TEST(BurnRateFromCounts, NoTrafficIsNoData) {
  EXPECT_FALSE(burnRateFromCounts(0, 0, 0.999).has_value());
  EXPECT_FALSE(burnRateFromCounts(5, 0, 0.999).has_value());
  EXPECT_FALSE(burnRateFromCounts(0, -1, 0.999).has_value());
  EXPECT_FALSE(burnRateFromCounts(1, std::nan(""), 0.999).has_value());
  EXPECT_FALSE(burnRateFromCounts(std::nan(""), 100, 0.999).has_value());
  EXPECT_FALSE(burnRateFromCounts(1, std::numeric_limits<double>::infinity(), 0.999).has_value());
}

TEST(BurnRateFromCounts, RatioOfBadToTotal) {
  EXPECT_NEAR(*burnRateFromCounts(10, 1000, 0.999), 10.0, kEps);
  EXPECT_NEAR(*burnRateFromCounts(0, 1000, 0.999), 0.0, kEps);
  // Counter resets can make bad exceed total or go negative: clamped to [0, 1].
  EXPECT_NEAR(*burnRateFromCounts(2000, 1000, 0.999), 1000.0, kEps);
  EXPECT_NEAR(*burnRateFromCounts(-5, 1000, 0.999), 0.0, kEps);
}

TEST(TimeToExhaustion, TenXOverThirtyDaysIsThreeDays) {
  const auto t = timeToExhaustion(1.0, k30d, 10.0);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, 3 * kDay);
}

TEST(TimeToExhaustion, FourteenPointFourXIs2Point08Days) {
  const auto t = timeToExhaustion(1.0, k30d, 14.4);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->count(), 180000);  // 50 h
  EXPECT_NEAR(days(*t), 2.08, 0.005);
}

TEST(TimeToExhaustion, OnePercentErrorsExhaustsIn2Point8DaysOnlyForTwentyEightDays) {
  // Seed erratum: "1 % errors exhausts in 2.8 days" holds for 28 d; for 30 d it is 3 d.
  const double burn = burnRate(0.01, 0.999);
  EXPECT_NEAR(days(*timeToExhaustion(1.0, k28d, burn)), 2.8, 1e-6);
  EXPECT_NEAR(days(*timeToExhaustion(1.0, k30d, burn)), 3.0, 1e-6);
  // Same seed table, 28 d: 0.5 % errors exhaust in 5.6 days.
  EXPECT_NEAR(days(*timeToExhaustion(1.0, k28d, burnRate(0.005, 0.999))), 5.6, 1e-6);
  // Seed exercise: 2 % errors at 99.9 % over a month: 1.5 days.
  EXPECT_NEAR(days(*timeToExhaustion(1.0, k30d, burnRate(0.02, 0.999))), 1.5, 1e-6);
}

TEST(TimeToExhaustion, UsesTheRemainingFraction) {
  EXPECT_EQ(*timeToExhaustion(0.5, k30d, 1.0), 15 * kDay);
  EXPECT_EQ(*timeToExhaustion(0.25, k30d, 1.5), 5 * kDay);
  EXPECT_EQ(*timeToExhaustion(0.0, k30d, 3.0), Seconds(0));
  EXPECT_EQ(*timeToExhaustion(-0.4, k30d, 3.0), Seconds(0));  // already overspent
}

TEST(TimeToExhaustion, NoBurnMeansNever) {
  EXPECT_FALSE(timeToExhaustion(1.0, k30d, 0.0).has_value());
  EXPECT_FALSE(timeToExhaustion(1.0, k30d, -1.0).has_value());
  EXPECT_FALSE(timeToExhaustion(1.0, k30d, std::nan("")).has_value());
  EXPECT_FALSE(timeToExhaustion(1.0, k30d, std::numeric_limits<double>::infinity()).has_value());
  EXPECT_FALSE(timeToExhaustion(0.0, k30d, 0.0).has_value());
}

TEST(TimeToExhaustion, AVanishinglySlowBurnIsNeverNotAnOverflow) {
  // 1e-20x over 30 days would be 2.6e26 s: beyond any integer. It must not wrap to a negative
  // (and so "already exhausted") figure.
  EXPECT_FALSE(timeToExhaustion(1.0, k30d, 1e-20).has_value());
  EXPECT_FALSE(timeToExhaustion(1.0, k30d, std::numeric_limits<double>::denorm_min()).has_value());
  EXPECT_FALSE(timeToExhaustion(1e300, k30d, 1.0).has_value());
  // Slow but within a few thousand years is still a figure.
  const auto slow = timeToExhaustion(1.0, k30d, 0.001);
  ASSERT_TRUE(slow.has_value());
  EXPECT_EQ(*slow, 30000 * kDay);
}

TEST(OccurrencesBudget, AllowedBadIsOneMinusTargetTimesTotal) {
  // Seed: 99.9 % of 1 B requests a month = 1,000,000 bad requests allowed.
  const auto b = occurrencesBudget(0.999, 0, 1e9);
  EXPECT_EQ(b.unit, BudgetUnit::Requests);
  EXPECT_NEAR(b.total, 1e6, 1e-3);
  EXPECT_NEAR(b.consumed, 0.0, kEps);
  EXPECT_NEAR(b.remainingPercent(), 100.0, kEps);
}

TEST(OccurrencesBudget, ConsumedIsTheBadEventsThemselvesNotTheOvershoot) {
  // Seed erratum: consumed = bad events, even while well within the budget.
  const auto b = occurrencesBudget(0.999, 5, 10000);  // 10 allowed, 5 spent
  EXPECT_NEAR(b.total, 10.0, kEps);
  EXPECT_NEAR(b.consumed, 5.0, kEps);
  EXPECT_NEAR(b.consumedPercent, 50.0, kEps);
  EXPECT_NEAR(b.remaining(), 5.0, kEps);
  EXPECT_NEAR(b.remainingPercent(), 50.0, kEps);
  EXPECT_NEAR(b.remainingFraction(), 0.5, kEps);
}

TEST(OccurrencesBudget, SeedLedgerLeaves340kOfOneMillion) {
  const double bad = 12000 + 45000 + 180000 + 3000 + 420000;
  const auto b = occurrencesBudget(0.999, bad, 1e9);
  EXPECT_NEAR(b.consumed, 660000, 1e-6);
  EXPECT_NEAR(b.remaining(), 340000, 1e-3);
  EXPECT_NEAR(b.remainingPercent(), 34.0, 1e-9);
}

TEST(OccurrencesBudget, OverspendKeepsTheRawValue) {
  const auto b = occurrencesBudget(0.999, 25, 10000);  // 10 allowed, 25 spent
  EXPECT_NEAR(b.consumedPercent, 250.0, kEps);
  EXPECT_NEAR(b.remainingPercentRaw(), -150.0, kEps);
  EXPECT_NEAR(b.remainingPercent(), 0.0, kEps);  // clamped for display only
  EXPECT_NEAR(b.remaining(), -15.0, kEps);
  EXPECT_NEAR(b.remainingFraction(), -1.5, kEps);
}

TEST(OccurrencesBudget, SeventyFivePercentConsumedInFifteenOfThirtyDaysIsOnePointFiveX) {
  // Seed exercise: 99.5 % over 30 days, 75 % of the budget spent after 15 days. With steady
  // traffic of N requests a day, the whole window allows 0.005 x 30 N bad requests; 75 % of that
  // was spent on 15 N requests, so the bad fraction so far is 0.0075, a burn rate of 1.5.
  const double perDay = 100000;
  const double windowAllowance = errorBudgetRatio(0.995) * 30 * perDay;
  const double bad = 0.75 * windowAllowance;
  const auto burn = burnRateFromCounts(bad, 15 * perDay, 0.995);
  ASSERT_TRUE(burn.has_value());
  EXPECT_NEAR(*burn, 1.5, 1e-9);
  // At that pace the remaining 25 % lasts 5 more days.
  EXPECT_EQ(*timeToExhaustion(0.25, 30 * kDay, *burn), 5 * kDay);
}

TEST(OccurrencesBudget, NoTrafficLeavesTheBudgetUntouchedAndFinite) {
  const auto b = occurrencesBudget(0.999, 0, 0);
  EXPECT_EQ(b.total, 0.0);
  EXPECT_EQ(b.consumedPercent, 0.0);
  EXPECT_EQ(b.remainingPercent(), 100.0);
  const auto n = occurrencesBudget(0.999, std::nan(""), std::nan(""));
  EXPECT_TRUE(std::isfinite(n.consumedPercent));
  EXPECT_TRUE(std::isfinite(n.total));
  EXPECT_EQ(n.remainingPercent(), 100.0);
  const auto inf = occurrencesBudget(0.999, std::numeric_limits<double>::infinity(), 1000);
  EXPECT_TRUE(std::isfinite(inf.consumedPercent));
}

TEST(OccurrencesBudget, BadEventsAreCappedAtTheTotal) {
  const auto b = occurrencesBudget(0.999, 5000, 1000);
  EXPECT_NEAR(b.consumed, 1000.0, kEps);
  EXPECT_NEAR(b.consumedPercent, 100000.0, 1e-6);
  const auto negative = occurrencesBudget(0.999, -3, 1000);
  EXPECT_EQ(negative.consumed, 0.0);
}

TEST(TimeslicesBudget, AllowedBadSlicesInMinutes) {
  // 1-minute slices over 30 days: 43,200 slices, 43.2 of them may be bad.
  const auto b = timeslicesBudget(0.999, 10, 43200, Seconds(60));
  EXPECT_EQ(b.unit, BudgetUnit::Minutes);
  EXPECT_NEAR(b.total, 43.2, kEps);
  EXPECT_NEAR(b.consumed, 10.0, kEps);
  EXPECT_NEAR(b.consumedPercent, 10.0 / 43.2 * 100.0, 1e-9);
}

TEST(TimeslicesBudget, DowntimeIsConsumedEvenWithinTheBudget) {
  // Seed erratum (uptime-based): 20 bad minutes of a 43.2-minute budget consume 20 minutes,
  // not "0 beyond the budget"; 50 bad minutes consume 50 and overshoot.
  const auto within = timeslicesBudget(0.999, 20, 43200, Seconds(60));
  EXPECT_NEAR(within.consumed, 20.0, kEps);
  EXPECT_NEAR(within.remaining(), 23.2, 1e-9);
  const auto over = timeslicesBudget(0.999, 50, 43200, Seconds(60));
  EXPECT_NEAR(over.consumed, 50.0, kEps);
  EXPECT_NEAR(over.remaining(), -6.8, 1e-9);
  EXPECT_EQ(over.remainingPercent(), 0.0);
  EXPECT_GT(over.consumedPercent, 100.0);
}

TEST(TimeslicesBudget, FiveMinuteSlices) {
  // 5-minute slices over 28 days: 8,064 slices; 99 % allows 80.64 bad slices = 403.2 minutes.
  const auto b = timeslicesBudget(0.99, 8, 8064, Seconds(300));
  EXPECT_NEAR(b.total, 403.2, 1e-9);
  EXPECT_NEAR(b.consumed, 40.0, kEps);
}

TEST(RatioTimeslicesBudget, SumsSliceBadFractions) {
  const auto b = ratioTimeslicesBudget(0.999, 21.6, 43200, Seconds(60));
  EXPECT_EQ(b.unit, BudgetUnit::Minutes);
  EXPECT_NEAR(b.total, 43.2, kEps);
  EXPECT_NEAR(b.consumed, 21.6, kEps);
  EXPECT_NEAR(b.remainingPercent(), 50.0, 1e-9);
}

TEST(EmptyBudget, SomethingSpentOfNothingIsFullyConsumed) {
  const auto b = timeslicesBudget(0.999, 3, 0, Seconds(60));
  EXPECT_EQ(b.total, 0.0);
  EXPECT_EQ(b.consumedPercent, 100.0);
  EXPECT_EQ(b.remainingPercent(), 0.0);
}

TEST(BudgetUnitName, Names) {
  EXPECT_STREQ(budgetUnitName(BudgetUnit::Requests), "requests");
  EXPECT_STREQ(budgetUnitName(BudgetUnit::Minutes), "minutes");
}

}  // namespace
}  // namespace budgetgate::engine
