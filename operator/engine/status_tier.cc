#include "operator/engine/status_tier.h"

#include <algorithm>
#include <array>

namespace budgetgate::engine {
namespace {

constexpr std::array<std::string_view, 6> kNames = {"healthy",  "attention", "warning",
                                                    "critical", "exhausted", "unknown"};

bool met(const TierThreshold& t, const TierSignals& s) {
  if (t.remainingPercentAtMost && s.remainingPercent <= *t.remainingPercentAtMost) return true;
  if (t.burnRateAtLeast && s.confirmedBurnRate >= *t.burnRateAtLeast) return true;
  if (t.exhaustionWithin && s.exhaustionIn && *s.exhaustionIn <= *t.exhaustionWithin) return true;
  return false;
}

bool isHeldTier(Tier t) {
  return t == Tier::Critical || t == Tier::Exhausted;
}

}  // namespace

std::string_view tierName(Tier tier) {
  return kNames[static_cast<std::size_t>(tier)];
}

std::optional<Tier> tierFromName(std::string_view name) {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<Tier>(i);
  }
  return std::nullopt;
}

int tierSeverity(Tier tier) {
  return static_cast<int>(tier);
}

Tier classifyTier(const TierSignals& signals, const TierThresholds& thresholds) {
  if (signals.remainingPercent <= 0) return Tier::Exhausted;
  if (met(thresholds.critical, signals)) return Tier::Critical;
  if (met(thresholds.warning, signals)) return Tier::Warning;
  if (met(thresholds.attention, signals)) return Tier::Attention;
  return Tier::Healthy;
}

TierOutcome applyHysteresis(Tier raw, double remainingPercent, TimePoint now,
                            const std::optional<TierHold>& previous, const Hysteresis& config) {
  if (raw == Tier::Unknown) {
    // No data says nothing about recovery: keep any hold as it is.
    return {raw, previous, false};
  }
  if (previous) {
    const double lowest = std::min(previous->lowestRemainingPercent, remainingPercent);
    const bool restored = remainingPercent - lowest >= config.restorePercent;
    const bool expired = now - previous->since >= config.maxHold;
    const bool worse = tierSeverity(raw) > tierSeverity(previous->tier);
    if (!restored && !expired && !worse) {
      TierHold hold{previous->tier, previous->since, lowest};
      return {previous->tier, hold, raw != previous->tier};
    }
  }
  if (isHeldTier(raw)) {
    return {raw, TierHold{raw, now, remainingPercent}, false};
  }
  return {raw, std::nullopt, false};
}

}  // namespace budgetgate::engine
