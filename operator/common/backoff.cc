#include "operator/common/backoff.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace budgetgate {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
    : initial_(std::max(initial, std::chrono::milliseconds(1))),
      max_(std::max(max, initial_)),
      current_(initial_),
      random_(std::random_device{}()) {}

std::chrono::milliseconds Backoff::next() {
  const auto d = current_;
  current_ = std::min(current_ * 2, max_);
  std::uniform_int_distribution<std::chrono::milliseconds::rep> jitter(d.count() / 2, d.count());
  return std::chrono::milliseconds(jitter(random_));
}

bool sleepFor(std::chrono::milliseconds d, std::stop_token stop) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock(m);
  cv.wait_for(lock, stop, d, [] { return false; });
  return !stop.stop_requested();
}

bool sleepFor(std::chrono::milliseconds d, const std::atomic<bool>& cancelled) {
  const auto until = std::chrono::steady_clock::now() + d;
  for (;;) {
    if (cancelled) return false;
    const auto left = until - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return true;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(left, std::chrono::milliseconds(20)));
  }
}

}  // namespace budgetgate
