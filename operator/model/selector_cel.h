#pragma once
// Label selectors as CEL, for a ValidatingWebhookConfiguration's matchConditions: the API
// server evaluates them before calling the webhook, so a workload that no SLO selects is never
// sent to budgetgate (and never waits for it when budgetgate is down).
//
// Every expression is total: absent labels read as an empty map, a missing object (oldObject
// on CREATE) as no match. A matchCondition that fails to evaluate rejects the request under
// failurePolicy Fail, so an expression must not be able to fail.

#include <map>
#include <string>
#include <vector>

#include "operator/model/label_selector.h"

namespace budgetgate::model {

// `selector` applied to the label map that the CEL expression `labels` yields.
std::string selectorCel(const LabelSelector& selector, const std::string& labels);

// True when the request's object or oldObject (a Deployment) has labels, or pod template
// labels, that one of the namespace's selectors matches. `false` for no selectors at all.
std::string gatedWorkloadsCel(const std::map<std::string, std::vector<LabelSelector>>& byNamespace);

}  // namespace budgetgate::model
