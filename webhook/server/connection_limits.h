#pragma once
// What bounds the server's memory against clients that need no credentials to connect: a cap
// on open connections, making room by closing the connection that has been idle the longest,
// and a budget for the request bodies being received at the same time. Both are shared by the
// I/O threads and thread-safe.

#include <boost/intrusive/list.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>

#include "webhook/server/server_stats.h"

namespace budgetgate::server {

class ConnectionLimiter {
  struct SlotKey {
    explicit SlotKey() = default;
  };

 public:
  // One admitted connection's place. The connection owns it and destroys it after closing its
  // socket, which frees the place (unless it was handed to a newer connection by shedding).
  class Slot : public boost::intrusive::list_base_hook<> {
   public:
    Slot(SlotKey, ConnectionLimiter& owner) : owner_(owner) {}
    ~Slot();
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

    // How to close the connection when it is shed. Called on whichever thread sheds it, so it
    // must hand the close over to the connection's own thread. Set before the first idle().
    void onShed(std::function<void()> close);
    // The connection waits for a request and holds nothing of value: it may be shed from now
    // on. False when it already has been (the connection must close).
    bool idle();
    // A request has begun: no longer sheddable. False when it was shed meanwhile (the close is
    // on its way; the connection must close).
    bool busy();

   private:
    friend class ConnectionLimiter;
    ConnectionLimiter& owner_;
    std::function<void()> close_;
    bool isIdle_ = false;
    bool shed_ = false;
  };

  ConnectionLimiter(std::size_t maxConnections, ServerStats& stats);
  ConnectionLimiter(const ConnectionLimiter&) = delete;
  ConnectionLimiter& operator=(const ConnectionLimiter&) = delete;

  // A place for a new connection: a free one; else, at the limit, the place of the connection
  // idle the longest, which is closed; else null (the new connection is to be refused).
  std::unique_ptr<Slot> admit();
  // Closes the connection idle the longest, if any (when accept() runs out of descriptors).
  bool shedOldestIdle();
  std::size_t maxConnections() const { return max_; }

 private:
  // Under mutex_: takes the oldest idle slot out of the idle list and returns how to close it.
  std::function<void()> takeOldestIdleLocked();

  const std::size_t max_;
  ServerStats& stats_;
  std::mutex mutex_;
  std::size_t open_ = 0;  // places held (a shed slot's place has passed to its successor)
  boost::intrusive::list<Slot> idleSlots_;  // oldest idle first
};

// The bytes of request bodies being received, across all connections. A body's Content-Length
// is reserved once its header has been parsed, before the parser allocates room for it (a
// chunked body's as it grows), and released when the request has been answered. Bodies larger
// than `largeBody` may fill only three quarters of the budget: the rest stays for ordinary
// reviews, so that slow large uploads cannot starve them. A body that is alone in flight always
// fits, so a budget below the largest allowed body cannot lock such bodies out.
class BodyBudget {
 public:
  // `inUse` is where the bytes reserved are counted (the server's gauge).
  BodyBudget(std::size_t capacity, std::size_t largeBody, std::atomic<long long>& inUse);
  // Adds `bytes` to a body that already holds `held`; false (nothing taken) when over budget.
  bool tryReserve(std::size_t bytes, std::size_t held);
  void release(std::size_t bytes);

 private:
  const std::size_t capacity_;
  const std::size_t largeBody_;
  std::atomic<long long>& inUse_;
};

// One request body's share of the budget, released on destruction.
class BodyReservation {
 public:
  explicit BodyReservation(BodyBudget& budget) : budget_(budget) {}
  ~BodyReservation() { budget_.release(held_); }
  BodyReservation(const BodyReservation&) = delete;
  BodyReservation& operator=(const BodyReservation&) = delete;

  // Holds at least `total` bytes; false when the budget cannot cover them (then refused()).
  bool growTo(std::size_t total);
  bool refused() const { return refused_; }

 private:
  BodyBudget& budget_;
  std::size_t held_ = 0;
  bool refused_ = false;
};

}  // namespace budgetgate::server
