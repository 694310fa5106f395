#pragma once
// The admission gate's decision for one request: which SLOs protect the workload (matched on its
// labels and its pod template's labels, old and new, and on the workloads a hand-made Pod or
// ReplicaSet belongs to), whether the change is one the gate looks at (a rollout, a restart, a
// relabel out of an SLO's selector, a Pod joining one, a hand-made revision), what the tiers and
// the policy's decision matrix say for the rollout's risk, which exceptions apply, and the
// resulting allow / warn / deny with a message that says why and what to do.
// Pure: the status cache, the clock and the revision history are all passed in.

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "operator/engine/error_budget_policy.h"
#include "operator/model/rollout_approval.h"
#include "operator/model/slo_status.h"
#include "webhook/gate/rollout_request.h"

namespace budgetgate::gate {

// An SLO as the gate sees it: identity, selector, resolved policy and last written status.
struct GatedSlo {
  std::string ns;
  std::string name;
  std::string uid;
  std::optional<model::LabelSelector> selector;
  std::string policyRef;                              // spec.gate.policyRef as written
  const engine::ErrorBudgetPolicy* policy = nullptr;  // never null when passed to decide()
  std::optional<model::SloStatus> status;
  long long generation = 0;
};

// Whether the SLO's gate selector picks the workload (by its labels or its pod template's).
inline bool selectsAny(const GatedSlo& slo, const WorkloadLabels& w) {
  return slo.selector && (slo.selector->matches(w.labels) ||
                          (w.templateLabels && slo.selector->matches(*w.templateLabels)));
}

struct SloFinding {
  std::string slo;  // namespace/name
  std::string uid;
  std::string policy;
  engine::Mode mode = engine::Mode::Enforce;
  engine::Tier tier = engine::Tier::Unknown;
  bool missingData = false;
  std::string missingReason;
  // Decided on the last good status although it is stale (onMissingData: last-known); the
  // status' age, e.g. "2h5m".
  std::string lastKnownAge;
  std::optional<engine::Verdict> verdict;  // nullopt when data is missing; after freeze limits
  // Exhausted under a policy with freeze limits: whether they relax the matrix's verdict now
  // (and what would), and the verdict the matrix gave.
  engine::FreezeRelief freeze;
  std::optional<engine::Verdict> matrixVerdict;
  bool denies = false;             // this SLO alone would refuse the rollout
  bool downgraded = false;         // a denial turned into a warning by warn/audit mode
  std::string exception;           // the exception that admitted it, if any
  std::string approval;            // the RolloutApproval that admitted it ("ns/name by u")
  std::vector<std::string> unmet;  // policy requirements at this tier the rollout lacks
  double remainingPercent = 0;
  double burnRate1h = 0;
};

// What the gate judged the request as.
enum class GateAction {
  Rollout,        // a new workload or pod template (a hand-made Pod's spec): tier x risk
  Restart,        // kubectl rollout restart, under a policy with restarts: gate
  Unselect,       // a label edit that takes the workload out of an SLO's selector: tier x risk
  Join,           // a label edit that puts a Pod under an SLO (its code joins the service)
  RevisionGuard,  // a hand-made ReplicaSet of a gated Deployment: only its controller may
};
std::string_view gateActionName(GateAction action);

struct GateDecision {
  bool allowed = true;
  bool gated = false;  // false: not a change the gate looks at (reason says why)
  GateAction action = GateAction::Rollout;
  std::string reason;  // short machine-readable reason
  engine::Risk risk = engine::Risk::Medium;
  std::string releaseType = "feature";
  engine::Tier tier = engine::Tier::Unknown;  // worst tier among matching SLOs with data
  std::optional<engine::Verdict> verdict;     // worst verdict among matching SLOs
  std::string exception;                      // rollback | security | slo-improvement
  std::string approval;                       // the RolloutApproval used ("ns/name by user")
  std::string rule;                           // "tier critical x risk medium = block"
  std::string message;
  std::vector<std::string> warnings;
  std::vector<std::pair<std::string, std::string>> auditAnnotations;
  std::vector<SloFinding> findings;
};

struct GateContext {
  TimePoint now{};
  std::set<std::string, std::less<>> exemptNamespaces{"kube-system"};
  // The RolloutApprovals of the request's namespace (nullptr: none).
  const std::vector<model::RolloutApproval>* approvals = nullptr;
};

// `slos` are the candidate SLOs (typically those in the request's namespace); the gate
// applies each one's selector itself.
GateDecision decide(const RolloutRequest& request, const std::vector<GatedSlo>& slos,
                    const GateContext& context);

}  // namespace budgetgate::gate
