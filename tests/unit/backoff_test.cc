// The shared backoff: doubling to a cap, each delay jittered within [d/2, d]; waits that end
// when a stop is asked for.

#include "operator/common/backoff.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

namespace budgetgate {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, DoublesToItsCapWithJitterAndResets) {
  Backoff b(milliseconds(100), milliseconds(700));
  const milliseconds bases[] = {milliseconds(100), milliseconds(200), milliseconds(400),
                                milliseconds(700), milliseconds(700)};
  for (const auto base : bases) {
    EXPECT_EQ(b.base(), base);
    const auto d = b.next();
    EXPECT_GE(d, base / 2);
    EXPECT_LE(d, base);
  }
  b.reset();
  EXPECT_EQ(b.base(), milliseconds(100));
}

TEST(Backoff, JitterSpreadsReplicasThatFailedTogether) {
  // 50 backoffs started together do not all pick the same first delay.
  std::set<milliseconds::rep> firsts;
  for (int i = 0; i < 50; ++i)
    firsts.insert(Backoff(milliseconds(1000), milliseconds(1000)).next().count());
  EXPECT_GT(firsts.size(), 10u);
}

TEST(Backoff, SleepEndsWhenStopIsRequested) {
  std::stop_source source;
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(50));
    source.request_stop();
  });
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(sleepFor(milliseconds(30000), source.get_token()));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  stopper.join();
  EXPECT_TRUE(sleepFor(milliseconds(1), std::stop_source().get_token()));
  std::atomic<bool> cancelled{true};
  EXPECT_FALSE(sleepFor(milliseconds(30000), cancelled));
}

}  // namespace
}  // namespace budgetgate
