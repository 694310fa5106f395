#include "operator/prometheus/slo_evaluator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "operator/model/window_bounds.h"
#include "operator/prometheus/evaluation_assembly.h"
#include "operator/prometheus/evaluation_plan.h"
#include "operator/prometheus/ledger_assembly.h"
#include "operator/prometheus/query_runner.h"
#include "operator/status/status_builder.h"

namespace budgetgate::prometheus {
namespace {

struct TargetPlan {
  std::optional<model::WindowBounds> bounds;
  std::string boundsError;
  WindowPieces pieces;
  std::vector<PlannedObjective> objectives;
};

// Bad and total events per stored bucket of the SLO window, for the recovery projection.
std::optional<engine::WindowHistory> windowHistory(const BucketStore& buckets,
                                                   const std::vector<QuantityNeed>& needs,
                                                   std::size_t numerator, std::size_t total,
                                                   bool numeratorIsGood, const TargetPlan& plan,
                                                   TimePoint at) {
  const auto& nq = needs[numerator].quantity;
  const auto& tq = needs[total].quantity;
  if (!nq.additive() || !tq.additive() || !plan.pieces.hasBuckets()) return std::nullopt;
  const auto good = buckets.range(nq.key(), plan.pieces.headEnd, plan.pieces.bucketToEnd);
  const auto all = buckets.range(tq.key(), plan.pieces.headEnd, plan.pieces.bucketToEnd);
  if (!good || !all || good->size() != all->size()) return std::nullopt;
  engine::WindowHistory h;
  h.now = at;
  h.bucket = buckets.bucket();
  h.windowLength = plan.bounds->length;
  h.oldestBucketEnd = plan.pieces.headEnd + buckets.bucket();
  h.total.reserve(all->size());
  h.bad.reserve(all->size());
  for (std::size_t i = 0; i < all->size(); ++i) {
    const auto e = bucketEvents((*good)[i], (*all)[i], numeratorIsGood);
    h.total.push_back(e.total);
    h.bad.push_back(e.bad);
  }
  return h;
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

  // 1. Plan: what each objective needs, de-duplicated into quantities, and the SLO windows as
  //    buckets plus edge pieces (or whole-window queries, the naive way and for quantities that
  //    do not add up).
  NeedSet needSet;
  std::vector<TargetPlan> plans(targets.size());
  for (std::size_t t = 0; t < targets.size(); ++t) {
    auto& plan = plans[t];
    plan.bounds = model::resolveWindow(targets[t].slo->window, at, &plan.boundsError);
    if (!plan.bounds) continue;
    plan.pieces = splitWindow(*plan.bounds, at, options_.bucket);
    plan.objectives = planObjectives(*targets[t].slo, needSet);
  }
  auto& needs = needSet.needs();
  report_.quantities = needs.size();

  const TimePoint bucketTo = buckets_.floorToBucket(at);
  std::map<std::size_t, TimePoint> bucketFrom;  // need -> oldest bucket end needed (exclusive)
  // Head pieces end at different instants: each (instant) gets its own instant queries.
  std::map<TimePoint, std::map<std::size_t, std::pair<std::string, Seconds>>> heads;
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const auto& plan = plans[t];
    if (!plan.bounds) continue;
    for (const auto& o : plan.objectives) {
      if (!o.signals) continue;
      std::vector<std::size_t> used{o.numerator};
      if (o.total) used.push_back(*o.total);
      for (auto i : used) {
        const auto& q = needs[i].quantity;
        if (!q.additive() || !options_.incrementalWindows) {
          const Seconds range = at - plan.bounds->start;
          needs[i].windows[wholeWindowKey(range)] = {range, false};
          continue;
        }
        const auto edges = windowEdges(plan.pieces, at, q);
        if (edges[0].length > Seconds(0)) {
          heads[edges[0].end][i] = {edges[0].key, edges[0].length};
        }
        if (edges[1].length > Seconds(0)) needs[i].windows[edges[1].key] = {edges[1].length, true};
        if (plan.pieces.hasBuckets()) {
          auto [it, inserted] = bucketFrom.emplace(i, plan.pieces.headEnd);
          if (!inserted) it->second = std::min(it->second, plan.pieces.headEnd);
        }
      }
    }
  }

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

