#pragma once
// Where an SLO's budget went. From the window's bad and total events per hour (the evaluator's
// hourly buckets, with the window's partial first and last hours), this splits consumption
// into entries: the hours that budget adjustments exclude (refunded), and burn episodes —
// runs of hours in which bad events ran above the budget's even pace (an hourly burn rate
// above 1), merged across short quiet gaps — each attributed to the rollout of a gated
// workload that came shortly before it, or left unattributed. Pure: the evaluator feeds it
// Prometheus's numbers, the controller and `budgetgate ledger` the rollout history.

#include <optional>
#include <string>
#include <vector>

#include "operator/common/duration.h"
#include "operator/common/time.h"

namespace budgetgate::engine {

// Events in (end - length, end]; length is an hour except at the window's two edges.
struct HourCounts {
  TimePoint end{};
  Seconds length{3600};
  double bad = 0;
  double total = 0;
};

// Hours one adjustment excludes (whole hours, UTC), oldest first.
struct AdjustmentSpans {
  std::string name;
  std::string reason;
  std::string reference;
  std::vector<std::pair<TimePoint, TimePoint>> spans;  // [start, end)
};

// A rollout of a workload the SLO gates: a new revision created at `at`.
struct RolloutRecord {
  TimePoint at{};
  std::string workload;  // "deployment/checkout"
  std::string revision;
  std::string images;       // comma-separated
  std::string releaseType;  // budgetgate.dev/release-type of the template, "" when not set
  std::string requester;    // who asked for it, when recorded; "" otherwise
};

enum class LedgerCause { Rollout, Adjustment, Unattributed };
std::string_view ledgerCauseName(LedgerCause c);  // "rollout", "adjustment", "unattributed"

struct LedgerEntry {
  TimePoint start{};
  TimePoint end{};
  LedgerCause cause = LedgerCause::Unattributed;
  double badEvents = 0;
  double budgetPercent = 0;              // of the window's allowed bad events (before adjustments)
  std::optional<RolloutRecord> rollout;  // cause Rollout
  std::string adjustment;                // cause Adjustment: its name, reason and reference
  std::string reason;
  std::string reference;
};

struct LedgerOptions {
  // An episode is the rollout's when it starts no later than this after the rollout (and the
  // rollout happened before the end of the episode's first hour).
  Seconds attribution{3600};
  // Episodes separated by at most this many quiet hours are one.
  Seconds mergeGap{3600};
};

struct BudgetLedger {
  double allowedBadEvents = 0;  // (1 - target) x total events of the window
  double badEvents = 0;         // before adjustments
  double excludedBadEvents = 0;
  double excludedTotalEvents = 0;  // the excluded bad events, also taken out of the total
  // Percent of the allowed bad events, by cause; "unattributed" includes bad events that ran
  // below the even pace (no episode), so the three add up to the budget consumed before
  // adjustments.
  double rolloutPercent = 0;
  double adjustmentPercent = 0;
  double unattributedPercent = 0;
  std::vector<LedgerEntry> entries;  // oldest first
};

// `hours` oldest first. Adjustment spans and rollouts in any order.
BudgetLedger buildLedger(const std::vector<HourCounts>& hours, double target,
                         const std::vector<AdjustmentSpans>& adjustments,
                         const std::vector<RolloutRecord>& rollouts, const LedgerOptions& options);

// The `limit` entries that cost the most, back in time order (what the SLO's status keeps).
std::vector<LedgerEntry> topEntries(const std::vector<LedgerEntry>& entries, std::size_t limit);

}  // namespace budgetgate::engine
