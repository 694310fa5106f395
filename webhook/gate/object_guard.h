#pragma once
// The gate's own objects are a way around it: deleting a gating SLO, narrowing or removing its
// spec.gate, lowering its objective, pointing it at a laxer policy, or relaxing (or shadowing)
// a policy while it denies someone. Such writes are allowed only for the owners of the policy
// that governs the SLO before the change (policy spec.owners; cluster admins always).
// Namespace editors may create SLOs and tighten them. Pure: the caller parses the objects and
// passes the cache's view of the cluster.

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "operator/model/policy_resolution.h"
#include "webhook/gate/gate_decision.h"
#include "webhook/gate/known_workload.h"

namespace budgetgate::gate {

// What of an SLO bears on the gate.
struct GuardedSlo {
  std::optional<model::LabelSelector> selector;  // spec.gate.selector; absent: gates nothing
  std::string policyRef;
  std::vector<double> targets;  // objective targets as fractions, in order
  // Canonical JSON of what an editor may not change on a gating SLO: the indicator, the time
  // window, the budgeting method and the objectives apart from their targets.
  std::string fixedSpec;
  // metadata.labels: BudgetAdjustments select SLOs by label, so relabelling a gating SLO could
  // hand it a refund meant for another.
  model::Labels labels;
};

struct SloWrite {
  Operation operation = Operation::Update;
  std::string ns, name;
  UserInfo user;
  std::optional<GuardedSlo> before;  // absent on CREATE
  std::optional<GuardedSlo> after;   // absent on DELETE
};

struct PolicyWrite {
  Operation operation = Operation::Update;
  std::string ns, name;
  UserInfo user;
  std::shared_ptr<const engine::ErrorBudgetPolicy> after;  // absent on DELETE
};

// The cluster as the webhook's cache sees it.
struct GuardContext {
  const model::PolicyMap* policies = nullptr;
  model::PolicyLookup lookup;
  std::shared_ptr<const engine::ErrorBudgetPolicy> fallback;
  const std::vector<KnownWorkload>* workloads = nullptr;  // in the object's namespace
  const std::vector<GatedSlo>* slos = nullptr;            // every SLO (for policy writes)
  TimePoint now{};
};

struct GuardDecision {
  bool allowed = true;
  bool guarded = false;  // the write loosens the gate (and was judged by owner)
  std::string message;
  std::vector<std::pair<std::string, std::string>> auditAnnotations;
};

GuardDecision guardSloWrite(const SloWrite& write, const GuardContext& context);
GuardDecision guardPolicyWrite(const PolicyWrite& write, const GuardContext& context);

}  // namespace budgetgate::gate
