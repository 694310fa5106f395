#pragma once
// A cursor into a YAML document that knows its field path and reports typed-read errors to a
// Diagnostics sink. Reading never throws: a wrong type is recorded and yields nullopt.

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "operator/common/duration.h"
#include "operator/model/diagnostics.h"

namespace budgetgate::model {

class Field {
 public:
  Field(YAML::Node node, std::string path, Diagnostics& diagnostics)
      : node_(std::move(node)), path_(std::move(path)), diag_(&diagnostics) {
    if (node_.IsDefined()) anchor_ = node_.Mark();
  }

  const std::string& path() const { return path_; }
  Diagnostics& diagnostics() const { return *diag_; }
  const YAML::Node& node() const { return node_; }
  // Defined and not null.
  bool present() const { return node_.IsDefined() && !node_.IsNull(); }
  bool isMap() const { return node_.IsMap(); }
  bool isSequence() const { return node_.IsSequence(); }
  std::size_t size() const { return node_.IsSequence() || node_.IsMap() ? node_.size() : 0; }

  Field child(std::string_view key) const;
  Field item(std::size_t i) const;

  void error(std::string message) const;
  void warn(std::string message) const;
  // Records an error for a missing child, located at this (parent) node.
  void missing(std::string_view key, std::string_view expected) const;

  // Scalars. `required` records "is required" when absent.
  std::optional<std::string> string(bool required = false) const;
  std::optional<double> number(bool required = false) const;
  std::optional<bool> boolean(bool required = false) const;
  std::optional<Seconds> duration(bool required = false) const;
  // A non-empty map or sequence is expected when present.
  bool expectMap(bool required = false) const;
  bool expectSequence(bool required = false) const;

  // Records an error for each key of this map not listed (catches typos such as "targt").
  void rejectUnknownKeys(std::initializer_list<std::string_view> known) const;

 private:
  Field(YAML::Node node, std::string path, Diagnostics& diagnostics, YAML::Mark anchor)
      : Field(std::move(node), std::move(path), diagnostics) {
    if (!node_.IsDefined()) anchor_ = anchor;
  }

  FieldError located(std::string message) const;

  YAML::Node node_;
  std::string path_;
  // Where to point errors about a missing field: the nearest enclosing node that exists.
  YAML::Mark anchor_ = YAML::Mark::null_mark();
  Diagnostics* diag_;
};

// Human name of a YAML node's kind for messages ("a map", "a list", "the string \"x\"").
std::string describe(const YAML::Node& node);

}  // namespace budgetgate::model
