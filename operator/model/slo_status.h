#pragma once
// The status of a ServiceLevelObjective: what the controller writes to the resource, what
// `budgetgate evaluate` prints, and what the webhook's cache reads back. One shape, one codec.

#include <rapidjson/document.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "operator/common/time.h"
#include "operator/engine/budget_ledger.h"
#include "operator/engine/slo_assessment.h"

namespace budgetgate::model {

struct Condition {
  std::string type;    // Ready, DataAvailable, BudgetExhausted
  std::string status;  // "True" / "False" / "Unknown"
  std::string reason;  // CamelCase
  std::string message;
  TimePoint lastTransitionTime{};
  long long observedGeneration = 0;
};

// One objective of an SLO with several: its own figures (for a composite SLO, the parts the
// composite is made of; each objective's tier is shown, the composite's decides).
struct ObjectiveSummary {
  std::string displayName;
  double target = 0;
  std::optional<double> compositeWeight;  // composite SLOs only
  std::optional<double> sli;
  double consumedPercent = 0;
  double remainingPercent = 0;
  engine::BurnRates burnRates;
  engine::Tier tier = engine::Tier::Unknown;
};

// Where the budget went (engine/budget_ledger.h): totals by cause and the entries that cost
// the most (bounded, so that the status stays small; `budgetgate ledger` prints them all).
struct LedgerStatus {
  double rolloutPercent = 0;
  double adjustmentPercent = 0;
  double unattributedPercent = 0;
  std::size_t entryCount = 0;  // in the whole window; `entries` keeps the costliest
  std::vector<engine::LedgerEntry> entries;
};

// The BudgetAdjustments that name the SLO: what they excluded, and those not used and why.
struct AdjustmentStatus {
  struct Applied {
    std::string name, reason, reference;
    double excludedBadEvents = 0;
    double refundedPercent = 0;  // of the window's allowed bad events
  };
  struct Ignored {
    std::string name, problem;
  };
  double remainingPercentUnadjusted = 0;  // the budget as if no adjustment existed (clamped)
  double consumedPercentUnadjusted = 0;   // the same, unclamped (may exceed 100)
  double excludedBadEvents = 0;
  std::vector<Applied> applied;  // those whose hours overlap the window
  std::vector<Ignored> ignored;
};

struct SloStatus {
  long long observedGeneration = 0;
  std::optional<TimePoint> lastEvaluated;
  // displayName of the objective the top-level figures describe; "composite" for a composite
  // SLO, whose figures are the weighted composite (and which then has no single target: 0).
  std::string objective;
  double target = 0;
  std::string window;
  std::optional<TimePoint> windowStart;
  std::string budgetingMethod;
  std::optional<double> sli;
  std::optional<engine::ErrorBudget> errorBudget;
  engine::BurnRates burnRates;
  std::vector<engine::AlertState> alerts;
  std::optional<TimePoint> projectedExhaustion;
  // When the whole budget is back if no new errors occur: the end of the calendar period, or
  // for a rolling window one window length from now (every error counted now has aged out).
  // Absent while nothing is consumed.
  std::optional<TimePoint> projectedRecovery;
  // With no new errors, when the remaining budget alone is back in each better tier: for a
  // rolling window from the hourly history (errors age out one window after they happened),
  // for a calendar window at the period's end. Only tiers better than the current one.
  std::vector<std::pair<engine::Tier, TimePoint>> recoveryByTier;
  engine::Tier tier = engine::Tier::Unknown;
  std::optional<engine::TierHold> tierHold;
  // While exhausted: since when, and the lowest remaining (carried across evaluations); and
  // why the policy's freeze limits relax the gate now (empty: they do not).
  std::optional<engine::FreezeState> freeze;
  // Burn-rate windows with fewer events than the policy's minEvents: measured (burnRates), but
  // neither alerting nor driving the tier.
  std::vector<std::string> lowTrafficWindows;
  std::string freezeRelaxed;
  std::string policy;
  // The policy in budgetgate's namespace that `policy` (a same-named one in the SLO's own
  // namespace) takes precedence over, so that the takeover is visible.
  std::string policyShadows;
  std::optional<std::array<engine::Verdict, 3>> decisionsByRisk;
  std::vector<ObjectiveSummary> objectives;     // only when the SLO has several
  std::optional<LedgerStatus> ledger;           // Occurrences objectives with hourly data
  std::optional<AdjustmentStatus> adjustments;  // when some BudgetAdjustment names the SLO
  std::vector<Condition> conditions;
  std::string message;

  const Condition* condition(std::string_view type) const;
  // Sets a condition, keeping lastTransitionTime when the status did not change.
  void setCondition(Condition c);
};

// One ledger entry as JSON (the status's ledger.entries and `budgetgate ledger -o json`).
void ledgerEntryToValue(const engine::LedgerEntry& e, rapidjson::Value& out,
                        rapidjson::Document::AllocatorType& allocator);

enum class JsonStyle { Compact, Pretty };
std::string statusToJson(const SloStatus& status, JsonStyle style = JsonStyle::Compact);
void statusToValue(const SloStatus& status, rapidjson::Value& out,
                   rapidjson::Document::AllocatorType& allocator);

// Lenient reader: unknown or malformed fields are skipped (and described in *problems), so a
// half-written status still yields what it can; the tier stays Unknown unless present.
SloStatus statusFromJson(const rapidjson::Value& value, std::vector<std::string>* problems);

}  // namespace budgetgate::model
