#include "operator/engine/budget_burn_down.h"

#include <algorithm>

namespace budgetgate::engine {
namespace {

bool isExcluded(const HourCounts& h, const std::vector<std::pair<TimePoint, TimePoint>>& spans) {
  const TimePoint start = h.end - h.length;
  return std::any_of(spans.begin(), spans.end(),
                     [&](const auto& s) { return start >= s.first && start < s.second; });
}

}  // namespace

std::vector<BurnDownPoint> budgetBurnDown(
    const std::vector<HourCounts>& hours, double target,
    const std::vector<std::pair<TimePoint, TimePoint>>& excluded) {
  std::vector<BurnDownPoint> points;
  if (hours.empty()) return points;
  double total = 0;
  std::vector<double> bad;
  bad.reserve(hours.size());
  for (const auto& h : hours) {
    // An excluded hour's bad events leave both counts; its good events still count.
    const bool out = isExcluded(h, excluded);
    bad.push_back(out ? 0.0 : h.bad);
    total += out ? std::max(0.0, h.total - h.bad) : h.total;
  }
  const double allowed = (1.0 - target) * total;
  points.reserve(hours.size() + 1);
  points.push_back({hours.front().end - hours.front().length, 100.0});
  double spent = 0;
  for (std::size_t i = 0; i < hours.size(); ++i) {
    spent += bad[i];
    const double remaining = allowed > 0 ? 100.0 * (1.0 - spent / allowed) : 100.0;
    points.push_back({hours[i].end, remaining});
  }
  return points;
}

}  // namespace budgetgate::engine
