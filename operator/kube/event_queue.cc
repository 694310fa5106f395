#include "operator/kube/event_queue.h"

namespace budgetgate::kube {

EventQueue::EventQueue(const KubeConfig& config, std::string component, std::size_t capacity)
    : recorder_(config, std::move(component)),
      capacity_(capacity),
      thread_([this](std::stop_token stop) { run(stop); }) {}

EventQueue::~EventQueue() {
  thread_.request_stop();
  cv_.notify_all();
}

void EventQueue::push(ObjectRef object, std::string type, std::string reason, std::string message) {
  {
    std::lock_guard lock(mutex_);
    if (items_.size() >= capacity_) {
      ++dropped_;
      return;
    }
    items_.push_back({std::move(object), std::move(type), std::move(reason), std::move(message)});
  }
  cv_.notify_one();
}

void EventQueue::run(std::stop_token stop) {
  for (;;) {
    Item item;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, stop, [this] { return !items_.empty(); });
      if (items_.empty()) return;  // stop requested and nothing left
      item = std::move(items_.front());
      items_.pop_front();
    }
    if (recorder_.record(item.object, item.type, item.reason, item.message)) ++recorded_;
  }
}

}  // namespace budgetgate::kube
