#include "operator/prometheus/slo_signals.h"

#include <fmt/format.h>

namespace budgetgate::prometheus {
namespace {

using model::ThresholdOp;

// PromQL comparison that is true when a slice is BAD under the objective's op.
std::string_view badWhen(ThresholdOp op) {
  switch (op) {
    case ThresholdOp::Lt:
      return ">=";
    case ThresholdOp::Lte:
      return ">";
    case ThresholdOp::Gt:
      return "<=";
    case ThresholdOp::Gte:
      return "<";
  }
  return ">=";
}

std::optional<Quantity> increaseOf(const model::MetricSource& source, std::string* error) {
  auto sel = parseSelector(source.query);
  if (!sel) {
    *error = fmt::format(
        "query \"{}\" is not a plain selector; with counter: true budgetgate wraps it as "
        "sum(increase(SELECTOR[window])). Use counter: false and $window for other PromQL",
        source.query);
    return std::nullopt;
  }
  Quantity q;
  q.kind = Quantity::Kind::Increase;
  q.text = sel->render();
  q.selector = std::move(sel);
  return q;
}

Quantity windowed(const model::MetricSource& source) {
  Quantity q;
  q.kind = Quantity::Kind::Windowed;
  q.text = source.query;
  return q;
}

// Per-slice increase of a selector, as text with the slice length filled in.
std::string sliceIncrease(const Quantity& q, Seconds slice) {
  return q.expr(slice);
}

}  // namespace

std::string Quantity::key() const {
  switch (kind) {
    case Kind::Increase:
      return "increase:" + text;
    case Kind::Windowed:
      return "windowed:" + text;
    case Kind::SliceSum:
      return fmt::format("slices:{}:{}", slice.count(), text);
  }
  return text;
}

std::string Quantity::expr(Seconds range) const {
  switch (kind) {
    case Kind::Increase:
      return fmt::format("sum(increase({}[{}]))", text, promDuration(range));
    case Kind::Windowed:
      return fmt::format("sum({})", substituteWindow(text, range));
    case Kind::SliceSum:
      return fmt::format("sum(sum_over_time(({})[{}:{}]))", text, promDuration(range),
                         promDuration(slice));
  }
  return text;
}

std::string counterDelta(const std::string& selector, Seconds range, const std::string& by) {
  const auto r = promDuration(range);
  const std::string grouping = by.empty() ? std::string() : fmt::format(" by ({})", by);
  return fmt::format("sum{g} (({s} - {s} offset {r}) >= 0 or increase({s}[{r}]))",
                     fmt::arg("g", grouping), fmt::arg("s", selector), fmt::arg("r", r));
}

std::string Quantity::additiveExpr(Seconds range) const {
  if (kind == Kind::Increase) return counterDelta(text, range, "");
  return expr(range);
}

std::optional<ObjectiveSignals> signalsFor(const model::ServiceLevelObjective& slo,
                                           const model::Objective& objective, std::string* error) {
  ObjectiveSignals s;
  const auto method = slo.budgetingMethod;
  if (const auto* threshold = std::get_if<model::ThresholdMetric>(&slo.indicator.metric)) {
    if (!objective.op || !objective.value || !objective.timeSliceWindow) {
      *error = "a thresholdMetric objective needs op, value and timeSliceWindow";
      return std::nullopt;
    }
    s.shape = ObjectiveSignals::Shape::BadSlices;
    s.slice = *objective.timeSliceWindow;
    // The worst series decides when the query returns several; NaN (no traffic) slices are
    // dropped by ">= -Inf" so that they count as neither good nor bad.
    const bool upperBound = *objective.op == ThresholdOp::Lt || *objective.op == ThresholdOp::Lte;
    const std::string value = fmt::format("({}({}) >= -Inf)", upperBound ? "max" : "min",
                                          substituteWindow(threshold->source.query, s.slice));
    s.numerator.kind = Quantity::Kind::SliceSum;
    s.numerator.slice = s.slice;
    s.numerator.text =
        fmt::format("{} {} bool {}", value, badWhen(*objective.op), promNumber(*objective.value));
    return s;
  }

  const auto& ratio = std::get<model::RatioMetric>(slo.indicator.metric);
  const bool good = ratio.good.has_value();
  const auto& numeratorSource = good ? *ratio.good : *ratio.bad;
  if (method == model::BudgetingMethod::Occurrences) {
    s.shape = good ? ObjectiveSignals::Shape::GoodOverTotal : ObjectiveSignals::Shape::BadOverTotal;
    if (ratio.counter) {
      auto n = increaseOf(numeratorSource, error);
      auto t = increaseOf(ratio.total, error);
      if (!n || !t) return std::nullopt;
      s.numerator = std::move(*n);
      s.total = std::move(*t);
    } else {
      s.numerator = windowed(numeratorSource);
      s.total = windowed(ratio.total);
    }
    return s;
  }

  // Timeslices / RatioTimeslices over a counter ratio.
  if (!ratio.counter) {
    *error = "Timeslices and RatioTimeslices need counter: true";
    return std::nullopt;
  }
  if (!objective.timeSliceWindow) {
    *error = "timeSliceWindow is required";
    return std::nullopt;
  }
  auto n = increaseOf(numeratorSource, error);
  auto t = increaseOf(ratio.total, error);
  if (!n || !t) return std::nullopt;
  s.slice = *objective.timeSliceWindow;
  // Slices without traffic are filtered out by "> 0" and so count as neither good nor bad.
  const std::string share =
      fmt::format("{} / ({} > 0)", sliceIncrease(*n, s.slice), sliceIncrease(*t, s.slice));
  const std::string badFraction =
      good ? fmt::format("(1 - {})", share) : fmt::format("({})", share);
  s.numerator.kind = Quantity::Kind::SliceSum;
  s.numerator.slice = s.slice;
  if (method == model::BudgetingMethod::Timeslices) {
    if (!objective.timeSliceTarget) {
      *error = "timeSliceTarget is required for Timeslices over a ratio metric";
      return std::nullopt;
    }
    s.shape = ObjectiveSignals::Shape::BadSlices;
    // A slice is bad when its good ratio is below timeSliceTarget.
    s.numerator.text =
        fmt::format("(1 - {}) < bool {}", badFraction, promNumber(*objective.timeSliceTarget));
  } else {
    s.shape = ObjectiveSignals::Shape::BadFractionSum;
    s.numerator.text = badFraction;
  }
  return s;
}

}  // namespace budgetgate::prometheus