  // 3. Fetch: the burn windows and tails at `at`, each head at its own edge, the buckets.
  const auto instantUnits = planInstantQueries(needs, options_.planner);
  std::vector<InstantUnit> headUnits;
  std::vector<TimePoint> headInstants;
  for (const auto& [edge, members] : heads) {
    std::vector<QuantityNeed> only = needs;
    std::vector<std::size_t> subset;
    for (auto& n : only) n.windows.clear();
    for (const auto& [need, piece] : members) {
      only[need].windows[piece.first] = {piece.second, true};
      subset.push_back(need);
    }
    for (auto& unit : planInstantQueries(only, options_.planner, &subset)) {
      headUnits.push_back(std::move(unit));
      headInstants.push_back(edge);
    }
  }
  const auto rangeUnits =
      planBucketQueries(needs, bucketRequests, options_.bucket, options_.planner);
  std::vector<FetchJob> jobs;
  for (const auto& unit : instantUnits)
    jobs.push_back({FetchJob::Kind::Instant, &unit, nullptr, at});
  for (std::size_t i = 0; i < headUnits.size(); ++i) {
    jobs.push_back({FetchJob::Kind::Instant, &headUnits[i], nullptr, headInstants[i]});
  }
  for (const auto& unit : rangeUnits) jobs.push_back({FetchJob::Kind::Buckets, nullptr, &unit});
  Fetched fetched(needs.size());
  const auto fetchReport = fetch(api_, options_.concurrency, jobs, needs, buckets_, at, fetched);
  report_.instantQueries = fetchReport.instantQueries;
  report_.rangeQueries = fetchReport.rangeQueries;
  report_.failedQueries = fetchReport.failedQueries;
  buckets_.retain(keep, oldestNeeded);
  report_.bucketSeries = buckets_.keyCount();
  report_.bucketMemoryBytes = buckets_.memoryBytes();

  // 4. Assemble statuses.
  std::vector<model::SloStatus> statuses;
  statuses.reserve(targets.size());
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const auto& target = targets[t];
    const auto& plan = plans[t];
    if (!plan.bounds) {
      statuses.push_back(status::invalidStatus(*target.slo, "InvalidWindow", plan.boundsError,
                                               target.previous, at));
      continue;
    }
    std::vector<status::ObjectiveOutcome> outcomes;
    std::string invalid;
    for (std::size_t o = 0; o < plan.objectives.size(); ++o) {
      const auto& op = plan.objectives[o];
      if (!op.signals) {
        invalid = op.error;
        break;
      }
      const auto data = objectiveData(op, *plan.bounds, plan.pieces, at, needs, fetched, buckets_);
      const auto kind = objectiveKind(*op.signals);
      const double objectiveTarget = target.slo->objectives[o].target;
      // The ledger and the adjustments need the window hour by hour (Occurrences objectives
      // whose queries are kept in hourly buckets).
      std::optional<std::vector<engine::HourCounts>> hours;
      if (kind.occurrences() && options_.incrementalWindows &&
          (options_.ledgerEntries > 0 || !target.adjustments.empty() || target.hours)) {
        hours = windowHours(op, *plan.bounds, plan.pieces, at, needs, fetched, buckets_);
      }
      if (target.hours) target.hours->push_back(hours);
      engine::LedgerOptions ledgerOptions = options_.ledger;
      ledgerOptions.attribution = target.policy->ledgerAttribution;
      auto outcome = measureWithLedger(
          kind, data, hours, *plan.bounds, at, objectiveTarget,
          {&target.adjustments, &target.rollouts, ledgerOptions, options_.ledgerEntries});
      if (op.total && target.slo->window.isRolling && outcome.budget.consumed > 0 &&
          data.totalWindow.hasValue() && options_.incrementalWindows) {
        outcome.history =
            windowHistory(buckets_, needs, op.numerator, *op.total,
                          op.signals->shape == status::ObjectiveShape::GoodOverTotal, plan, at);
        if (outcome.history) {
          // The adjusted budget, as the status shows it: without the adjusted hours' events.
          const double excluded = outcome.adjustments ? outcome.adjustments->excludedBadEvents : 0;
          if (excluded > 0) {
            excludeAdjustedHours(*outcome.history,
                                 usableAdjustments(target.adjustments, *plan.bounds, at, nullptr));
          }
          outcome.history->badNow = outcome.budget.consumed;
          outcome.history->totalNow = std::max(0.0, data.totalWindow.value - excluded);
        }
      }
      outcomes.push_back(std::move(outcome));
    }
    if (!invalid.empty()) {
      statuses.push_back(
          status::invalidStatus(*target.slo, "InvalidIndicator", invalid, target.previous, at));
      continue;
    }
    statuses.push_back(status::buildStatus(*target.slo, outcomes, *plan.bounds, *target.policy,
                                           target.previous, at));
  }
  report_.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  return statuses;
}

}  // namespace budgetgate::prometheus
