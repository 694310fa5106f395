#include "operator/common/time.h"

#include <date/date.h>

#include <cctype>
#include <charconv>

namespace budgetgate {
namespace {

// RFC 3339 years have four digits. Instants outside them could not be written back as RFC 3339
// (and far ones would overflow calendar arithmetic), so they are rejected.
constexpr TimePoint kFirstInstant{std::chrono::seconds(-62167219200)};  // 0000-01-01T00:00:00Z
constexpr TimePoint kLastInstant{std::chrono::seconds(253402300799)};   // 9999-12-31T23:59:59Z

std::optional<TimePoint> inRange(TimePoint t) {
  if (t < kFirstInstant || t > kLastInstant) return std::nullopt;
  return t;
}

bool readInt(std::string_view text, std::size_t pos, std::size_t width, int& out) {
  if (pos + width > text.size()) return false;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + pos + width, out);
  return ec == std::errc() && ptr == text.data() + pos + width;
}

}  // namespace

std::optional<std::chrono::sys_seconds> parseCivilTime(std::string_view text,
                                                       std::size_t* consumed) {
  // YYYY-MM-DD[T ]HH:MM:SS
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (text.size() < 19 || !readInt(text, 0, 4, y) || text[4] != '-' || !readInt(text, 5, 2, mo) ||
      text[7] != '-' || !readInt(text, 8, 2, d) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !readInt(text, 11, 2, h) ||
      text[13] != ':' || !readInt(text, 14, 2, mi) || text[16] != ':' || !readInt(text, 17, 2, s)) {
    return std::nullopt;
  }
  const date::year_month_day ymd{date::year(y), date::month(static_cast<unsigned>(mo)),
                                 date::day(static_cast<unsigned>(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  if (consumed) *consumed = 19;
  return date::sys_days(ymd) + std::chrono::hours(h) + std::chrono::minutes(mi) +
         std::chrono::seconds(s);
}

std::optional<TimePoint> parseTime(std::string_view text) {
  if (text.empty()) return std::nullopt;
  bool allDigits = true;
  for (char c : text) allDigits = allDigits && std::isdigit(static_cast<unsigned char>(c));
  if (allDigits) {
    long long value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
    if (value > kLastInstant.time_since_epoch().count()) return std::nullopt;
    return TimePoint(std::chrono::seconds(value));
  }
  std::size_t pos = 0;
  auto civil = parseCivilTime(text, &pos);
  if (!civil) return std::nullopt;
  if (pos < text.size() && text[pos] == '.') {  // fractional seconds: truncated
    ++pos;
    const std::size_t start = pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
    if (pos == start) return std::nullopt;
  }
  if (pos >= text.size()) return std::nullopt;  // RFC 3339 requires an offset
  if (text[pos] == 'Z' || text[pos] == 'z') return pos + 1 == text.size() ? civil : std::nullopt;
  if (text[pos] != '+' && text[pos] != '-') return std::nullopt;
  const int sign = text[pos] == '+' ? 1 : -1;
  int oh = 0, om = 0;
  if (pos + 6 != text.size() || !readInt(text, pos + 1, 2, oh) || text[pos + 3] != ':' ||
      !readInt(text, pos + 4, 2, om) || oh > 23 || om > 59) {
    return std::nullopt;
  }
  // Local time = UTC + offset, so UTC = local - offset.
  return inRange(*civil - sign * (std::chrono::hours(oh) + std::chrono::minutes(om)));
}

std::string formatTime(TimePoint t) {
  return date::format("%FT%TZ", t);
}

TimePoint nowSeconds() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

}  // namespace budgetgate
