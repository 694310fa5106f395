#pragma once
// From measured numbers to an SLO status. Pure: shared by the live evaluator and the backtest.

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "operator/engine/budget_recovery.h"
#include "operator/engine/slo_assessment.h"
#include "operator/model/slo.h"
#include "operator/model/slo_status.h"
#include "operator/model/window_bounds.h"
#include "operator/prometheus/prometheus_api.h"
#include "operator/prometheus/slo_signals.h"

namespace budgetgate::prometheus {

// One number from Prometheus, or why there is none.
struct Measurement {
  enum class Kind { Value, Empty, NotANumber, Failed };
  Kind kind = Kind::Empty;
  double value = 0;
  QueryState failure = QueryState::Ok;  // Failed only
  std::string error;                    // Failed only

  static Measurement of(double v);
  static Measurement failed(QueryState state, std::string error);
  bool hasValue() const { return kind == Kind::Value; }
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
  // Occurrences over a rolling window with budget spent, when hourly buckets are kept: bad and
  // total events per bucket, for the recovery projection (set by the live evaluator).
  std::optional<engine::WindowHistory> history;
};

ObjectiveOutcome measureObjective(const ObjectiveSignals& signals, const ObjectiveData& data,
                                  const model::WindowBounds& bounds, double target);

// The status for an SLO from its objectives' outcomes (parallel to slo.objectives): the
// objective in the worst state describes the SLO. `previous` supplies the hysteresis hold and,
// when evaluation failed, the last good figures.
model::SloStatus buildStatus(const model::ServiceLevelObjective& slo,
                             const std::vector<ObjectiveOutcome>& outcomes,
                             const model::WindowBounds& bounds,
                             const engine::ErrorBudgetPolicy& policy,
                             const std::optional<model::SloStatus>& previous, TimePoint at);

// A status for an SLO that could not be evaluated at all (e.g. an unusable query).
model::SloStatus invalidStatus(const model::ServiceLevelObjective& slo, const std::string& reason,
                               const std::string& message,
                               const std::optional<model::SloStatus>& previous, TimePoint at);

}  // namespace budgetgate::prometheus
