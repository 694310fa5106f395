#pragma once
// A token bucket for requests to the API server (like client-go's QPS and burst): `burst`
// requests at once, then `qps` a second. Thread-safe; a wait ends early on shutdown.

#include <atomic>
#include <chrono>
#include <mutex>

namespace budgetgate {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // qps <= 0: unlimited.
  RateLimiter(double qps, int burst);

  // Takes a token, waiting for one if need be. False when `cancelled` ended the wait (then no
  // token was taken).
  bool acquire(const std::atomic<bool>& cancelled);
  // Takes a token only if one is free now.
  bool tryAcquire();

  // For tests: the wait a request arriving at `now` would have (without taking a token).
  Clock::duration waitAt(Clock::time_point now);
  double qps() const { return qps_; }
  int burst() const { return burst_; }

 private:
  // Under mutex_: adds the tokens earned since the last refill.
  void refill(Clock::time_point now);

  const double qps_;
  const int burst_;
  std::mutex mutex_;
  double tokens_;
  Clock::time_point refilled_;
};

}  // namespace budgetgate
