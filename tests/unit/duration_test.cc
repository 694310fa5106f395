#include "operator/common/duration.h"

#include <gtest/gtest.h>

namespace budgetgate {
namespace {

TEST(ParseDuration, SingleUnits) {
  EXPECT_EQ(parseDuration("45s"), Seconds(45));
  EXPECT_EQ(parseDuration("5m"), Seconds(300));
  EXPECT_EQ(parseDuration("1h"), Seconds(3600));
  EXPECT_EQ(parseDuration("30d"), Seconds(30 * 86400));
  EXPECT_EQ(parseDuration("28d"), Seconds(28 * 86400));
  EXPECT_EQ(parseDuration("2w"), Seconds(14 * 86400));
  EXPECT_EQ(parseDuration("0s"), Seconds(0));
}

TEST(ParseDuration, CompoundForms) {
  EXPECT_EQ(parseDuration("1h30m"), Seconds(5400));
  EXPECT_EQ(parseDuration("1d12h"), Seconds(36 * 3600));
  EXPECT_EQ(parseDuration("1w1d1h1m1s"), Seconds(7 * 86400 + 86400 + 3600 + 60 + 1));
  // Repeated units simply add up.
  EXPECT_EQ(parseDuration("30m30m"), Seconds(3600));
}

TEST(ParseDuration, RejectsBareNumbersAndGarbage) {
  for (const char* bad : {"", "5", "m", "h5", "5x", "1.5h", "-5m", "+5m", " 5m", "5m ", "5 m", "5M",
                          "1Y", "5mm", "1h30", "abc", "∞d"}) {
    EXPECT_FALSE(parseDuration(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(ParseDuration, RejectsOverflowInsteadOfWrapping) {
  EXPECT_FALSE(parseDuration("99999999999999999999s").has_value());
  EXPECT_FALSE(parseDuration("9223372036854775807d").has_value());
  // Each part fits on its own (106751991167300 d is just under the int64 second limit) but the
  // sum does not: that must be an error, not a wrapped negative duration.
  EXPECT_TRUE(parseDuration("106751991167300d").has_value());
  EXPECT_FALSE(parseDuration("106751991167300d106751991167300d").has_value());
  EXPECT_FALSE(parseDuration("9223372036854775800s9223372036854775800s").has_value());
}

TEST(FormatDuration, UsesTheLargestExactUnit) {
  EXPECT_EQ(formatDuration(Seconds(0)), "0s");
  EXPECT_EQ(formatDuration(Seconds(45)), "45s");
  EXPECT_EQ(formatDuration(Seconds(90)), "90s");
  EXPECT_EQ(formatDuration(Seconds(300)), "5m");
  EXPECT_EQ(formatDuration(Seconds(5400)), "90m");
  EXPECT_EQ(formatDuration(Seconds(3600)), "1h");
  EXPECT_EQ(formatDuration(Seconds(36 * 3600)), "36h");
  EXPECT_EQ(formatDuration(Seconds(30 * 86400)), "30d");
  EXPECT_EQ(formatDuration(Seconds(7 * 86400)), "7d");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  for (long long s : {1LL, 59LL, 60LL, 61LL, 3599LL, 3600LL, 86399LL, 86400LL, 2592000LL}) {
    const auto text = formatDuration(Seconds(s));
    EXPECT_EQ(parseDuration(text), Seconds(s)) << text;
  }
}

TEST(HumanDuration, RoundsForMessages) {
  EXPECT_EQ(humanDuration(Seconds(30)), "30s");
  EXPECT_EQ(humanDuration(Seconds(12 * 60)), "12m");
  EXPECT_EQ(humanDuration(Seconds(5 * 3600)), "5.0h");
  EXPECT_EQ(humanDuration(Seconds(180000)), "2.1d");  // 2.08 days
  EXPECT_EQ(humanDuration(Seconds(3 * 86400)), "3.0d");
}

}  // namespace
}  // namespace budgetgate
