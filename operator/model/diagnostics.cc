#include "operator/model/diagnostics.h"

#include <fmt/format.h>

namespace budgetgate::model {

std::string Diagnostics::formatOne(const FieldError& e) const {
  std::string where = source_.empty() ? std::string("<input>") : source_;
  if (e.line > 0) where += fmt::format(":{}:{}", e.line, e.column);
  if (e.path.empty()) return fmt::format("{}: {}", where, e.message);
  return fmt::format("{}: {}: {}", where, e.path, e.message);
}

std::string Diagnostics::format() const {
  std::string out;
  for (const auto& e : errors_) {
    out += formatOne(e);
    out += '\n';
  }
  return out;
}

std::string Diagnostics::formatWarnings() const {
  std::string out;
  for (const auto& w : warnings_) {
    out += "warning: ";
    out += formatOne(w);
    out += '\n';
  }
  return out;
}

}  // namespace budgetgate::model
