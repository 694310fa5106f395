#pragma once
// ErrorBudgetPolicy: what a tier means for a rollout. A plain value type with the design's
// defaults; parsing lives in operator/model, evaluation in decision_matrix.h and webhook/gate.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operator/common/duration.h"
#include "operator/engine/freeze_limit.h"
#include "operator/engine/status_tier.h"

namespace budgetgate::engine {

enum class Risk { Low, Medium, High };
// approve -> allow; review -> allow with a warning (or require an approver);
// defer / block -> deny (defer says "later", block says "not until the budget recovers").
enum class Verdict { Approve, Review, Defer, Block };
enum class Mode { Enforce, Warn, Audit };
// What the gate does when an SLO's status is stale or missing (controller or Prometheus down).
// LastKnown keeps deciding on the last good tier for a bounded time: an outage of the monitoring
// must not be a way to unfreeze a service.
enum class MissingDataAction { AllowWithWarning, Deny, LastKnown };
enum class ReviewAction { Warn, RequireApproval };
// Whether `kubectl rollout restart` (a pod template that differs only in the restartedAt
// annotation) is gated like a rollout. A restart runs the same pod spec, as deleting the pods
// would; with mutable image tags or ConfigMaps read at start it can ship new code, hence Gate.
enum class RestartAction { Allow, Gate };

std::string_view riskName(Risk r);
std::optional<Risk> riskFromName(std::string_view name);
std::string_view verdictName(Verdict v);
std::optional<Verdict> verdictFromName(std::string_view name);
std::string_view modeName(Mode m);
std::optional<Mode> modeFromName(std::string_view name);
std::string_view missingDataActionName(MissingDataAction a);
std::optional<MissingDataAction> missingDataActionFromName(std::string_view name);
std::string_view reviewActionName(ReviewAction a);
std::optional<ReviewAction> reviewActionFromName(std::string_view name);
std::string_view restartActionName(RestartAction a);
std::optional<RestartAction> restartActionFromName(std::string_view name);

inline constexpr std::array<Risk, 3> kRisks = {Risk::Low, Risk::Medium, Risk::High};

// Cluster administrators: always owners of every policy (they can remove the gate anyway).
inline constexpr std::string_view kClusterAdminGroup = "system:masters";

// Users and groups (as in an AdmissionReview's userInfo) allowed to do something.
struct Subjects {
  std::vector<std::string> users;
  std::vector<std::string> groups;

  bool empty() const { return users.empty() && groups.empty(); }
  bool admits(std::string_view user, const std::vector<std::string>& userGroups) const;
};

// tier x risk -> verdict. Rows follow Tier order Healthy..Exhausted.
struct DecisionMatrix {
  std::array<std::array<Verdict, 3>, kRankedTierCount> cells{{
      {Verdict::Approve, Verdict::Approve, Verdict::Review},  // healthy
      {Verdict::Approve, Verdict::Review, Verdict::Defer},    // attention
      {Verdict::Review, Verdict::Defer, Verdict::Block},      // warning
      {Verdict::Defer, Verdict::Block, Verdict::Block},       // critical
      {Verdict::Block, Verdict::Block, Verdict::Block},       // exhausted
  }};

  // Tier must not be Unknown (missing data has its own rule).
  Verdict at(Tier tier, Risk risk) const;
  void set(Tier tier, Risk risk, Verdict v);
};

// An exception that holds only at some tiers: seed 002 lets bug fixes through at warning and
// critical, never once the budget is exhausted.
struct TieredException {
  Subjects who;                                            // nobody by default
  std::vector<Tier> tiers{Tier::Warning, Tier::Critical};  // where it applies

  bool appliesAt(Tier tier) const;
};

struct Exceptions {
  bool rollback = true;     // recognised structurally, never by annotation alone
  Subjects security;        // who may ship release-type "security" past the gate
  Subjects sloImprovement;  // who may ship release-type "slo-improvement"
  TieredException bugfix;   // who may ship release-type "bugfix", and at which tiers
};

// RolloutApprovals: created by one of the policy's approvers, they admit a rollout the
// matrix sends to review (under require-approval) and, with approveDefer, to defer. Never block.
struct ApprovalRules {
  bool approveDefer = false;
  // An approval that lasts longer (expires - creation) does not count: approvals are for one
  // rollout, not a standing pass.
  Seconds maxDuration = Seconds(24 * 3600);
};

// What a rollout must carry at a tier (seed 002 asks for a rollback plan, a postmortem...):
// annotations on the Deployment, and rollout-strategy constraints. A rollout that lacks one is
// denied with what to add; rollbacks never are (the way out stays open).
struct AnnotationRequirement {
  std::string name;
  bool url = false;  // the value must be an http(s) URL
};
struct RolloutRequirements {
  std::vector<AnnotationRequirement> annotations;
  std::optional<std::string> strategyType;    // RollingUpdate or Recreate
  std::optional<std::string> maxUnavailable;  // at most: an integer or a percentage of replicas
  std::optional<std::string> maxSurge;        // at most
  // Only a progressive rollout: an Argo Rollout's canary with steps, or a rolling update of a
  // Deployment, StatefulSet or DaemonSet (bounded by maxUnavailable/maxSurge above, if set).
  bool progressive = false;

  bool empty() const {
    return annotations.empty() && !strategyType && !maxUnavailable && !maxSurge && !progressive;
  }
};

struct ErrorBudgetPolicy {
  std::string name = "default";
  std::string ns;  // empty for the built-in default
  Mode mode = Mode::Enforce;
  TierThresholds tiers;
  Hysteresis hysteresis;
  FreezeLimits freeze;  // off by default: a spent budget freezes until it is back
  // Burn-rate windows that counted fewer events than this neither fire alerts nor drive the
  // tier (a handful of requests makes any burn rate; Pyrra users ask for this). 0: off. The
  // SLO window's budget still counts: a budget spent is spent.
  double minEvents = 0;
  // The ledger attributes a burn episode to a rollout that came at most this long before it.
  Seconds ledgerAttribution = Seconds(3600);
  DecisionMatrix matrix;
  std::array<RolloutRequirements, kRankedTierCount> requirements;  // by tier, Healthy first
  ReviewAction review = ReviewAction::Warn;
  Subjects approvers;  // their own review rollouts pass (require-approval); they approve others
  ApprovalRules approvals;
  Exceptions exceptions;
  MissingDataAction onMissingData = MissingDataAction::LastKnown;
  Seconds staleAfter = Seconds(10 * 60);  // status older than this counts as missing
  // LastKnown: how long after lastEvaluated the last good tier still decides; after that, and
  // for an SLO that never had a good status, missingDataFallback applies.
  Seconds lastKnownFor = Seconds(24 * 3600);
  MissingDataAction missingDataFallback = MissingDataAction::AllowWithWarning;  // never LastKnown
  RestartAction restarts = RestartAction::Allow;
  // Who may loosen the gate's own objects governed by this policy: delete a gating SLO, narrow
  // or remove its spec.gate, point it at a laxer policy, relax this policy. Cluster admins
  // (group system:masters) always may.
  Subjects owners;

  bool isOwner(std::string_view user, const std::vector<std::string>& groups) const;
};

}  // namespace budgetgate::engine
