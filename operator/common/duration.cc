#include "operator/common/duration.h"

#include <fmt/format.h>

#include <cstdint>
#include <limits>

namespace budgetgate {
namespace {

std::optional<std::int64_t> unitSeconds(char unit) {
  switch (unit) {
    case 's':
      return 1;
    case 'm':
      return 60;
    case 'h':
      return 3600;
    case 'd':
      return 86400;
    case 'w':
      return 7 * 86400;
    default:
      return std::nullopt;
  }
}

}  // namespace

std::optional<Seconds> parseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t number = 0;
    std::size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (number > (std::numeric_limits<std::int64_t>::max() - 9) / 10) return std::nullopt;
      number = number * 10 + (text[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || i >= text.size()) return std::nullopt;
    const auto unit = unitSeconds(text[i]);
    if (!unit) return std::nullopt;
    ++i;
    if (number > std::numeric_limits<std::int64_t>::max() / *unit) return std::nullopt;
    if (total > std::numeric_limits<std::int64_t>::max() - number * *unit) return std::nullopt;
    total += number * *unit;
  }
  return Seconds(total);
}

std::string formatDuration(Seconds value) {
  const std::int64_t s = value.count();
  if (s == 0) return "0s";
  if (s % 86400 == 0) return fmt::format("{}d", s / 86400);
  if (s % 3600 == 0) return fmt::format("{}h", s / 3600);
  if (s % 60 == 0) return fmt::format("{}m", s / 60);
  return fmt::format("{}s", s);
}

std::string humanDuration(Seconds value) {
  const double s = static_cast<double>(value.count());
  if (s >= 86400) return fmt::format("{:.1f}d", s / 86400);
  if (s >= 3600) return fmt::format("{:.1f}h", s / 3600);
  if (s >= 60) return fmt::format("{:.0f}m", s / 60);
  return fmt::format("{:.0f}s", s);
}

}  // namespace budgetgate
