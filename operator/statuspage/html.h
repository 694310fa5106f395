#pragma once
// Small helpers for the status page's server-rendered HTML: escaping (every value that comes
// from a resource is untrusted text: a namespace editor writes SLO names, labels, messages),
// number formats and the tier palette. Pure.

#include <optional>
#include <string>
#include <string_view>

#include "operator/common/time.h"
#include "operator/engine/status_tier.h"

namespace budgetgate::statuspage {

// Text for an element's content or a double-quoted attribute value.
std::string escape(std::string_view text);

// "12.3 %" style figures; "–" when absent.
std::string percent(std::optional<double> value, int decimals = 2);
std::string number(std::optional<double> value, int decimals = 2);
std::string timeText(const std::optional<TimePoint>& t);
// "3h 12m ago" / "in 2d 4h" relative to `now`.
std::string relativeTime(TimePoint t, TimePoint now);

// CSS class of a tier ("tier-warning"), and its fill colour for SVG bands.
std::string tierClass(engine::Tier tier);
std::string_view tierColour(engine::Tier tier);

// The page around `body`: head, inline stylesheet (no external resources), header with the
// breadcrumb, footer. `title` and `breadcrumb` are escaped here; `body` is HTML.
std::string page(std::string_view title, std::string_view breadcrumbHtml, std::string_view body,
                 std::string_view footer);

}  // namespace budgetgate::statuspage
