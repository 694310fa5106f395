#include "operator/model/label_selector.h"

#include <fmt/format.h>

#include <algorithm>

namespace budgetgate::model {

bool LabelSelector::matches(const Labels& labels) const {
  for (const auto& [k, v] : matchLabels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  for (const auto& r : matchExpressions) {
    auto it = labels.find(r.key);
    const bool has = it != labels.end();
    const bool inValues =
        has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    switch (r.op) {
      case LabelRequirement::Operator::In:
        if (!inValues) return false;
        break;
      case LabelRequirement::Operator::NotIn:
        if (inValues) return false;
        break;
      case LabelRequirement::Operator::Exists:
        if (!has) return false;
        break;
      case LabelRequirement::Operator::DoesNotExist:
        if (has) return false;
        break;
    }
  }
  return true;
}

std::string LabelSelector::toString() const {
  std::vector<std::string> parts;
  for (const auto& [k, v] : matchLabels) parts.push_back(k + "=" + v);
  for (const auto& r : matchExpressions) {
    std::string values;
    for (const auto& v : r.values) values += (values.empty() ? "" : ",") + v;
    switch (r.op) {
      case LabelRequirement::Operator::In:
        parts.push_back(fmt::format("{} in ({})", r.key, values));
        break;
      case LabelRequirement::Operator::NotIn:
        parts.push_back(fmt::format("{} notin ({})", r.key, values));
        break;
      case LabelRequirement::Operator::Exists:
        parts.push_back(r.key);
        break;
      case LabelRequirement::Operator::DoesNotExist:
        parts.push_back("!" + r.key);
        break;
    }
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

LabelSelector parseLabelSelector(const Field& field) {
  LabelSelector selector;
  if (!field.expectMap()) return selector;
  field.rejectUnknownKeys({"matchLabels", "matchExpressions"});
  const Field labels = field.child("matchLabels");
  if (labels.expectMap()) {
    for (const auto& kv : labels.node()) {
      const std::string key = kv.first.Scalar();
      if (auto v = labels.child(key).string(true)) selector.matchLabels[key] = *v;
    }
  }
  const Field exprs = field.child("matchExpressions");
  if (exprs.expectSequence()) {
    for (std::size_t i = 0; i < exprs.size(); ++i) {
      const Field e = exprs.item(i);
      if (!e.expectMap(true)) continue;
      e.rejectUnknownKeys({"key", "operator", "values"});
      LabelRequirement r;
      r.key = e.child("key").string(true).value_or("");
      const auto op = e.child("operator").string(true);
      if (op == "In") {
        r.op = LabelRequirement::Operator::In;
      } else if (op == "NotIn") {
        r.op = LabelRequirement::Operator::NotIn;
      } else if (op == "Exists") {
        r.op = LabelRequirement::Operator::Exists;
      } else if (op == "DoesNotExist") {
        r.op = LabelRequirement::Operator::DoesNotExist;
      } else if (op) {
        e.child("operator")
            .error(fmt::format("expected In, NotIn, Exists or DoesNotExist, got \"{}\"", *op));
      }
      const Field values = e.child("values");
      if (values.expectSequence()) {
        for (std::size_t j = 0; j < values.size(); ++j) {
          if (auto v = values.item(j).string(true)) r.values.push_back(*v);
        }
      }
      const bool wantsValues =
          r.op == LabelRequirement::Operator::In || r.op == LabelRequirement::Operator::NotIn;
      if (op && wantsValues && r.values.empty()) {
        e.child("values").error(fmt::format("operator {} needs at least one value", *op));
      }
      if (op && !wantsValues && !r.values.empty()) {
        e.child("values").error(fmt::format("operator {} takes no values", *op));
      }
      selector.matchExpressions.push_back(std::move(r));
    }
  }
  return selector;
}

}  // namespace budgetgate::model
