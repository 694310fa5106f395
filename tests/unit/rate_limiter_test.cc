// The token bucket that keeps status writes within the API server's share: burst, then qps.

#include "operator/common/rate_limiter.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace budgetgate {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, BurstThenQps) {
  RateLimiter limiter(10, 3);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.tryAcquire()) << i;
  EXPECT_FALSE(limiter.tryAcquire());  // burst used up
  // The next token is earned in a tenth of a second at 10/s.
  const auto wait = limiter.waitAt(RateLimiter::Clock::now());
  EXPECT_GT(wait, 50ms);
  EXPECT_LE(wait, 100ms);
  // Ten seconds later the bucket is full again: the burst, never more.
  const auto later = limiter.waitAt(RateLimiter::Clock::now() + 10s);
  EXPECT_EQ(later, RateLimiter::Clock::duration::zero());
  int taken = 0;
  while (limiter.tryAcquire()) ++taken;
  EXPECT_EQ(taken, 3);
}

TEST(RateLimiter, BlockingAcquireKeepsTheRateAcrossThreads) {
  RateLimiter limiter(100, 5);
  std::atomic<bool> cancelled{false};
  std::atomic<int> taken{0};
  const auto start = std::chrono::steady_clock::now();
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 10; ++i) {
          if (limiter.acquire(cancelled)) ++taken;
        }
      });
    }
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(taken, 40);
  // 5 at once, then 35 at 100/s: at least 0.35 s (and not wildly more).
  EXPECT_GE(elapsed, 340ms);
  EXPECT_LT(elapsed, 3s);
}

TEST(RateLimiter, ACancelledWaitTakesNoToken) {
  RateLimiter limiter(0.1, 1);  // one now, the next in 10 s
  std::atomic<bool> cancelled{false};
  EXPECT_TRUE(limiter.acquire(cancelled));
  std::jthread canceller([&] {
    std::this_thread::sleep_for(50ms);
    cancelled = true;
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(limiter.acquire(cancelled));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(RateLimiter, ZeroQpsIsUnlimited) {
  RateLimiter limiter(0, 1);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.tryAcquire());
}

}  // namespace
}  // namespace budgetgate
