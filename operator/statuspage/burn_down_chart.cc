#include "operator/statuspage/burn_down_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "operator/statuspage/html.h"

namespace budgetgate::statuspage {
namespace {

constexpr double kWidth = 800, kHeight = 260;
constexpr double kLeft = 44, kRight = 12, kTop = 10, kBottom = 28;

struct Scale {
  double t0, t1, yMin, yMax;
  double x(TimePoint t) const {
    const double s = std::chrono::duration<double>(t.time_since_epoch()).count();
    const double f = t1 > t0 ? (s - t0) / (t1 - t0) : 0;
    return kLeft + std::clamp(f, 0.0, 1.0) * (kWidth - kLeft - kRight);
  }
  double y(double percent) const {
    const double f = (std::clamp(percent, yMin, yMax) - yMin) / (yMax - yMin);
    return kTop + (1 - f) * (kHeight - kTop - kBottom);
  }
};

double seconds(TimePoint t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

void band(std::string& out, const Scale& s, double from, double to, engine::Tier tier) {
  if (to <= from) return;
  const double top = s.y(to), bottom = s.y(from);
  out += fmt::format(
      "<rect class=\"band\" data-tier=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
      "height=\"{:.1f}\" fill=\"{}\" fill-opacity=\"0.10\"/>",
      engine::tierName(tier), kLeft, top, kWidth - kLeft - kRight, bottom - top, tierColour(tier));
}

}  // namespace

std::string renderBurnDownSvg(const BurnDownChart& chart) {
  const auto& pts = chart.points;
  double lowest = 0;
  for (const auto& p : pts) lowest = std::min(lowest, p.remainingPercent);
  // Overspent budgets go below zero; show down to the lowest point (at most -100 %, in steps
  // of 25) so the exhausted band is visible without squashing the rest.
  const double yMin = std::max(-100.0, std::floor(lowest / 25.0) * 25.0);
  const Scale s{seconds(chart.windowStart), seconds(chart.windowEnd), yMin, 100.0};
  const auto& th = chart.thresholds;
  const double attention = th.attention.remainingPercentAtMost.value_or(50);
  const double warning = th.warning.remainingPercentAtMost.value_or(25);
  const double critical = th.critical.remainingPercentAtMost.value_or(10);

  std::string out;
  out.reserve(pts.size() * 18 + 4096);
  const double last = pts.empty() ? 100.0 : pts.back().remainingPercent;
  out += fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" role=\"img\" "
      "class=\"burn-down\" data-points=\"{}\" data-last-remaining=\"{:.4f}\" "
      "aria-label=\"Remaining error budget over the window, ending at {:.2f} %\">",
      kWidth, kHeight, pts.size(), last, last);
  band(out, s, yMin, 0, engine::Tier::Exhausted);
  band(out, s, 0, critical, engine::Tier::Critical);
  band(out, s, critical, warning, engine::Tier::Warning);
  band(out, s, warning, attention, engine::Tier::Attention);
  band(out, s, attention, 100, engine::Tier::Healthy);
  // Horizontal grid lines with labels at 100, the thresholds and 0.
  std::vector<double> gridLines{100.0, attention, warning, critical, 0.0};
  if (yMin < 0) gridLines.push_back(yMin);
  for (double v : gridLines) {
    out += fmt::format(
        "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#9ca3af\" "
        "stroke-width=\"0.5\" stroke-dasharray=\"3 3\"/><text x=\"{:.1f}\" y=\"{:.1f}\" "
        "font-size=\"10\" text-anchor=\"end\" fill=\"#4b5563\">{:g}%</text>",
        kLeft, kWidth - kRight, s.y(v), s.y(v), kLeft - 4, s.y(v) + 3, v);
  }
  // Time axis: the window's start, middle and end.
  const auto span = chart.windowEnd - chart.windowStart;
  const std::array<std::pair<TimePoint, const char*>, 3> ticks{
      {{chart.windowStart, "start"},
       {chart.windowStart + span / 2, "middle"},
       {chart.windowEnd, "end"}}};
  for (const auto& [t, anchor] : ticks) {
    const std::string text = formatTime(t).substr(0, 16);
    const char* align = std::string_view(anchor) == "start" ? "start"
                        : std::string_view(anchor) == "end" ? "end"
                                                            : "middle";
    out += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"{}\" "
        "fill=\"#4b5563\">{}</text>",
        s.x(t), kHeight - 8, align, escape(text));
  }
  for (const auto& m : chart.markers) {
    const double x0 = s.x(m.start);
    if (m.kind == ChartMarker::Kind::Adjustment) {
      const double x1 = std::max(x0 + 1.0, s.x(m.end));
      out += fmt::format(
          "<rect class=\"marker adjustment\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" "
          "height=\"{}\" fill=\"#2563eb\" fill-opacity=\"0.15\"><title>{}</title></rect>",
          x0, kTop, x1 - x0, kHeight - kTop - kBottom, escape(m.label));
    } else {
      out += fmt::format(
          "<line class=\"marker rollout\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" "
          "stroke=\"#111827\" stroke-width=\"1\" stroke-dasharray=\"2 2\"><title>{3}</title>"
          "</line><circle cx=\"{0:.1f}\" cy=\"{1}\" r=\"3\" fill=\"#111827\"><title>{3}</title>"
          "</circle>",
          x0, kTop, kHeight - kBottom, escape(m.label));
    }
  }
  if (!pts.empty()) {
    std::string path;
    path.reserve(pts.size() * 16);
    for (std::size_t i = 0; i < pts.size(); ++i) {
      path += fmt::format("{}{:.1f},{:.1f}", i == 0 ? "M" : " L", s.x(pts[i].at),
                          s.y(pts[i].remainingPercent));
    }
    out += fmt::format(
        "<path class=\"remaining\" d=\"{}\" fill=\"none\" stroke=\"#111827\" "
        "stroke-width=\"1.6\"/>",
        path);
    out += fmt::format(
        "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"#111827\"><title>now: {:.2f} % "
        "left</title></circle>",
        s.x(pts.back().at), s.y(last), last);
  }
  out += "</svg>";
  return out;
}

}  // namespace budgetgate::statuspage
