#include "operator/engine/burn_rate_window.h"

#include <algorithm>

namespace budgetgate::engine {
namespace {

struct WindowInfo {
  std::string_view name;
  long long seconds;
};

constexpr std::array<WindowInfo, kBurnRateWindows.size()> kInfo = {{
    {"5m", 300},
    {"30m", 1800},
    {"1h", 3600},
    {"2h", 7200},
    {"6h", 21600},
    {"1d", 86400},
    {"3d", 259200},
}};

}  // namespace

std::string_view windowName(BurnRateWindow w) {
  return kInfo[index(w)].name;
}

Seconds windowLength(BurnRateWindow w) {
  return Seconds(kInfo[index(w)].seconds);
}

std::optional<BurnRateWindow> windowFromName(std::string_view name) {
  for (auto w : kBurnRateWindows) {
    if (windowName(w) == name) return w;
  }
  return std::nullopt;
}

double BurnRates::confirmedHourly() const {
  return std::min(orZero(BurnRateWindow::H1), orZero(BurnRateWindow::M5));
}

}  // namespace budgetgate::engine
