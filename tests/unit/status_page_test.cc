// The status page's pure parts: the burn-down arithmetic (against hand calculations), the SVG,
// escaping, Events parsing and the rendered pages' figures.

#include <gtest/gtest.h>

#include "operator/common/json.h"
#include "operator/engine/budget_burn_down.h"
#include "operator/statuspage/burn_down_chart.h"
#include "operator/statuspage/html.h"
#include "operator/statuspage/pages.h"
#include "operator/statuspage/slo_events.h"

namespace budgetgate {
namespace {

using engine::HourCounts;

TimePoint at(long long s) {
  return TimePoint(std::chrono::seconds(s));
}

std::vector<HourCounts> fourHours() {
  // 4 hours of 1,000 requests; bad 1, 0, 2, 1 -> 4 bad of 4,000; target 0.999 allows 4.
  return {{at(3600), Seconds(3600), 1, 1000},
          {at(7200), Seconds(3600), 0, 1000},
          {at(10800), Seconds(3600), 2, 1000},
          {at(14400), Seconds(3600), 1, 1000}};
}

TEST(BudgetBurnDown, StartsWholeAndEndsAtTheWindowsBudget) {
  const auto points = engine::budgetBurnDown(fourHours(), 0.999);
  ASSERT_EQ(points.size(), 5u);
  EXPECT_EQ(points[0].at, at(0));
  EXPECT_DOUBLE_EQ(points[0].remainingPercent, 100.0);
  // Allowed: 0.001 x 4,000 = 4 bad events. After each hour: 3/4, 3/4, 1/4, 0 left.
  EXPECT_NEAR(points[1].remainingPercent, 75.0, 1e-9);
  EXPECT_NEAR(points[2].remainingPercent, 75.0, 1e-9);
  EXPECT_NEAR(points[3].remainingPercent, 25.0, 1e-9);
  EXPECT_NEAR(points[4].remainingPercent, 0.0, 1e-9);
}

TEST(BudgetBurnDown, AdjustedHoursLeaveBadAndTotal) {
  // Excluding hour 3 ([7200, 10800)): its 2 bad leave both counts; allowed 0.001 x 3,998.
  const auto points = engine::budgetBurnDown(fourHours(), 0.999, {{at(7200), at(10800)}});
  const double allowed = 0.001 * 3998;
  EXPECT_NEAR(points[3].remainingPercent, 100 * (1 - 1 / allowed), 1e-9);
  EXPECT_NEAR(points[4].remainingPercent, 100 * (1 - 2 / allowed), 1e-9);
}

TEST(BudgetBurnDown, OverspentGoesBelowZeroAndNoTrafficKeepsTheBudget) {
  auto hours = fourHours();
  hours[3].bad = 5;  // 8 bad of 4 allowed: -100 %
  EXPECT_NEAR(engine::budgetBurnDown(hours, 0.999).back().remainingPercent, -100.0, 1e-9);
  std::vector<HourCounts> quiet{{at(3600), Seconds(3600), 0, 0}};
  EXPECT_DOUBLE_EQ(engine::budgetBurnDown(quiet, 0.999).back().remainingPercent, 100.0);
  EXPECT_TRUE(engine::budgetBurnDown({}, 0.999).empty());
}

TEST(BurnDownSvg, CarriesItsFiguresBandsAndEscapedMarkers) {
  statuspage::BurnDownChart chart;
  chart.points = engine::budgetBurnDown(fourHours(), 0.999);
  chart.windowStart = at(0);
  chart.windowEnd = at(14400);
  chart.markers.push_back(
      {statuspage::ChartMarker::Kind::Rollout, at(7200), at(7200), "deploy <b>v2</b>"});
  const auto svg = statuspage::renderBurnDownSvg(chart);
  EXPECT_NE(svg.find("data-points=\"5\""), std::string::npos) << svg;
  EXPECT_NE(svg.find("data-last-remaining=\"0.0000\""), std::string::npos);
  std::size_t bands = 0;
  for (auto p = svg.find("class=\"band\""); p != std::string::npos;
       p = svg.find("class=\"band\"", p + 1))
    ++bands;
  EXPECT_EQ(bands, 4u);  // nothing below zero: no exhausted band
  EXPECT_NE(svg.find("deploy &lt;b&gt;v2&lt;/b&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("<b>"), std::string::npos);
}

TEST(StatusPageHtml, EscapesEverythingMarkupCanHideIn) {
  EXPECT_EQ(statuspage::escape("<a href=\"x\" onclick='y'>&</a>"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
  EXPECT_EQ(statuspage::relativeTime(at(0), at(3 * 3600 + 120)), "3h 2m ago");
  EXPECT_EQ(statuspage::relativeTime(at(2 * 86400 + 3600), at(0)), "in 2d 1h");
}

TEST(SloEvents, KeepsOnlySloEventsNewestFirst) {
  const auto doc = json::parse(R"({"items":[
    {"involvedObject":{"kind":"ServiceLevelObjective","namespace":"shop","name":"web"},
     "reason":"TierChanged","type":"Normal","message":"healthy -> warning",
     "lastTimestamp":"2026-12-01T10:00:00Z","count":2},
    {"involvedObject":{"kind":"ServiceLevelObjective","namespace":"shop","name":"web"},
     "reason":"RolloutDenied","type":"Warning","message":"denied",
     "eventTime":"2026-12-01T11:00:00.000000Z","reportingComponent":"budgetgate-webhook"},
    {"involvedObject":{"kind":"Deployment","namespace":"shop","name":"web"},
     "reason":"BudgetGateDenied","lastTimestamp":"2026-12-01T11:00:00Z"},
    {"involvedObject":{"kind":"ServiceLevelObjective","namespace":"shop","name":"web"},
     "reason":"NoTime"},
    "not an object"]})",
                               nullptr);
  ASSERT_TRUE(doc);
  const auto events = statuspage::parseSloEvents(*doc, 10);
  ASSERT_EQ(events.size(), 1u);
  const auto& web = events.at("shop/web");
  ASSERT_EQ(web.size(), 2u);
  EXPECT_EQ(web[0].reason, "RolloutDenied");
  EXPECT_EQ(web[0].reporter, "budgetgate-webhook");
  EXPECT_EQ(web[1].count, 2);
  ASSERT_NE(statuspage::newest(web, "RolloutDenied"), nullptr);
  EXPECT_EQ(statuspage::newest(web, "Nothing"), nullptr);
  EXPECT_EQ(statuspage::parseSloEvents(*doc, 1).at("shop/web").size(), 1u);
}

model::SloView view(const std::string& ns, const std::string& name, const std::string& team,
                    engine::Tier tier, double consumed) {
  model::SloView v;
  v.ns = ns;
  v.name = name;
  v.spec.emplace();
  v.spec->ns = ns;
  v.spec->name = name;
  v.spec->service = name + "-svc";
  if (!team.empty()) v.spec->labels["team"] = team;
  v.status.emplace();
  v.status->tier = tier;
  v.status->errorBudget = engine::occurrencesBudget(0.999, consumed, 1000);
  v.status->decisionsByRisk = std::array<engine::Verdict, 3>{
      engine::Verdict::Approve, engine::Verdict::Review, engine::Verdict::Block};
  return v;
}

TEST(StatusPages, OverviewGroupsByTeamWithFiguresAndWorstFirst) {
  const std::vector<model::SloView> slos{
      view("shop", "api", "platform", engine::Tier::Healthy, 0.1),
      view("shop", "web", "storefront", engine::Tier::Exhausted, 2),
      view("ops", "pay", "platform", engine::Tier::Warning, 0.8)};
  statuspage::PageContext ctx;
  ctx.now = at(1'000'000);
  const auto html = statuspage::renderOverview(slos, {}, statuspage::Grouping::Team, ctx);
  EXPECT_NE(html.find("data-group=\"platform\""), std::string::npos);
  EXPECT_NE(html.find("data-group=\"storefront\""), std::string::npos);
  // 0.1 of 1 allowed bad event spent: 90 % left; 2 of 1: -100 %.
  EXPECT_NE(html.find("data-slo=\"shop/api\" data-tier=\"healthy\" data-remaining=\"90.0000\""),
            std::string::npos);
  EXPECT_NE(html.find("data-slo=\"shop/web\" data-tier=\"exhausted\" data-remaining=\"-100.0000\""),
            std::string::npos);
  // Inside "platform", the warning SLO comes before the healthy one.
  EXPECT_LT(html.find("data-slo=\"ops/pay\""), html.find("data-slo=\"shop/api\""));
  EXPECT_NE(html.find("<span id=\"count-exhausted\">1</span>"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_FALSE(statuspage::parseGrouping("bogus"));
}

TEST(StatusPages, SloPageShowsWhyThereIsNoChartAndEscapesTheSpec) {
  auto v = view("shop", "web", "", engine::Tier::Critical, 0.95);
  v.spec->description = "<img src=x onerror=alert(1)>";
  statuspage::BurnDownData none;
  none.unavailable = "a composite SLO has no single event count to draw";
  const std::vector<statuspage::SloEvent> events{
      {"Warning", "RolloutDenied", "<script>x</script>", "budgetgate", at(10), 1}};
  const auto html = statuspage::renderSloPage(v, events, none, {});
  EXPECT_NE(html.find("No burn-down: a composite SLO"), std::string::npos);
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;x&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("id=\"remaining\" data-value=\"5.0000\""), std::string::npos);
}

}  // namespace
}  // namespace budgetgate
