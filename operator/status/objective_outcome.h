#pragma once
// From measured numbers to one objective's budget, SLI and burn rates. Pure: shared by the
// live evaluator and the backtest (and fed by any metrics source).

#include <array>
#include <optional>
#include <string>

#include "operator/common/duration.h"
#include "operator/engine/budget_recovery.h"
#include "operator/engine/slo_assessment.h"
#include "operator/model/slo_status.h"
#include "operator/model/window_bounds.h"
#include "operator/status/measurement.h"

namespace budgetgate::status {

// What the numerator of an objective counts.
enum class ObjectiveShape {
  GoodOverTotal,   // Occurrences: numerator = good events
  BadOverTotal,    // Occurrences: numerator = bad events
  BadSlices,       // Timeslices: numerator = number of bad slices
  BadFractionSum,  // RatioTimeslices: numerator = sum of per-slice bad fractions
};

struct ObjectiveKind {
  ObjectiveShape shape = ObjectiveShape::GoodOverTotal;
  Seconds slice{0};  // slice shapes only
  bool occurrences() const {
    return shape == ObjectiveShape::GoodOverTotal || shape == ObjectiveShape::BadOverTotal;
  }
};

// The numbers one objective needs at one instant.
struct ObjectiveData {
  std::array<Measurement, engine::kBurnRateWindows.size()> numerator{};
  std::array<Measurement, engine::kBurnRateWindows.size()> total{};
  Measurement numeratorWindow;  // over the SLO window so far
  Measurement totalWindow;
};

struct ObjectiveOutcome {
  // Set when the numbers could not be obtained (Prometheus down, query rejected).
  std::optional<Measurement> failure;
  bool noData = false;       // the SLI's series do not exist in the window
  bool noTraffic = false;    // they exist but counted zero events
  std::string noDataDetail;  // which query came back empty
  engine::ErrorBudget budget;
  std::optional<double> sli;
  engine::BurnRates burnRates;
  // Occurrences: the events each burn-rate window counted (for the policy's minEvents).
  std::array<std::optional<double>, engine::kBurnRateWindows.size()> windowEvents{};
  // Occurrences over a rolling window with budget spent, when hourly buckets are kept: bad and
  // total events per bucket, for the recovery projection (set by the live evaluator).
  std::optional<engine::WindowHistory> history;
  // Where the budget went and what adjustments excluded (set by the live evaluator when the
  // window's hourly data is kept; the budget above is then the adjusted one).
  std::optional<model::LedgerStatus> ledger;
  std::optional<model::AdjustmentStatus> adjustments;
};

ObjectiveOutcome measureObjective(const ObjectiveKind& kind, const ObjectiveData& data,
                                  const model::WindowBounds& bounds, double target);

}  // namespace budgetgate::status
