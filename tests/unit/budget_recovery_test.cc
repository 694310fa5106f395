#include "operator/engine/budget_recovery.h"

#include <gtest/gtest.h>

namespace budgetgate::engine {
namespace {

// 30 days of hourly buckets with flat traffic: 100 requests an hour, 99.9 % target, so the
// window allows 72 bad requests.
const TimePoint kNow = TimePoint(Seconds(1'769'817'600));  // 2026-01-31T00:00:00Z

// Bucket i ends i + 1 hours after the window start, so it leaves the window i + 1 hours from now.
WindowHistory flatWindow() {
  WindowHistory h;
  h.now = kNow;
  h.windowLength = Seconds(30 * 86400);
  h.oldestBucketEnd = kNow - h.windowLength + Seconds(3600);
  h.bad.assign(720, 0.0);
  h.total.assign(720, 100.0);
  h.totalNow = 72000;
  return h;
}

TEST(BudgetRecovery, AnOutageComesBackWhenItLeavesTheWindow) {
  auto h = flatWindow();
  h.bad[10] = 108;  // 150 % of the budget, 710 hours ago
  h.badNow = 108;
  // Nothing changes until that hour ages out; then the whole budget is back at once.
  EXPECT_EQ(recoveryAt(h, 0.999, 0.0), kNow + Seconds(11 * 3600));
  EXPECT_EQ(recoveryAt(h, 0.999, 50.0), kNow + Seconds(11 * 3600));
}

TEST(BudgetRecovery, AnEvenBurnComesBackHourByHour) {
  auto h = flatWindow();
  for (auto& b : h.bad) b = 1.0;  // 720 bad: 1000 % consumed
  h.badNow = 720;
  // More than 49.5 % left needs fewer than 36.36 bad requests in the window: 684 hours of them
  // must age out. (Marks off the exact boundaries, where rounding of 1 - 0.999 decides.)
  EXPECT_EQ(recoveryAt(h, 0.999, 49.5), kNow + Seconds(684 * 3600));
  // More than 0.5 % left: fewer than 71.64 bad, 649 hours.
  EXPECT_EQ(recoveryAt(h, 0.999, 0.5), kNow + Seconds(649 * 3600));
}

TEST(BudgetRecovery, ABudgetAlreadyAboveTheMarkNeedsNoWait) {
  auto h = flatWindow();
  h.bad[700] = 10;
  h.badNow = 10;  // 13.9 % consumed
  EXPECT_EQ(recoveryAt(h, 0.999, 50.0), kNow);
}

TEST(BudgetRecovery, RecentErrorsInThePartialBucketAgeOutLast) {
  auto h = flatWindow();
  h.badNow = 100;  // all in the newest, partial hour (not in any stored bucket)
  EXPECT_EQ(recoveryAt(h, 0.999, 0.0), kNow + Seconds(720 * 3600));  // at the latest
}

TEST(BudgetRecovery, NoTrafficOrNonsenseGivesNoProjection) {
  WindowHistory empty;
  empty.windowLength = Seconds(30 * 86400);
  EXPECT_FALSE(recoveryAt(empty, 0.999, 0.0).has_value());
  auto h = flatWindow();
  h.total.pop_back();  // buckets of different lengths
  EXPECT_FALSE(recoveryAt(h, 0.999, 0.0).has_value());
  EXPECT_FALSE(recoveryAt(flatWindow(), 1.0, 0.0).has_value());  // no budget at all
}

}  // namespace
}  // namespace budgetgate::engine
