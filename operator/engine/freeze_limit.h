#pragma once
// Freeze limits. A freeze is the stretch of consecutive evaluations at tier exhausted. Left
// alone it lasts until the budget is back above zero, however long that takes; seed 003 lifts
// it when "10 % of the budget is restored or 7 days have passed". A policy opts in with
// freeze.maxDuration and/or freeze.restoredPercent; once either is met the gate's verdict for an
// exhausted SLO is at most freeze.relaxTo (default review), with the reason in status and
// message. Pure: the caller passes the previous state (kept in the SLO status) and "now".

#include <optional>
#include <string>

#include "operator/common/duration.h"
#include "operator/common/time.h"
#include "operator/engine/status_tier.h"

namespace budgetgate::engine {

enum class Verdict;

struct FreezeLimits {
  std::optional<Seconds> maxDuration;     // relax once frozen this long
  std::optional<double> restoredPercent;  // or once remaining rose this many points above its low
  Verdict relaxTo;                        // the strictest verdict once relaxed

  FreezeLimits();
  bool enabled() const { return maxDuration.has_value() || restoredPercent.has_value(); }
};

// Remembered across evaluations (status.freeze) while the SLO is exhausted.
struct FreezeState {
  TimePoint since{};
  double lowestRemainingPercent = 0;
};

// The freeze after an evaluation at `tier` with `remainingPercent` (raw, may be negative): begun
// or continued at Exhausted, ended at any better tier; kept as is without data (Unknown).
std::optional<FreezeState> trackFreeze(Tier tier, double remainingPercent, TimePoint now,
                                       const std::optional<FreezeState>& previous);

struct FreezeRelief {
  bool relaxed = false;
  std::string reason;  // why it is relaxed: "frozen for 7d since ... (freeze.maxDuration 7d)"
  // What would relax it (for messages that must promise only this): the instant maxDuration is
  // reached, and the remaining percentage at which restoredPercent is.
  std::optional<TimePoint> relaxesAt;
  std::optional<double> relaxesAtRemainingPercent;
};

FreezeRelief freezeRelief(const FreezeLimits& limits, const std::optional<FreezeState>& freeze,
                          double remainingPercent, TimePoint now);

// `v`, or relaxTo when that is less strict.
Verdict relaxedVerdict(Verdict v, const FreezeLimits& limits);

}  // namespace budgetgate::engine
