// Freeze limits, minEvents, and the promises denial messages make. Each walk runs an SLO hour by
// hour through the real engine (assess: tier, hysteresis, freeze; carried from step to step as the
// controller carries them in status) and the real gate, reads the promise in each denial
// ("relaxes this rollout to review at T", "held at critical ... or until T, and then follows
// the budget") and checks it against the decisions that follow — the gate's and the status'
// decisionsByRisk (what backtest reports).

#include "operator/engine/freeze_limit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <regex>

#include "operator/common/json.h"
#include "operator/engine/policy_strictness.h"
#include "operator/engine/slo_assessment.h"
#include "operator/model/policy_parser.h"
#include "operator/status/status_builder.h"
#include "webhook/gate/gate_decision.h"

namespace budgetgate {
namespace {

using engine::Tier;
using engine::Verdict;

const TimePoint kStart = TimePoint(Seconds(1'769'817'600));  // 2026-01-31T00:00:00Z

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(FreezeLimit, TracksTheStretchAtExhaustedAndItsLow) {
  auto f = engine::trackFreeze(Tier::Critical, 5, kStart, std::nullopt);
  EXPECT_FALSE(f);
  f = engine::trackFreeze(Tier::Exhausted, -10, kStart, f);
  ASSERT_TRUE(f);
  f = engine::trackFreeze(Tier::Exhausted, -30, kStart + Seconds(3600), f);
  f = engine::trackFreeze(Tier::Unknown, 0, kStart + Seconds(7200), f);  // no data: kept
  f = engine::trackFreeze(Tier::Exhausted, -25, kStart + Seconds(10800), f);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->since, kStart);
  EXPECT_EQ(f->lowestRemainingPercent, -30);
  EXPECT_FALSE(engine::trackFreeze(Tier::Critical, 1, kStart + Seconds(14400), f));
}

TEST(FreezeLimit, RelaxesByDurationOrRestoredBudgetOnlyWhenThePolicySaysSo) {
  const engine::FreezeState state{kStart, -30};
  engine::FreezeLimits off;
  EXPECT_FALSE(engine::freezeRelief(off, state, -30, kStart + Seconds(30 * 86400)).relaxed);
  engine::FreezeLimits seed003;  // "10 % of the budget is restored or 7 days have passed"
  seed003.maxDuration = Seconds(7 * 86400);
  seed003.restoredPercent = 10;
  auto r = engine::freezeRelief(seed003, state, -25, kStart + Seconds(7 * 86400 - 1));
  EXPECT_FALSE(r.relaxed);
  EXPECT_EQ(r.relaxesAt, kStart + Seconds(7 * 86400));
  EXPECT_EQ(r.relaxesAtRemainingPercent, -20);
  r = engine::freezeRelief(seed003, state, -25, kStart + Seconds(7 * 86400));
  EXPECT_TRUE(r.relaxed);
  EXPECT_TRUE(contains(r.reason, "freeze.maxDuration 7d")) << r.reason;
  r = engine::freezeRelief(seed003, state, -20, kStart + Seconds(86400));
  EXPECT_TRUE(r.relaxed);
  EXPECT_TRUE(contains(r.reason, "10.0% of the budget restored since its low of -30.0%"))
      << r.reason;
  EXPECT_EQ(engine::relaxedVerdict(Verdict::Block, seed003), Verdict::Review);
  EXPECT_EQ(engine::relaxedVerdict(Verdict::Approve, seed003), Verdict::Approve);
}

TEST(FreezeLimit, PolicyFieldsAndStrictness) {
  model::Diagnostics diag("p.yaml");
  auto p = model::parsePolicy(YAML::Load(R"(apiVersion: slo.budgetgate.dev/v1alpha1
kind: ErrorBudgetPolicy
metadata: {name: p}
spec:
  freeze: {maxDuration: 7d, restoredPercent: 10, relaxTo: defer}
)"),
                              diag);
  ASSERT_TRUE(p) << diag.format();
  EXPECT_EQ(p->freeze.maxDuration, Seconds(7 * 86400));
  EXPECT_EQ(p->freeze.restoredPercent, 10);
  EXPECT_EQ(p->freeze.relaxTo, Verdict::Defer);
  for (const char* bad : {"{relaxTo: review}", "{maxDuration: 7d, relaxTo: block}",
                          "{restoredPercent: 0}", "{maxDuration: 0s}"}) {
    model::Diagnostics d("p.yaml");
    EXPECT_FALSE(
        model::parsePolicy(YAML::Load(std::string(R"(apiVersion: slo.budgetgate.dev/v1alpha1
kind: ErrorBudgetPolicy
metadata: {name: p}
spec:
  freeze: )") + bad),
                           d))
        << bad;
  }
  engine::ErrorBudgetPolicy none;
  EXPECT_TRUE(engine::firstLoosening(*p, none).has_value());  // adding limits loosens
  EXPECT_FALSE(engine::firstLoosening(none, *p).has_value());
  auto sooner = *p;
  sooner.freeze.maxDuration = Seconds(86400);
  EXPECT_TRUE(engine::firstLoosening(sooner, *p).has_value());
  auto further = *p;
  further.freeze.relaxTo = Verdict::Approve;
  EXPECT_TRUE(engine::firstLoosening(further, *p).has_value());
}

// One SLO walked hour by hour: `remainingAt(hour)` is the budget left (raw percent).
struct Walk {
  engine::ErrorBudgetPolicy policy;
  std::function<double(int)> remainingAt;
  int hours = 0;
  engine::Risk risk = engine::Risk::Medium;

  struct Step {
    TimePoint at;
    model::SloStatus status;
    gate::GateDecision decision;
  };

  std::vector<Step> run() const {
    std::vector<Step> out;
    std::optional<model::SloStatus> previous;
    for (int h = 0; h <= hours; ++h) {
      const TimePoint at = kStart + Seconds(h * 3600);
      engine::AssessmentInput in;
      in.now = at;
      in.budget.total = 1000;
      in.budget.consumedPercent = 100 - remainingAt(h);
      in.budget.consumed = in.budget.consumedPercent * 10;
      if (previous) {
        in.previousHold = previous->tierHold;
        in.previousFreeze = previous->freeze;
      }
      const auto a = engine::assess(in, policy);
      model::SloStatus s;
      s.lastEvaluated = at;
      s.tier = a.tier.effective;
      s.tierHold = a.tier.hold;
      s.freeze = a.freeze;
      s.freezeRelaxed = a.freezeRelief.relaxed ? a.freezeRelief.reason : "";
      s.errorBudget = a.budget;
      s.decisionsByRisk = a.decisionsByRisk;
      gate::GatedSlo slo;
      slo.ns = "shop";
      slo.name = "ledger";
      model::LabelSelector sel;
      sel.matchLabels = {{"app", "ledger"}};
      slo.selector = sel;
      slo.policy = &policy;
      slo.status = s;
      gate::RolloutRequest r;
      r.ns = "shop";
      r.name = "ledger";
      r.identity.labels = {{"app", "ledger"}};
      r.annotations[std::string(gate::kRiskAnnotation)] = std::string(engine::riskName(risk));
      gate::GateContext ctx;
      ctx.now = at;
      out.push_back({at, s, gate::decide(r, {slo}, ctx)});
      previous = s;
    }
    return out;
  }
};

std::optional<TimePoint> promisedTime(const std::string& message, const std::string& lead) {
  std::smatch m;
  if (!std::regex_search(message, m,
                         std::regex(lead + " (\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ)"))) {
    return std::nullopt;
  }
  return parseTime(m[1].str());
}

engine::ErrorBudgetPolicy seed003Policy() {
  engine::ErrorBudgetPolicy p;
  p.name = "seed003";
  p.freeze.maxDuration = Seconds(7 * 86400);
  p.freeze.restoredPercent = 10;
  return p;
}

TEST(FreezePromises, MaxDurationIsKeptToTheHour) {
  Walk w;
  w.policy = seed003Policy();
  // Spent at hour 10 and stuck at -30 % for ten days (nothing ages out: a long incident).
  w.remainingAt = [](int h) { return h < 10 ? 5.0 : -30.0; };
  w.hours = 10 * 24;
  const auto steps = w.run();
  std::optional<TimePoint> promise;
  int denied = 0, relaxed = 0;
  for (const auto& s : steps) {
    // The status' decisions (what backtest prints) are the gate's.
    ASSERT_TRUE(s.status.decisionsByRisk);
    EXPECT_EQ((*s.status.decisionsByRisk)[1], s.decision.verdict) << formatTime(s.at);
    if (!s.decision.allowed) {
      ++denied;
      if (s.status.tier == Tier::Exhausted) {
        const auto p = promisedTime(s.decision.message, "relaxes this rollout to review at");
        ASSERT_TRUE(p) << s.decision.message;
        if (promise) {
          EXPECT_EQ(*p, *promise) << "the promise does not move";
        }
        promise = p;
        EXPECT_LT(s.at, *promise) << "denied after the promised time: " << s.decision.message;
      }
    } else {
      ++relaxed;
      ASSERT_TRUE(promise) << "admitted without a promise: " << s.decision.message;
      EXPECT_GE(s.at, *promise) << s.decision.message;
      EXPECT_TRUE(contains(s.decision.rule, "= block, relaxed to review: frozen since"))
          << s.decision.rule;
      EXPECT_TRUE(contains(s.status.freezeRelaxed, "freeze.maxDuration 7d"));
    }
  }
  ASSERT_TRUE(promise);
  EXPECT_EQ(*promise, kStart + Seconds(10 * 3600 + 7 * 86400));
  EXPECT_EQ(relaxed, 3 * 24 - 10 + 1);  // from the promised hour to the end of the walk
  EXPECT_GT(denied, 0);
}

TEST(FreezePromises, RestoredPercentIsKeptAtTheStatedLevel) {
  Walk w;
  w.policy = seed003Policy();
  // Spent at hour 2, low of -30 % at hour 5, then one point back every 6 hours.
  w.remainingAt = [](int h) {
    if (h < 2) return 5.0;
    if (h < 5) return -10.0 * (h - 1);
    return -30.0 + (h - 5) / 6;
  };
  w.hours = 4 * 24;
  std::optional<double> promisedLevel;
  bool sawRelaxed = false;
  for (const auto& s : w.run()) {
    const double remaining = s.status.errorBudget->remainingPercentRaw();
    if (s.status.tier != Tier::Exhausted) {
      if (s.at >= kStart + Seconds(2 * 3600)) break;  // the freeze is over
      continue;
    }
    if (!s.decision.allowed) {
      // "once L% of the budget is left": L is 10 points above the low so far.
      std::smatch m;
      ASSERT_TRUE(std::regex_search(s.decision.message, m,
                                    std::regex("once ([-0-9.]+)% of the budget is left")))
          << s.decision.message;
      promisedLevel = std::stod(m[1].str());
      EXPECT_EQ(*promisedLevel, s.status.freeze->lowestRemainingPercent + 10);
      EXPECT_LT(remaining, *promisedLevel) << s.decision.message;
    } else {
      ASSERT_TRUE(promisedLevel);
      EXPECT_GE(remaining, *promisedLevel) << s.decision.message;
      EXPECT_EQ(*promisedLevel, -20);
      EXPECT_TRUE(contains(s.decision.rule,
                           "of the budget restored since its low of -30.0% (freeze.restoredPercent "
                           "10)"))
          << s.decision.rule;
      sawRelaxed = true;
    }
  }
  EXPECT_TRUE(sawRelaxed);
}

TEST(FreezePromises, WithoutLimitsNothingIsPromisedAndNothingRelaxes) {
  Walk w;  // the default policy: no freeze limits
  w.remainingAt = [](int h) { return h < 10 ? 5.0 : -30.0; };
  w.hours = 10 * 24;
  for (const auto& s : w.run()) {
    if (s.status.tier != Tier::Exhausted) continue;
    EXPECT_FALSE(s.decision.allowed);
    EXPECT_FALSE(contains(s.decision.message, "held at exhausted")) << s.decision.message;
    EXPECT_FALSE(contains(s.decision.message, "relaxes")) << s.decision.message;
    EXPECT_TRUE(contains(s.decision.message, "stays exhausted until it is back above 0%"))
        << s.decision.message;
  }
}

TEST(FreezePromises, AHysteresisHoldEndsWhenItSays) {
  Walk w;  // default hysteresis: restorePercent 10, maxHold 7d
  // Critical at 5 % (hour 3), then 0.5 points back per hour: warning by remaining (<= 25 %).
  w.remainingAt = [](int h) { return h < 3 ? 40.0 : 5.0 + (h - 3) * 0.5; };
  w.hours = 48;
  w.risk = engine::Risk::Low;  // low: defer at critical, review at warning
  std::optional<double> promisedLevel;
  std::optional<TimePoint> promisedTime;
  bool released = false;
  for (const auto& s : w.run()) {
    const double remaining = s.status.errorBudget->remainingPercentRaw();
    if (s.status.tier == Tier::Critical) {
      ASSERT_FALSE(s.decision.allowed);
      std::smatch m;
      ASSERT_TRUE(std::regex_search(
          s.decision.message, m,
          std::regex("held at critical until the remaining budget has risen (\\d+) points above "
                     "its low of ([-0-9.]+)%, or until (\\S+), and then follows the budget")))
          << s.decision.message;
      promisedLevel = std::stod(m[2].str()) + std::stod(m[1].str());
      promisedTime = parseTime(m[3].str());
      EXPECT_LT(remaining, *promisedLevel);
      EXPECT_LT(s.at, *promisedTime);
    } else if (promisedLevel) {
      // Released at the promised level (15 %), not later: then the budget decides (warning).
      if (!released) {
        EXPECT_NEAR(remaining, *promisedLevel, 0.5 + 1e-9);
      }
      released = true;
      EXPECT_EQ(s.status.tier, remaining <= 25 ? Tier::Warning : Tier::Attention);
      EXPECT_TRUE(s.decision.allowed) << s.decision.message;
    }
  }
  EXPECT_TRUE(released);
}

}  // namespace
}  // namespace budgetgate

namespace budgetgate {
namespace {

// minEvents: a burn-rate window that counted a handful of events neither alerts nor drives
// the tier; the status keeps the measured burn rate and names the window.
TEST(MinEvents, FewEventsNeitherAlertNorDriveTheTier) {
  model::ServiceLevelObjective slo;
  slo.name = "quiet";
  slo.ns = "shop";
  slo.window.text = "30d";
  slo.window.duration = Seconds(30 * 86400);
  slo.window.isRolling = true;
  model::Objective objective;
  objective.target = 0.999;
  slo.objectives.push_back(objective);
  status::ObjectiveOutcome o;
  o.budget = engine::occurrencesBudget(0.999, 20, 100'000);  // 20 % spent over the month
  o.sli = 1 - 20.0 / 100'000;
  // 3 requests in the last 5 minutes, 2 of them failed; 30 in the last hour, 20 failed.
  const auto set = [&](engine::BurnRateWindow w, double events, double bad) {
    for (std::size_t i = 0; i < engine::kBurnRateWindows.size(); ++i) {
      if (engine::kBurnRateWindows[i] == w) o.windowEvents[i] = events;
    }
    o.burnRates.set(w, engine::burnRateFromCounts(bad, events, 0.999));
  };
  for (auto w : engine::kBurnRateWindows) set(w, 5000, 0);  // long windows: plenty, all good
  set(engine::BurnRateWindow::M5, 3, 2);
  set(engine::BurnRateWindow::H1, 30, 20);
  const model::WindowBounds bounds{kStart - slo.window.duration, kStart, slo.window.duration};

  engine::ErrorBudgetPolicy off;
  const auto loud = status::buildStatus(slo, {o}, bounds, off, nullptr, kStart);
  EXPECT_EQ(loud.tier, Tier::Critical);  // 1h burn 666x confirmed by 5m: critical at 20 % spent
  EXPECT_TRUE(std::any_of(loud.alerts.begin(), loud.alerts.end(),
                          [](const engine::AlertState& a) { return a.firing; }));

  engine::ErrorBudgetPolicy quiet;
  quiet.minEvents = 100;
  const auto s = status::buildStatus(slo, {o}, bounds, quiet, nullptr, kStart);
  EXPECT_EQ(s.tier, Tier::Healthy) << s.message;  // 80 % left, no counted burn
  EXPECT_TRUE(std::none_of(s.alerts.begin(), s.alerts.end(),
                           [](const engine::AlertState& a) { return a.firing; }));
  EXPECT_EQ(s.lowTrafficWindows, (std::vector<std::string>{"5m", "1h"}));
  EXPECT_NEAR(*s.burnRates.at(engine::BurnRateWindow::H1), 666.67, 0.01);  // still shown
  EXPECT_TRUE(contains(s.message,
                       "fewer than 100 events in the 5m, 1h windows (policy "
                       "minEvents): no alerts or tier from them"))
      << s.message;
  // The status round-trips (the gate and the next evaluation read it back).
  std::vector<std::string> problems;
  const auto back = model::statusFromJson(*json::parse(model::statusToJson(s), nullptr), &problems);
  EXPECT_EQ(back.lowTrafficWindows, s.lowTrafficWindows);
  // Raising minEvents hides more burn: loosening.
  EXPECT_TRUE(engine::firstLoosening(quiet, off).has_value());
  EXPECT_FALSE(engine::firstLoosening(off, quiet).has_value());
}

}  // namespace
}  // namespace budgetgate
