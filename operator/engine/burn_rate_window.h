#pragma once
// The fixed set of windows over which burn rates are measured (design: 5m 30m 1h 2h 6h 1d 3d).

#include <array>
#include <optional>
#include <string_view>

#include "operator/common/duration.h"

namespace budgetgate::engine {

enum class BurnRateWindow { M5, M30, H1, H2, H6, D1, D3 };

inline constexpr std::array<BurnRateWindow, 7> kBurnRateWindows = {
    BurnRateWindow::M5, BurnRateWindow::M30, BurnRateWindow::H1, BurnRateWindow::H2,
    BurnRateWindow::H6, BurnRateWindow::D1,  BurnRateWindow::D3};

constexpr std::size_t index(BurnRateWindow w) {
  return static_cast<std::size_t>(w);
}

std::string_view windowName(BurnRateWindow w);  // "5m", "1h", ...
Seconds windowLength(BurnRateWindow w);
std::optional<BurnRateWindow> windowFromName(std::string_view name);

// One burn-rate figure per window. A window without traffic has no value: it counts as zero
// for alerts and tiers and is listed as noData in the status.
struct BurnRates {
  std::array<std::optional<double>, kBurnRateWindows.size()> values{};

  std::optional<double> at(BurnRateWindow w) const { return values[index(w)]; }
  double orZero(BurnRateWindow w) const { return values[index(w)].value_or(0.0); }
  void set(BurnRateWindow w, std::optional<double> v) { values[index(w)] = v; }

  // The design's tier signal: the 1 h burn rate confirmed by the 5 m one (the smaller).
  double confirmedHourly() const;
};

}  // namespace budgetgate::engine
