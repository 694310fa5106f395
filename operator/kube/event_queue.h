#pragma once
// Records Events from a background thread so that callers on latency-critical paths (the
// admission webhook) never wait on the API server. Bounded: when full, events are dropped and
// counted rather than queued without limit.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "operator/kube/event_recorder.h"

namespace budgetgate::kube {

class EventQueue {
 public:
  EventQueue(const KubeConfig& config, std::string component, std::size_t capacity = 1000);
  ~EventQueue();
  void push(ObjectRef object, std::string type, std::string reason, std::string message);
  long long dropped() const { return dropped_; }
  long long recorded() const { return recorded_; }

 private:
  struct Item {
    ObjectRef object;
    std::string type, reason, message;
  };
  void run(std::stop_token stop);

  EventRecorder recorder_;
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable_any cv_;
  std::deque<Item> items_;
  std::atomic<long long> dropped_{0};
  std::atomic<long long> recorded_{0};
  std::jthread thread_;
};

}  // namespace budgetgate::kube
