#include "operator/prometheus/slo_evaluator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <set>

#include "operator/common/bounded_parallel.h"
#include "operator/model/window_bounds.h"
#include "operator/prometheus/objective_outcome.h"

namespace budgetgate::prometheus {
namespace {

using engine::kBurnRateWindows;

constexpr std::string_view kPartial = "partial";

std::string slowWindowKey(Seconds range) {
  return fmt::format("W{}", range.count());
}

// Per objective: which needs hold its numbers and which window keys to read.
struct ObjectivePlan {
  std::optional<ObjectiveSignals> signals;
  std::string error;
  std::size_t numerator = 0;
  std::optional<std::size_t> total;
};

struct TargetPlan {
  std::optional<model::WindowBounds> bounds;
  std::string boundsError;
  std::vector<ObjectivePlan> objectives;
  TimePoint bucketFromEnd{};  // exclusive
  TimePoint bucketToEnd{};    // inclusive
  Seconds partial{0};
};

// Measurements per need and window key; bucket-fetch failures per need.
struct Results {
  std::mutex mutex;
  std::vector<std::map<std::string, Measurement, std::less<>>> byNeed;
  std::map<std::size_t, Measurement> bucketFailure;
};

std::optional<std::size_t> needFor(const Demux& demux, const SeriesLabels& labels) {
  if (!demux.pivotLabel.empty()) {
    auto it = labels.find(demux.pivotLabel);
    if (it == labels.end()) return std::nullopt;
    auto found = demux.byPivot.find(it->second);
    if (found == demux.byPivot.end()) return std::nullopt;
    return found->second;
  }
  auto it = labels.find(kQuantityLabel);
  if (it == labels.end()) return std::nullopt;
  try {
    const auto index = static_cast<std::size_t>(std::stoul(it->second));
    if (std::find(demux.needs.begin(), demux.needs.end(), index) == demux.needs.end()) {
      return std::nullopt;
    }
    return index;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

bool evaluationFailed(const model::SloStatus& status) {
  const auto* c = status.condition("DataAvailable");
  return c != nullptr && c->status == "False" &&
         (c->reason == "PrometheusUnavailable" || c->reason == "QueryError");
}

SloEvaluator::SloEvaluator(PrometheusApi& api, EvaluatorOptions options)
    : api_(api), options_(options), buckets_(options.bucket) {}

std::vector<model::SloStatus> SloEvaluator::evaluate(const std::vector<EvaluationTarget>& targets,
                                                     TimePoint at) {
  const auto started = std::chrono::steady_clock::now();
  report_ = CycleReport{};
  report_.slos = targets.size();

  // 1. What each objective needs, de-duplicated into quantities.
  std::vector<QuantityNeed> needs;
  std::map<std::string, std::size_t> needIndex;
  std::map<std::size_t, TimePoint> bucketFrom;  // need -> oldest bucket end needed (exclusive)
  const TimePoint bucketTo = buckets_.floorToBucket(at);
  auto addNeed = [&](const Quantity& q) {
    auto [it, inserted] = needIndex.emplace(q.key(), needs.size());
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

  std::vector<TargetPlan> plans(targets.size());
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const auto& slo = *targets[t].slo;
    auto& plan = plans[t];
    plan.bounds = model::resolveWindow(slo.window, at, &plan.boundsError);
    if (!plan.bounds) continue;
    plan.bucketFromEnd = buckets_.roundToBucket(plan.bounds->start);
    plan.bucketToEnd = std::max(plan.bucketFromEnd, bucketTo);
    plan.partial = at - plan.bucketToEnd;
    for (const auto& objective : slo.objectives) {
      ObjectivePlan op;
      op.signals = signalsFor(slo, objective, &op.error);
      if (op.signals) {
        auto wire = [&](const Quantity& q) {
          const auto i = addNeed(q);
          if (q.additive() && options_.incrementalWindows) {
            Seconds partial = plan.partial;
            if (q.kind == Quantity::Kind::SliceSum) partial = partial / q.slice * q.slice;
            if (partial > Seconds(0)) needs[i].windows[std::string(kPartial)] = {partial, true};
            auto [it, inserted] = bucketFrom.emplace(i, plan.bucketFromEnd);
            if (!inserted) it->second = std::min(it->second, plan.bucketFromEnd);
          } else {
            const Seconds range = at - plan.bounds->start;
            needs[i].windows[slowWindowKey(range)] = {range, false};
          }
          return i;
        };
        op.numerator = wire(op.signals->numerator);
        if (op.signals->total) op.total = wire(*op.signals->total);
      }
      plan.objectives.push_back(std::move(op));
    }
  }
  report_.quantities = needs.size();

  // 2. Which buckets to (re)fetch.
  std::vector<BucketRequest> bucketRequests;
  std::set<std::string> keep;
  TimePoint oldestNeeded = bucketTo;
  for (const auto& [need, from] : bucketFrom) {
    const auto key = needs[need].quantity.key();
    keep.insert(key);
    oldestNeeded = std::min(oldestNeeded, from);
    const TimePoint firstEnd = from + options_.bucket;
    if (bucketTo < firstEnd) continue;  // the window is younger than one bucket
    const auto cov = buckets_.coverage(key);
    if (!cov || cov->firstEnd > firstEnd || at - cov->lastFullSync >= options_.resyncEvery ||
        cov->lastEnd > bucketTo) {
      bucketRequests.push_back({need, firstEnd, bucketTo, true});
    } else if (cov->lastEnd < bucketTo) {
      bucketRequests.push_back({need, cov->lastEnd + options_.bucket, bucketTo, false});
    }
  }

  // 3. Plan and run the queries.
  const auto instantUnits = planInstantQueries(needs, options_.planner);
  const auto rangeUnits =
      planBucketQueries(needs, bucketRequests, options_.bucket, options_.planner);
  report_.instantQueries = instantUnits.size();
  report_.rangeQueries = rangeUnits.size();

  Results results;
  results.byNeed.resize(needs.size());
  std::vector<std::pair<const RangeUnit*, RangeResult>> rangeResults(rangeUnits.size());
  std::size_t failed = 0;
  runBounded(instantUnits.size() + rangeUnits.size(), options_.concurrency, [&](std::size_t i) {
    if (i < instantUnits.size()) {
      const auto& unit = instantUnits[i];
      auto r = api_.query(unit.promql, at);
      std::lock_guard lock(results.mutex);
      if (r.state != QueryState::Ok && r.state != QueryState::Empty) {
        ++failed;
        for (auto need : unit.demux.needs) {
          for (const auto& w : unit.windows) {
            if (needs[need].windows.count(w)) {
              results.byNeed[need][w] = Measurement::failed(r.state, r.error);
            }
          }
        }
        return;
      }
      for (const auto& sample : r.samples) {
        auto need = needFor(unit.demux, sample.labels);
        auto w = sample.labels.find(kWindowLabel);
        if (!need || w == sample.labels.end()) continue;
        results.byNeed[*need][w->second] = Measurement::of(sample.value);
      }
      return;
    }
    const auto& unit = rangeUnits[i - instantUnits.size()];
    auto r = api_.queryRange(unit.promql, unit.from, unit.to, options_.bucket);
    std::lock_guard lock(results.mutex);
    if (r.state != QueryState::Ok && r.state != QueryState::Empty) ++failed;
    rangeResults[i - instantUnits.size()] = {&unit, std::move(r)};
  });
  report_.failedQueries = failed;

  // 4. Store fetched buckets.
  for (const auto& [unit, r] : rangeResults) {
    if (unit == nullptr) continue;
    if (r.state != QueryState::Ok && r.state != QueryState::Empty) {
      for (auto need : unit->demux.needs) {
        results.bucketFailure[need] = Measurement::failed(r.state, r.error);
      }
      continue;
    }
    std::map<std::size_t, const Series*> seriesFor;
    for (const auto& series : r.series) {
      if (auto need = needFor(unit->demux, series.labels)) seriesFor[*need] = &series;
    }
    for (auto need : unit->demux.needs) {
      static const std::vector<std::pair<TimePoint, double>> kNone;
      auto it = seriesFor.find(need);
      buckets_.store(needs[need].quantity.key(), unit->from, unit->to,
                     it == seriesFor.end() ? kNone : it->second->points, unit->fullSync, at);
    }
  }
  buckets_.retain(keep, oldestNeeded);

  // 5. Assemble statuses.
  auto measurement = [&](std::size_t need, const std::string& key) {
    const auto& m = results.byNeed[need];
    auto it = m.find(key);
    return it == m.end() ? Measurement{} : it->second;
  };
  auto windowSum = [&](std::size_t need, const TargetPlan& plan) -> Measurement {
    const auto& q = needs[need].quantity;
    if (!q.additive() || !options_.incrementalWindows) {
      return measurement(need, slowWindowKey(at - plan.bounds->start));
    }
    if (auto f = results.bucketFailure.find(need); f != results.bucketFailure.end()) {
      return f->second;
    }
    const auto key = q.key();
    BucketStore::Sum sum;
    if (plan.bucketToEnd > plan.bucketFromEnd) {
      auto s = buckets_.sum(key, plan.bucketFromEnd, plan.bucketToEnd);
      if (!s) return Measurement::failed(QueryState::BadResponse, "bucket range not covered");
      sum = *s;
    }
    Measurement partial;
    if (needs[need].windows.count(std::string(kPartial)))
      partial = measurement(need, std::string(kPartial));
    if (partial.kind == Measurement::Kind::Failed) return partial;
    if (!sum.anyData && !partial.hasValue()) return Measurement{};
    return Measurement::of(sum.value + (partial.hasValue() ? partial.value : 0.0));
  };

  // Bad and total events per stored bucket of the SLO window, for the recovery projection
  // (built only for SLOs that have spent some budget: the others have nothing to recover).
  auto windowHistory = [&](std::size_t numerator, std::size_t total, bool numeratorIsGood,
                           const TargetPlan& plan) -> std::optional<engine::WindowHistory> {
    const auto& nq = needs[numerator].quantity;
    const auto& tq = needs[total].quantity;
    if (!options_.incrementalWindows || !nq.additive() || !tq.additive() ||
        plan.bucketToEnd <= plan.bucketFromEnd) {
      return std::nullopt;
    }
    const auto good = buckets_.range(nq.key(), plan.bucketFromEnd, plan.bucketToEnd);
    const auto all = buckets_.range(tq.key(), plan.bucketFromEnd, plan.bucketToEnd);
    if (!good || !all || good->size() != all->size()) return std::nullopt;
    engine::WindowHistory h;
    h.now = at;
    h.bucket = buckets_.bucket();
    h.windowLength = plan.bounds->length;
    h.oldestBucketEnd = plan.bucketFromEnd + buckets_.bucket();
    h.total.reserve(all->size());
    h.bad.reserve(all->size());
    for (std::size_t i = 0; i < all->size(); ++i) {
      const double t = std::isnan((*all)[i]) ? 0.0 : std::max(0.0, (*all)[i]);
      const double n = std::isnan((*good)[i]) ? 0.0 : std::max(0.0, (*good)[i]);
      h.total.push_back(t);
      h.bad.push_back(std::clamp(numeratorIsGood ? t - n : n, 0.0, t));
    }
    return h;
  };

  std::vector<model::SloStatus> statuses;
  statuses.reserve(targets.size());
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const auto& target = targets[t];
    const auto& plan = plans[t];
    if (!plan.bounds) {
      statuses.push_back(
          invalidStatus(*target.slo, "InvalidWindow", plan.boundsError, target.previous, at));
      continue;
    }
    std::vector<ObjectiveOutcome> outcomes;
    std::string invalid;
    for (const auto& op : plan.objectives) {
      if (!op.signals) {
        invalid = op.error;
        break;
      }
      ObjectiveData data;
      for (std::size_t w = 0; w < kBurnRateWindows.size(); ++w) {
        const std::string key(engine::windowName(kBurnRateWindows[w]));
        data.numerator[w] = measurement(op.numerator, key);
        if (op.total) data.total[w] = measurement(*op.total, key);
      }
      data.numeratorWindow = windowSum(op.numerator, plan);
      if (op.total) data.totalWindow = windowSum(*op.total, plan);
      auto outcome = measureObjective(*op.signals, data, *plan.bounds,
                                      target.slo->objectives[outcomes.size()].target);
      if (op.total && target.slo->window.isRolling && outcome.budget.consumed > 0 &&
          data.totalWindow.hasValue()) {
        outcome.history =
            windowHistory(op.numerator, *op.total,
                          op.signals->shape == ObjectiveSignals::Shape::GoodOverTotal, plan);
        if (outcome.history) {
          outcome.history->badNow = outcome.budget.consumed;
          outcome.history->totalNow = std::max(0.0, data.totalWindow.value);
        }
      }
      outcomes.push_back(std::move(outcome));
    }
    if (!invalid.empty()) {
      statuses.push_back(
          invalidStatus(*target.slo, "InvalidIndicator", invalid, target.previous, at));
      continue;
    }
    statuses.push_back(
        buildStatus(*target.slo, outcomes, *plan.bounds, *target.policy, target.previous, at));
  }
  report_.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  return statuses;
}

}  // namespace budgetgate::prometheus
