#pragma once
// The first stage of the one evaluation pipeline that the live evaluator and the backtest
// share (plan -> fetch -> assemble): what each SLO objective needs from Prometheus, as
// quantities de-duplicated across SLOs, and how an SLO window splits into whole stored buckets
// plus the pieces at its two edges, so that a window counts from exactly its start. Pure.

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "operator/model/slo.h"
#include "operator/model/window_bounds.h"
#include "operator/prometheus/query_planner.h"
#include "operator/prometheus/slo_signals.h"

namespace budgetgate::prometheus {

struct PlannedObjective {
  std::optional<ObjectiveSignals> signals;
  std::string error;  // why signals could not be built (an unusable query)
  std::size_t numerator = 0;
  std::optional<std::size_t> total;
};

// Quantities, each with every burn-rate window, de-duplicated by Quantity::key().
class NeedSet {
 public:
  std::size_t add(const Quantity& quantity);
  std::vector<QuantityNeed>& needs() { return needs_; }
  const std::vector<QuantityNeed>& needs() const { return needs_; }

 private:
  std::vector<QuantityNeed> needs_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

// Signals and need indices for each of the SLO's objectives (parallel to slo.objectives).
std::vector<PlannedObjective> planObjectives(const model::ServiceLevelObjective& slo,
                                             NeedSet& needs);

// The SLO window [start, at] as: a head [start, headEnd] (measured at the instant headEnd),
// whole buckets ending in (headEnd, bucketToEnd], and a tail [bucketToEnd, at] (measured at
// `at`). A window that starts on a bucket edge has no head; one evaluated on a bucket edge has
// no tail; one shorter than a bucket boundary crossing is all tail.
struct WindowPieces {
  TimePoint headEnd{};  // also the end of the bucket before the first one counted
  Seconds head{0};
  TimePoint bucketToEnd{};
  Seconds tail{0};
  bool hasBuckets() const { return bucketToEnd > headEnd; }
};
WindowPieces splitWindow(const model::WindowBounds& bounds, TimePoint at, Seconds bucket);

// One edge piece as a quantity measures it: ending at `end`, over `length` (slice sums count
// whole slices only), fetched under `key` (besides the burn-rate windows "5m" ... "3d"): pieces
// of several SLOs with the same end and length share one query.
struct WindowEdge {
  TimePoint end{};
  Seconds length{0};
  std::string key;
};
// The head (index 0) and the tail (index 1) of `pieces` for `quantity`, evaluated at `at`.
std::array<WindowEdge, 2> windowEdges(const WindowPieces& pieces, TimePoint at,
                                      const Quantity& quantity);

}  // namespace budgetgate::prometheus
