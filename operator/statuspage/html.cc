#include "operator/statuspage/html.h"

#include <fmt/format.h>

#include <cmath>

namespace budgetgate::statuspage {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string percent(std::optional<double> value, int decimals) {
  if (!value || !std::isfinite(*value)) return "–";
  return fmt::format("{:.{}f} %", *value, decimals);
}

std::string number(std::optional<double> value, int decimals) {
  if (!value || !std::isfinite(*value)) return "–";
  return fmt::format("{:.{}f}", *value, decimals);
}

std::string timeText(const std::optional<TimePoint>& t) {
  return t ? formatTime(*t) : "–";
}

std::string relativeTime(TimePoint t, TimePoint now) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(t - now).count();
  const long long a = std::llabs(seconds);
  std::string span;
  if (a < 60) {
    span = fmt::format("{}s", a);
  } else if (a < 3600) {
    span = fmt::format("{}m", a / 60);
  } else if (a < 86400) {
    span = fmt::format("{}h {}m", a / 3600, a % 3600 / 60);
  } else {
    span = fmt::format("{}d {}h", a / 86400, a % 86400 / 3600);
  }
  return seconds < 0 ? span + " ago" : "in " + span;
}

std::string tierClass(engine::Tier tier) {
  return fmt::format("tier-{}", engine::tierName(tier));
}

std::string_view tierColour(engine::Tier tier) {
  switch (tier) {
    case engine::Tier::Healthy:
      return "#2e7d32";
    case engine::Tier::Attention:
      return "#9e9d24";
    case engine::Tier::Warning:
      return "#ef6c00";
    case engine::Tier::Critical:
      return "#c62828";
    case engine::Tier::Exhausted:
      return "#4a148c";
    case engine::Tier::Unknown:
      break;
  }
  return "#616161";
}

namespace {

constexpr std::string_view kStyle = R"css(
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1f;background:#f6f7f9}
header{background:#1f2937;color:#fff;padding:10px 16px;display:flex;flex-wrap:wrap;gap:8px;align-items:baseline}
header a{color:#cfe3ff}
header .brand{font-weight:600;margin-right:12px}
main{padding:12px 16px;max-width:1400px;margin:0 auto}
footer{color:#6b7280;font-size:12px;padding:12px 16px}
h1{font-size:20px;margin:8px 0}
h2{font-size:16px;margin:18px 0 6px}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;background:#fff;border:1px solid #e5e7eb;border-radius:6px}
table{border-collapse:collapse;width:100%}
th,td{padding:6px 8px;text-align:left;border-bottom:1px solid #eef0f3;white-space:nowrap;vertical-align:top}
td.wrap{white-space:normal;min-width:16em}
th{background:#f9fafb;font-weight:600;font-size:12px;color:#374151}
.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;font-weight:600}
.tier-healthy{background:#2e7d32}.tier-attention{background:#9e9d24}.tier-warning{background:#ef6c00}
.tier-critical{background:#c62828}.tier-exhausted{background:#4a148c}.tier-unknown{background:#616161}
.verdict-approve{color:#2e7d32}.verdict-review{color:#ef6c00}.verdict-defer{color:#c62828}.verdict-block{color:#4a148c;font-weight:600}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:6px;padding:8px 12px;min-width:120px}
.card .label{font-size:12px;color:#6b7280}.card .value{font-size:18px;font-weight:600}
.chart{background:#fff;border:1px solid #e5e7eb;border-radius:6px;padding:8px}
.chart svg{width:100%;height:auto;display:block}
.muted{color:#6b7280}
nav.groups a{margin-right:10px}
.firing{color:#c62828;font-weight:600}
@media (max-width:600px){main{padding:8px}th,td{padding:4px 6px}.card{min-width:45%}}
)css";

}  // namespace

std::string page(std::string_view title, std::string_view breadcrumbHtml, std::string_view body,
                 std::string_view footer) {
  std::string out;
  out.reserve(body.size() + 4096);
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  out += "<title>" + escape(title) + "</title><style>";
  out += kStyle;
  out += "</style></head><body><header><span class=\"brand\">budgetgate</span>";
  out += breadcrumbHtml;
  out += "</header><main>";
  out += body;
  out += "</main><footer>";
  out += escape(footer);
  out += "</footer></body></html>\n";
  return out;
}

}  // namespace budgetgate::statuspage
