#include "operator/prometheus/evaluation_assembly.h"

#include <fmt/format.h>

namespace budgetgate::prometheus {

std::string wholeWindowKey(Seconds range) {
  return fmt::format("W{}", range.count());
}

status::Measurement windowSum(std::size_t need, const model::WindowBounds& bounds,
                              const WindowPieces& pieces, TimePoint at,
                              const std::vector<QuantityNeed>& needs, const Fetched& fetched,
                              const BucketStore& buckets) {
  const auto& q = needs[need].quantity;
  // Planned as one query over the whole window: a quantity that does not add up over buckets,
  // or any quantity when incremental windows are off (the "naive" evaluator of the benchmarks).
  const auto whole = wholeWindowKey(at - bounds.start);
  if (!q.additive() || needs[need].windows.count(whole) != 0) return fetched.at(need, whole, at);
  if (const auto* failure = fetched.bucketFailure(need)) return *failure;
  BucketStore::Sum sum;
  if (pieces.hasBuckets()) {
    auto s = buckets.sum(q.key(), pieces.headEnd, pieces.bucketToEnd);
    if (!s) return status::Measurement::failed("bad-response", false, "bucket range not covered");
    sum = *s;
  }
  bool anyData = sum.anyData;
  double total = sum.value;
  // The edges, each measured at its own instant.
  for (const auto& edge : windowEdges(pieces, at, q)) {
    if (edge.length <= Seconds(0)) continue;
    const auto m = fetched.at(need, edge.key, edge.end);
    if (m.isFailure()) return m;
    if (m.hasValue()) {
      total += m.value;
      anyData = true;
    }
  }
  if (!anyData) return {};
  return status::Measurement::of(total);
}

status::ObjectiveData objectiveData(const PlannedObjective& objective,
                                    const model::WindowBounds& bounds, const WindowPieces& pieces,
                                    TimePoint at, const std::vector<QuantityNeed>& needs,
                                    const Fetched& fetched, const BucketStore& buckets) {
  status::ObjectiveData data;
  for (std::size_t w = 0; w < engine::kBurnRateWindows.size(); ++w) {
    const std::string key(engine::windowName(engine::kBurnRateWindows[w]));
    data.numerator[w] = fetched.at(objective.numerator, key, at);
    if (objective.total) data.total[w] = fetched.at(*objective.total, key, at);
  }
  data.numeratorWindow =
      windowSum(objective.numerator, bounds, pieces, at, needs, fetched, buckets);
  if (objective.total) {
    data.totalWindow = windowSum(*objective.total, bounds, pieces, at, needs, fetched, buckets);
  }
  return data;
}

status::ObjectiveKind objectiveKind(const ObjectiveSignals& signals) {
  return {signals.shape, signals.slice};
}

}  // namespace budgetgate::prometheus
