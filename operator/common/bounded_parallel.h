#pragma once
// Runs `count` independent tasks on at most `concurrency` threads and waits for all of them.
// Used to bound the number of Prometheus queries in flight.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <thread>
#include <vector>

namespace budgetgate {

inline void runBounded(std::size_t count, std::size_t concurrency,
                       const std::function<void(std::size_t)>& task) {
  if (count == 0) return;
  const std::size_t workers = std::clamp<std::size_t>(concurrency, 1, count);
  std::atomic<std::size_t> next{0};
  auto loop = [&] {
    for (std::size_t i = next++; i < count; i = next++) task(i);
  };
  std::vector<std::jthread> threads;
  threads.reserve(workers - 1);
  for (std::size_t w = 1; w < workers; ++w) threads.emplace_back(loop);
  loop();
}

}  // namespace budgetgate
