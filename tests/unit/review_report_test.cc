// The review report's pure part: grouping by team and service, group totals, the three
// renderings and the Event counts. Expected values worked out by hand from the rows below.

#include "operator/report/review_report.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <sstream>

namespace budgetgate::report {
namespace {

SloRow slo(std::string ns, std::string name, std::string team, std::string service,
           std::string tier, std::optional<double> remaining,
           std::optional<std::array<double, 3>> frozen, std::optional<long long> denials,
           std::optional<long long> exceptions) {
  SloRow r;
  r.ns = std::move(ns);
  r.name = std::move(name);
  r.team = std::move(team);
  r.service = std::move(service);
  r.targetPercent = 99.9;
  r.window = "30d";
  r.tier = std::move(tier);
  r.remainingPercent = remaining;
  if (remaining) r.consumedPercent = 100 - *remaining;
  r.frozenHours = frozen;
  r.denials = denials;
  r.exceptions = exceptions;
  return r;
}

// payments: api (two SLOs) and web; search: api; an SLO without a team.
std::vector<SloRow> rows() {
  auto a = slo("shop", "api-latency", "payments", "api", "attention", 40.0,
               std::array<double, 3>{0, 2, 10}, 3, 1);
  a.rolloutPercent = 35;
  a.adjustmentPercent = 5;
  a.unattributedPercent = 20;
  return {
      slo("misc", "batch", kNoTeam, "batch", "healthy", 90.0, std::array<double, 3>{0, 0, 0},
          std::nullopt, std::nullopt),
      slo("shop", "web-availability", "payments", "web", "healthy", 75.0,
          std::array<double, 3>{0, 0, 4}, std::nullopt, std::nullopt),
      slo("search", "api-availability", "search", "api", "unknown", std::nullopt, std::nullopt,
          std::nullopt, std::nullopt),
      a,
      slo("shop", "api-availability", "payments", "api", "exhausted", -12.5,
          std::array<double, 3>{30, 30, 30}, 5, std::nullopt),
  };
}

TEST(ReviewReport, TeamIsTheLabelValueOrNone) {
  std::map<std::string, std::string, std::less<>> labels{{"team", "payments"}, {"owner", ""}};
  EXPECT_EQ(teamOf(labels, "team"), "payments");
  EXPECT_EQ(teamOf(labels, "owner"), "(none)");
  EXPECT_EQ(teamOf(labels, "squad"), "(none)");
}

TEST(ReviewReport, GroupsByTeamAndServiceSortedWithNoTeamLast) {
  const auto teams = group(rows());
  ASSERT_EQ(teams.size(), 3u);
  EXPECT_EQ(teams[0].team, "payments");
  EXPECT_EQ(teams[1].team, "search");
  EXPECT_EQ(teams[2].team, "(none)");
  ASSERT_EQ(teams[0].services.size(), 2u);
  EXPECT_EQ(teams[0].services[0].service, "api");
  EXPECT_EQ(teams[0].services[1].service, "web");
  ASSERT_EQ(teams[0].services[0].slos.size(), 2u);
  EXPECT_EQ(teams[0].services[0].slos[0].name, "api-availability");  // by name
  EXPECT_EQ(teams[0].services[0].slos[1].name, "api-latency");
}

TEST(ReviewReport, GroupTotalsAreWorstRemainingMaxFrozenAndSummedCounts) {
  const auto teams = group(rows());
  const auto& payments = teams[0].totals;
  EXPECT_EQ(payments.slos, 3u);
  ASSERT_TRUE(payments.minRemainingPercent);
  EXPECT_DOUBLE_EQ(*payments.minRemainingPercent, -12.5);
  EXPECT_EQ(payments.tiers, (std::map<std::string, std::size_t>{
                                {"attention", 1}, {"exhausted", 1}, {"healthy", 1}}));
  ASSERT_TRUE(payments.maxFrozenHours);
  EXPECT_EQ(*payments.maxFrozenHours, (std::array<double, 3>{30, 30, 30}));
  ASSERT_TRUE(payments.denials && payments.exceptions);
  EXPECT_EQ(*payments.denials, 8);     // 3 + 5, web unknown
  EXPECT_EQ(*payments.exceptions, 1);  // 1, the others unknown

  const auto& web = teams[0].services[1].totals;
  EXPECT_EQ(web.slos, 1u);
  EXPECT_DOUBLE_EQ(*web.minRemainingPercent, 75);
  EXPECT_EQ(*web.maxFrozenHours, (std::array<double, 3>{0, 0, 4}));
  EXPECT_FALSE(web.denials);  // unknown, not 0
  EXPECT_FALSE(web.exceptions);

  // Without data nothing is known but the count and the tier.
  const auto& search = teams[1].totals;
  EXPECT_EQ(search.slos, 1u);
  EXPECT_FALSE(search.minRemainingPercent);
  EXPECT_FALSE(search.maxFrozenHours);
  EXPECT_EQ(search.tiers.at("unknown"), 1u);
}

TEST(ReviewReport, MaxFrozenIsTakenPerRisk) {
  std::vector<SloRow> r{
      slo("a", "x", "t", "s", "healthy", 50.0, std::array<double, 3>{1, 7, 2}, 0, 0),
      slo("a", "y", "t", "s", "healthy", 60.0, std::array<double, 3>{3, 4, 9}, 2, 0)};
  const auto teams = group(r);
  EXPECT_EQ(*teams[0].totals.maxFrozenHours, (std::array<double, 3>{3, 7, 9}));
  EXPECT_EQ(*teams[0].totals.denials, 2);
  EXPECT_EQ(*teams[0].totals.exceptions, 0);
}

Report sample() {
  Report rep;
  rep.period = "30d window ending 2026-01-31T00:00:00Z";
  rep.teams = group(rows());
  return rep;
}

TEST(ReviewReport, CsvHasTheHeaderAndOneRowPerSloWithEmptyUnknowns) {
  auto rep = sample();
  rep.teams[0].services[0].slos[1].note = "a note, with a comma";
  const auto csv = renderCsv(rep);
  std::istringstream in(csv);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0],
            "namespace,name,team,service,target_percent,window,tier,remaining_percent,"
            "consumed_percent,rollout_percent,adjustment_percent,unattributed_percent,"
            "frozen_hours_low,frozen_hours_medium,frozen_hours_high,denials,exceptions_used,note");
  EXPECT_EQ(lines[1],
            "shop,api-availability,payments,api,99.9,30d,exhausted,-12.50,112.50,,,,30,"
            "30,30,5,,");
  EXPECT_EQ(lines[2],
            "shop,api-latency,payments,api,99.9,30d,attention,40.00,60.00,35.00,5.00,"
            "20.00,0,2,10,3,1,\"a note, with a comma\"");
  EXPECT_EQ(lines[4], "search,api-availability,search,api,99.9,30d,unknown,,,,,,,,,,,");
}

