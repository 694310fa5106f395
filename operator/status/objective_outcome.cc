#include "operator/status/objective_outcome.h"

#include <algorithm>
#include <vector>

namespace budgetgate::status {
namespace {

using engine::kBurnRateWindows;

double valueOrZero(const Measurement& m) {
  return m.hasValue() ? m.value : 0.0;
}

}  // namespace

ObjectiveOutcome measureObjective(const ObjectiveKind& kind, const ObjectiveData& data,
                                  const model::WindowBounds& bounds, double target) {
  ObjectiveOutcome out;
  const bool occurrences = kind.occurrences();
  // Any failed query makes the whole objective unknown: a partial answer could be wrong.
  std::vector<const Measurement*> all{&data.numeratorWindow};
  if (occurrences) all.push_back(&data.totalWindow);
  for (std::size_t i = 0; i < kBurnRateWindows.size(); ++i) {
    all.push_back(&data.numerator[i]);
    if (occurrences) all.push_back(&data.total[i]);
  }
  for (const auto* m : all) {
    if (m->isFailure()) {
      out.failure = *m;
      return out;
    }
  }

  // Burn rates. A window without traffic (or without series) has no burn rate.
  for (std::size_t i = 0; i < kBurnRateWindows.size(); ++i) {
    const auto w = kBurnRateWindows[i];
    std::optional<double> burn;
    if (occurrences) {
      const auto& t = data.total[i];
      const auto& n = data.numerator[i];
      if (t.hasValue()) out.windowEvents[i] = std::max(0.0, t.value);
      if (t.hasValue() && t.value > 0 && n.kind != Measurement::Kind::NotANumber) {
        // An empty numerator next to real traffic means zero good (or zero bad) events.
        const double bad =
            kind.shape == ObjectiveShape::GoodOverTotal ? t.value - valueOrZero(n) : valueOrZero(n);
        burn = engine::burnRateFromCounts(std::clamp(bad, 0.0, t.value), t.value, target);
      }
    } else if (data.numerator[i].hasValue()) {
      const double slices = static_cast<double>(engine::windowLength(w).count()) /
                            static_cast<double>(kind.slice.count());
      burn = engine::burnRate(std::clamp(data.numerator[i].value / slices, 0.0, 1.0), target);
    }
    out.burnRates.set(w, burn);
  }

  // The SLO window.
  if (occurrences) {
    const auto& t = data.totalWindow;
    const auto& n = data.numeratorWindow;
    if (!t.hasValue()) {
      out.noData = true;
      out.noDataDetail = t.kind == Measurement::Kind::NotANumber
                             ? "the total query returned NaN"
                             : "the total query returned no series for the SLO window";
      return out;
    }
    const double total = std::max(0.0, t.value);
    double bad =
        kind.shape == ObjectiveShape::GoodOverTotal ? total - valueOrZero(n) : valueOrZero(n);
    bad = std::clamp(bad, 0.0, total);
    out.budget = engine::occurrencesBudget(target, bad, total);
    out.noTraffic = !(total > 0);
    if (total > 0) out.sli = 1.0 - bad / total;
  } else {
    const auto& n = data.numeratorWindow;
    if (!n.hasValue()) {
      out.noData = true;
      out.noDataDetail = "no time slice of the SLO window had data";
      return out;
    }
    const double sliceSeconds = static_cast<double>(kind.slice.count());
    const double slicesInWindow = static_cast<double>(bounds.length.count()) / sliceSeconds;
    const double elapsedSlices =
        std::max(1.0, static_cast<double>((bounds.end - bounds.start).count()) / sliceSeconds);
    const double bad = std::max(0.0, n.value);
    out.budget = kind.shape == ObjectiveShape::BadSlices
                     ? engine::timeslicesBudget(target, bad, slicesInWindow, kind.slice)
                     : engine::ratioTimeslicesBudget(target, bad, slicesInWindow, kind.slice);
    out.sli = std::clamp(1.0 - bad / elapsedSlices, 0.0, 1.0);
  }
  return out;
}

}  // namespace budgetgate::status
