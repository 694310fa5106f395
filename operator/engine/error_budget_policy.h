#pragma once
// ErrorBudgetPolicy: what a tier means for a rollout. A plain value type with the design's
// defaults; parsing lives in operator/model, evaluation in decision_matrix.h and webhook/gate.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operator/common/duration.h"
#include "operator/engine/status_tier.h"

namespace budgetgate::engine {

enum class Risk { Low, Medium, High };
// approve -> allow; review -> allow with a warning (or require an approver);
// defer / block -> deny (defer says "later", block says "not until the budget recovers").
enum class Verdict { Approve, Review, Defer, Block };
enum class Mode { Enforce, Warn, Audit };
enum class MissingDataAction { AllowWithWarning, Deny };
enum class ReviewAction { Warn, RequireApproval };

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

inline constexpr std::array<Risk, 3> kRisks = {Risk::Low, Risk::Medium, Risk::High};

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

struct Exceptions {
  bool rollback = true;     // recognised structurally, never by annotation alone
  Subjects security;        // who may ship release-type "security" past the gate
  Subjects sloImprovement;  // who may ship release-type "slo-improvement"
};

struct ErrorBudgetPolicy {
  std::string name = "default";
  std::string ns;  // empty for the built-in default
  Mode mode = Mode::Enforce;
  TierThresholds tiers;
  Hysteresis hysteresis;
  DecisionMatrix matrix;
  ReviewAction review = ReviewAction::Warn;
  Subjects approvers;  // with RequireApproval: requesters whose "review" rollouts pass
  Exceptions exceptions;
  MissingDataAction onMissingData = MissingDataAction::AllowWithWarning;
  Seconds staleAfter = Seconds(10 * 60);  // status older than this counts as missing
};

}  // namespace budgetgate::engine
