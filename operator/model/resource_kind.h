#pragma once
// The header check every parser of budgetgate's own resources starts with: apiVersion
// slo.budgetgate.dev/v1alpha1 and one kind.

#include <yaml-cpp/yaml.h>

#include <string_view>

#include "operator/model/field.h"

namespace budgetgate::model {

// A map whose `kind` is `kind` (for sorting documents; the version is checked when parsing).
bool isKindDocument(const YAML::Node& doc, std::string_view kind);

// Records an error and returns false unless `root` is a map with budgetgate's apiVersion and
// this kind.
bool expectBudgetgateKind(const Field& root, std::string_view kind);

}  // namespace budgetgate::model
