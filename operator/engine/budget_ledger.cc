#include "operator/engine/budget_ledger.h"

#include <algorithm>

namespace budgetgate::engine {
namespace {

constexpr Seconds kHour{3600};

TimePoint hourStartOf(const HourCounts& h) {
  return TimePoint(std::chrono::floor<std::chrono::hours>((h.end - h.length).time_since_epoch()));
}

// The adjustment (index) that excludes this hour, if any: the first listed whose span holds
// the whole hour the piece belongs to.
std::optional<std::size_t> excludedBy(const HourCounts& h,
                                      const std::vector<AdjustmentSpans>& adjustments) {
  const TimePoint from = hourStartOf(h);
  const TimePoint to = from + kHour;
  for (std::size_t a = 0; a < adjustments.size(); ++a) {
    for (const auto& [s, e] : adjustments[a].spans) {
      if (s <= from && to <= e) return a;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string_view ledgerCauseName(LedgerCause c) {
  switch (c) {
    case LedgerCause::Rollout:
      return "rollout";
    case LedgerCause::Adjustment:
      return "adjustment";
    case LedgerCause::Unattributed:
      return "unattributed";
  }
  return "unattributed";
}

BudgetLedger buildLedger(const std::vector<HourCounts>& hours, double target,
                         const std::vector<AdjustmentSpans>& adjustments,
                         const std::vector<RolloutRecord>& rollouts, const LedgerOptions& options) {
  BudgetLedger ledger;
  double total = 0;
  for (const auto& h : hours) {
    total += h.total;
    ledger.badEvents += h.bad;
  }
  ledger.allowedBadEvents = (1.0 - target) * total;
  auto percent = [&](double bad) {
    return ledger.allowedBadEvents > 0 ? 100.0 * bad / ledger.allowedBadEvents : 0.0;
  };
  const double pace = 1.0 - target;  // bad events per event at the even pace

  std::vector<std::optional<std::size_t>> excluded(hours.size());
  for (std::size_t i = 0; i < hours.size(); ++i) excluded[i] = excludedBy(hours[i], adjustments);

  // Adjustment entries: contiguous hours excluded by the same adjustment.
  for (std::size_t i = 0; i < hours.size();) {
    if (!excluded[i]) {
      ++i;
      continue;
    }
    const std::size_t a = *excluded[i];
    LedgerEntry e;
    e.cause = LedgerCause::Adjustment;
    e.start = hours[i].end - hours[i].length;
    e.adjustment = adjustments[a].name;
    e.reason = adjustments[a].reason;
    e.reference = adjustments[a].reference;
    for (; i < hours.size() && excluded[i] == a; ++i) {
      e.badEvents += hours[i].bad;
      e.end = hours[i].end;
    }
    ledger.excludedBadEvents += e.badEvents;
    if (e.badEvents > 0) {
      e.budgetPercent = percent(e.badEvents);
      ledger.entries.push_back(std::move(e));
    }
  }
  ledger.excludedTotalEvents = ledger.excludedBadEvents;

  // Burn episodes over the hours no adjustment excludes.
  auto hot = [&](std::size_t i) {
    return !excluded[i] && hours[i].bad > 0 && hours[i].bad > pace * hours[i].total;
  };
  double rolloutBad = 0;
  for (std::size_t i = 0; i < hours.size();) {
    if (!hot(i)) {
      ++i;
      continue;
    }
    const std::size_t first = i;
    std::size_t last = i;
    for (std::size_t j = i + 1; j < hours.size() && !excluded[j]; ++j) {
      if (hours[j].end - hours[j].length - hours[last].end > options.mergeGap) break;
      if (hot(j)) last = j;
    }
    LedgerEntry e;
    e.start = hours[first].end - hours[first].length;
    e.end = hours[last].end;
    for (std::size_t k = first; k <= last; ++k) e.badEvents += hours[k].bad;
    e.budgetPercent = percent(e.badEvents);
    // The latest rollout before the end of the episode's first hour and no more than the
    // attribution time before its start.
    const TimePoint firstHourEnd = hours[first].end;
    for (const auto& r : rollouts) {
      if (r.at > firstHourEnd || e.start - r.at > options.attribution) continue;
      if (!e.rollout || r.at > e.rollout->at) e.rollout = r;
    }
    if (e.rollout) {
      e.cause = LedgerCause::Rollout;
      rolloutBad += e.badEvents;
    }
    ledger.entries.push_back(std::move(e));
    i = last + 1;
  }
  std::sort(ledger.entries.begin(), ledger.entries.end(),
            [](const LedgerEntry& a, const LedgerEntry& b) { return a.start < b.start; });
  ledger.adjustmentPercent = percent(ledger.excludedBadEvents);
  ledger.rolloutPercent = percent(rolloutBad);
  ledger.unattributedPercent =
      percent(std::max(0.0, ledger.badEvents - ledger.excludedBadEvents - rolloutBad));
  return ledger;
}

std::vector<LedgerEntry> topEntries(const std::vector<LedgerEntry>& entries, std::size_t limit) {
  std::vector<LedgerEntry> top = entries;
  std::stable_sort(top.begin(), top.end(), [](const LedgerEntry& a, const LedgerEntry& b) {
    return a.budgetPercent > b.budgetPercent;
  });
  if (top.size() > limit) top.resize(limit);
  std::sort(top.begin(), top.end(),
            [](const LedgerEntry& a, const LedgerEntry& b) { return a.start < b.start; });
  return top;
}

}  // namespace budgetgate::engine
