#pragma once
// Leader election with a coordination.k8s.io/v1 Lease, as client-go does it: the holder renews
// the lease every retry period; another candidate takes over only after it has seen the same
// lease record unchanged for a whole lease duration (so clock skew between nodes is harmless).

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "operator/kube/kube_client.h"

namespace budgetgate::kube {

struct LeaderElectionConfig {
  std::string ns;
  std::string name = "budgetgate-controller";
  std::string identity;  // unique per replica (pod name + random suffix)
  std::chrono::seconds leaseDuration{15};
  std::chrono::seconds renewDeadline{10};
  std::chrono::seconds retryPeriod{2};
};

class LeaderElector {
 public:
  LeaderElector(const KubeConfig& config, LeaderElectionConfig election,
                std::function<void(bool leading)> onChange);
  ~LeaderElector();

  void start();
  void stop();  // releases the lease if held, so a successor takes over at once
  bool leading() const { return leading_; }
  const std::string& identity() const { return election_.identity; }

 private:
  void run(std::stop_token stop);
  bool tryAcquireOrRenew();
  void setLeading(bool leading);
  void release();

  KubeClient client_;
  LeaderElectionConfig election_;
  std::function<void(bool)> onChange_;
  std::atomic<bool> leading_{false};
  // What we last observed of someone else's lease, and when we observed it change.
  std::string observedRecord_;
  std::chrono::steady_clock::time_point observedAt_{};
  std::chrono::steady_clock::time_point lastRenew_{};
  std::jthread thread_;
};

}  // namespace budgetgate::kube
