// operator/prometheus without a Prometheus: response parsing, PromQL helpers, the query planner,
// the bucket store, window pieces, and the whole evaluation pipeline (plan -> fetch ->
// assemble) run against a fake PrometheusApi whose counters grow at known rates, so that every
// figure can be checked against a hand calculation.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <regex>
#include <set>

#include "operator/prometheus/backtest.h"
#include "operator/prometheus/bucket_store.h"
#include "operator/prometheus/evaluation_plan.h"
#include "operator/prometheus/multi_source_evaluator.h"
#include "operator/prometheus/promql.h"
#include "operator/prometheus/query_planner.h"
#include "operator/prometheus/response_parser.h"
#include "operator/prometheus/slo_evaluator.h"
#include "operator/prometheus/slo_signals.h"

namespace budgetgate::prometheus {
namespace {

TimePoint utc(long long seconds) {
  return TimePoint(Seconds(seconds));
}

constexpr long long k2026 = 1'767'225'600;  // 2026-01-01T00:00:00Z

// --- response parsing -------------------------------------------------------------------------

TEST(ResponseParser, InstantVectorWithLabelsAndSpecialValues) {
  const auto r = parseInstantResponse(200, R"({"status":"success","data":{"resultType":"vector",
    "result":[{"metric":{"bg_w":"5m","service":"a"},"value":[1767225600,"12.5"]},
              {"metric":{"bg_w":"1h"},"value":[1767225600.000,"NaN"]},
              {"metric":{},"value":[1767225600,"+Inf"]}]}})");
  ASSERT_EQ(r.state, QueryState::Ok) << r.error;
  ASSERT_EQ(r.samples.size(), 3u);
  EXPECT_EQ(r.samples[0].labels.at("service"), "a");
  EXPECT_EQ(r.samples[0].value, 12.5);
  EXPECT_TRUE(std::isnan(r.samples[1].value));
  EXPECT_TRUE(std::isinf(r.samples[2].value));
}

TEST(ResponseParser, EmptyErrorsAndGarbageAreDistinctStates) {
  EXPECT_EQ(parseInstantResponse(
                200, R"({"status":"success","data":{"resultType":"vector","result":[]}})")
                .state,
            QueryState::Empty);
  const auto bad = parseInstantResponse(
      400, R"({"status":"error","errorType":"bad_data","error":"parse error at char 5"})");
  EXPECT_EQ(bad.state, QueryState::QueryError);
  EXPECT_NE(bad.error.find("parse error at char 5"), std::string::npos) << bad.error;
  EXPECT_EQ(parseInstantResponse(503, "Service Unavailable").state, QueryState::HttpError);
  EXPECT_EQ(parseInstantResponse(200, "<html>").state, QueryState::BadResponse);
  EXPECT_EQ(parseInstantResponse(200, R"({"status":"success","data":{"resultType":"vector",
    "result":[{"metric":{},"value":[1,"twelve"]}]}})")
                .state,
            QueryState::BadResponse);
}

TEST(ResponseParser, RangeMatrix) {
  const auto r = parseRangeResponse(200, R"({"status":"success","data":{"resultType":"matrix",
    "result":[{"metric":{"bg_q":"0"},"values":[[1767225600,"1"],[1767229200,"2.5"]]}]}})");
  ASSERT_EQ(r.state, QueryState::Ok) << r.error;
  ASSERT_EQ(r.series.size(), 1u);
  ASSERT_EQ(r.series[0].points.size(), 2u);
  EXPECT_EQ(r.series[0].points[1].first, utc(k2026 + 3600));
  EXPECT_EQ(r.series[0].points[1].second, 2.5);
}

// --- PromQL helpers and the counter delta -----------------------------------------------------

TEST(PromQL, DurationsSelectorsAndRegexQuoting) {
  EXPECT_EQ(promDuration(Seconds(1800)), "30m");
  EXPECT_EQ(promDuration(Seconds(30 * 86400)), "30d");
  EXPECT_EQ(promDuration(Seconds(90)), "90s");
  EXPECT_EQ(quoteRegex("a.b|c"), R"(a\.b\|c)");
  const auto s = parseSelector(R"(http_requests_total{service="checkout",code!~"5.."})");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->render(), R"(http_requests_total{code!~"5..",service="checkout"})");
  EXPECT_FALSE(parseSelector("sum(rate(x[5m]))").has_value());
  EXPECT_EQ(substituteWindow("increase(x[$window]) / $window", Seconds(300)),
            "increase(x[5m]) / 5m");
}

