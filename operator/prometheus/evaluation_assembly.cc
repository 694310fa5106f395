#include "operator/prometheus/evaluation_assembly.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <span>

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

BucketEvents bucketEvents(double numerator, double total, bool numeratorIsGood) {
  const double t = std::isnan(total) ? 0.0 : std::max(0.0, total);
  const double n = std::isnan(numerator) ? 0.0 : std::max(0.0, numerator);
  return {std::clamp(numeratorIsGood ? t - n : n, 0.0, t), t};
}

std::optional<std::vector<engine::HourCounts>> windowHours(const PlannedObjective& objective,
                                                           const model::WindowBounds& bounds,
                                                           const WindowPieces& pieces, TimePoint at,
                                                           const std::vector<QuantityNeed>& needs,
                                                           const Fetched& fetched,
                                                           const BucketStore& buckets) {
  if (!objective.signals || !objective.total) return std::nullopt;
  const auto shape = objective.signals->shape;
  if (shape != status::ObjectiveShape::GoodOverTotal &&
      shape != status::ObjectiveShape::BadOverTotal) {
    return std::nullopt;
  }
  const std::size_t ids[2] = {objective.numerator, *objective.total};
  const auto whole = wholeWindowKey(at - bounds.start);
  // Per quantity: the head's and the tail's value and the stored buckets.
  std::array<std::array<double, 2>, 2> edgeValue{};
  std::array<std::array<engine::HourCounts, 2>, 2> edgeShape{};
  std::array<std::span<const double>, 2> stored{};
  for (std::size_t k = 0; k < 2; ++k) {
    const auto& q = needs[ids[k]].quantity;
    if (!q.additive() || needs[ids[k]].windows.count(whole) != 0) return std::nullopt;
    if (fetched.bucketFailure(ids[k]) != nullptr) return std::nullopt;
    if (pieces.hasBuckets()) {
      auto r = buckets.range(q.key(), pieces.headEnd, pieces.bucketToEnd);
      if (!r) return std::nullopt;
      stored[k] = *r;
    }
    const auto edges = windowEdges(pieces, at, q);
    for (std::size_t e = 0; e < 2; ++e) {
      edgeShape[k][e] = {edges[e].end, edges[e].length, 0, 0};
      if (edges[e].length <= Seconds(0)) continue;
      const auto m = fetched.at(ids[k], edges[e].key, edges[e].end);
      if (m.isFailure()) return std::nullopt;
      edgeValue[k][e] = m.hasValue() ? m.value : 0.0;
    }
  }
  if (stored[0].size() != stored[1].size()) return std::nullopt;
  const bool numeratorIsGood = shape == status::ObjectiveShape::GoodOverTotal;
  auto piece = [&](TimePoint end, Seconds length, double n, double t) {
    const auto e = bucketEvents(n, t, numeratorIsGood);
    return engine::HourCounts{end, length, e.bad, e.total};
  };
  std::vector<engine::HourCounts> hours;
  hours.reserve(stored[1].size() + 2);
  if (edgeShape[1][0].length > Seconds(0)) {
    hours.push_back(
        piece(edgeShape[1][0].end, edgeShape[1][0].length, edgeValue[0][0], edgeValue[1][0]));
  }
  for (std::size_t i = 0; i < stored[1].size(); ++i) {
    const TimePoint end = pieces.headEnd + buckets.bucket() * static_cast<long long>(i + 1);
    hours.push_back(piece(end, buckets.bucket(), stored[0][i], stored[1][i]));
  }
  if (edgeShape[1][1].length > Seconds(0)) {
    hours.push_back(
        piece(edgeShape[1][1].end, edgeShape[1][1].length, edgeValue[0][1], edgeValue[1][1]));
  }
  return hours;
}

status::ObjectiveKind objectiveKind(const ObjectiveSignals& signals) {
  return {signals.shape, signals.slice};
}

}  // namespace budgetgate::prometheus
