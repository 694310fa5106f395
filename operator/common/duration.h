#pragma once
// Durations as written in SLO manifests and on the command line ("5m", "30d", "1h30m").

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace budgetgate {

using Seconds = std::chrono::seconds;

// A fixed-length duration parsed from text. Units: s, m, h, d, w. Compound forms such as
// "1h30m" are accepted; a bare number is rejected because its unit would be a guess.
std::optional<Seconds> parseDuration(std::string_view text);

// Formats with the largest unit that divides the value exactly ("30d", "90m", "45s").
std::string formatDuration(Seconds value);

// A human-friendly, rounded rendering for messages ("2.1d", "5.0h", "12m").
std::string humanDuration(Seconds value);

}  // namespace budgetgate
