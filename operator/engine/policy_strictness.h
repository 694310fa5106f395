#pragma once
// Is one ErrorBudgetPolicy at least as strict as another? Used to decide whether a change to
// the gate's own objects (a policy edit, an SLO pointed at another policy, a namespace policy
// that shadows the global one) loosens the gate, which only the policy's owners may do.
//
// A partial order, judged field by field; a change that cannot be shown to be at least as
// strict counts as loosening (the safe answer when in doubt).

#include <optional>
#include <string>

#include "operator/engine/error_budget_policy.h"

namespace budgetgate::engine {

// nullopt when `candidate` is at least as strict as `current` in every respect; otherwise the
// first loosening found, for a message: "mode enforce -> warn",
// "decisions.exhausted.medium block -> review".
std::optional<std::string> firstLoosening(const ErrorBudgetPolicy& candidate,
                                          const ErrorBudgetPolicy& current);

}  // namespace budgetgate::engine
