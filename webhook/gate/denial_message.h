#pragma once
// Human text for gate decisions: the denial message (SLO, tier, remaining budget, burn rate,
// risk, the rule that fired and how to proceed) and the per-SLO warning lines.

#include <string>

#include "webhook/gate/gate_decision.h"

namespace budgetgate::gate {

// "budgetgate/default" (the built-in default policy has no namespace: "default").
std::string policyName(const engine::ErrorBudgetPolicy& policy);

// "group sre, user alice"; empty for nobody.
std::string describeSubjects(const engine::Subjects& subjects);

// One clause per SLO: "SLO shop/checkout is critical: 8.2% of the error budget left
// (91.8% consumed), 1h burn 6.10x, exhaustion projected 2026-02-01T10:00:00Z".
std::string describeSlo(const SloFinding& finding, const GatedSlo& slo);

// The rule clause: "policy default: tier critical x risk medium = block".
std::string describeRule(const SloFinding& finding, engine::Risk risk);

// Ways forward for a denied request under this SLO's policy: lower risk, rollback, the
// exceptions, a RolloutApproval (review, and defer where the policy allows it; never block),
// and for defer and block when the SLO is projected to be back at a tier that admits it.
std::string howToProceed(const SloFinding& finding, const GatedSlo& slo, engine::Risk risk,
                         const RolloutRequest& request);

}  // namespace budgetgate::gate
