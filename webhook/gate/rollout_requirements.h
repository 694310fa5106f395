#pragma once
// What a rollout (Deployment, StatefulSet, DaemonSet) lacks of the policy's requirements for a tier
// (annotations such as a rollback plan or a postmortem URL; the strategy type, maxUnavailable and
// maxSurge at most a bound). Pure.

#include <string>
#include <vector>

#include "operator/engine/error_budget_policy.h"
#include "webhook/gate/rollout_request.h"

namespace budgetgate::gate {

// One line per unmet requirement, saying what to add or change ("annotation
// budgetgate.dev/postmortem: an http(s) URL", "spec.strategy.rollingUpdate.maxUnavailable at
// most 0 (is 25%: 1 of 4 replicas)"); empty when the rollout meets them all.
std::vector<std::string> unmetRequirements(const engine::RolloutRequirements& requirements,
                                           const RolloutRequest& request);

// An IntOrString bound scaled to replicas as the deployment controller does (maxSurge rounds
// up, maxUnavailable down); nullopt when unreadable.
std::optional<long long> scaledCount(const std::string& value, long long replicas, bool roundUp);

}  // namespace budgetgate::gate
