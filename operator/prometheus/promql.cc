#include "operator/prometheus/promql.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace budgetgate::prometheus {
namespace {

bool isNameStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool isNameChar(char c) {
  return isNameStart(c) || std::isdigit(static_cast<unsigned char>(c));
}
bool isLabelStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool isLabelChar(char c) {
  return isLabelStart(c) || std::isdigit(static_cast<unsigned char>(c));
}

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  void skipSpace() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool done() const { return i_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  template <typename Pred>
  std::string take(Pred pred) {
    const std::size_t start = i_;
    while (i_ < s_.size() && pred(s_[i_])) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }
  // A PromQL string literal in ", ' or ` quotes.
  std::optional<std::string> stringLiteral() {
    const char quote = peek();
    if (quote != '"' && quote != '\'' && quote != '`') return std::nullopt;
    ++i_;
    std::string out;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == quote) return out;
      if (c == '\\' && quote != '`') {
        if (i_ >= s_.size()) return std::nullopt;
        char e = s_[i_++];
        switch (e) {
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case '\\':
            out += '\\';
            break;
          case '"':
            out += '"';
            break;
          case '\'':
            out += '\'';
            break;
          default:
            return std::nullopt;  // rarer escapes: not a "plain" selector for us
        }
        continue;
      }
      out += c;
    }
    return std::nullopt;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

std::string promDuration(Seconds d) {
  const long long s = d.count();
  if (s > 0 && s % 86400 == 0) return fmt::format("{}d", s / 86400);
  if (s > 0 && s % 3600 == 0) return fmt::format("{}h", s / 3600);
  if (s > 0 && s % 60 == 0) return fmt::format("{}m", s / 60);
  return fmt::format("{}s", std::max(1LL, s));
}

std::string promNumber(double v) {
  const double rounded = std::strtod(fmt::format("{:.12g}", v).c_str(), nullptr);
  return fmt::format("{}", rounded);
}

std::string quoteString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += c;
    }
  }
  out += '"';
  return out;
}

std::string quoteRegex(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::string substituteWindow(std::string_view query, Seconds window) {
  static constexpr std::string_view kPlaceholder = "$window";
  const std::string replacement = promDuration(window);
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const auto found = query.find(kPlaceholder, pos);
    if (found == std::string_view::npos) break;
    out.append(query.substr(pos, found - pos));
    out += replacement;
    pos = found + kPlaceholder.size();
  }
  out.append(query.substr(pos));
  return out;
}

std::string Selector::render() const {
  std::string out = metric + "{";
  bool first = true;
  for (const auto& m : matchers) {
    if (!first) out += ",";
    first = false;
    out += m.name + m.op + quoteString(m.value);
  }
  out += "}";
  return out;
}

std::optional<Selector> parseSelector(std::string_view text) {
  Cursor c(text);
  Selector sel;
  c.skipSpace();
  if (isNameStart(c.peek())) sel.metric = c.take(isNameChar);
  c.skipSpace();
  // Keywords that look like metric names but start expressions.
  static constexpr std::string_view kKeywords[] = {
      "sum", "rate", "increase", "avg", "min", "max", "count", "by", "without", "on", "ignoring"};
  if (std::find(std::begin(kKeywords), std::end(kKeywords), sel.metric) != std::end(kKeywords) &&
      c.peek() == '(') {
    return std::nullopt;
  }
  if (c.eat('{')) {
    c.skipSpace();
    while (!c.eat('}')) {
      if (!isLabelStart(c.peek())) return std::nullopt;
      LabelMatcher m;
      m.name = c.take(isLabelChar);
      c.skipSpace();
      if (c.eat('=')) {
        m.op = c.eat('~') ? "=~" : "=";
      } else if (c.eat('!')) {
        if (c.eat('=')) {
          m.op = "!=";
        } else if (c.eat('~')) {
          m.op = "!~";
        } else {
          return std::nullopt;
        }
      } else {
        return std::nullopt;
      }
      c.skipSpace();
      auto value = c.stringLiteral();
      if (!value) return std::nullopt;
      m.value = std::move(*value);
      if (m.name == "__name__" && m.op == "=" && sel.metric.empty()) {
        sel.metric = m.value;
      } else {
        sel.matchers.push_back(std::move(m));
      }
      c.skipSpace();
      if (c.eat(',')) {
        c.skipSpace();
        continue;
      }
      if (c.peek() != '}') return std::nullopt;
    }
  }
  c.skipSpace();
  if (!c.done() || (sel.metric.empty() && sel.matchers.empty())) return std::nullopt;
  std::sort(sel.matchers.begin(), sel.matchers.end(), [](const auto& a, const auto& b) {
    return std::tie(a.name, a.op, a.value) < std::tie(b.name, b.op, b.value);
  });
  return sel;
}

}  // namespace budgetgate::prometheus
