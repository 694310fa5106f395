#pragma once
// "Would a rollout of this workload pass now, and what would it cost?" for CD tools (an Argo
// Rollouts AnalysisTemplate, a Flagger webhook, a CI step): the gate's own decision for a new
// pod template of a known workload, at each risk, with the SLOs' figures, and what a canary
// would spend at the current burn. Pure: the webhook's cache snapshot is passed in.

#include <optional>
#include <string>
#include <vector>

#include "operator/common/duration.h"
#include "webhook/gate/gate_decision.h"
#include "webhook/gate/known_workload.h"

namespace budgetgate::gate {

struct DecisionQuery {
  std::string ns;
  WorkloadKind kind = WorkloadKind::Deployment;
  std::string name;
  engine::Risk risk = engine::Risk::Medium;
  UserInfo user;  // the caller, as the gate's exceptions would see it
  // projectedSpend: a canary taking `trafficShare` (0..1] of the traffic for `duration`.
  std::optional<double> trafficShare;
  std::optional<Seconds> duration;
};

struct ProjectedSpend {
  std::string slo;
  double burnRate1h = 0;
  double percentOfBudget = 0;        // budget the canary would spend, percent of the total
  double remainingAfterPercent = 0;  // remaining percent once it has
  std::string note;                  // why it could not be projected, if so
};

struct RiskDecision {
  engine::Risk risk = engine::Risk::Medium;
  bool allowed = true;
  std::string verdict;  // approve, review, defer, block; "not-gated"; "missing-data"
  std::string reason;   // one line
};

struct DecisionAnswer {
  bool found = false;                 // the workload exists in the cache
  GateDecision decision;              // at the query's risk
  std::vector<RiskDecision> byRisk;   // low, medium, high
  std::vector<const GatedSlo*> slos;  // those that select the workload
  std::vector<ProjectedSpend> projected;
};

// `workloads` and `slos` are the namespace's (cache snapshot).
DecisionAnswer answerDecision(const DecisionQuery& query,
                              const std::vector<KnownWorkload>& workloads,
                              const std::vector<GatedSlo>& slos, const GateContext& context);

// One line for a decision: the rule and outcome, or why it is not gated.
std::string oneLineReason(const GateDecision& d);

}  // namespace budgetgate::gate
