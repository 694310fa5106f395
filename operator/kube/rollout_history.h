#pragma once
// The rollouts of a namespace's Deployments, as their ReplicaSets record them: each revision's
// creation time, number, images and release type (the Deployment's annotations, which its
// controller copies onto the ReplicaSet). Only ReplicaSets controlled by a Deployment count
// (budgetgate's webhook refuses hand-made ones that would match a gated selector, so these were
// written by the Deployment controller). Read fresh from the API server when asked: nothing kept.

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <vector>

#include "operator/common/time.h"
#include "operator/engine/budget_ledger.h"
#include "operator/kube/kube_client.h"
#include "operator/model/label_selector.h"

namespace budgetgate::kube {

struct WorkloadRevision {
  engine::RolloutRecord record;
  model::Labels podLabels;  // the ReplicaSet's labels: its pod template's
};

// From one ReplicaSetList page (pure).
std::vector<WorkloadRevision> revisionsFromList(const rapidjson::Value& list);

// Rollouts whose pods the selector matches, oldest first.
std::vector<engine::RolloutRecord> rolloutsMatching(const std::vector<WorkloadRevision>& revisions,
                                                    const model::LabelSelector& selector);

// Who rolled out which Deployment when, from budgetgate's webhook's RolloutAdmitted Events in
// budgetgate's own namespace (where namespace editors cannot write). Pure.
struct RolloutRequest {
  std::string ns;
  std::string deployment;
  TimePoint at{};
  std::string user;
};
std::vector<RolloutRequest> requestsFromEventList(const rapidjson::Value& list);
// Sets each revision's requester (revisions of namespace `ns`) from the request closest to its
// creation (within 30 s).
void attachRequesters(std::vector<WorkloadRevision>& revisions, const std::string& ns,
                      const std::vector<RolloutRequest>& requests);

// The RolloutAdmitted Events of budgetgate's namespace; empty (with a log line) when unreadable.
std::vector<RolloutRequest> listRequests(KubeClient& client, const std::string& gateNamespace);

// Lists a namespace's ReplicaSets page by page (limit/continue); nullopt with *error on failure.
std::optional<std::vector<WorkloadRevision>> listRevisions(KubeClient& client,
                                                           const std::string& ns,
                                                           std::string* error);

}  // namespace budgetgate::kube
