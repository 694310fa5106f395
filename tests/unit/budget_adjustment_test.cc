// BudgetAdjustment: parsing with precise errors, cron schedules, which SLOs it names, and the
// whole hours each one-off or recurring adjustment covers (checked by hand, across a DST change).

#include "operator/model/budget_adjustment.h"

#include <gtest/gtest.h>

namespace budgetgate {
namespace {

constexpr Seconds kHour{3600};

TimePoint at(const char* text) {
  return *parseTime(text);
}

std::optional<model::BudgetAdjustment> parse(const std::string& spec, std::string* errors) {
  const std::string doc = R"(apiVersion: slo.budgetgate.dev/v1alpha1
kind: BudgetAdjustment
metadata: {name: db-outage, namespace: shop}
spec:
)" + spec;
  model::Diagnostics diag("adj.yaml");
  auto a = model::parseBudgetAdjustment(YAML::Load(doc), diag);
  *errors = diag.format();
  return a;
}

TEST(BudgetAdjustment, ParsesARangeAndNamesItsSlos) {
  std::string errors;
  auto a = parse(R"(  slos: [payments-availability]
  start: 2026-12-01T10:00:00Z
  end: 2026-12-01T12:00:00Z
  reason: dependency
  reference: https://status.example/INC-7
)",
                 &errors);
  ASSERT_TRUE(a) << errors;
  EXPECT_EQ(a->ns, "shop");
  EXPECT_TRUE(a->appliesTo("shop", "payments-availability", {}));
  EXPECT_FALSE(a->appliesTo("other", "payments-availability", {}));
  EXPECT_FALSE(a->appliesTo("shop", "checkout", {}));
  EXPECT_EQ(a->reference, "https://status.example/INC-7");
}

TEST(BudgetAdjustment, SelectsSlosByLabel) {
  std::string errors;
  auto a = parse(R"(  sloSelector: {matchLabels: {team: payments}}
  start: 2026-12-01T10:00:00Z
  end: 2026-12-01T11:00:00Z
  reason: load-test
)",
                 &errors);
  ASSERT_TRUE(a) << errors;
  EXPECT_TRUE(a->appliesTo("shop", "x", {{"team", "payments"}}));
  EXPECT_FALSE(a->appliesTo("shop", "x", {{"team", "search"}}));
}

TEST(BudgetAdjustment, RejectsWhatWouldNotBeExact) {
  std::string errors;
  EXPECT_FALSE(parse(R"(  slos: [a]
  start: 2026-12-01T10:30:00Z
  end: 2026-12-01T12:00:00Z
  reason: dependency
)",
                     &errors));
  EXPECT_NE(errors.find("not on a whole hour"), std::string::npos) << errors;
  EXPECT_NE(errors.find("2026-12-01T10:00:00Z or 2026-12-01T11:00:00Z"), std::string::npos);
  EXPECT_FALSE(parse(R"(  slos: [a]
  start: 2026-12-01T12:00:00Z
  end: 2026-12-01T10:00:00Z
  reason: dependency
)",
                     &errors));
  EXPECT_NE(errors.find("spec.end: must be after start"), std::string::npos) << errors;
  EXPECT_FALSE(
      parse("  slos: [a]\n  start: 2026-12-01T10:00:00Z\n  end: 2026-12-01T11:00:00Z\n"
            "  reason: outage\n",
            &errors));
  EXPECT_NE(errors.find("expected one of maintenance"), std::string::npos) << errors;
  EXPECT_FALSE(
      parse("  start: 2026-12-01T10:00:00Z\n  end: 2026-12-01T11:00:00Z\n"
            "  reason: other\n",
            &errors));
  EXPECT_NE(errors.find("name the SLOs"), std::string::npos) << errors;
  EXPECT_FALSE(parse("  slos: [a]\n  reason: other\n", &errors));
  EXPECT_NE(errors.find("set either start and end"), std::string::npos) << errors;
  EXPECT_FALSE(parse(R"(  slos: [a]
  recurring: {schedule: "0 25 * * *", duration: 2h, timeZone: Mars/Olympus}
  reason: maintenance
)",
                     &errors));
  EXPECT_NE(errors.find("field 2 (hour): \"25\" is out of range 0-23"), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("unknown time zone \"Mars/Olympus\""), std::string::npos) << errors;
}

TEST(BudgetAdjustment, ProblemsThatDependOnTheMomentAndTheWindow) {
  std::string errors;
  auto a = parse(
      "  slos: [a]\n  start: 2026-12-20T00:00:00Z\n  end: 2026-12-21T00:00:00Z\n"
      "  reason: maintenance\n",
      &errors);
  ASSERT_TRUE(a) << errors;
  EXPECT_NE(model::adjustmentProblem(*a, at("2026-12-01T00:00:00Z"), Seconds(30 * 86400))
                .find("more than 7 days from now"),
            std::string::npos);
  EXPECT_EQ(model::adjustmentProblem(*a, at("2026-12-19T00:00:00Z"), Seconds(30 * 86400)), "");
  EXPECT_NE(model::adjustmentProblem(*a, at("2026-12-19T00:00:00Z"), Seconds(3600 * 12))
                .find("longer (1d) than the SLO window (12h)"),
            std::string::npos);
}

