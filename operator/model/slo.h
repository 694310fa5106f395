#pragma once
// ServiceLevelObjective: OpenSLO v1 SLO field names plus budgetgate's spec.gate.

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "operator/common/duration.h"
#include "operator/common/object_key.h"
#include "operator/engine/alert_table.h"
#include "operator/model/label_selector.h"

namespace budgetgate::model {

inline constexpr std::string_view kGroup = "slo.budgetgate.dev";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kApiVersion = "slo.budgetgate.dev/v1alpha1";
inline constexpr std::string_view kOpenSloApiVersion = "openslo/v1";

struct MetricSource {
  std::string type;        // "Prometheus"
  std::string query;       // a selector when counter is true, else PromQL (may contain $window)
  std::string dataSource;  // metricSourceRef: the OpenSLO DataSource it came from, if any
};

// What a precomputed ratio (ratioMetric.raw) measures.
enum class RawType { Success, Failure };

struct RatioMetric {
  // OpenSLO: true for monotonically increasing counters. Absent means false (a gauge).
  bool counter = false;
  std::optional<MetricSource> good;  // exactly one of good / bad, with total...
  std::optional<MetricSource> bad;
  MetricSource total;
  std::optional<MetricSource> raw;  // ...or a precomputed ratio (raw) and what it measures
  RawType rawType = RawType::Success;
};

struct ThresholdMetric {
  MetricSource source;
};

struct Indicator {
  std::string name;
  std::variant<RatioMetric, ThresholdMetric> metric;
  bool isRatio() const { return std::holds_alternative<RatioMetric>(metric); }
};

enum class CalendarUnit { Day, Week, Month, Quarter, Year };

struct TimeWindow {
  std::string text;  // as written: "30d", "1M"
  bool isRolling = true;
  Seconds duration{0};  // rolling windows (and day/week calendar windows)
  // Calendar windows.
  int calendarCount = 0;
  CalendarUnit calendarUnit = CalendarUnit::Month;
  std::string calendarStart;     // "2024-01-01 00:00:00"
  std::string calendarTimeZone;  // IANA name, "UTC" by default
};

enum class BudgetingMethod { Occurrences, Timeslices, RatioTimeslices };
std::string_view budgetingMethodName(BudgetingMethod m);

enum class ThresholdOp { Lt, Lte, Gt, Gte };
std::string_view thresholdOpName(ThresholdOp op);    // "lt", ...
std::string_view thresholdOpPromQL(ThresholdOp op);  // "<", ...

struct Objective {
  std::string displayName;
  double target = 0;  // fraction in [0, 1), from target or targetPercent / 100
  std::optional<ThresholdOp> op;
  std::optional<double> value;
  std::optional<double> timeSliceTarget;
  std::optional<Seconds> timeSliceWindow;
  // Composite SLOs (OpenSLO): each objective has an indicator of its own and a weight.
  std::optional<Indicator> indicator;
  double compositeWeight = 1.0;
};

struct GateSpec {
  std::optional<LabelSelector> selector;  // absent: the SLO gates nothing
  std::string policyRef;                  // empty: the default policy
  std::vector<engine::AlertOverride> alerts;
};

struct ServiceLevelObjective {
  std::string apiVersion;
  std::string kind;
  std::string name;
  std::string ns;
  std::string uid;
  long long generation = 0;
  Labels labels;  // metadata.labels: what BudgetAdjustment.spec.sloSelector matches
  std::string description;
  std::string service;
  Indicator indicator;
  TimeWindow window;
  BudgetingMethod budgetingMethod = BudgetingMethod::Occurrences;
  std::vector<Objective> objectives;
  std::vector<std::string> alertPolicies;
  GateSpec gate;
  // The data source every metric reads (metricSourceRef; one per SLO); empty: the default
  // Prometheus (--prometheus).
  std::string dataSource;

  std::string key() const { return objectKey(ns, name); }
  // A composite SLO: its objectives carry their own indicators; the weighted composite of
  // their budgets decides the tier.
  bool composite() const { return !objectives.empty() && objectives.front().indicator.has_value(); }
  const Indicator& indicatorOf(const Objective& o) const {
    return o.indicator ? *o.indicator : indicator;
  }
};

// Calls fn with every metric source the SLO reads (its indicator's or its objectives').
template <typename Fn>
void forEachMetricSource(const ServiceLevelObjective& slo, Fn&& fn) {
  const auto visit = [&](const Indicator& indicator) {
    if (const auto* ratio = std::get_if<RatioMetric>(&indicator.metric)) {
      for (const auto* m :
           {ratio->good ? &*ratio->good : nullptr, ratio->bad ? &*ratio->bad : nullptr,
            ratio->raw ? &*ratio->raw : nullptr}) {
        if (m != nullptr) fn(*m);
      }
      if (!ratio->raw) fn(ratio->total);
    } else {
      fn(std::get<ThresholdMetric>(indicator.metric).source);
    }
  };
  if (slo.composite()) {
    for (const auto& o : slo.objectives) visit(*o.indicator);
  } else {
    visit(slo.indicator);
  }
}

}  // namespace budgetgate::model
