#pragma once
// The burn-down chart of an SLO page as inline SVG: the remaining budget over the window, the
// policy's tier thresholds as coloured bands behind it, rollouts and budget adjustments marked
// where they happened. Pure; no script, so it renders under a CSP that forbids scripts.

#include <string>
#include <vector>

#include "operator/engine/budget_burn_down.h"
#include "operator/engine/status_tier.h"

namespace budgetgate::statuspage {

struct ChartMarker {
  enum class Kind { Rollout, Adjustment };
  Kind kind = Kind::Rollout;
  TimePoint start{};
  TimePoint end{};  // adjustments: the excluded span; rollouts: == start
  std::string label;
};

struct BurnDownChart {
  std::vector<engine::BurnDownPoint> points;  // oldest first
  TimePoint windowStart{};
  TimePoint windowEnd{};
  engine::TierThresholds thresholds;
  std::vector<ChartMarker> markers;
};

// An <svg> element (viewBox-scaled to its container's width). Its data-* attributes carry the
// plotted figures (points, last remaining) so a test can check the drawing against the numbers.
std::string renderBurnDownSvg(const BurnDownChart& chart);

}  // namespace budgetgate::statuspage
