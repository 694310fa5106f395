#pragma once
// Small PromQL text helpers: durations, string literals, the $window placeholder, and plain
// vector selectors (which budgetgate can share across SLOs).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operator/common/duration.h"

namespace budgetgate::prometheus {

// "5m", "30d", "90s": the largest exact unit (PromQL has no "M").
std::string promDuration(Seconds d);

// A number as PromQL text, rounded to 12 significant digits (1 - 0.999 gives 0.001).
std::string promNumber(double v);

// A double-quoted PromQL string literal.
std::string quoteString(std::string_view s);

// Escapes RE2 metacharacters so that a literal can sit in a =~ alternation.
std::string quoteRegex(std::string_view s);

// Replaces every "$window" with promDuration(window).
std::string substituteWindow(std::string_view query, Seconds window);

struct LabelMatcher {
  std::string name;
  std::string op;  // "=", "!=", "=~", "!~"
  std::string value;
  bool operator==(const LabelMatcher&) const = default;
};

// metric{matchers} with no functions, ranges or offsets.
struct Selector {
  std::string metric;                  // may be empty when __name__ is given as a matcher
  std::vector<LabelMatcher> matchers;  // sorted by (name, op, value)

  std::string render() const;  // canonical text
};

// nullopt when the text is anything but a plain vector selector.
std::optional<Selector> parseSelector(std::string_view text);

}  // namespace budgetgate::prometheus
