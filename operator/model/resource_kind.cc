#include "operator/model/resource_kind.h"

#include <fmt/format.h>

#include "operator/model/slo.h"

namespace budgetgate::model {

bool isKindDocument(const YAML::Node& doc, std::string_view kind) {
  return doc.IsMap() && doc["kind"] && doc["kind"].IsScalar() && doc["kind"].Scalar() == kind;
}

bool expectBudgetgateKind(const Field& root, std::string_view kind) {
  if (!root.expectMap(true)) return false;
  const auto api = root.child("apiVersion").string(true);
  const auto k = root.child("kind").string(true);
  if ((api && *api != kApiVersion) || (k && *k != kind)) {
    root.error(fmt::format("expected apiVersion {} kind {}", kApiVersion, kind));
    return false;
  }
  return true;
}

}  // namespace budgetgate::model
