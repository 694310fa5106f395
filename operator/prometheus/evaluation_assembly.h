#pragma once
// The third stage of the evaluation pipeline (plan -> fetch -> assemble): one objective's
// numbers at one instant from what was fetched — the burn-rate windows as measured, and the
// SLO window as its head piece plus stored buckets plus its tail piece. Pure.

#include <optional>
#include <vector>

#include "operator/engine/budget_ledger.h"
#include "operator/prometheus/bucket_store.h"
#include "operator/prometheus/evaluation_plan.h"
#include "operator/prometheus/query_runner.h"
#include "operator/status/objective_outcome.h"

namespace budgetgate::prometheus {

// The key under which a quantity that does not add up over ranges (counter: false queries)
// is measured over the whole window.
std::string wholeWindowKey(Seconds range);

// One quantity over the SLO window [bounds.start, at].
status::Measurement windowSum(std::size_t need, const model::WindowBounds& bounds,
                              const WindowPieces& pieces, TimePoint at,
                              const std::vector<QuantityNeed>& needs, const Fetched& fetched,
                              const BucketStore& buckets);

status::ObjectiveData objectiveData(const PlannedObjective& objective,
                                    const model::WindowBounds& bounds, const WindowPieces& pieces,
                                    TimePoint at, const std::vector<QuantityNeed>& needs,
                                    const Fetched& fetched, const BucketStore& buckets);

// One bucket's bad and total events from its numerator and total sums (NaN: no sample, 0;
// bad clamped to [0, total]). Shared by the ledger's hours and the recovery history.
struct BucketEvents {
  double bad = 0;
  double total = 0;
};
BucketEvents bucketEvents(double numerator, double total, bool numeratorIsGood);

// The SLO window's bad and total events per hour — the head piece, each stored bucket, the
// tail piece, oldest first — for the ledger and budget adjustments. nullopt unless both
// quantities are kept in buckets (additive, incremental windows) and every piece was fetched.
std::optional<std::vector<engine::HourCounts>> windowHours(const PlannedObjective& objective,
                                                           const model::WindowBounds& bounds,
                                                           const WindowPieces& pieces, TimePoint at,
                                                           const std::vector<QuantityNeed>& needs,
                                                           const Fetched& fetched,
                                                           const BucketStore& buckets);

status::ObjectiveKind objectiveKind(const ObjectiveSignals& signals);

}  // namespace budgetgate::prometheus