TEST(PromQL, CounterDeltaCountsEveryReset) {
  const auto e = counterDelta("x", Seconds(3600), "");
  // The plain difference only where the counter did not reset; increase() elsewhere.
  EXPECT_EQ(e, "sum ((((x - x offset 1h) >= 0) unless (resets(x[1h]) > 0)) or increase(x[1h]))");
}

// --- the planner --------------------------------------------------------------------------

QuantityNeed increaseNeed(const std::string& selector) {
  QuantityNeed n;
  n.quantity.kind = Quantity::Kind::Increase;
  n.quantity.selector = parseSelector(selector);
  n.quantity.text = n.quantity.selector->render();
  n.windows["5m"] = {Seconds(300), false};
  n.windows["1h"] = {Seconds(3600), false};
  return n;
}

TEST(QueryPlanner, SelectorsDifferingInOneLabelShareOneQuery) {
  std::vector<QuantityNeed> needs = {increaseNeed(R"(req{service="a"})"),
                                     increaseNeed(R"(req{service="b"})"),
                                     increaseNeed(R"(other{job="x"})")};
  const auto units = planInstantQueries(needs, {});
  ASSERT_EQ(units.size(), 2u);
  EXPECT_EQ(units[0].demux.pivotLabel, "service");
  EXPECT_EQ(units[0].demux.byPivot.at("b"), 1u);
  EXPECT_NE(units[0].promql.find(R"(sum by (service) (increase(req{service=~"a|b"}[1h])))"),
            std::string::npos)
      << units[0].promql;
  EXPECT_EQ(units[1].demux.needs, std::vector<std::size_t>{2});
  // Unshared: one tagged query per need batch, and only the needs asked for.
  std::vector<std::size_t> subset{1};
  const auto one = planInstantQueries(needs, {false, 6}, &subset);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].demux.needs, subset);
  EXPECT_NE(one[0].promql.find(R"("bg_q", "1")"), std::string::npos) << one[0].promql;
}

TEST(QueryPlanner, SharedQueriesAreSplitSoNoAnswerGrowsWithTheSloCount) {
  std::vector<QuantityNeed> needs;
  for (int i = 0; i < 1200; ++i) {
    needs.push_back(increaseNeed(fmt::format(R"(req{{service="s{}"}})", i)));
  }
  PlannerOptions options;
  options.maxSeriesPerQuery = 500;
  const auto units = planInstantQueries(needs, options);
  ASSERT_EQ(units.size(), 3u);
  std::set<std::size_t> covered;
  for (const auto& u : units) {
    EXPECT_LE(u.demux.needs.size(), 500u);
    EXPECT_EQ(u.demux.pivotLabel, "service");
    covered.insert(u.demux.needs.begin(), u.demux.needs.end());
  }
  EXPECT_EQ(covered.size(), 1200u);  // every need once
  EXPECT_EQ(units[2].demux.needs.size(), 200u);
  // Buckets: 30 days of hourly buckets are 721 points a series; 100,000 points a query make
  // 138 series a query, 9 queries for 1,200 needs.
  std::vector<BucketRequest> requests;
  const TimePoint to = utc(k2026 + 30 * 86400);
  for (std::size_t i = 0; i < needs.size(); ++i) {
    requests.push_back({i, to - Seconds(30 * 86400), to, true});
  }
  const auto ranges = planBucketQueries(needs, requests, Seconds(3600), options);
  ASSERT_EQ(ranges.size(), 9u);
  std::size_t total = 0;
  for (const auto& r : ranges) {
    EXPECT_LE(r.demux.needs.size() * 721, 100'000u);
    EXPECT_EQ(r.from, to - Seconds(30 * 86400));
    total += r.demux.needs.size();
  }
  EXPECT_EQ(total, 1200u);
}

// --- buckets and window pieces --------------------------------------------------------------

TEST(BucketStore, SumsAdjacentBucketsAndKnowsWhatItCovers) {
  BucketStore b;
  const auto t0 = utc(k2026);
  b.store("q", t0 + Seconds(3600), t0 + Seconds(4 * 3600),
          {{t0 + Seconds(3600), 1}, {t0 + Seconds(2 * 3600), 2}, {t0 + Seconds(4 * 3600), 4}}, true,
          t0);
  auto s = b.sum("q", t0, t0 + Seconds(4 * 3600));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->value, 7);  // the 3rd bucket had no sample
  EXPECT_FALSE(b.sum("q", t0 - Seconds(3600), t0 + Seconds(3600)).has_value());
  // Extended contiguously.
  b.store("q", t0 + Seconds(5 * 3600), t0 + Seconds(5 * 3600), {{t0 + Seconds(5 * 3600), 8}}, false,
          t0);
  EXPECT_EQ(b.sum("q", t0 + Seconds(3600), t0 + Seconds(5 * 3600))->value, 14);
  b.retain({}, t0);
  EXPECT_EQ(b.keyCount(), 0u);
}

