#include "operator/prometheus/evaluation_plan.h"

#include <fmt/format.h>

namespace budgetgate::prometheus {

std::size_t NeedSet::add(const Quantity& q) {
  auto [it, inserted] = index_.emplace(q.key(), needs_.size());
  if (inserted) {
    QuantityNeed n;
    n.quantity = q;
    for (auto w : engine::kBurnRateWindows) {
      n.windows.emplace(std::string(engine::windowName(w)),
                        WindowRange{engine::windowLength(w), false});
    }
    needs_.push_back(std::move(n));
  }
  return it->second;
}

std::vector<PlannedObjective> planObjectives(const model::ServiceLevelObjective& slo,
                                             NeedSet& needs) {
  std::vector<PlannedObjective> out;
  for (const auto& objective : slo.objectives) {
    PlannedObjective p;
    p.signals = signalsFor(slo, objective, &p.error);
    if (p.signals) {
      p.numerator = needs.add(p.signals->numerator);
      if (p.signals->total) p.total = needs.add(*p.signals->total);
    }
    out.push_back(std::move(p));
  }
  return out;
}

WindowPieces splitWindow(const model::WindowBounds& bounds, TimePoint at, Seconds bucket) {
  const auto floorTo = [&](TimePoint t) {
    const auto s = t.time_since_epoch().count();
    const auto b = bucket.count();
    return TimePoint(Seconds((s >= 0 ? s / b : (s - b + 1) / b) * b));
  };
  WindowPieces p;
  const TimePoint firstEdge =
      floorTo(bounds.start) == bounds.start ? bounds.start : floorTo(bounds.start) + bucket;
  const TimePoint lastEdge = floorTo(at);
  if (firstEdge > lastEdge) {
    // No bucket edge inside the window: all of it is the tail.
    p.headEnd = p.bucketToEnd = lastEdge;
    p.tail = at - bounds.start;
    return p;
  }
  p.headEnd = firstEdge;
  p.head = firstEdge - bounds.start;
  p.bucketToEnd = lastEdge;
  p.tail = at - lastEdge;
  return p;
}

std::array<WindowEdge, 2> windowEdges(const WindowPieces& pieces, TimePoint at,
                                      const Quantity& quantity) {
  const auto whole = [&](Seconds length) {
    if (quantity.kind != Quantity::Kind::SliceSum || quantity.slice <= Seconds(0)) return length;
    return length / quantity.slice * quantity.slice;  // an unfinished slice is not counted yet
  };
  std::array<WindowEdge, 2> edges;
  edges[0].end = pieces.headEnd;
  edges[0].length = whole(pieces.head);
  edges[0].key =
      fmt::format("head@{}+{}", pieces.headEnd.time_since_epoch().count(), edges[0].length.count());
  edges[1].end = at;
  edges[1].length = whole(pieces.tail);
  edges[1].key = fmt::format("tail+{}", edges[1].length.count());
  return edges;
}

}  // namespace budgetgate::prometheus
