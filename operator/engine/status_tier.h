#pragma once
// Status tiers: the worst of three signals (remaining budget, confirmed burn rate, projected
// exhaustion), with hysteresis so that a frozen service does not flap back and forth.

#include <optional>
#include <string_view>

#include "operator/common/duration.h"
#include "operator/common/time.h"

namespace budgetgate::engine {

// Ordered from best to worst; Unknown means "no data" and is handled by the gate's
// onMissingData rule, never by the decision matrix.
enum class Tier { Healthy, Attention, Warning, Critical, Exhausted, Unknown };

inline constexpr int kRankedTierCount = 5;  // Healthy..Exhausted

std::string_view tierName(Tier tier);
std::optional<Tier> tierFromName(std::string_view name);
// Severity order for "worst tier wins": Healthy < ... < Exhausted; Unknown ranks separately.
int tierSeverity(Tier tier);

// One tier's entry condition; any signal that is present and met puts the SLO in the tier.
struct TierThreshold {
  std::optional<double> remainingPercentAtMost;
  std::optional<double> burnRateAtLeast;
  std::optional<Seconds> exhaustionWithin;
};

struct TierThresholds {
  TierThreshold critical{10.0, 5.0, Seconds(3 * 86400)};
  TierThreshold warning{25.0, 2.0, Seconds(7 * 86400)};
  TierThreshold attention{50.0, 1.5, Seconds(15 * 86400)};
};

struct TierSignals {
  double remainingPercent = 100;        // raw: may be negative
  double confirmedBurnRate = 0;         // min(1h, 5m)
  std::optional<Seconds> exhaustionIn;  // nullopt when not burning
};

// Exhausted when remaining <= 0, else the worst tier whose threshold is met, else Healthy.
Tier classifyTier(const TierSignals& signals, const TierThresholds& thresholds);

struct Hysteresis {
  double restorePercent = 10.0;          // budget points to regain before improving
  Seconds maxHold = Seconds(7 * 86400);  // or this long since the hold began
};

// Remembered across evaluations (stored in the SLO status) while the tier is held.
struct TierHold {
  Tier tier = Tier::Critical;
  TimePoint since{};
  double lowestRemainingPercent = 0;
};

struct TierOutcome {
  Tier effective = Tier::Healthy;
  std::optional<TierHold> hold;
  bool heldBack = false;  // effective is worse than the raw classification
};

// Once Critical or Exhausted, the tier improves only when the remaining budget has regained
// restorePercent points over its lowest value during the hold, or maxHold has passed.
// Getting worse is never delayed.
TierOutcome applyHysteresis(Tier raw, double remainingPercent, TimePoint now,
                            const std::optional<TierHold>& previous, const Hysteresis& config);

}  // namespace budgetgate::engine
