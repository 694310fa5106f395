#pragma once
// When a spent budget comes back. In a rolling window a bad event counts until it is one
// window old, so the budget recovers as old errors age out — at a pace set by when they
// happened, not by a formula. Given the window's events per bucket, this projects when the
// remaining budget first exceeds a percentage, assuming no new bad events and traffic going on
// at the window's average rate. Pure; the controller feeds it its hourly bucket sums.

#include <optional>
#include <vector>

#include "operator/common/duration.h"
#include "operator/common/time.h"

namespace budgetgate::engine {

struct WindowHistory {
  TimePoint now{};
  Seconds bucket{3600};
  Seconds windowLength{0};
  TimePoint oldestBucketEnd{};  // bucket i covers (end - bucket, end], end = oldest + i x bucket
  std::vector<double> bad;      // events per bucket, oldest first (the oldest ages out first)
  std::vector<double> total;    // same buckets
  double badNow = 0;            // over the whole window, including the newest partial bucket
  double totalNow = 0;
};

// When the remaining budget first exceeds `percent`: `now` when it already does, else the
// instant a bucket leaves the window (its end + the window length), so the answer does not
// move between evaluations; nullopt when the window holds no traffic or the history is
// inconsistent.
std::optional<TimePoint> recoveryAt(const WindowHistory& history, double target, double percent);

}  // namespace budgetgate::engine