TEST(BudgetAdjustment, RangeSpansAreClippedToTheWindowsWholeHours) {
  std::string errors;
  auto a = parse(
      "  slos: [a]\n  start: 2026-12-01T10:00:00Z\n  end: 2026-12-01T14:00:00Z\n"
      "  reason: dependency\n",
      &errors);
  ASSERT_TRUE(a) << errors;
  auto spans = model::adjustmentSpans(*a, at("2026-12-01T11:20:00Z"), at("2026-12-01T12:10:00Z"));
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].start, at("2026-12-01T11:00:00Z"));
  EXPECT_EQ(spans[0].end, at("2026-12-01T13:00:00Z"));
  EXPECT_TRUE(
      model::adjustmentSpans(*a, at("2026-12-01T14:00:00Z"), at("2026-12-02T00:00:00Z")).empty());
}

TEST(BudgetAdjustment, RecurringWindowsFollowTheirTimeZoneAcrossDst) {
  std::string errors;
  // Saturdays 02:00-04:00 in Berlin. 2026-03-28 is a Saturday in CET (UTC+1), 2026-04-04 one
  // in CEST (UTC+2): the same local window is an hour earlier in UTC.
  auto a = parse(R"(  slos: [a]
  recurring: {schedule: "0 2 * * 6", duration: 2h, timeZone: Europe/Berlin}
  reason: maintenance
)",
                 &errors);
  ASSERT_TRUE(a) << errors;
  auto spans = model::adjustmentSpans(*a, at("2026-03-23T00:00:00Z"), at("2026-04-06T00:00:00Z"));
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].start, at("2026-03-28T01:00:00Z"));
  EXPECT_EQ(spans[0].end, at("2026-03-28T03:00:00Z"));
  EXPECT_EQ(spans[1].start, at("2026-04-04T00:00:00Z"));
  EXPECT_EQ(spans[1].end, at("2026-04-04T02:00:00Z"));
  // An occurrence that began before the window still covers its start.
  spans = model::adjustmentSpans(*a, at("2026-03-28T02:30:00Z"), at("2026-03-28T06:00:00Z"));
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].start, at("2026-03-28T02:00:00Z"));
  EXPECT_EQ(spans[0].end, at("2026-03-28T03:00:00Z"));
}

TEST(BudgetAdjustment, OccurrencesOffTheHourAreWidenedToWholeHours) {
  std::string errors;
  auto a = parse(R"(  slos: [a]
  recurring: {schedule: "30 1 * * *", duration: 45m, timeZone: Asia/Kolkata}
  reason: maintenance
)",
                 &errors);
  ASSERT_TRUE(a) << errors;
  // 01:30 IST = 20:00 UTC the day before; 45 minutes end at 20:45 -> the hour 20:00-21:00.
  auto spans = model::adjustmentSpans(*a, at("2026-12-01T00:00:00Z"), at("2026-12-02T00:00:00Z"));
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].start, at("2026-12-01T20:00:00Z"));
  EXPECT_EQ(spans[0].end, at("2026-12-01T21:00:00Z"));
}

TEST(CronSchedule, ListsRangesStepsAndSundays) {
  std::string error;
  auto c = model::parseCronSchedule("0 */6 1,15 1-3 7", &error);
  ASSERT_TRUE(c) << error;
  EXPECT_TRUE(c->hours.test(0) && c->hours.test(6) && c->hours.test(18) && !c->hours.test(3));
  EXPECT_TRUE(c->daysOfWeek.test(0));  // 7 is Sunday
  // Both day fields restricted: either matches, as in cron.
  EXPECT_TRUE(c->matchesDay(1, 2, 3));
  EXPECT_TRUE(c->matchesDay(2, 2, 0));
  EXPECT_FALSE(c->matchesDay(2, 2, 3));
  EXPECT_FALSE(c->matchesDay(1, 4, 3));
  EXPECT_FALSE(model::parseCronSchedule("0 2 * *", &error));
  EXPECT_NE(error.find("expected five fields"), std::string::npos);
  EXPECT_FALSE(model::parseCronSchedule("0 2 * * mon", &error));
  EXPECT_NE(error.find("field 5 (day of week)"), std::string::npos) << error;
  EXPECT_FALSE(model::parseCronSchedule("*/0 2 * * *", &error));
}

}  // namespace
}  // namespace budgetgate
