#pragma once
// What to ask Prometheus for one SLO objective. Every SLI becomes one or two "quantities",
// each a single-series PromQL expression over a time range. Additive quantities (counter
// increases, counts of bad time slices) can be summed over adjacent ranges, which is what lets
// the evaluator keep hourly buckets instead of re-querying 30 days every cycle. Pure.

#include <optional>
#include <string>
#include <vector>

#include "operator/model/slo.h"
#include "operator/prometheus/promql.h"
#include "operator/status/objective_outcome.h"

namespace budgetgate::prometheus {

struct Quantity {
  enum class Kind {
    Increase,  // sum(increase(SELECTOR[range])): a counter selector, shareable across SLOs
    Windowed,  // sum(QUERY with $window = range): counter: false queries; not additive
    SliceSum,  // sum(sum_over_time((INDICATOR)[range:slice])): additive over slices
  };
  Kind kind = Kind::Increase;
  std::string text;  // Increase: canonical selector; Windowed: query; SliceSum: indicator
  Seconds slice{0};  // SliceSum only
  std::optional<Selector> selector;  // Increase only

  bool additive() const { return kind != Kind::Windowed; }
  std::string key() const;                // identity for de-duplication and bucket storage
  std::string expr(Seconds range) const;  // the PromQL for one range ending at eval time
  // The same quantity as a value that adds up exactly over adjacent ranges. For counters that
  // is the difference of sample values (increase() extrapolates to each range's edges, so
  // sums of adjacent increase() drift by up to a scrape interval per edge); a series that
  // reset within the range falls back to increase(). Other kinds: expr().
  std::string additiveExpr(Seconds range) const;
};

// The counter-difference form for a rendered selector; `by` groups the sum (may be empty).
std::string counterDelta(const std::string& selector, Seconds range, const std::string& by);

struct ObjectiveSignals {
  using Shape = status::ObjectiveShape;
  Shape shape = Shape::GoodOverTotal;
  Quantity numerator;
  std::optional<Quantity> total;  // Occurrences only
  Seconds slice{0};               // slice shapes only
};

// For Occurrences over values that are not event counts (a threshold metric, a raw ratio, a
// gauge without $window), each slice of this length counts as one occurrence.
inline constexpr Seconds kOccurrenceSlice{60};

// What keeps a parsed SLO from being evaluated (a counter query that is not a plain selector,
// ...), one "spec.objectives[i]: problem" per objective; empty when it can be.
std::vector<std::string> evaluationProblems(const model::ServiceLevelObjective& slo);

// nullopt (with *error) when a query cannot be used, e.g. a counter SLI whose query is not a
// plain selector.
std::optional<ObjectiveSignals> signalsFor(const model::ServiceLevelObjective& slo,
                                           const model::Objective& objective, std::string* error);

}  // namespace budgetgate::prometheus
