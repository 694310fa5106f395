#pragma once
// Retrying without hammering, and waiting without outliving a shutdown: one exponential,
// jittered backoff (each delay drawn from [d/2, d], d doubling up to a cap, so that replicas
// that failed together do not retry together) and waits that end as soon as a stop is asked
// for. Used by the Prometheus client, the informers, the controller's status writes, leader
// election and the TLS bootstrap.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <stop_token>

namespace budgetgate {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max);

  // The next delay, then the base doubles (up to max).
  std::chrono::milliseconds next();
  // After a success: start again from the initial delay.
  void reset() { current_ = initial_; }
  std::chrono::milliseconds base() const { return current_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds current_;
  std::minstd_rand random_;
};

// Waits `d`, or less when `stop` is requested meanwhile (woken at once, no polling). False when
// it ended because of the stop.
bool sleepFor(std::chrono::milliseconds d, std::stop_token stop);

// The same for code that is stopped by a flag (checked every 20 ms).
bool sleepFor(std::chrono::milliseconds d, const std::atomic<bool>& cancelled);

}  // namespace budgetgate