TEST(ReviewReport, MarkdownHasTheTitleTeamTableAndSloTable) {
  auto rep = sample();
  const auto md = renderMarkdown(rep);
  EXPECT_EQ(md.rfind("# Error budget review: 30d window ending 2026-01-31T00:00:00Z\n", 0), 0u);
  EXPECT_NE(
      md.find("## Teams\n\n| Team | SLOs | Worst remaining | Tiers | Frozen h (low / medium / "
              "high) | Denials | Exceptions used |\n"),
      std::string::npos)
      << md;
  EXPECT_NE(md.find("| payments | 3 | -12.50% | healthy 1, attention 1, exhausted 1 | 30 / 30 / "
                    "30 | 8 | 1 |\n"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| search | 1 | - | unknown 1 | - | - | - |\n"), std::string::npos) << md;
  EXPECT_NE(md.find("| payments | web | 1 | 75.00% | healthy 1 | 0 / 0 / 4 | - | - |\n"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| payments | api | shop/api-latency | 99.9% | 30d | attention | 40.00% | "
                    "60.00% | 35.00% | 5.00% | 20.00% | 0 / 2 / 10 | 3 | 1 |\n"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("unknown (-) without a cluster"), std::string::npos);
  rep.countsFromCluster = true;
  EXPECT_NE(renderMarkdown(rep).find("still holds"), std::string::npos);
}

TEST(ReviewReport, MarkdownEscapesPipes) {
  Report rep;
  rep.teams = group({slo("a", "x", "a|b", "s", "healthy", 1.0, std::nullopt, 0, 0)});
  EXPECT_NE(renderMarkdown(rep).find("| a\\|b | 1 |"), std::string::npos);
}

TEST(ReviewReport, JsonNestsTeamsServicesSlosWithNullUnknowns) {
  const auto text = renderJson(sample());
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  ASSERT_FALSE(doc.HasParseError()) << text;
  const auto& teams = doc["teams"];
  ASSERT_EQ(teams.Size(), 3u);
  EXPECT_STREQ(teams[0]["team"].GetString(), "payments");
  EXPECT_EQ(teams[0]["totals"]["slos"].GetUint64(), 3u);
  EXPECT_DOUBLE_EQ(teams[0]["totals"]["minRemainingPercent"].GetDouble(), -12.5);
  EXPECT_DOUBLE_EQ(teams[0]["totals"]["maxFrozenHoursByRisk"]["high"].GetDouble(), 30);
  EXPECT_EQ(teams[0]["totals"]["denials"].GetInt64(), 8);
  const auto& api = teams[0]["services"][0];
  EXPECT_STREQ(api["service"].GetString(), "api");
  ASSERT_EQ(api["slos"].Size(), 2u);
  const auto& latency = api["slos"][1];
  EXPECT_STREQ(latency["name"].GetString(), "api-latency");
  EXPECT_DOUBLE_EQ(latency["consumptionByCause"]["rolloutPercent"].GetDouble(), 35);
  EXPECT_DOUBLE_EQ(latency["frozenHoursByRisk"]["medium"].GetDouble(), 2);
  EXPECT_TRUE(api["slos"][0]["exceptionsUsed"].IsNull());
  EXPECT_TRUE(teams[1]["totals"]["minRemainingPercent"].IsNull());
  EXPECT_FALSE(doc["countsFromCluster"].GetBool());
}

TEST(ReviewReport, CountsEventsWithinThePeriodByReasonAndObject) {
  const std::vector<EventRecord> events{
      {"RolloutDenied", "ServiceLevelObjective", "shop", "api", 100, 1},
      {"RolloutDenied", "ServiceLevelObjective", "shop", "api", 200, 3},  // count 3
      {"RolloutDenied", "ServiceLevelObjective", "shop", "api", 99, 1},   // before the period
      {"RolloutDenied", "ServiceLevelObjective", "shop", "api", 301, 1},  // after it
      {"RolloutDenied", "ServiceLevelObjective", "shop", "web", 300, 0},  // count 0 counts once
      {"BudgetGateDenied", "Deployment", "shop", "api", 150, 1},          // the workload's copy
      {"RolloutDenied", "Deployment", "shop", "api", 150, 1},             // not an SLO
      {"RolloutApprovalUsed", "Deployment", "shop", "api", 150, 1},
      {"BudgetExceptionUsed", "Deployment", "shop", "api", 160, 2},
      {"BudgetExceptionUsed", "StatefulSet", "shop", "db", 170, 1},
      {"RolloutWarned", "ServiceLevelObjective", "shop", "api", 150, 1},
  };
  const auto c = countEvents(events, 100, 300);
  EXPECT_EQ(c.denialsBySlo, (std::map<std::string, long long>{{"shop/api", 4}, {"shop/web", 1}}));
  EXPECT_EQ(c.exceptionsByWorkload, (std::map<std::string, long long>{{"shop/Deployment/api", 3},
                                                                      {"shop/StatefulSet/db", 1}}));
}

}  // namespace
}  // namespace budgetgate::report
