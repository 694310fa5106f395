#pragma once
// Kubernetes label selectors (matchLabels + matchExpressions), as in metav1.LabelSelector.

#include <map>
#include <string>
#include <vector>

#include "operator/model/field.h"

namespace budgetgate::model {

using Labels = std::map<std::string, std::string, std::less<>>;

struct LabelRequirement {
  enum class Operator { In, NotIn, Exists, DoesNotExist };
  std::string key;
  Operator op = Operator::In;
  std::vector<std::string> values;
};

struct LabelSelector {
  Labels matchLabels;
  std::vector<LabelRequirement> matchExpressions;

  // An empty selector matches everything, as in Kubernetes. (An SLO without spec.gate.selector
  // gates nothing: that is decided by the caller, not here.)
  bool matches(const Labels& labels) const;
  bool empty() const { return matchLabels.empty() && matchExpressions.empty(); }
  std::string toString() const;  // "app=checkout,tier in (web,api)"
};

// Parses a selector map, recording precise errors for bad operators or values.
LabelSelector parseLabelSelector(const Field& field);

}  // namespace budgetgate::model
