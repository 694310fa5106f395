#pragma once
// Evaluates SLOs against Prometheus: plans the cycle's queries (shared across windows and
// SLOs), runs them with bounded concurrency, keeps hourly buckets for the long SLO windows
// between cycles, and turns the numbers into SLO statuses with the budget engine.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "operator/engine/budget_ledger.h"
#include "operator/engine/error_budget_policy.h"
#include "operator/model/budget_adjustment.h"
#include "operator/model/slo.h"
#include "operator/model/slo_status.h"
#include "operator/prometheus/bucket_store.h"
#include "operator/prometheus/prometheus_api.h"
#include "operator/prometheus/query_planner.h"

namespace budgetgate::prometheus {

struct EvaluationTarget {
  const model::ServiceLevelObjective* slo = nullptr;
  const engine::ErrorBudgetPolicy* policy = nullptr;
  // Hysteresis state and figures to keep on failure (null: none). Not copied: at 10,000 SLOs a
  // copy of every status per cycle is tens of megabytes.
  const model::SloStatus* previous = nullptr;
  // The BudgetAdjustments that name this SLO (their bad events leave the budget) and the
  // rollouts of the workloads it gates (for the ledger's attribution).
  std::vector<const model::BudgetAdjustment*> adjustments;
  std::vector<engine::RolloutRecord> rollouts;
  // When set, receives each objective's window hour by hour (nullopt for an objective without
  // hourly counts: Timeslices, or queries that are not counters), e.g. for a burn-down chart.
  std::vector<std::optional<std::vector<engine::HourCounts>>>* hours = {};
};

struct EvaluatorOptions {
  Seconds bucket{3600};
  Seconds resyncEvery{6 * 3600};  // re-read whole windows this often (late data, corrections)
  std::size_t concurrency = 4;    // queries in flight
  PlannerOptions planner;
  // Keep hourly buckets of long windows between cycles (false: query whole windows every
  // cycle, the naive way; kept as the benchmark's baseline).
  bool incrementalWindows = true;
  engine::LedgerOptions ledger;
  // Ledger entries kept in the status (the costliest; `budgetgate ledger` shows all). 0: no
  // ledger, and no hour-by-hour pass unless an adjustment needs one.
  std::size_t ledgerEntries = 10;
};

struct CycleReport {
  std::size_t slos = 0;
  std::size_t quantities = 0;
  std::size_t instantQueries = 0;
  std::size_t rangeQueries = 0;
  std::size_t failedQueries = 0;
  std::size_t bucketSeries = 0;  // quantities kept in buckets (shared by SLOs asking alike)
  std::size_t bucketMemoryBytes = 0;
  std::chrono::milliseconds duration{0};
};

class SloEvaluator {
 public:
  SloEvaluator(PrometheusApi& api, EvaluatorOptions options);

  // One status per target, in order. Never throws for data problems: those are reported in
  // the status (conditions, message, tier "unknown").
  std::vector<model::SloStatus> evaluate(const std::vector<EvaluationTarget>& targets,
                                         TimePoint at);

  const CycleReport& lastCycle() const { return report_; }
  const BucketStore& buckets() const { return buckets_; }

 private:
  PrometheusApi& api_;
  EvaluatorOptions options_;
  BucketStore buckets_;
  CycleReport report_;
};

// True when the status says the evaluation itself failed (Prometheus unreachable, query
// rejected), as opposed to an evaluation that found no data.
bool evaluationFailed(const model::SloStatus& status);

}  // namespace budgetgate::prometheus
