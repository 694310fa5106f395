#include "webhook/server/connection_limits.h"

#include <utility>

namespace budgetgate::server {

ConnectionLimiter::Slot::~Slot() {
  std::lock_guard lock(owner_.mutex_);
  if (isIdle_) owner_.idleSlots_.erase(owner_.idleSlots_.iterator_to(*this));
  if (!shed_) {
    --owner_.open_;
    owner_.stats_.openConnections.store(static_cast<long long>(owner_.open_));
  }
}

void ConnectionLimiter::Slot::onShed(std::function<void()> close) {
  std::lock_guard lock(owner_.mutex_);
  close_ = std::move(close);
}

bool ConnectionLimiter::Slot::idle() {
  std::lock_guard lock(owner_.mutex_);
  if (shed_) return false;
  if (!isIdle_) {
    owner_.idleSlots_.push_back(*this);
    isIdle_ = true;
  }
  return true;
}

bool ConnectionLimiter::Slot::busy() {
  std::lock_guard lock(owner_.mutex_);
  if (isIdle_) {
    owner_.idleSlots_.erase(owner_.idleSlots_.iterator_to(*this));
    isIdle_ = false;
  }
  return !shed_;
}

ConnectionLimiter::ConnectionLimiter(std::size_t maxConnections, ServerStats& stats)
    : max_(maxConnections), stats_(stats) {}

std::function<void()> ConnectionLimiter::takeOldestIdleLocked() {
  Slot& oldest = idleSlots_.front();
  idleSlots_.pop_front();
  oldest.isIdle_ = false;
  oldest.shed_ = true;
  ++stats_.connectionsShed;
  return oldest.close_;
}

std::unique_ptr<ConnectionLimiter::Slot> ConnectionLimiter::admit() {
  std::function<void()> closeShed;
  std::unique_ptr<Slot> slot;
  {
    std::lock_guard lock(mutex_);
    if (open_ < max_) {
      ++open_;
      stats_.openConnections.store(static_cast<long long>(open_));
    } else if (!idleSlots_.empty()) {
      closeShed = takeOldestIdleLocked();  // its place passes to the new connection
    } else {
      ++stats_.connectionsRefused;
      return nullptr;
    }
    slot = std::make_unique<Slot>(SlotKey{}, *this);
  }
  // Outside the lock: the close is posted to the shed connection's thread, whose slot
  // operations take the lock.
  if (closeShed) closeShed();
  return slot;
}

bool ConnectionLimiter::shedOldestIdle() {
  std::function<void()> closeShed;
  {
    std::lock_guard lock(mutex_);
    if (idleSlots_.empty()) return false;
    closeShed = takeOldestIdleLocked();
    // Nobody takes over this place: it is free now (the descriptor follows as soon as the
    // connection's own thread has closed it).
    --open_;
    stats_.openConnections.store(static_cast<long long>(open_));
  }
  if (closeShed) closeShed();
  return true;
}

BodyBudget::BodyBudget(std::size_t capacity, std::size_t largeBody, std::atomic<long long>& inUse)
    : capacity_(capacity), largeBody_(largeBody), inUse_(inUse) {}

bool BodyBudget::tryReserve(std::size_t bytes, std::size_t held) {
  const std::size_t limit = held + bytes > largeBody_ ? capacity_ - capacity_ / 4 : capacity_;
  long long used = inUse_.load(std::memory_order_relaxed);
  for (;;) {
    const auto usedBytes = static_cast<std::size_t>(used);
    const bool alone = usedBytes == held;  // no other body holds anything
    if (!alone && usedBytes + bytes > limit) return false;
    if (inUse_.compare_exchange_weak(used, used + static_cast<long long>(bytes),
                                     std::memory_order_relaxed)) {
      return true;
    }
  }
}

void BodyBudget::release(std::size_t bytes) {
  if (bytes > 0) inUse_.fetch_sub(static_cast<long long>(bytes), std::memory_order_relaxed);
}

bool BodyReservation::growTo(std::size_t total) {
  if (total <= held_) return true;
  if (!budget_.tryReserve(total - held_, held_)) {
    refused_ = true;
    return false;
  }
  held_ = total;
  return true;
}

}  // namespace budgetgate::server
