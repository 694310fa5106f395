#pragma once
// At most one Event per object and reason per interval: a user retrying a denied `kubectl
// apply` in a loop must not flood the API server with Events (nor the bounded event queue).

#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace budgetgate::admission {

class EventRateLimiter {
 public:
  explicit EventRateLimiter(std::chrono::seconds interval = std::chrono::seconds(10),
                            std::size_t capacity = 4096)
      : interval_(interval), capacity_(capacity) {}

  // True when an Event for `key` may be recorded now (and remembers that it was).
  bool allow(const std::string& key,
             std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) {
    std::lock_guard lock(mutex_);
    if (auto it = last_.find(key); it != last_.end() && now - it->second < interval_) return false;
    if (last_.size() >= capacity_) {
      // Forget what is old enough not to matter; if nothing is, start afresh (bounded memory).
      std::erase_if(last_, [&](const auto& e) { return now - e.second >= interval_; });
      if (last_.size() >= capacity_) last_.clear();
    }
    last_[key] = now;
    return true;
  }

 private:
  std::chrono::seconds interval_;
  std::size_t capacity_;
  std::mutex mutex_;
  std::map<std::string, std::chrono::steady_clock::time_point> last_;
};

}  // namespace budgetgate::admission
