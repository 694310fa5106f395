#include "operator/prometheus/backtest.h"

#include <fmt/format.h>

#include <mutex>

#include "operator/common/bounded_parallel.h"
#include "operator/model/window_bounds.h"
#include "operator/prometheus/bucket_store.h"
#include "operator/prometheus/objective_outcome.h"

namespace budgetgate::prometheus {
namespace {

using engine::kBurnRateWindows;

// Values per need and window key, per instant.
using Timeline = std::map<TimePoint, double>;

std::optional<std::size_t> demuxNeed(const Demux& demux, const SeriesLabels& labels) {
  if (!demux.pivotLabel.empty()) {
    auto it = labels.find(demux.pivotLabel);
    if (it == labels.end()) return std::nullopt;
    auto f = demux.byPivot.find(it->second);
    return f == demux.byPivot.end() ? std::nullopt : std::optional<std::size_t>(f->second);
  }
  auto it = labels.find(kQuantityLabel);
  if (it == labels.end()) return std::nullopt;
  try {
    return static_cast<std::size_t>(std::stoul(it->second));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

Measurement lookup(const std::map<std::string, Timeline>& byWindow, const std::string& window,
                   TimePoint at) {
  auto w = byWindow.find(window);
  if (w == byWindow.end()) return Measurement{};
  auto p = w->second.find(at);
  return p == w->second.end() ? Measurement{} : Measurement::of(p->second);
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
  const Seconds bucketLength = std::min(options.step, hour);
  BucketStore buckets(bucketLength);
  const TimePoint from = buckets.floorToBucket(options.from);
  result.alignedFrom = from;
  const std::size_t stepCount = static_cast<std::size_t>((options.to - from) / options.step) + 1;
  if (stepCount > 20000) {
    result.error = fmt::format("{} steps is too many; use a larger --step", stepCount);
    return result;
  }

  // Signals and quantities, as the live evaluator builds them.
  struct ObjectiveNeeds {
    ObjectiveSignals signals;
    std::size_t numerator;
    std::optional<std::size_t> total;
  };
  std::vector<QuantityNeed> needs;
  std::map<std::string, std::size_t> index;
  std::vector<ObjectiveNeeds> objectives;
  for (const auto& objective : slo.objectives) {
    std::string error;
    auto signals = signalsFor(slo, objective, &error);
    if (!signals) {
      result.error = error;
      return result;
    }
    auto add = [&](const Quantity& q) {
      auto [it, inserted] = index.emplace(q.key(), needs.size());
      if (inserted) {
        QuantityNeed n;
        n.quantity = q;
        for (auto w : kBurnRateWindows) {
          n.windows.emplace(std::string(engine::windowName(w)),
                            WindowRange{engine::windowLength(w), false});
        }
        needs.push_back(std::move(n));
      }
      return it->second;
    };
    ObjectiveNeeds on{*signals, add(signals->numerator), std::nullopt};
    if (signals->total) on.total = add(*signals->total);
    objectives.push_back(std::move(on));
  }
  for (const auto& n : needs) {
    if (n.quantity.kind == Quantity::Kind::SliceSum &&
        bucketLength % n.quantity.slice != Seconds(0)) {
      result.error = fmt::format("--step {}s must be a multiple of the SLO's timeSliceWindow ({}s)",
                                 options.step.count(), n.quantity.slice.count());
      return result;
    }
    if (!n.quantity.additive()) {
      result.error =
          "backtest needs counter: true indicators (counter: false queries are "
          "evaluated over whole windows and cannot be replayed cheaply)";
      return result;
    }
  }

  // Window bounds for every step; the earliest window start decides how far back buckets go.
  std::vector<model::WindowBounds> bounds;
  TimePoint earliest = from;
  for (std::size_t i = 0; i < stepCount; ++i) {
    const TimePoint at = from + options.step * static_cast<long long>(i);
    std::string error;
    auto b = model::resolveWindow(slo.window, at, &error);
    if (!b) {
      result.error = error;
      return result;
    }
    earliest = std::min(earliest, buckets.roundToBucket(b->start));
    bounds.push_back(*b);
  }
  const TimePoint lastStep = from + options.step * static_cast<long long>(stepCount - 1);

  // Burn windows: range queries of the instant plan. Buckets: one range query per quantity.
  const auto burnUnits = planInstantQueries(needs, options.planner);
  std::vector<BucketRequest> requests;
  for (std::size_t i = 0; i < needs.size(); ++i) {
    requests.push_back({i, earliest + bucketLength, lastStep, true});
  }
  const auto bucketUnits = planBucketQueries(needs, requests, bucketLength, options.planner);
  result.queries = burnUnits.size() + bucketUnits.size();

  std::vector<std::map<std::string, Timeline>> burnValues(needs.size());
  std::mutex mutex;
  std::string failure;
  std::vector<RangeResult> bucketResults(bucketUnits.size());
  runBounded(result.queries, options.concurrency, [&](std::size_t i) {
    if (i < burnUnits.size()) {
      const auto& unit = burnUnits[i];
      auto r = api.queryRange(unit.promql, from, lastStep, options.step);
      std::lock_guard lock(mutex);
      if (r.state != QueryState::Ok && r.state != QueryState::Empty) {
        failure = fmt::format("{}: {}", queryStateName(r.state), r.error);
        return;
      }
      for (const auto& series : r.series) {
        auto need = demuxNeed(unit.demux, series.labels);
        auto w = series.labels.find(kWindowLabel);
        if (!need || *need >= needs.size() || w == series.labels.end()) continue;
        auto& timeline = burnValues[*need][w->second];
        for (const auto& [t, v] : series.points) timeline[t] = v;
      }
      return;
    }
    const auto& unit = bucketUnits[i - burnUnits.size()];
    auto r = api.queryRange(unit.promql, unit.from, unit.to, bucketLength);
    std::lock_guard lock(mutex);
    if (r.state != QueryState::Ok && r.state != QueryState::Empty) {
      failure = fmt::format("{}: {}", queryStateName(r.state), r.error);
    }
    bucketResults[i - burnUnits.size()] = std::move(r);
  });
  if (!failure.empty()) {
    result.error = "Prometheus query failed: " + failure;
    return result;
  }
  for (std::size_t u = 0; u < bucketUnits.size(); ++u) {
    const auto& unit = bucketUnits[u];
    std::map<std::size_t, const Series*> byNeed;
    for (const auto& series : bucketResults[u].series) {
      if (auto need = demuxNeed(unit.demux, series.labels)) byNeed[*need] = &series;
    }
    for (auto need : unit.demux.needs) {
      static const std::vector<std::pair<TimePoint, double>> kNone;
      auto it = byNeed.find(need);
      buckets.store(needs[need].quantity.key(), unit.from, unit.to,
                    it == byNeed.end() ? kNone : it->second->points, true, lastStep);
    }
  }

  // Replay.
  std::optional<model::SloStatus> previous;
  for (std::size_t i = 0; i < stepCount; ++i) {
    const TimePoint at = from + options.step * static_cast<long long>(i);
    const auto& b = bounds[i];
    auto windowSum = [&](std::size_t need) {
      const auto s = buckets.sum(needs[need].quantity.key(), buckets.roundToBucket(b.start),
                                 buckets.floorToBucket(at));
      if (!s) return Measurement::failed(QueryState::BadResponse, "bucket range not covered");
      return s->anyData ? Measurement::of(s->value) : Measurement{};
    };
    std::vector<ObjectiveOutcome> outcomes;
    for (std::size_t o = 0; o < objectives.size(); ++o) {
      const auto& on = objectives[o];
      ObjectiveData data;
      for (std::size_t w = 0; w < kBurnRateWindows.size(); ++w) {
        const std::string key(engine::windowName(kBurnRateWindows[w]));
        data.numerator[w] = lookup(burnValues[on.numerator], key, at);
        if (on.total) data.total[w] = lookup(burnValues[*on.total], key, at);
      }
      data.numeratorWindow = windowSum(on.numerator);
      if (on.total) data.totalWindow = windowSum(*on.total);
      outcomes.push_back(measureObjective(on.signals, data, b, slo.objectives[o].target));
    }
    auto status = buildStatus(slo, outcomes, b, policy, previous, at);
    previous = status;
    result.steps.push_back({at, std::move(status)});
  }
  summarise(result, options.step);
  return result;
}

}  // namespace budgetgate::prometheus
