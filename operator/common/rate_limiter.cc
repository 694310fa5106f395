#include "operator/common/rate_limiter.h"

#include <algorithm>
#include <cmath>

#include "operator/common/backoff.h"

namespace budgetgate {

RateLimiter::RateLimiter(double qps, int burst)
    : qps_(qps), burst_(std::max(1, burst)), tokens_(std::max(1, burst)), refilled_(Clock::now()) {}

void RateLimiter::refill(Clock::time_point now) {
  if (now <= refilled_) return;
  const double earned = std::chrono::duration<double>(now - refilled_).count() * qps_;
  tokens_ = std::min(static_cast<double>(burst_), tokens_ + earned);
  refilled_ = now;
}

RateLimiter::Clock::duration RateLimiter::waitAt(Clock::time_point now) {
  if (qps_ <= 0) return Clock::duration::zero();
  std::lock_guard lock(mutex_);
  refill(now);
  if (tokens_ >= 1) return Clock::duration::zero();
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>((1 - tokens_) / qps_));
}

bool RateLimiter::tryAcquire() {
  if (qps_ <= 0) return true;
  std::lock_guard lock(mutex_);
  refill(Clock::now());
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

bool RateLimiter::acquire(const std::atomic<bool>& cancelled) {
  if (qps_ <= 0) return !cancelled;
  for (;;) {
    if (cancelled) return false;
    std::chrono::milliseconds wait{0};
    {
      std::lock_guard lock(mutex_);
      refill(Clock::now());
      if (tokens_ >= 1) {
        tokens_ -= 1;
        return true;
      }
      // Rounded up, so that the next look finds the token earned.
      wait = std::chrono::milliseconds(
          static_cast<long long>(std::ceil((1 - tokens_) / qps_ * 1000.0)));
    }
    if (!sleepFor(std::max(wait, std::chrono::milliseconds(1)), cancelled)) return false;
  }
}

}  // namespace budgetgate
