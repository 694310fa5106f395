#include "operator/engine/alert_table.h"

#include <algorithm>

namespace budgetgate::engine {
namespace {

struct DefaultRule {
  const char* name;
  const char* severity;
  BurnRateWindow shortWindow;
  BurnRateWindow longWindow;
  double budgetFraction;
};

// 2 % of the budget in 1 h, 5 % in 6 h, 10 % in 1 d, 10 % in 3 d.
constexpr DefaultRule kDefaults[] = {
    {"page-1h", "page", BurnRateWindow::M5, BurnRateWindow::H1, 0.02},
    {"page-6h", "page", BurnRateWindow::M30, BurnRateWindow::H6, 0.05},
    {"ticket-1d", "ticket", BurnRateWindow::H2, BurnRateWindow::D1, 0.10},
    {"ticket-3d", "ticket", BurnRateWindow::H6, BurnRateWindow::D3, 0.10},
};

}  // namespace

std::vector<std::string> defaultAlertNames() {
  std::vector<std::string> names;
  for (const auto& d : kDefaults) names.emplace_back(d.name);
  return names;
}

std::vector<AlertRule> deriveAlertRules(Seconds sloWindow,
                                        const std::vector<AlertOverride>& overrides) {
  std::vector<AlertRule> rules;
  for (const auto& d : kDefaults) {
    AlertRule rule{d.name, d.severity, d.shortWindow, d.longWindow, d.budgetFraction, 0.0};
    rule.threshold = d.budgetFraction * static_cast<double>(sloWindow.count()) /
                     static_cast<double>(windowLength(d.longWindow).count());
    auto it = std::find_if(overrides.begin(), overrides.end(),
                           [&](const AlertOverride& o) { return o.name == rule.name; });
    if (it != overrides.end()) {
      if (it->disabled) continue;
      if (!it->severity.empty()) rule.severity = it->severity;
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

std::vector<AlertState> evaluateAlerts(const std::vector<AlertRule>& rules, const BurnRates& burn) {
  std::vector<AlertState> states;
  states.reserve(rules.size());
  for (const auto& rule : rules) {
    const bool firing = burn.orZero(rule.longWindow) >= rule.threshold &&
                        burn.orZero(rule.shortWindow) >= rule.threshold;
    states.push_back({rule, firing});
  }
  return states;
}

}  // namespace budgetgate::engine
