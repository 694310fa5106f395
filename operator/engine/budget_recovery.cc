#include "operator/engine/budget_recovery.h"

#include <algorithm>
#include <cmath>

namespace budgetgate::engine {
namespace {

double orZero(double v) {
  return std::isfinite(v) ? v : 0.0;
}

}  // namespace

std::optional<TimePoint> recoveryAt(const WindowHistory& h, double target, double percent) {
  const double allowedFraction = 1.0 - target;
  if (!(allowedFraction > 0) || h.totalNow <= 0 || h.bucket.count() <= 0 ||
      h.bad.size() != h.total.size() || h.windowLength.count() <= 0) {
    return std::nullopt;
  }
  // Traffic that replaces what ages out: the window's average per bucket.
  const double bucketsInWindow =
      static_cast<double>(h.windowLength.count()) / static_cast<double>(h.bucket.count());
  const double newPerBucket = h.totalNow / std::max(1.0, bucketsInWindow);
  double droppedBad = 0;
  double droppedTotal = 0;
  // k buckets from now the k oldest buckets have left the window; one more bucket after the
  // last stored one, the newest partial bucket has too.
  for (std::size_t k = 0; k <= h.bad.size() + 1; ++k) {
    if (k > 0 && k <= h.bad.size()) {
      droppedBad += orZero(h.bad[k - 1]);
      droppedTotal += orZero(h.total[k - 1]);
    }
    const double bad = k > h.bad.size() ? 0.0 : std::max(0.0, h.badNow - droppedBad);
    const double total =
        std::max(0.0, h.totalNow - droppedTotal) + static_cast<double>(k) * newPerBucket;
    if (total <= 0) continue;
    const double remainingPercent = 100.0 * (1.0 - bad / (allowedFraction * total));
    if (remainingPercent > percent) {
      if (k == 0) return h.now;
      if (k > h.bad.size()) return h.now + h.windowLength;
      return h.oldestBucketEnd + h.bucket * static_cast<long long>(k - 1) + h.windowLength;
    }
  }
  return std::nullopt;
}

}  // namespace budgetgate::engine
