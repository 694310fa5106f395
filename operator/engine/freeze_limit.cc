#include "operator/engine/freeze_limit.h"

#include <fmt/format.h>

#include <algorithm>

#include "operator/engine/error_budget_policy.h"

namespace budgetgate::engine {

FreezeLimits::FreezeLimits() : relaxTo(Verdict::Review) {}

std::optional<FreezeState> trackFreeze(Tier tier, double remainingPercent, TimePoint now,
                                       const std::optional<FreezeState>& previous) {
  if (tier == Tier::Unknown) return previous;
  if (tier != Tier::Exhausted) return std::nullopt;
  if (!previous) return FreezeState{now, remainingPercent};
  return FreezeState{previous->since, std::min(previous->lowestRemainingPercent, remainingPercent)};
}

FreezeRelief freezeRelief(const FreezeLimits& limits, const std::optional<FreezeState>& freeze,
                          double remainingPercent, TimePoint now) {
  FreezeRelief r;
  if (!limits.enabled() || !freeze) return r;
  const double lowest = std::min(freeze->lowestRemainingPercent, remainingPercent);
  if (limits.maxDuration) {
    r.relaxesAt = freeze->since + *limits.maxDuration;
    if (now >= *r.relaxesAt) {
      r.relaxed = true;
      r.reason =
          fmt::format("frozen since {}, {} ago (freeze.maxDuration {})", formatTime(freeze->since),
                      formatDuration(now - freeze->since), formatDuration(*limits.maxDuration));
    }
  }
  if (limits.restoredPercent) {
    r.relaxesAtRemainingPercent = lowest + *limits.restoredPercent;
    if (!r.relaxed && remainingPercent >= *r.relaxesAtRemainingPercent) {
      r.relaxed = true;
      r.reason = fmt::format(
          "{:.1f}% of the budget restored since its low of {:.1f}% (freeze.restoredPercent {:g})",
          remainingPercent - lowest, lowest, *limits.restoredPercent);
    }
  }
  return r;
}

Verdict relaxedVerdict(Verdict v, const FreezeLimits& limits) {
  return static_cast<int>(v) > static_cast<int>(limits.relaxTo) ? limits.relaxTo : v;
}

}  // namespace budgetgate::engine
