#pragma once
// Multi-window, multi-burn-rate alerts (Google SRE workbook, plus a fourth 3-day tier).
//
// Each alert spends a fixed fraction of the budget over its long window; the burn-rate
// threshold is derived from the SLO window so that 28-day and 90-day SLOs get correct
// factors: threshold = budgetFraction x sloWindow / longWindow (30 d: 14.4, 6, 3, 1).

#include <string>
#include <vector>

#include "operator/engine/burn_rate_window.h"

namespace budgetgate::engine {

struct AlertRule {
  std::string name;      // stable identifier, e.g. "page-1h"
  std::string severity;  // "page" or "ticket" by default; relabelable per SLO
  BurnRateWindow shortWindow;
  BurnRateWindow longWindow;
  double budgetFraction;  // share of the whole budget spent over longWindow at threshold
  double threshold;       // derived burn-rate factor
};

// Per-SLO adjustments to the default table.
struct AlertOverride {
  std::string name;
  bool disabled = false;
  std::string severity;  // empty: keep the default
};

// The four default rules with thresholds derived for the given SLO window, minus disabled
// ones, with severities relabelled. Unknown override names are ignored here (the SLO parser
// rejects them with a precise error).
std::vector<AlertRule> deriveAlertRules(Seconds sloWindow,
                                        const std::vector<AlertOverride>& overrides = {});

// Names of the default rules, for validation.
std::vector<std::string> defaultAlertNames();

struct AlertState {
  AlertRule rule;
  bool firing = false;
};

// An alert fires when both its long and its short window burn at or above the threshold.
std::vector<AlertState> evaluateAlerts(const std::vector<AlertRule>& rules, const BurnRates& burn);

}  // namespace budgetgate::engine
