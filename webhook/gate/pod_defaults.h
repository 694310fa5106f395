#pragma once
// The values the API server fills into a pod template of a built-in workload when they are
// absent (Kubernetes' SetDefaults for PodSpec, Container, probes, ports, volumes), removed where
// a template holds exactly them. An Argo Rollout's spec.template is a custom resource's field and
// is stored as written, while the ReplicaSets its controller creates are defaulted: with the
// defaults removed from both, a rollback to one of them compares equal.
//
// Removing a field that holds its default never changes what the Pod runs, so two templates
// that compare equal afterwards are the same Pod; a default missing from this list can only
// make a real rollback go unrecognised (then judged as a rollout), never the reverse.

#include <rapidjson/document.h>

namespace budgetgate::gate {

// Removes, in place, every listed field that holds its default value.
void removePodDefaults(rapidjson::Value& podTemplate);

}  // namespace budgetgate::gate
