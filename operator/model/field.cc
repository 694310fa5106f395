#include "operator/model/field.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

namespace budgetgate::model {

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
      return "nothing";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar: {
      std::string s = node.Scalar();
      if (s.size() > 40) s = s.substr(0, 37) + "...";
      return fmt::format("\"{}\"", s);
    }
  }
  return "?";
}

Field Field::child(std::string_view key) const {
  std::string childPath = path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
  if (!node_.IsMap()) {
    return Field(YAML::Node(YAML::NodeType::Undefined), childPath, *diag_, anchor_);
  }
  // A const lookup does not insert; a missing key yields an "invalid" node on which most calls
  // throw, so it is replaced by a plain undefined node.
  const YAML::Node& constNode = node_;
  YAML::Node found = constNode[std::string(key)];
  if (!found.IsDefined()) {
    return Field(YAML::Node(YAML::NodeType::Undefined), std::move(childPath), *diag_, anchor_);
  }
  return Field(found, std::move(childPath), *diag_);
}

Field Field::item(std::size_t i) const {
  std::string childPath = fmt::format("{}[{}]", path_, i);
  if (!node_.IsSequence() || i >= node_.size()) {
    return Field(YAML::Node(YAML::NodeType::Undefined), childPath, *diag_, anchor_);
  }
  const YAML::Node& constNode = node_;
  return Field(constNode[i], std::move(childPath), *diag_);
}

FieldError Field::located(std::string message) const {
  FieldError e{path_, 0, 0, std::move(message)};
  const auto mark = node_.IsDefined() ? node_.Mark() : anchor_;
  if (!mark.is_null() && mark.line >= 0) {
    e.line = mark.line + 1;
    e.column = mark.column + 1;
  }
  return e;
}

void Field::error(std::string message) const {
  diag_->add(located(std::move(message)));
}

void Field::warn(std::string message) const {
  diag_->warn(located(std::move(message)));
}

void Field::missing(std::string_view key, std::string_view expected) const {
  child(key).error(fmt::format("is required ({})", expected));
}

std::optional<std::string> Field::string(bool required) const {
  if (!present()) {
    if (required) error("is required (a string)");
    return std::nullopt;
  }
  if (!node_.IsScalar()) {
    error(fmt::format("expected a string, got {}", describe(node_)));
    return std::nullopt;
  }
  return node_.Scalar();
}

std::optional<double> Field::number(bool required) const {
  if (!present()) {
    if (required) error("is required (a number)");
    return std::nullopt;
  }
  if (node_.IsScalar() && node_.Tag() != "!") {
    const std::string& s = node_.Scalar();
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size() && std::isfinite(v)) return v;
  }
  error(fmt::format("expected a number, got {}", describe(node_)));
  return std::nullopt;
}

std::optional<bool> Field::boolean(bool required) const {
  if (!present()) {
    if (required) error("is required (true or false)");
    return std::nullopt;
  }
  if (node_.IsScalar() && node_.Tag() != "!") {
    const std::string& s = node_.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  error(fmt::format("expected true or false, got {}", describe(node_)));
  return std::nullopt;
}

std::optional<Seconds> Field::duration(bool required) const {
  auto s = string(required);
  if (!s) return std::nullopt;
  auto d = parseDuration(*s);
  if (!d || d->count() <= 0) {
    error(fmt::format("expected a positive duration such as 5m, 1h or 30d, got \"{}\"", *s));
    return std::nullopt;
  }
  return d;
}

bool Field::expectMap(bool required) const {
  if (!present()) {
    if (required) error("is required (a map)");
    return false;
  }
  if (!node_.IsMap()) {
    error(fmt::format("expected a map, got {}", describe(node_)));
    return false;
  }
  return true;
}

bool Field::expectSequence(bool required) const {
  if (!present()) {
    if (required) error("is required (a list)");
    return false;
  }
  if (!node_.IsSequence()) {
    error(fmt::format("expected a list, got {}", describe(node_)));
    return false;
  }
  return true;
}

void Field::rejectUnknownKeys(std::initializer_list<std::string_view> known) const {
  if (!node_.IsMap()) return;
  for (const auto& kv : node_) {
    if (!kv.first.IsScalar()) continue;
    const std::string& key = kv.first.Scalar();
    bool found = false;
    for (auto k : known) found = found || k == key;
    if (!found) {
      std::string list;
      for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      Field(kv.first, path_.empty() ? key : path_ + "." + key, *diag_)
          .error(fmt::format("unknown field (expected one of: {})", list));
    }
  }
}

}  // namespace budgetgate::model
