// The budget ledger: episodes, their merging, attribution to rollouts, adjustments — each
// checked against a hand calculation of the hours given.

#include "operator/engine/budget_ledger.h"

#include <gtest/gtest.h>

#include <iostream>

#include "operator/model/slo_status.h"
#include "operator/prometheus/ledger_assembly.h"

namespace budgetgate {
namespace {

using engine::HourCounts;
using engine::LedgerCause;

const TimePoint kT0 = TimePoint(Seconds(1'769'817'600));  // 2026-01-31T00:00:00Z
constexpr Seconds kHour{3600};

// 24 hours of 1,000 events with `bad[i]` bad events in hour i (the rest 1 bad: below the
// 99.9 % pace of 1 per 1,000 — not above it).
std::vector<HourCounts> day(const std::map<int, double>& bad) {
  std::vector<HourCounts> h;
  for (int i = 0; i < 24; ++i) {
    auto it = bad.find(i);
    h.push_back({kT0 + kHour * (i + 1), kHour, it != bad.end() ? it->second : 1.0, 1000.0});
  }
  return h;
}

TEST(BudgetLedger, EpisodesAreHoursAbovePaceMergedAcrossOneQuietHour) {
  // Hours 3 and 5 hot (one quiet hour between: one episode), hour 10 hot on its own.
  const auto hours = day({{3, 11}, {5, 21}, {10, 6}});
  const auto l = engine::buildLedger(hours, 0.999, {}, {}, {});
  // Allowed: 0.1 % of 24,000 = 24 bad events.
  EXPECT_NEAR(l.allowedBadEvents, 24.0, 1e-9);
  // 21 quiet hours of 1 bad each + 11 + 21 + 6.
  EXPECT_DOUBLE_EQ(l.badEvents, 21.0 + 38.0);
  ASSERT_EQ(l.entries.size(), 2u);
  EXPECT_EQ(l.entries[0].start, kT0 + kHour * 3);
  EXPECT_EQ(l.entries[0].end, kT0 + kHour * 6);
  EXPECT_DOUBLE_EQ(l.entries[0].badEvents, 11 + 1 + 21);  // the quiet hour between counts
  EXPECT_NEAR(l.entries[0].budgetPercent, 100.0 * 33 / 24, 1e-9);
  EXPECT_EQ(l.entries[1].start, kT0 + kHour * 10);
  EXPECT_DOUBLE_EQ(l.entries[1].badEvents, 6);
  EXPECT_EQ(l.entries[1].cause, LedgerCause::Unattributed);
  // Everything is unattributed: the three totals add up to what was consumed.
  EXPECT_NEAR(l.unattributedPercent, 100.0 * 59 / 24, 1e-9);
  EXPECT_EQ(l.rolloutPercent, 0);
}

TEST(BudgetLedger, TwoQuietHoursSplitEpisodes) {
  const auto l = engine::buildLedger(day({{3, 11}, {6, 11}}), 0.999, {}, {}, {});
  EXPECT_EQ(l.entries.size(), 2u);
}

TEST(BudgetLedger, AnEpisodeShortlyAfterARolloutIsItsOnlyWithinTheAttributionTime) {
  const auto hours = day({{3, 11}, {10, 6}});
  engine::RolloutRecord early{kT0 + kHour * 1, "deployment/pay", "4", "pay:1", "feature", ""};
  engine::RolloutRecord inside{
      kT0 + kHour * 3 + Seconds(600), "deployment/pay", "5", "pay:2", "feature", ""};
  engine::RolloutRecord after{kT0 + kHour * 4 + Seconds(1), "deployment/pay", "6", "", "", ""};
  const auto l = engine::buildLedger(hours, 0.999, {}, {early, inside, after}, {});
  ASSERT_EQ(l.entries.size(), 2u);
  // The rollout at 03:10 began the episode in hour 3 (the latest before its first hour ended).
  ASSERT_EQ(l.entries[0].cause, LedgerCause::Rollout);
  EXPECT_EQ(l.entries[0].rollout->revision, "5");
  // Hour 10's episode starts 6 h after the last rollout: beyond the default 1 h.
  EXPECT_EQ(l.entries[1].cause, LedgerCause::Unattributed);
  EXPECT_NEAR(l.rolloutPercent, 100.0 * 11 / 24, 1e-9);
  // A longer attribution time reaches it.
  engine::LedgerOptions wide;
  wide.attribution = kHour * 7;
  const auto w = engine::buildLedger(hours, 0.999, {}, {early, inside, after}, wide);
  EXPECT_EQ(w.entries[1].cause, LedgerCause::Rollout);
  EXPECT_EQ(w.entries[1].rollout->revision, "6");
}

TEST(BudgetLedger, AdjustedHoursAreExcludedExactlyAndAreNoEpisode) {
  // An outage in hours 5-7 (40 bad each) inside an adjustment, a rollout just before it.
  const auto hours = day({{5, 40}, {6, 40}, {7, 40}});
  engine::AdjustmentSpans a{
      "db-outage", "dependency", "INC-7", {{kT0 + kHour * 5, kT0 + kHour * 8}}};
  engine::RolloutRecord r{kT0 + kHour * 5 - Seconds(60), "deployment/pay", "9", "", "", ""};
  const auto l = engine::buildLedger(hours, 0.999, {a}, {r}, {});
  EXPECT_DOUBLE_EQ(l.excludedBadEvents, 120.0);
  ASSERT_EQ(l.entries.size(), 1u);
  EXPECT_EQ(l.entries[0].cause, LedgerCause::Adjustment);
  EXPECT_EQ(l.entries[0].adjustment, "db-outage");
  EXPECT_EQ(l.entries[0].start, kT0 + kHour * 5);
  EXPECT_EQ(l.entries[0].end, kT0 + kHour * 8);
  EXPECT_NEAR(l.adjustmentPercent, 100.0 * 120 / 24, 1e-9);
  EXPECT_EQ(l.rolloutPercent, 0);
  EXPECT_NEAR(l.unattributedPercent, 100.0 * 21 / 24, 1e-9);
}

TEST(BudgetLedger, PartialEdgeHoursBelongToTheHourTheyAreIn) {
  // The window starts at 00:30 (a 30-minute head piece) and ends at 03:15 (a tail piece).
  std::vector<HourCounts> hours{{kT0 + kHour, Seconds(1800), 10, 500},
                                {kT0 + kHour * 2, kHour, 1, 1000},
                                {kT0 + kHour * 3, kHour, 1, 1000},
                                {kT0 + kHour * 3 + Seconds(900), Seconds(900), 5, 250}};
  engine::AdjustmentSpans first{"a", "maintenance", "", {{kT0, kT0 + kHour}}};
  engine::AdjustmentSpans last{"b", "load-test", "", {{kT0 + kHour * 3, kT0 + kHour * 4}}};
  const auto l = engine::buildLedger(hours, 0.99, {first, last}, {}, {});
  EXPECT_DOUBLE_EQ(l.excludedBadEvents, 15.0);
  ASSERT_EQ(l.entries.size(), 2u);
  EXPECT_EQ(l.entries[0].start, kT0 + Seconds(1800));  // where the window starts
  EXPECT_EQ(l.entries[1].end, kT0 + kHour * 3 + Seconds(900));
  // A span that does not hold the piece's whole hour does not exclude it.
  engine::AdjustmentSpans half{"c", "other", "", {{kT0 + kHour * 3, kT0 + kHour * 3 + Seconds(1)}}};
  EXPECT_DOUBLE_EQ(engine::buildLedger(hours, 0.99, {half}, {}, {}).excludedBadEvents, 0.0);
}

TEST(BudgetLedger, TopEntriesKeepTheCostliestInTimeOrder) {
  const auto l = engine::buildLedger(day({{1, 5}, {4, 50}, {8, 7}, {12, 30}}), 0.999, {}, {}, {});
  ASSERT_EQ(l.entries.size(), 4u);
  const auto top = engine::topEntries(l.entries, 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].start, kT0 + kHour * 4);
  EXPECT_EQ(top[1].start, kT0 + kHour * 12);
}

TEST(BudgetLedger, NoTrafficNoBudgetNoDivisionByZero) {
  std::vector<HourCounts> hours{{kT0 + kHour, kHour, 0, 0}};
  const auto l = engine::buildLedger(hours, 0.999, {}, {}, {});
  EXPECT_EQ(l.allowedBadEvents, 0);
  EXPECT_TRUE(l.entries.empty());
  EXPECT_EQ(l.unattributedPercent, 0);
}

// The status stays far below the API server's 1.5 MiB object limit with the largest ledger the
// operator keeps (--ledger-entries 100) and the largest fields the CRDs and the rollout history
// allow (names 253, references 1,024, images 512 characters).
TEST(BudgetLedger, AFullLedgerKeepsTheStatusSmall) {
  model::SloStatus s;
  model::LedgerStatus ledger;
  for (int i = 0; i < 100; ++i) {
    engine::LedgerEntry e;
    e.start = kT0 + kHour * i;
    e.end = e.start + kHour;
    e.badEvents = 123456789;
    e.budgetPercent = 12.34;
    if (i % 2 == 0) {
      e.cause = LedgerCause::Rollout;
      e.rollout = engine::RolloutRecord{e.start,           "deployment/" + std::string(253, 'd'),
                                        "123456",          std::string(512, 'i'),
                                        "slo-improvement", ""};
    } else {
      e.cause = LedgerCause::Adjustment;
      e.adjustment = std::string(253, 'a');
      e.reason = "miscategorized";
      e.reference = std::string(1024, 'r');
    }
    ledger.entries.push_back(e);
  }
  ledger.entryCount = 100;
  s.ledger = ledger;
  model::AdjustmentStatus adj;
  for (int i = 0; i < 20; ++i) {
    adj.applied.push_back({std::string(253, 'a'), "dependency", std::string(1024, 'r'), 1, 1});
    adj.ignored.push_back({std::string(253, 'a'), std::string(200, 'p')});
  }
  s.adjustments = adj;
  const auto bytes = model::statusToJson(s).size();
  EXPECT_LT(bytes, 256u * 1024u) << bytes;
  // The default (10 entries) is a few KiB per SLO.
  s.ledger->entries.resize(10);
  s.adjustments.reset();
  EXPECT_LT(model::statusToJson(s).size(), 16u * 1024u);
  std::cout << "status with 100 worst-case entries and 40 adjustments: " << bytes
            << " bytes; with 10 entries: " << model::statusToJson(s).size() << " bytes\n";
}

// The recovery projection follows the adjusted budget: an adjusted outage hour neither holds
// the budget down nor ages out later.
TEST(BudgetLedger, RecoveryProjectionLeavesAdjustedHoursOut) {
  engine::WindowHistory h;
  h.now = kT0 + kHour * 4;
  h.bucket = kHour;
  h.windowLength = kHour * 4;
  h.oldestBucketEnd = kT0 + kHour;
  h.bad = {1, 500, 1, 1};
  h.total = {1000, 1000, 1000, 1000};
  h.badNow = 503;
  h.totalNow = 4000;
  // Unadjusted at 99 %: 503 bad of 40 allowed; back above 50 % only once hour 2 ages out.
  const auto before = engine::recoveryAt(h, 0.99, 50.0);
  ASSERT_TRUE(before);
  EXPECT_EQ(*before, kT0 + kHour * 2 + h.windowLength);
  engine::AdjustmentSpans outage{"db", "dependency", "", {{kT0 + kHour, kT0 + kHour * 2}}};
  prometheus::excludeAdjustedHours(h, {outage});
  EXPECT_EQ(h.bad[1], 0);
  EXPECT_EQ(h.total[1], 500);
  EXPECT_EQ(h.bad[0], 1);
  // As the evaluator sets them: the adjusted window (3 bad of 3,500).
  h.badNow = 3;
  h.totalNow = 3500;
  EXPECT_EQ(engine::recoveryAt(h, 0.99, 50.0), h.now);
}

}  // namespace
}  // namespace budgetgate
