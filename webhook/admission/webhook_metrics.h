#pragma once
// The webhook's own metrics: decision latency and decisions by tier and outcome, counted with
// atomics so the request path takes no lock.

#include <array>
#include <atomic>
#include <string>

#include "operator/engine/status_tier.h"
#include "operator/metrics/registry.h"

namespace budgetgate::admission {

enum class Outcome { NotGated, Allowed, Warned, Denied, Error };
inline constexpr std::size_t kOutcomeCount = 5;

class WebhookMetrics {
 public:
  WebhookMetrics();
  void record(engine::Tier tier, Outcome outcome, double seconds, bool dryRun);
  void render(std::string& out, double cacheAgeSeconds, bool ready) const;

 private:
  metrics::Histogram latency_;
  std::array<std::array<std::atomic<std::uint64_t>, kOutcomeCount>, 6> decisions_{};
  std::atomic<std::uint64_t> dryRuns_{0};
};

}  // namespace budgetgate::admission
