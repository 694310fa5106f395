#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "operator/common/json.h"
#include "operator/model/slo_status.h"
#include "test_support.h"

namespace budgetgate::model {
namespace {

using engine::BurnRateWindow;
using engine::Tier;
using engine::Verdict;

const TimePoint kT = TimePoint(Seconds(1'769'817'600));  // 2026-01-31T00:00:00Z

json::Document parseJson(const std::string& text) {
  std::string error;
  auto doc = json::parse(text, &error);
  EXPECT_TRUE(doc.has_value()) << error << "\n" << text;
  return doc ? std::move(*doc) : json::Document();
}

SloStatus fullStatus() {
  SloStatus s;
  s.observedGeneration = 7;
  s.lastEvaluated = kT;
  s.objective = "availability";
  s.target = 0.999;
  s.window = "30d";
  s.windowStart = kT - Seconds(30 * 86400);
  s.budgetingMethod = "Occurrences";
  s.sli = 0.99854;
  s.errorBudget = engine::occurrencesBudget(0.999, 378432, 259200000);  // 146 % consumed
  s.burnRates.set(BurnRateWindow::M5, 0.0);
  s.burnRates.set(BurnRateWindow::H1, 0.2);
  s.burnRates.set(BurnRateWindow::H6, 2.1);
  s.burnRates.set(BurnRateWindow::D1, 4.8);
  s.burnRates.set(BurnRateWindow::D3, 1.7);
  // 30m and 2h: no traffic.
  s.alerts = engine::evaluateAlerts(engine::deriveAlertRules(Seconds(30 * 86400)), s.burnRates);
  s.projectedExhaustion = kT;
  s.projectedRecovery = kT + Seconds(86400);
  s.recoveryByTier = {{engine::Tier::Warning, kT + Seconds(3600)},
                      {engine::Tier::Healthy, kT + Seconds(7200)}};
  s.tier = Tier::Exhausted;
  s.tierHold = engine::TierHold{Tier::Exhausted, kT - Seconds(20 * 3600), -46.0};
  s.policy = "budgetgate/default";
  s.decisionsByRisk = std::array<Verdict, 3>{Verdict::Block, Verdict::Block, Verdict::Block};
  engine::BurnRates latencyBurn;
  latencyBurn.set(BurnRateWindow::H1, 0.5);
  s.objectives = {{"availability", 0.999, 2.0, 0.99854, 146.0, 0.0, s.burnRates, Tier::Exhausted},
                  {"latency", 0.99, 1.0, std::nullopt, 20.0, 80.0, latencyBurn, Tier::Healthy}};
  s.conditions = {{"Ready", "True", "Evaluated", "ok", kT - Seconds(3600), 7},
                  {"BudgetExhausted", "True", "Overspent", "46% over budget", kT, 7}};
  s.message = "46% over budget";
  return s;
}

TEST(StatusCodec, RoundTripKeepsEveryField) {
  const SloStatus in = fullStatus();
  for (auto style : {JsonStyle::Compact, JsonStyle::Pretty}) {
    const auto doc = parseJson(statusToJson(in, style));
    std::vector<std::string> problems;
    const SloStatus out = statusFromJson(doc, &problems);
    EXPECT_TRUE(problems.empty()) << problems.front();
    EXPECT_EQ(out.observedGeneration, 7);
    EXPECT_EQ(out.lastEvaluated, kT);
    EXPECT_EQ(out.objective, "availability");
    EXPECT_DOUBLE_EQ(out.target, 0.999);
    EXPECT_EQ(out.window, "30d");
    EXPECT_EQ(out.windowStart, in.windowStart);
    EXPECT_EQ(out.budgetingMethod, "Occurrences");
    ASSERT_TRUE(out.sli.has_value());
    EXPECT_DOUBLE_EQ(*out.sli, 0.99854);
    ASSERT_TRUE(out.errorBudget.has_value());
    EXPECT_NEAR(out.errorBudget->total, in.errorBudget->total, 1e-6);
    EXPECT_NEAR(out.errorBudget->consumed, 378432, 1e-6);
    // The raw (overspent) figure survives although remainingPercent is written clamped.
    EXPECT_NEAR(out.errorBudget->consumedPercent, in.errorBudget->consumedPercent, 1e-9);
    EXPECT_NEAR(out.errorBudget->remainingPercentRaw(), -46.0, 1e-6);
    EXPECT_EQ(out.errorBudget->unit, engine::BudgetUnit::Requests);
    for (auto w : engine::kBurnRateWindows) {
      EXPECT_EQ(out.burnRates.at(w).has_value(), in.burnRates.at(w).has_value())
          << engine::windowName(w);
      if (in.burnRates.at(w)) {
        EXPECT_DOUBLE_EQ(*out.burnRates.at(w), *in.burnRates.at(w));
      }
    }
    ASSERT_EQ(out.alerts.size(), 4u);
    for (std::size_t i = 0; i < 4; ++i) {
      EXPECT_EQ(out.alerts[i].rule.name, in.alerts[i].rule.name);
      EXPECT_EQ(out.alerts[i].rule.severity, in.alerts[i].rule.severity);
      EXPECT_EQ(out.alerts[i].rule.shortWindow, in.alerts[i].rule.shortWindow);
      EXPECT_EQ(out.alerts[i].rule.longWindow, in.alerts[i].rule.longWindow);
      EXPECT_NEAR(out.alerts[i].rule.threshold, in.alerts[i].rule.threshold, 1e-9);
      EXPECT_EQ(out.alerts[i].firing, in.alerts[i].firing);
    }
    EXPECT_EQ(out.projectedExhaustion, kT);
    EXPECT_EQ(out.projectedRecovery, kT + Seconds(86400));
    EXPECT_EQ(out.recoveryByTier, in.recoveryByTier);
    EXPECT_EQ(out.tier, Tier::Exhausted);
    ASSERT_TRUE(out.tierHold.has_value());
    EXPECT_EQ(out.tierHold->tier, Tier::Exhausted);
    EXPECT_EQ(out.tierHold->since, in.tierHold->since);
    EXPECT_DOUBLE_EQ(out.tierHold->lowestRemainingPercent, -46.0);
    EXPECT_EQ(out.policy, "budgetgate/default");
    ASSERT_TRUE(out.decisionsByRisk.has_value());
    EXPECT_EQ(*out.decisionsByRisk, *in.decisionsByRisk);
    ASSERT_EQ(out.objectives.size(), 2u);
    EXPECT_EQ(out.objectives[1].displayName, "latency");
    EXPECT_DOUBLE_EQ(out.objectives[1].remainingPercent, 80.0);
    EXPECT_DOUBLE_EQ(out.objectives[1].consumedPercent, 20.0);
    EXPECT_EQ(out.objectives[1].tier, Tier::Healthy);
    EXPECT_EQ(out.objectives[0].compositeWeight, 2.0);
    EXPECT_EQ(out.objectives[0].sli, 0.99854);
    EXPECT_FALSE(out.objectives[1].sli.has_value());
    EXPECT_EQ(out.objectives[1].burnRates.at(BurnRateWindow::H1), 0.5);
    EXPECT_FALSE(out.objectives[1].burnRates.at(BurnRateWindow::M5).has_value());
    EXPECT_EQ(out.objectives[0].burnRates.at(BurnRateWindow::D3), 1.7);
    ASSERT_EQ(out.conditions.size(), 2u);
    EXPECT_EQ(out.conditions[0].type, "Ready");
    EXPECT_EQ(out.conditions[0].lastTransitionTime, kT - Seconds(3600));
    EXPECT_EQ(out.conditions[1].reason, "Overspent");
    EXPECT_EQ(out.conditions[1].observedGeneration, 7);
    EXPECT_EQ(out.message, "46% over budget");
    // Writing what was read gives the same JSON.
    EXPECT_EQ(statusToJson(out), statusToJson(in));
  }
}

TEST(StatusCodec, TheLedgerIsReadBackWhole) {
  SloStatus in = fullStatus();
  LedgerStatus l;
  l.rolloutPercent = 40;
  l.adjustmentPercent = 100;
  l.unattributedPercent = 6;
  l.entryCount = 5;
  engine::LedgerEntry rollout;
  rollout.start = kT - Seconds(7200);
  rollout.end = kT - Seconds(3600);
  rollout.cause = engine::LedgerCause::Rollout;
  rollout.badEvents = 120;
  rollout.budgetPercent = 40;
  rollout.rollout =
      engine::RolloutRecord{kT - Seconds(7300), "deployment/web", "7", "web:2", "canary", "bob"};
  engine::LedgerEntry refund;
  refund.start = kT - Seconds(86400);
  refund.end = kT - Seconds(79200);
  refund.cause = engine::LedgerCause::Adjustment;
  refund.badEvents = 300;
  refund.budgetPercent = 100;
  refund.adjustment = "db-outage";
  refund.reason = "dependency";
  refund.reference = "INC-42";
  l.entries = {rollout, refund};
  in.ledger = l;
  const auto out = statusFromJson(parseJson(statusToJson(in)), nullptr);
  ASSERT_TRUE(out.ledger);
  EXPECT_EQ(out.ledger->rolloutPercent, 40);
  EXPECT_EQ(out.ledger->adjustmentPercent, 100);
  EXPECT_EQ(out.ledger->unattributedPercent, 6);
  EXPECT_EQ(out.ledger->entryCount, 5u);
  ASSERT_EQ(out.ledger->entries.size(), 2u);
  const auto& r = out.ledger->entries[0];
  EXPECT_EQ(r.cause, engine::LedgerCause::Rollout);
  EXPECT_EQ(r.start, rollout.start);
  EXPECT_EQ(r.budgetPercent, 40);
  ASSERT_TRUE(r.rollout);
  EXPECT_EQ(r.rollout->images, "web:2");
  EXPECT_EQ(r.rollout->requester, "bob");
  const auto& a = out.ledger->entries[1];
  EXPECT_EQ(a.cause, engine::LedgerCause::Adjustment);
  EXPECT_FALSE(a.rollout);
  EXPECT_EQ(a.end, refund.end);
  EXPECT_EQ(a.adjustment, "db-outage");
  EXPECT_EQ(a.reference, "INC-42");
  EXPECT_EQ(a.badEvents, 300);
}

TEST(StatusCodec, WrittenShape) {
  const auto doc = parseJson(statusToJson(fullStatus()));
  const auto* budget = json::member(&doc, "errorBudget");
  ASSERT_NE(budget, nullptr);
  EXPECT_EQ(json::asNumber(json::member(budget, "remainingPercent")), 0.0);  // display clamp
  EXPECT_EQ(json::stringOr(json::member(budget, "unit")), "requests");
  EXPECT_EQ(json::stringOr(json::member(&doc, "tier")), "exhausted");
  EXPECT_EQ(json::stringOr(json::member(&doc, "lastEvaluated")), "2026-01-31T00:00:00Z");
  const auto* burn = json::member(&doc, "burnRates");
  ASSERT_TRUE(burn && burn->IsObject());
  EXPECT_EQ(burn->MemberCount(), 7u);
  EXPECT_EQ(json::asNumber(json::member(burn, "30m")), 0.0);  // no data: 0, never NaN
  const auto* noData = json::member(&doc, "noDataWindows");
  ASSERT_TRUE(noData && noData->IsArray());
  ASSERT_EQ(noData->Size(), 2u);
  EXPECT_EQ(json::stringOr(&(*noData)[0]), "30m");
  EXPECT_EQ(json::stringOr(&(*noData)[1]), "2h");
  EXPECT_EQ(json::stringOr(json::path(&doc, {"gate", "decisionsByRisk", "low"})), "block");
}

TEST(StatusCodec, NeverWritesNaNOrInfinity) {
  SloStatus s;
  s.target = std::nan("");
  s.sli = std::numeric_limits<double>::infinity();
  engine::ErrorBudget b;
  b.total = std::nan("");
  b.consumed = -std::numeric_limits<double>::infinity();
  b.consumedPercent = std::nan("");
  s.errorBudget = b;
  s.burnRates.set(BurnRateWindow::H1, std::numeric_limits<double>::infinity());
  const std::string text = statusToJson(s);
  EXPECT_EQ(text.find("NaN"), std::string::npos) << text;
  EXPECT_EQ(text.find("Infinity"), std::string::npos) << text;
  const auto doc = parseJson(text);  // strict JSON
  EXPECT_EQ(json::asNumber(json::member(&doc, "sli")), 0.0);
  EXPECT_EQ(json::stringOr(json::member(&doc, "tier")), "unknown");
  EXPECT_TRUE(json::member(&doc, "lastEvaluated")->IsNull());
}

TEST(StatusCodec, PercentagesAndBurnRatesAreRoundedForPeople) {
  SloStatus s;
  engine::ErrorBudget b;
  b.total = 259200;
  b.consumed = 51840.4;
  b.consumedPercent = 20.00015416;
  s.errorBudget = b;
  s.burnRates.set(engine::BurnRateWindow::H1, 0.200564405185);
  s.burnRates.set(engine::BurnRateWindow::M5, 333.3333333);
  const auto doc = parseJson(statusToJson(s));
  const auto* budget = json::member(&doc, "errorBudget");
  EXPECT_DOUBLE_EQ(json::member(budget, "remainingPercent")->GetDouble(), 80.0);
  EXPECT_DOUBLE_EQ(json::member(budget, "consumedPercent")->GetDouble(), 20.0);
  EXPECT_DOUBLE_EQ(json::member(budget, "consumed")->GetDouble(), 51840.4);  // totals stay exact
  const auto* burn = json::member(&doc, "burnRates");
  EXPECT_DOUBLE_EQ(json::member(burn, "1h")->GetDouble(), 0.2006);
  EXPECT_DOUBLE_EQ(json::member(burn, "5m")->GetDouble(), 333.3);
}

TEST(StatusCodec, MinimalStatusHasNoOptionalParts) {
  const auto doc = parseJson(statusToJson(SloStatus{}));
  EXPECT_EQ(json::member(&doc, "errorBudget"), nullptr);
  EXPECT_EQ(json::member(&doc, "tierHold"), nullptr);
  EXPECT_EQ(json::member(&doc, "objectives"), nullptr);
  EXPECT_TRUE(json::member(&doc, "sli")->IsNull());
  EXPECT_TRUE(json::member(&doc, "projectedExhaustion")->IsNull());
  EXPECT_EQ(json::member(&doc, "noDataWindows")->Size(), 7u);
  const SloStatus back = statusFromJson(doc, nullptr);
  EXPECT_EQ(back.tier, Tier::Unknown);
  EXPECT_FALSE(back.lastEvaluated.has_value());
  EXPECT_FALSE(back.errorBudget.has_value());
  for (auto w : engine::kBurnRateWindows) EXPECT_FALSE(back.burnRates.at(w).has_value());
}

TEST(StatusCodec, SampleStatusesReadCleanly) {
  for (const char* file :
       {"crds/samples/gate/status-healthy.json", "crds/samples/gate/status-exhausted.json"}) {
    const auto doc =
        parseJson(budgetgate::testing::readFile(budgetgate::testing::sourceFile(file)));
    std::vector<std::string> problems;
    const auto s = statusFromJson(doc, &problems);
    EXPECT_TRUE(problems.empty()) << file << ": " << problems.front();
    EXPECT_TRUE(s.lastEvaluated.has_value()) << file;
    EXPECT_TRUE(s.errorBudget.has_value()) << file;
  }
  const auto exhausted = statusFromJson(
      parseJson(budgetgate::testing::readFile(
          budgetgate::testing::sourceFile("crds/samples/gate/status-exhausted.json"))),
      nullptr);
  EXPECT_EQ(exhausted.tier, Tier::Exhausted);
  EXPECT_NEAR(exhausted.errorBudget->remainingPercentRaw(), -46.0, 1e-9);
  EXPECT_FALSE(exhausted.projectedExhaustion == std::nullopt);
  ASSERT_TRUE(exhausted.tierHold.has_value());
  EXPECT_DOUBLE_EQ(exhausted.tierHold->lowestRemainingPercent, -46.0);
}

TEST(StatusCodecLenient, NotAnObject) {
  std::vector<std::string> problems;
  const auto s = statusFromJson(parseJson("[1, 2]"), &problems);
  EXPECT_EQ(s.tier, Tier::Unknown);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("not an object"), std::string::npos);
  EXPECT_EQ(statusFromJson(parseJson("null"), nullptr).tier, Tier::Unknown);
}

TEST(StatusCodecLenient, BrokenFieldsAreSkippedAndDescribed) {
  std::vector<std::string> problems;
  const auto s = statusFromJson(parseJson(R"({
    "observedGeneration": "seven",
    "lastEvaluated": "last tuesday",
    "target": "high",
    "sli": [0.9],
    "errorBudget": {"total": "lots", "unit": 5},
    "burnRates": {"5m": "fast", "1h": 3.5, "6h": null, "bogus": 9},
    "noDataWindows": [7, "1d"],
    "alerts": [{"name": "x", "shortWindow": "7m", "longWindow": "1h"},
               {"name": "page-1h", "shortWindow": "5m", "longWindow": "1h", "threshold": "high",
                "firing": "yes"},
               "not an object"],
    "tier": "purple",
    "tierHold": {"tier": "critical", "since": "garbage", "lowestRemainingPercent": 5},
    "gate": {"decisionsByRisk": {"low": "approve", "medium": "allow", "high": "block"}},
    "objectives": [{"displayName": 3, "tier": "nope"}],
    "conditions": [{"status": "True"}, {"type": "Ready", "lastTransitionTime": 12}],
    "message": {"text": "hi"}
  })"),
                                &problems);
  EXPECT_EQ(s.observedGeneration, 0);
  EXPECT_FALSE(s.lastEvaluated.has_value());
  EXPECT_EQ(s.target, 0.0);
  EXPECT_FALSE(s.sli.has_value());
  ASSERT_TRUE(s.errorBudget.has_value());
  EXPECT_EQ(s.errorBudget->total, 0.0);
  EXPECT_EQ(s.errorBudget->unit, engine::BudgetUnit::Requests);
  EXPECT_FALSE(s.burnRates.at(BurnRateWindow::M5).has_value());
  EXPECT_EQ(s.burnRates.at(BurnRateWindow::H1), 3.5);
  EXPECT_FALSE(s.burnRates.at(BurnRateWindow::H6).has_value());
  ASSERT_EQ(s.alerts.size(), 1u);  // the one with known windows
  EXPECT_EQ(s.alerts[0].rule.threshold, 0.0);
  EXPECT_FALSE(s.alerts[0].firing);
  EXPECT_EQ(s.tier, Tier::Unknown);
  EXPECT_FALSE(s.tierHold.has_value());
  EXPECT_FALSE(s.decisionsByRisk.has_value());  // incomplete: all or nothing
  ASSERT_EQ(s.objectives.size(), 1u);
  EXPECT_EQ(s.objectives[0].tier, Tier::Unknown);
  ASSERT_EQ(s.conditions.size(), 1u);  // the one without a type is dropped
  EXPECT_EQ(s.conditions[0].lastTransitionTime, TimePoint{});
  EXPECT_EQ(s.message, "");
  const auto mentions = [&](std::string_view text) {
    for (const auto& p : problems) {
      if (p.find(text) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(mentions("last tuesday")) << ::testing::PrintToString(problems);
  EXPECT_TRUE(mentions("purple"));
  EXPECT_TRUE(mentions("tierHold"));
  EXPECT_TRUE(mentions("unknown windows"));
  EXPECT_TRUE(mentions("neither consumedPercent nor remainingPercent"));
}

TEST(StatusCodecLenient, NoDataWindowsOverrideNumbers) {
  const auto s = statusFromJson(
      parseJson(R"({"burnRates": {"5m": 0, "1h": 0}, "noDataWindows": ["5m"]})"), nullptr);
  EXPECT_FALSE(s.burnRates.at(BurnRateWindow::M5).has_value());
  EXPECT_EQ(s.burnRates.at(BurnRateWindow::H1), 0.0);
}

TEST(StatusCodecLenient, RemainingPercentAloneIsEnough) {
  std::vector<std::string> problems;
  const auto s = statusFromJson(
      parseJson(R"({"errorBudget": {"total": 10, "consumed": 3, "remainingPercent": 70,
                   "unit": "minutes"}})"),
      &problems);
  EXPECT_TRUE(problems.empty());
  ASSERT_TRUE(s.errorBudget.has_value());
  EXPECT_DOUBLE_EQ(s.errorBudget->consumedPercent, 30.0);
  EXPECT_EQ(s.errorBudget->unit, engine::BudgetUnit::Minutes);
}

TEST(StatusCodecLenient, HugeAndNonFiniteNumbersAreIgnored) {
  const auto s =
      statusFromJson(parseJson(R"({"observedGeneration": 18446744073709551615, "target": 1e308,
                   "burnRates": {"1h": -1e308}})"),
                     nullptr);
  EXPECT_EQ(s.observedGeneration, 0);
  EXPECT_EQ(s.target, 1e308);
  const std::string text = statusToJson(s);
  EXPECT_TRUE(json::parse(text, nullptr).has_value()) << text;
}

TEST(SloStatus, SetConditionKeepsTransitionTimeWhileUnchanged) {
  SloStatus s;
  s.setCondition({"Ready", "True", "Evaluated", "first", kT, 1});
  s.setCondition({"Ready", "True", "Evaluated", "second", kT + Seconds(60), 2});
  ASSERT_EQ(s.conditions.size(), 1u);
  EXPECT_EQ(s.conditions[0].lastTransitionTime, kT);
  EXPECT_EQ(s.conditions[0].message, "second");
  EXPECT_EQ(s.conditions[0].observedGeneration, 2);
  s.setCondition({"Ready", "False", "NoData", "third", kT + Seconds(120), 2});
  EXPECT_EQ(s.conditions[0].lastTransitionTime, kT + Seconds(120));
  s.setCondition({"DataAvailable", "False", "NoData", "", kT, 2});
  EXPECT_EQ(s.conditions.size(), 2u);
  ASSERT_NE(s.condition("DataAvailable"), nullptr);
  EXPECT_EQ(s.condition("DataAvailable")->status, "False");
  EXPECT_EQ(s.condition("BudgetExhausted"), nullptr);
}

}  // namespace
}  // namespace budgetgate::model
