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
// A counter's increase over one time slice: the difference of its samples at the slice's two
// ends (counterDelta), not increase(sel[slice]). Prometheus 3 selects a range's samples
// left-open, so a 1-minute slice over a 1-minute scrape holds one sample, and increase() of one
// sample is nothing: every slice would be empty (found against Thanos Query, whose engine is
// Prometheus 3's). The difference reads two instants, which every engine has.
std::string sliceIncrease(const Quantity& q, Seconds slice) {
  return q.additiveExpr(slice);
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
  // Per series: the plain difference of the samples at the range's two ends, which is exact
  // and adds up over adjacent ranges, unless the counter reset within the range (a restart,
  // perhaps several: the end value can exceed the start value and still hide a reset); then
  // increase(), which counts every reset. A series without a sample at the start (created
  // within the range) also falls back to increase(), and so does a negative difference (a
  // reset between the start sample and the range's first one).
  return fmt::format(
      "sum{g} (((({s} - {s} offset {r}) >= 0) unless (resets({s}[{r}]) > 0)) or "
      "increase({s}[{r}]))",
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
  const auto& indicator = slo.indicatorOf(objective);
  // Slices: the objective's timeSliceWindow; for Occurrences over values that are not event
  // counts (a threshold, a raw ratio, a gauge), each minute counts as one occurrence.
  s.slice = objective.timeSliceWindow.value_or(kOccurrenceSlice);
  const auto sliced = [&](std::string text) {
    Quantity q;
    q.kind = Quantity::Kind::SliceSum;
    q.slice = s.slice;
    q.text = std::move(text);
    return q;
  };
  // Each slice's bad fraction in [0, 1] -> the numerator for the method.
  const auto fromBadFraction = [&](const std::string& badFraction) {
    if (method == model::BudgetingMethod::Timeslices) {
      if (!objective.timeSliceTarget) {
        *error = "timeSliceTarget is required for Timeslices";
        return false;
      }
      s.shape = ObjectiveSignals::Shape::BadSlices;
      // A slice is bad when its good share is below timeSliceTarget.
      s.numerator = sliced(
          fmt::format("(1 - {}) < bool {}", badFraction, promNumber(*objective.timeSliceTarget)));
    } else {
      s.shape = ObjectiveSignals::Shape::BadFractionSum;
      s.numerator = sliced(badFraction);
    }
    return true;
  };

  if (const auto* threshold = std::get_if<model::ThresholdMetric>(&indicator.metric)) {
    if (!objective.op || !objective.value) {
      *error = "a thresholdMetric objective needs op and value";
      return std::nullopt;
    }
    // The worst series decides when the query returns several; NaN (no traffic) slices are
    // dropped by ">= -Inf" so that they count as neither good nor bad. With one value per
    // slice, a slice is good when that value meets op/value (any timeSliceTarget in (0, 1]).
    const bool upperBound = *objective.op == ThresholdOp::Lt || *objective.op == ThresholdOp::Lte;
    const std::string value = fmt::format("({}({}) >= -Inf)", upperBound ? "max" : "min",
                                          substituteWindow(threshold->source.query, s.slice));
    s.shape = method == model::BudgetingMethod::RatioTimeslices
                  ? ObjectiveSignals::Shape::BadFractionSum
                  : ObjectiveSignals::Shape::BadSlices;
    s.numerator = sliced(
        fmt::format("{} {} bool {}", value, badWhen(*objective.op), promNumber(*objective.value)));
    return s;
  }

  const auto& ratio = std::get<model::RatioMetric>(indicator.metric);
  if (ratio.raw) {
    // A precomputed ratio: its value at each slice (averaged over series, NaN dropped); a
    // $window in it is the slice.
    const std::string value =
        fmt::format("(avg({}) >= -Inf)", substituteWindow(ratio.raw->query, s.slice));
    const std::string badFraction = ratio.rawType == model::RawType::Success
                                        ? fmt::format("clamp(1 - {}, 0, 1)", value)
                                        : fmt::format("clamp({}, 0, 1)", value);
    if (!fromBadFraction(badFraction)) return std::nullopt;
    return s;
  }
  const bool good = ratio.good.has_value();
  const auto& numeratorSource = good ? *ratio.good : *ratio.bad;
  const auto hasWindow = [](const model::MetricSource& m) {
    return m.query.find("$window") != std::string::npos;
  };
  if (method == model::BudgetingMethod::Occurrences) {
    s.shape = good ? ObjectiveSignals::Shape::GoodOverTotal : ObjectiveSignals::Shape::BadOverTotal;
    if (ratio.counter) {
      auto n = increaseOf(numeratorSource, error);
      auto t = increaseOf(ratio.total, error);
      if (!n || !t) return std::nullopt;
      s.numerator = std::move(*n);
      s.total = std::move(*t);
    } else if (hasWindow(numeratorSource) || hasWindow(ratio.total)) {
      s.numerator = windowed(numeratorSource);
      s.total = windowed(ratio.total);
    } else {
      // Gauges: summed slice by slice (additive, like counter increases).
      s.numerator = sliced(fmt::format("sum({})", numeratorSource.query));
      s.total = sliced(fmt::format("sum({})", ratio.total.query));
    }
    return s;
  }

  // Timeslices / RatioTimeslices: each slice's share of good (or bad) events.
  if (!objective.timeSliceWindow) {
    *error = "timeSliceWindow is required";
    return std::nullopt;
  }
  std::string numerator;
  std::string total;
  if (ratio.counter) {
    auto n = increaseOf(numeratorSource, error);
    auto t = increaseOf(ratio.total, error);
    if (!n || !t) return std::nullopt;
    numerator = sliceIncrease(*n, s.slice);
    total = sliceIncrease(*t, s.slice);
  } else {
    numerator = fmt::format("sum({})", substituteWindow(numeratorSource.query, s.slice));
    total = fmt::format("sum({})", substituteWindow(ratio.total.query, s.slice));
  }
  // Slices without traffic are filtered out by "> 0" and so count as neither good nor bad.
  const std::string share = fmt::format("{} / ({} > 0)", numerator, total);
  const std::string badFraction =
      good ? fmt::format("(1 - {})", share) : fmt::format("({})", share);
  if (!fromBadFraction(badFraction)) return std::nullopt;
  return s;
}

std::vector<std::string> evaluationProblems(const model::ServiceLevelObjective& slo) {
  std::vector<std::string> problems;
  for (std::size_t i = 0; i < slo.objectives.size(); ++i) {
    std::string error;
    if (!signalsFor(slo, slo.objectives[i], &error)) {
      problems.push_back(fmt::format("spec.objectives[{}]: {}", i, error));
    }
  }
  return problems;
}

}  // namespace budgetgate::prometheus