TEST(WindowPieces, AWindowCountsFromExactlyItsStart) {
  // 30 days evaluated at 20:35: the head is 20:35 -> 21:00, 30 days earlier.
  const auto at = utc(k2026 + 40 * 86400 + 20 * 3600 + 35 * 60);
  model::WindowBounds b;
  b.length = Seconds(30 * 86400);
  b.start = at - b.length;
  b.end = at;
  const auto p = splitWindow(b, at, Seconds(3600));
  EXPECT_EQ(p.head, Seconds(25 * 60));
  EXPECT_EQ(p.headEnd, b.start + Seconds(25 * 60));
  EXPECT_EQ(p.bucketToEnd, at - Seconds(35 * 60));
  EXPECT_EQ(p.tail, Seconds(35 * 60));
  EXPECT_EQ(p.head + (p.bucketToEnd - p.headEnd) + p.tail, b.length);
  // On a bucket edge there is neither.
  model::WindowBounds onEdge = b;
  onEdge.end = at - Seconds(35 * 60);
  onEdge.start = onEdge.end - b.length;
  const auto edge = splitWindow(onEdge, onEdge.end, Seconds(3600));
  EXPECT_EQ(edge.head, Seconds(0));
  EXPECT_EQ(edge.tail, Seconds(0));
  // A window that crosses no bucket edge is all tail.
  model::WindowBounds young;
  young.start = utc(k2026 + 18 * 3600 + 30 * 60);
  young.length = Seconds(86400);
  const auto y = splitWindow(young, young.start + Seconds(10 * 60), Seconds(3600));
  EXPECT_FALSE(y.hasBuckets());
  EXPECT_EQ(y.head, Seconds(0));
  EXPECT_EQ(y.tail, Seconds(600));
}

// --- the pipeline against a fake Prometheus -------------------------------------------------

// Counters that grow at constant rates: every quantity over a range of L seconds is rate x L.
// It reads the need and window from the tags the planner puts on every unshared query, and
// the range from the window key, so its answers are what a real Prometheus would give for
// such counters.
class ConstantRatePrometheus : public PrometheusApi {
 public:
  // rates[need] in events per second.
  explicit ConstantRatePrometheus(std::vector<double> rates) : rates_(std::move(rates)) {}

  InstantResult query(const std::string& promql, TimePoint at) override {
    std::lock_guard lock(mutex_);
    calls_.push_back({promql, at});
    if (failing_) return {QueryState::Unreachable, "connection refused", {}};
    InstantResult r;
    for (const auto& [need, window] : tags(promql)) {
      r.samples.push_back({{{"bg_q", std::to_string(need)}, {"bg_w", window}},
                           rates_.at(need) * static_cast<double>(rangeOf(window).count())});
    }
    r.state = r.samples.empty() ? QueryState::Empty : QueryState::Ok;
    return r;
  }

