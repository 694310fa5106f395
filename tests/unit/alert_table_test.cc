#include "operator/engine/alert_table.h"

#include <gtest/gtest.h>

namespace budgetgate::engine {
namespace {

constexpr Seconds kDay{86400};

const AlertRule* find(const std::vector<AlertRule>& rules, std::string_view name) {
  for (const auto& r : rules) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

TEST(AlertTable, ThirtyDayFactorsAreTheWorkbookOnes) {
  const auto rules = deriveAlertRules(30 * kDay);
  ASSERT_EQ(rules.size(), 4u);
  EXPECT_NEAR(rules[0].threshold, 14.4, 1e-9);
  EXPECT_NEAR(rules[1].threshold, 6.0, 1e-9);
  EXPECT_NEAR(rules[2].threshold, 3.0, 1e-9);
  EXPECT_NEAR(rules[3].threshold, 1.0, 1e-9);
}

TEST(AlertTable, TwentyEightDayFactorsAreDerived) {
  const auto rules = deriveAlertRules(28 * kDay);
  ASSERT_EQ(rules.size(), 4u);
  EXPECT_NEAR(rules[0].threshold, 13.44, 1e-9);
  EXPECT_NEAR(rules[1].threshold, 5.6, 1e-9);
  EXPECT_NEAR(rules[2].threshold, 2.8, 1e-9);
  EXPECT_NEAR(rules[3].threshold, 0.93, 0.005);
  EXPECT_NEAR(rules[3].threshold, 28.0 / 30.0, 1e-12);
}

TEST(AlertTable, NinetyDayFactors) {
  const auto rules = deriveAlertRules(90 * kDay);
  EXPECT_NEAR(rules[0].threshold, 43.2, 1e-9);
  EXPECT_NEAR(rules[1].threshold, 18.0, 1e-9);
  EXPECT_NEAR(rules[2].threshold, 9.0, 1e-9);
  EXPECT_NEAR(rules[3].threshold, 3.0, 1e-9);
}

TEST(AlertTable, LongWindowIsOneHourShortIsFiveMinutes) {
  // Seed erratum: the seed names the windows backwards.
  const auto rules = deriveAlertRules(30 * kDay);
  EXPECT_EQ(rules[0].name, "page-1h");
  EXPECT_EQ(rules[0].longWindow, BurnRateWindow::H1);
  EXPECT_EQ(rules[0].shortWindow, BurnRateWindow::M5);
  EXPECT_EQ(rules[1].longWindow, BurnRateWindow::H6);
  EXPECT_EQ(rules[1].shortWindow, BurnRateWindow::M30);
  EXPECT_EQ(rules[2].longWindow, BurnRateWindow::D1);
  EXPECT_EQ(rules[2].shortWindow, BurnRateWindow::H2);
  EXPECT_EQ(rules[3].longWindow, BurnRateWindow::D3);
  EXPECT_EQ(rules[3].shortWindow, BurnRateWindow::H6);
  for (const auto& r : rules) {
    EXPECT_GT(windowLength(r.longWindow), windowLength(r.shortWindow)) << r.name;
  }
}

TEST(AlertTable, SeveritiesAndBudgetFractions) {
  const auto rules = deriveAlertRules(30 * kDay);
  EXPECT_EQ(rules[0].severity, "page");
  EXPECT_EQ(rules[1].severity, "page");
  EXPECT_EQ(rules[2].severity, "ticket");
  EXPECT_EQ(rules[3].severity, "ticket");
  EXPECT_DOUBLE_EQ(rules[0].budgetFraction, 0.02);
  EXPECT_DOUBLE_EQ(rules[1].budgetFraction, 0.05);
  EXPECT_DOUBLE_EQ(rules[2].budgetFraction, 0.10);
  EXPECT_DOUBLE_EQ(rules[3].budgetFraction, 0.10);
}

TEST(AlertTable, FourteenPointFourXForOneHourSpendsTwoPercentOfThirtyDays) {
  // Seed erratum: 2 %, not 5 %. Spent share = threshold x long window / SLO window.
  for (Seconds window : {28 * kDay, 30 * kDay, 90 * kDay}) {
    for (const auto& r : deriveAlertRules(window)) {
      const double spent = r.threshold * static_cast<double>(windowLength(r.longWindow).count()) /
                           static_cast<double>(window.count());
      EXPECT_NEAR(spent, r.budgetFraction, 1e-12) << r.name;
    }
  }
}

TEST(AlertTable, OverridesDisableAndRelabel) {
  const auto rules = deriveAlertRules(
      30 * kDay, {{"page-6h", true, ""}, {"ticket-3d", false, "page"}, {"no-such-rule", true, ""}});
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(find(rules, "page-6h"), nullptr);
  ASSERT_NE(find(rules, "ticket-3d"), nullptr);
  EXPECT_EQ(find(rules, "ticket-3d")->severity, "page");
  EXPECT_EQ(find(rules, "ticket-1d")->severity, "ticket");  // untouched
  EXPECT_NEAR(find(rules, "ticket-3d")->threshold, 1.0, 1e-9);
}

TEST(AlertTable, DefaultNames) {
  EXPECT_EQ(defaultAlertNames(),
            (std::vector<std::string>{"page-1h", "page-6h", "ticket-1d", "ticket-3d"}));
}

BurnRates burn(std::initializer_list<std::pair<BurnRateWindow, double>> values) {
  BurnRates b;
  for (const auto& [w, v] : values) b.set(w, v);
  return b;
}

TEST(EvaluateAlerts, FiresOnlyWhenBothWindowsBurn) {
  const auto rules = deriveAlertRules(30 * kDay);
  auto states = evaluateAlerts(rules, burn({{BurnRateWindow::H1, 15}, {BurnRateWindow::M5, 15}}));
  ASSERT_EQ(states.size(), 4u);
  EXPECT_TRUE(states[0].firing);
  EXPECT_FALSE(states[1].firing);
  // Long window alone: a burst that is already over.
  states = evaluateAlerts(rules, burn({{BurnRateWindow::H1, 20}, {BurnRateWindow::M5, 2}}));
  EXPECT_FALSE(states[0].firing);
  // Short window alone: a brief spike.
  states = evaluateAlerts(rules, burn({{BurnRateWindow::H1, 2}, {BurnRateWindow::M5, 50}}));
  EXPECT_FALSE(states[0].firing);
}

TEST(EvaluateAlerts, ThresholdIsInclusive) {
  const auto rules = deriveAlertRules(30 * kDay);
  auto states = evaluateAlerts(rules, burn({{BurnRateWindow::D3, 1.0}, {BurnRateWindow::H6, 1.0}}));
  EXPECT_TRUE(states[3].firing);
  states = evaluateAlerts(rules, burn({{BurnRateWindow::D3, 0.999}, {BurnRateWindow::H6, 1.0}}));
  EXPECT_FALSE(states[3].firing);
}

TEST(EvaluateAlerts, EachTierUsesItsOwnWindows) {
  const auto rules = deriveAlertRules(30 * kDay);
  const auto states = evaluateAlerts(rules, burn({{BurnRateWindow::H6, 7},
                                                  {BurnRateWindow::M30, 7},
                                                  {BurnRateWindow::D1, 3.5},
                                                  {BurnRateWindow::H2, 3.5}}));
  EXPECT_FALSE(states[0].firing);
  EXPECT_TRUE(states[1].firing);
  EXPECT_TRUE(states[2].firing);
  EXPECT_FALSE(states[3].firing);  // 3d has no data
}

TEST(EvaluateAlerts, NoDataNeverFires) {
  const auto states = evaluateAlerts(deriveAlertRules(30 * kDay), BurnRates{});
  for (const auto& s : states) EXPECT_FALSE(s.firing) << s.rule.name;
}

TEST(BurnRateWindows, NamesLengthsAndLookup) {
  EXPECT_EQ(kBurnRateWindows.size(), 7u);
  const std::pair<const char*, long long> expected[] = {{"5m", 300},   {"30m", 1800}, {"1h", 3600},
                                                        {"2h", 7200},  {"6h", 21600}, {"1d", 86400},
                                                        {"3d", 259200}};
  for (std::size_t i = 0; i < kBurnRateWindows.size(); ++i) {
    EXPECT_EQ(windowName(kBurnRateWindows[i]), expected[i].first);
    EXPECT_EQ(windowLength(kBurnRateWindows[i]).count(), expected[i].second);
    EXPECT_EQ(windowFromName(expected[i].first), kBurnRateWindows[i]);
  }
  EXPECT_FALSE(windowFromName("7d").has_value());
  EXPECT_FALSE(windowFromName("").has_value());
}

TEST(BurnRates, ConfirmedHourlyIsTheSmallerOfOneHourAndFiveMinutes) {
  EXPECT_DOUBLE_EQ(burn({{BurnRateWindow::H1, 6}, {BurnRateWindow::M5, 2}}).confirmedHourly(), 2);
  EXPECT_DOUBLE_EQ(burn({{BurnRateWindow::H1, 3}, {BurnRateWindow::M5, 9}}).confirmedHourly(), 3);
  // Either window without data counts as zero: an unconfirmed burn.
  EXPECT_DOUBLE_EQ(burn({{BurnRateWindow::H1, 6}}).confirmedHourly(), 0);
  EXPECT_DOUBLE_EQ(BurnRates{}.confirmedHourly(), 0);
  BurnRates b = burn({{BurnRateWindow::H1, 6}});
  EXPECT_FALSE(b.at(BurnRateWindow::M5).has_value());
  EXPECT_EQ(b.orZero(BurnRateWindow::M5), 0.0);
  b.set(BurnRateWindow::H1, std::nullopt);
  EXPECT_FALSE(b.at(BurnRateWindow::H1).has_value());
}

}  // namespace
}  // namespace budgetgate::engine
