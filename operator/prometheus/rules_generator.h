#pragma once
// Prometheus recording and alerting rules for SLOs, equivalent to what `budgetgate evaluate`
// computes: per-window error ratios and burn rates, remaining budget, the multi-window
// multi-burn-rate alerts (with a rank label for Alertmanager inhibition), an absent-data alert
// and alerts on the remaining budget (from the controller's metric). Every recording rule reads raw
// series only, so the rules can be backfilled with `promtool tsdb create-blocks-from rules`. Pure.

#include <string>
#include <vector>

#include "operator/engine/status_tier.h"
#include "operator/model/slo.h"

namespace budgetgate::prometheus {

inline constexpr std::string_view kErrorRatioRecord = "budgetgate:slo_error_ratio";
inline constexpr std::string_view kBurnRateRecord = "budgetgate:slo_burn_rate";
inline constexpr std::string_view kRemainingRecord = "budgetgate:slo_error_budget_remaining:ratio";

// A rule-groups YAML document for the SLOs: every objective of each, told apart by the label
// `objective` (its displayName, or its position). Throws
// std::invalid_argument for an SLO whose queries cannot be turned into rules. With minEvents
// (the policy's), a burn-rate alert of an occurrences objective also needs both its windows to
// have counted at least that many events, as the controller's status alerts do.
struct RulesOptions {
  double minEvents = 0;
  // Budget alerts fire at the policy's warning and critical remaining-budget thresholds (25 %
  // and 10 % by default) and at exhaustion.
  engine::TierThresholds thresholds;
  std::string runbookUrl;    // annotation runbook_url of every alert, when set
  std::string dashboardUrl;  // annotation dashboard_url, when set
};

std::string generateRules(const std::vector<model::ServiceLevelObjective>& slos,
                          const RulesOptions& options);
inline std::string generateRules(const std::vector<model::ServiceLevelObjective>& slos,
                                 double minEvents = 0) {
  RulesOptions options;
  options.minEvents = minEvents;
  return generateRules(slos, options);
}

// The metric budget alerts read: the controller's remaining budget, which covers calendar
// windows too (their start moves; no fixed PromQL range expresses it).
inline constexpr std::string_view kRemainingMetric =
    "budgetgate_slo_error_budget_remaining_percent";

}  // namespace budgetgate::prometheus
