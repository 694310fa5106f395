#include "operator/prometheus/backtest.h"

#include <fmt/format.h>

#include "operator/model/window_bounds.h"
#include "operator/prometheus/bucket_store.h"
#include "operator/prometheus/evaluation_assembly.h"
#include "operator/prometheus/evaluation_plan.h"
#include "operator/prometheus/ledger_assembly.h"
#include "operator/prometheus/query_runner.h"
#include "operator/status/status_builder.h"

namespace budgetgate::prometheus {
namespace {

std::int64_t gcd(std::int64_t a, std::int64_t b) {
  while (b != 0) {
    const auto t = a % b;
    a = b;
    b = t;
  }
  return a;
}

void summarise(BacktestResult& result, Seconds step) {
  auto& s = result.summary;
  s.steps = result.steps.size();
  const double hours = static_cast<double>(step.count()) / 3600.0;
  std::optional<engine::Tier> last;
  std::map<std::string, bool> firing;
  for (const auto& st : result.steps) {
    const auto& status = st.status;
    s.hoursInTier[std::string(engine::tierName(status.tier))] += hours;
    if (status.tier == engine::Tier::Unknown) ++s.stepsWithoutData;
    if (last && *last != status.tier) ++s.tierChanges;
    last = status.tier;
    if (status.decisionsByRisk) {
      for (auto risk : engine::kRisks) {
        const auto v = (*status.decisionsByRisk)[static_cast<std::size_t>(risk)];
        if (v == engine::Verdict::Defer || v == engine::Verdict::Block) {
          s.frozenHours[static_cast<std::size_t>(risk)] += hours;
        } else if (v == engine::Verdict::Review) {
          s.reviewHours[static_cast<std::size_t>(risk)] += hours;
        }
      }
    }
    if (status.tier == engine::Tier::Exhausted && !s.firstExhausted) s.firstExhausted = st.at;
    if (status.errorBudget) {
      const double r = status.errorBudget->remainingPercentRaw();
      if (!s.lowestRemainingPercent || r < *s.lowestRemainingPercent) s.lowestRemainingPercent = r;
    }
    for (const auto& a : status.alerts) {
      if (a.firing && !firing[a.rule.name]) ++s.alertEpisodes[a.rule.name];
      firing[a.rule.name] = a.firing;
    }
  }
}

}  // namespace

BacktestResult backtest(PrometheusApi& api, const model::ServiceLevelObjective& slo,
                        const engine::ErrorBudgetPolicy& policy, const BacktestOptions& options) {
  BacktestResult result;
  const Seconds hour(3600);
  if (options.step < Seconds(300) ||
      (options.step < hour ? hour.count() % options.step.count() != 0
                           : options.step.count() % hour.count() != 0)) {
    result.error =
        "--step must be at least 5m and divide 1h (5m, 10m, 15m, 30m) or be a whole "
        "number of hours";
    return result;
  }
  if (options.to < options.from) {
    result.error = "--to is before --from";
    return result;
  }
  const Seconds step = options.step;
  const TimePoint from =
      TimePoint(Seconds(options.from.time_since_epoch().count() / std::min(step, hour).count() *
                        std::min(step, hour).count()));
  result.alignedFrom = from;
  const std::size_t stepCount = static_cast<std::size_t>((options.to - from) / step) + 1;
  if (stepCount > 20000) {
    result.error = fmt::format("{} steps is too many; use a larger --step", stepCount);
    return result;
  }

  // 1. Plan, as the live evaluator does: the same quantities and queries.
  NeedSet needSet;
  const auto objectives = planObjectives(slo, needSet);
  for (const auto& o : objectives) {
    if (!o.signals) {
      result.error = o.error;
      return result;
    }
  }
  auto& needs = needSet.needs();
  for (const auto& n : needs) {
    if (!n.quantity.additive()) {
      result.error =
          "backtest needs counter: true indicators (counter: false queries are "
          "evaluated over whole windows and cannot be replayed cheaply)";
      return result;
    }
  }
  // Every step's window, and buckets fine enough that each window starts on a bucket edge (a
  // calendar window in a zone half an hour off UTC starts on the half hour): the replay then
  // needs no edge pieces, only buckets and the burn-window timelines.
  std::vector<model::WindowBounds> bounds;
  std::int64_t bucketSeconds = std::min(step, hour).count();
  for (std::size_t i = 0; i < stepCount; ++i) {
    const TimePoint at = from + step * static_cast<long long>(i);
    std::string error;
    auto b = model::resolveWindow(slo.window, at, &error);
    if (!b) {
      result.error = error;
      return result;
    }
    const auto offset = b->start.time_since_epoch().count() % hour.count();
    bucketSeconds = gcd(bucketSeconds, offset == 0 ? hour.count() : offset);
    bounds.push_back(*b);
  }
  if (bucketSeconds < 60) {
    result.error = "the SLO's window starts are not on whole minutes; backtest cannot replay it";
    return result;
  }
  for (const auto& n : needs) {
    if (n.quantity.kind == Quantity::Kind::SliceSum &&
        bucketSeconds % n.quantity.slice.count() != 0) {
      result.error = fmt::format(
          "--step {}s (and the SLO's window starts) must be multiples of its timeSliceWindow "
          "({}s)",
          step.count(), n.quantity.slice.count());
      return result;
    }
  }
  const Seconds bucketLength(bucketSeconds);
  BucketStore buckets(bucketLength);
  TimePoint earliest = from;
  for (const auto& b : bounds) earliest = std::min(earliest, b.start);
  const TimePoint lastStep = from + step * static_cast<long long>(stepCount - 1);

  // 2. Fetch: the burn windows as timelines, every bucket once.
  const auto burnUnits = planInstantQueries(needs, options.planner);
  std::vector<BucketRequest> requests;
  for (std::size_t i = 0; i < needs.size(); ++i) {
    requests.push_back({i, earliest + bucketLength, lastStep, true});
  }
  const auto bucketUnits = planBucketQueries(needs, requests, bucketLength, options.planner);
  std::vector<FetchJob> jobs;
  for (const auto& unit : burnUnits) {
    jobs.push_back({FetchJob::Kind::Timeline, &unit, nullptr, from, lastStep, step});
  }
  for (const auto& unit : bucketUnits) jobs.push_back({FetchJob::Kind::Buckets, nullptr, &unit});
  Fetched fetched(needs.size());
  const auto report = fetch(api, options.concurrency, jobs, needs, buckets, lastStep, fetched);
  result.queries = report.instantQueries + report.rangeQueries;
  if (report.failedQueries > 0) {
    result.error = "Prometheus query failed: " + report.firstFailure;
    return result;
  }

  // 3. Assemble, step by step (hysteresis carried from one to the next).
  std::optional<model::SloStatus> previous;
  for (std::size_t i = 0; i < stepCount; ++i) {
    const TimePoint at = from + step * static_cast<long long>(i);
    const auto& b = bounds[i];
    const auto pieces = splitWindow(b, at, bucketLength);
    std::vector<status::ObjectiveOutcome> outcomes;
    for (std::size_t o = 0; o < objectives.size(); ++o) {
      const auto data = objectiveData(objectives[o], b, pieces, at, needs, fetched, buckets);
      const auto kind = objectiveKind(*objectives[o].signals);
      std::optional<std::vector<engine::HourCounts>> hours;
      if (kind.occurrences()) {
        hours = windowHours(objectives[o], b, pieces, at, needs, fetched, buckets);
      }
      outcomes.push_back(measureWithLedger(kind, data, hours, b, at, slo.objectives[o].target,
                                           {&options.adjustments, nullptr, {}, 10}));
    }
    auto st = status::buildStatus(slo, outcomes, b, policy, previous ? &*previous : nullptr, at);
    previous = st;
    result.steps.push_back({at, std::move(st)});
  }
  summarise(result, step);
  return result;
}

}  // namespace budgetgate::prometheus