  RangeResult queryRange(const std::string& promql, TimePoint start, TimePoint end,
                         Seconds step) override {
    std::lock_guard lock(mutex_);
    calls_.push_back({promql, start});
    if (failing_) return {QueryState::Unreachable, "connection refused", {}};
    RangeResult r;
    for (const auto& [need, window] : tags(promql)) {
      Series s;
      s.labels = {{"bg_q", std::to_string(need)}};
      if (!window.empty()) s.labels.emplace("bg_w", window);
      const auto range = window.empty() ? step : rangeOf(window);
      for (auto t = start; t <= end; t += step) {
        s.points.emplace_back(t, rates_.at(need) * static_cast<double>(range.count()));
      }
      r.series.push_back(std::move(s));
    }
    r.state = r.series.empty() ? QueryState::Empty : QueryState::Ok;
    return r;
  }

  struct Call {
    std::string promql;
    TimePoint at;
  };
  std::vector<Call> calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  void fail(bool f) { failing_ = f; }

 private:
  static Seconds rangeOf(const std::string& window) {
    static const std::map<std::string, long long> named = {
        {"5m", 300},   {"30m", 1800}, {"1h", 3600},  {"2h", 7200},
        {"6h", 21600}, {"1d", 86400}, {"3d", 259200}};
    if (auto it = named.find(window); it != named.end()) return Seconds(it->second);
    const auto plus = window.rfind('+');  // "tail+N", "head@E+N"
    if (plus != std::string::npos) return Seconds(std::stoll(window.substr(plus + 1)));
    if (window.rfind('W', 0) == 0) return Seconds(std::stoll(window.substr(1)));
    ADD_FAILURE() << "unexpected window " << window;
    return Seconds(0);
  }
  // (need, window) for each tagged part of a query; window empty for bucket queries.
  static std::vector<std::pair<std::size_t, std::string>> tags(const std::string& promql) {
    std::vector<std::pair<std::size_t, std::string>> out;
    static const std::regex withWindow(R"re("bg_w", "([^"]+)", "", ""\), "bg_q", "([0-9]+)")re");
    static const std::regex quantityOnly(R"re("bg_q", "([0-9]+)")re");
    for (std::sregex_iterator it(promql.begin(), promql.end(), withWindow), end; it != end; ++it) {
      out.emplace_back(std::stoul((*it)[2]), (*it)[1]);
    }
    if (out.empty()) {
      for (std::sregex_iterator it(promql.begin(), promql.end(), quantityOnly), end; it != end;
           ++it) {
        out.emplace_back(std::stoul((*it)[1]), "");
      }
    }
    return out;
  }

  std::vector<double> rates_;
  std::mutex mutex_;
  std::vector<Call> calls_;
  bool failing_ = false;
};

model::ServiceLevelObjective availabilitySlo() {
  model::ServiceLevelObjective slo;
  slo.ns = "shop";
  slo.name = "checkout";
  slo.service = "checkout";
  model::RatioMetric m;
  m.counter = true;
  m.good = model::MetricSource{"Prometheus", R"(req{service="checkout",code!="500"})", ""};
  m.total = model::MetricSource{"Prometheus", R"(req{service="checkout"})", ""};
  slo.indicator.metric = m;
  slo.window.text = "30d";
  slo.window.isRolling = true;
  slo.window.duration = Seconds(30 * 86400);
  slo.budgetingMethod = model::BudgetingMethod::Occurrences;
  model::Objective objective;
  objective.displayName = "availability";
  objective.target = 0.999;
  slo.objectives.push_back(objective);
  return slo;
}

TEST(EvaluationPipeline, TheWindowIsExactAtAnyMinuteAndTheHeadIsQueriedAtItsEdge) {
  // 10 requests/s, 0.05/s of them bad (0.5 %): 5x burn at 99.9 %, every window.
  ConstantRatePrometheus prom({9.95, 10.0});  // need 0 = good, need 1 = total
  EvaluatorOptions options;
  options.planner.shareAcrossSlos = false;
  SloEvaluator evaluator(prom, options);
  const auto slo = availabilitySlo();
  const engine::ErrorBudgetPolicy policy;
  const auto at = utc(k2026 + 40 * 86400 + 20 * 3600 + 35 * 60);
  const auto statuses = evaluator.evaluate({{&slo, &policy, nullptr, {}, {}}}, at);
  ASSERT_EQ(statuses.size(), 1u);
  const auto& s = statuses[0];
  ASSERT_TRUE(s.errorBudget.has_value()) << s.message;
  // Hand calculation: 30 days x 10/s = 25,920,000 requests, 0.5 % bad = 129,600 bad; the
  // budget 0.1 % = 25,920 bad; consumed 500 %.
  EXPECT_NEAR(s.errorBudget->total, 25'920.0, 1e-6);
  EXPECT_NEAR(s.errorBudget->consumed, 129'600.0, 1e-6);
  EXPECT_NEAR(s.errorBudget->consumedPercent, 500.0, 1e-9);
  EXPECT_NEAR(*s.burnRates.at(engine::BurnRateWindow::H1), 5.0, 1e-9);
  EXPECT_EQ(s.windowStart, at - Seconds(30 * 86400));
  // The head piece (20:35 -> 21:00, 30 days ago) was asked for at its own edge.
  const auto headEnd = at - Seconds(30 * 86400) + Seconds(25 * 60);
  bool headAsked = false;
  for (const auto& c : prom.calls()) headAsked = headAsked || (c.at == headEnd);
  EXPECT_TRUE(headAsked);
}

TEST(EvaluationPipeline, WithoutIncrementalWindowsTheWholeWindowIsOneQueryAndTheSameBudget) {
  // The benchmarks' "naive" baseline: no buckets, the SLO window queried whole each cycle.
  ConstantRatePrometheus prom({9.95, 10.0});
  EvaluatorOptions options;
  options.planner.shareAcrossSlos = false;
  options.incrementalWindows = false;
  SloEvaluator evaluator(prom, options);
  const auto slo = availabilitySlo();
  const engine::ErrorBudgetPolicy policy;
  const auto at = utc(k2026 + 40 * 86400 + 20 * 3600 + 35 * 60);
  const auto s = evaluator.evaluate({{&slo, &policy, nullptr, {}, {}}}, at).front();
  ASSERT_TRUE(s.errorBudget.has_value()) << s.message;
  EXPECT_NEAR(s.errorBudget->total, 25'920.0, 1e-6);  // as the hand calculation above
  EXPECT_NEAR(s.errorBudget->consumed, 129'600.0, 1e-6);
}

TEST(EvaluationPipeline, BacktestAndLiveEvaluationAgreeOnTheSameInstant) {
  ConstantRatePrometheus prom({9.99, 10.0});
  const auto slo = availabilitySlo();
  const engine::ErrorBudgetPolicy policy;
  const auto at = utc(k2026 + 40 * 86400 + 20 * 3600);
  EvaluatorOptions options;
  options.planner.shareAcrossSlos = false;
  SloEvaluator evaluator(prom, options);
  const auto live = evaluator.evaluate({{&slo, &policy, nullptr, {}, {}}}, at).front();
  BacktestOptions b;
  b.from = at - Seconds(2 * 3600);
  b.to = at;
  b.planner.shareAcrossSlos = false;
  const auto replay = backtest(prom, slo, policy, b);
  ASSERT_TRUE(replay.error.empty()) << replay.error;
  const auto& last = replay.steps.back().status;
  ASSERT_TRUE(last.errorBudget && live.errorBudget);
  EXPECT_NEAR(last.errorBudget->consumed, live.errorBudget->consumed, 1e-6);
  EXPECT_NEAR(last.errorBudget->total, live.errorBudget->total, 1e-6);
  EXPECT_EQ(last.tier, live.tier);
}

TEST(EvaluationPipeline, APrometheusOutageKeepsTheLastFiguresAndSaysWhy) {
  ConstantRatePrometheus prom({9.95, 10.0});
  EvaluatorOptions options;
  options.planner.shareAcrossSlos = false;
  SloEvaluator evaluator(prom, options);
  const auto slo = availabilitySlo();
  const engine::ErrorBudgetPolicy policy;
  const auto at = utc(k2026 + 40 * 86400);
  const auto good = evaluator.evaluate({{&slo, &policy, nullptr, {}, {}}}, at).front();
  prom.fail(true);
  const auto down = evaluator.evaluate({{&slo, &policy, &good, {}, {}}}, at + Seconds(60)).front();
  EXPECT_TRUE(evaluationFailed(down));
  EXPECT_EQ(down.tier, good.tier);
  EXPECT_EQ(down.lastEvaluated, good.lastEvaluated);
  ASSERT_NE(down.condition("DataAvailable"), nullptr);
  EXPECT_EQ(down.condition("DataAvailable")->reason, "PrometheusUnavailable");
  EXPECT_NE(down.message.find("unreachable"), std::string::npos) << down.message;
}

TEST(EvaluationPipeline, EachSloReadsItsOwnDataSourceAndNeverAnotherOne) {
  // The default Prometheus sees 0.5 % errors, "eu" 0.05 %; "eu" serves namespace shop only.
  ConstantRatePrometheus home({9.95, 10.0});
  ConstantRatePrometheus eu({9.995, 10.0});
  model::DataSourceDeclaration euDeclaration;
  euDeclaration.name = "eu";
  euDeclaration.url = "http://eu.invalid";
  euDeclaration.allowedNamespaces = {"shop"};
  EvaluatorOptions options;
  options.planner.shareAcrossSlos = false;
  MultiSourceEvaluator evaluator(home, {{euDeclaration, &eu}}, options);
  auto onHome = availabilitySlo();
  auto onEu = availabilitySlo();
  onEu.name = "checkout-eu";
  onEu.dataSource = "eu";
  auto undeclared = availabilitySlo();
  undeclared.name = "checkout-nope";
  undeclared.dataSource = "nope";
  auto otherNamespace = availabilitySlo();
  otherNamespace.ns = "payments";
  otherNamespace.dataSource = "eu";
  const engine::ErrorBudgetPolicy policy;
  const auto at = utc(k2026 + 40 * 86400);
  const auto statuses = evaluator.evaluate({{&onHome, &policy, nullptr, {}, {}},
                                            {&onEu, &policy, nullptr, {}, {}},
                                            {&undeclared, &policy, nullptr, {}, {}},
                                            {&otherNamespace, &policy, nullptr, {}, {}}},
                                           at);
  ASSERT_EQ(statuses.size(), 4u);
  // Hand calculation: 25,920,000 requests in 30 days; 0.5 % bad = 500 % of a 99.9 % budget,
  // 0.05 % bad = 50 %.
  ASSERT_TRUE(statuses[0].errorBudget.has_value()) << statuses[0].message;
  EXPECT_NEAR(statuses[0].errorBudget->consumedPercent, 500.0, 1e-9);
  ASSERT_TRUE(statuses[1].errorBudget.has_value()) << statuses[1].message;
  EXPECT_NEAR(statuses[1].errorBudget->consumedPercent, 50.0, 1e-9);
  EXPECT_EQ(statuses[2].tier, engine::Tier::Unknown);
  ASSERT_NE(statuses[2].condition("Ready"), nullptr);
  EXPECT_EQ(statuses[2].condition("Ready")->reason, "DataSourceUnknown");
  EXPECT_NE(statuses[2].message.find("\"nope\" is not declared"), std::string::npos);
  EXPECT_NE(statuses[2].message.find("declared: eu"), std::string::npos) << statuses[2].message;
  EXPECT_EQ(statuses[3].tier, engine::Tier::Unknown);
  EXPECT_EQ(statuses[3].condition("Ready")->reason, "DataSourceNotAllowed");
  EXPECT_FALSE(statuses[3].errorBudget.has_value());
  // Each data source answered for its own SLO alone (one SLO each: the same query count).
  EXPECT_FALSE(home.calls().empty());
  EXPECT_EQ(home.calls().size(), eu.calls().size());
  EXPECT_EQ(evaluator.lastCycle().slos, 2u);
  EXPECT_EQ(evaluator.lastCycle().instantQueries + evaluator.lastCycle().rangeQueries,
            home.calls().size() + eu.calls().size());
}

}  // namespace
}  // namespace budgetgate::prometheus
