#include "operator/common/time.h"

#include <date/date.h>
#include <gtest/gtest.h>

namespace budgetgate {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TimePoint utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return date::sys_days(date::year(y) / mo / d) + hours(h) + minutes(mi) + seconds(s);
}

TEST(ParseTime, UtcWithZ) {
  EXPECT_EQ(parseTime("2026-01-31T00:00:00Z"), utc(2026, 1, 31));
  EXPECT_EQ(parseTime("2026-01-31T13:45:09Z"), utc(2026, 1, 31, 13, 45, 9));
  EXPECT_EQ(parseTime("1970-01-01T00:00:00Z"), TimePoint(seconds(0)));
  // RFC 3339 allows lower-case t and z.
  EXPECT_EQ(parseTime("2026-01-31t00:00:00z"), utc(2026, 1, 31));
}

TEST(ParseTime, NumericOffsetsConvertToUtc) {
  EXPECT_EQ(parseTime("2026-01-31T01:00:00+01:00"), utc(2026, 1, 31));
  EXPECT_EQ(parseTime("2026-01-30T18:30:00-05:30"), utc(2026, 1, 31));
  EXPECT_EQ(parseTime("2026-01-31T00:00:00+00:00"), utc(2026, 1, 31));
  EXPECT_EQ(parseTime("2026-01-31T00:00:00-00:00"), utc(2026, 1, 31));
  // An offset crossing midnight and a year boundary.
  EXPECT_EQ(parseTime("2026-01-01T00:30:00+02:00"), utc(2025, 12, 31, 22, 30));
}

TEST(ParseTime, FractionalSecondsAreTruncated) {
  EXPECT_EQ(parseTime("2026-01-31T00:00:00.999999999Z"), utc(2026, 1, 31));
  EXPECT_EQ(parseTime("2026-01-31T00:00:07.5+01:00"), utc(2026, 1, 30, 23, 0, 7));
  EXPECT_EQ(parseTime("2026-01-31T00:00:00.1Z"), utc(2026, 1, 31));
}

TEST(ParseTime, UnixSecondsForTheCommandLine) {
  EXPECT_EQ(parseTime("1769817600"), utc(2026, 1, 31));
  EXPECT_EQ(parseTime("0"), TimePoint(seconds(0)));
  EXPECT_FALSE(parseTime("99999999999999999999999").has_value());
}

TEST(ParseTime, LeapDays) {
  EXPECT_EQ(parseTime("2024-02-29T00:00:00Z"), utc(2024, 2, 29));
  EXPECT_FALSE(parseTime("2023-02-29T00:00:00Z").has_value());
  EXPECT_FALSE(parseTime("2100-02-29T00:00:00Z").has_value());
  EXPECT_EQ(parseTime("2000-02-29T00:00:00Z"), utc(2000, 2, 29));
}

TEST(ParseTime, RejectsGarbage) {
  for (const char* bad : {
           "",
           "yesterday",
           "2026-01-31",               // a date alone
           "2026-01-31T00:00:00",      // no offset
           "2026-01-31T00:00Z",        // no seconds
           "2026-01-31 00:00:00 UTC",  // zone name instead of an offset
           "2026-02-30T00:00:00Z",     // no such day
           "2026-13-01T00:00:00Z",     // no such month
           "2026-00-10T00:00:00Z",
           "2026-01-31T24:00:00Z",
           "2026-01-31T00:60:00Z",
           "2026-01-31T00:00:61Z",
           "2026-01-31T00:00:00.Z",     // a dot without digits
           "2026-01-31T00:00:00+1:00",  // one-digit hour offset
           "2026-01-31T00:00:00+0100",  // no colon
           "2026-01-31T00:00:00+24:00",
           "2026-01-31T00:00:00+01:60",
           "2026-01-31T00:00:00+01:00x",  // trailing text
           "2026-01-31T00:00:00Zjunk",
           "2026-01-31X00:00:00Z",
           "+2026-01-31T00:00:00Z",
           "２０２６-01-31T00:00:00Z",
           "-1",
           "12e3",
           "2026-1-31T00:00:00Z",
       }) {
    EXPECT_FALSE(parseTime(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(ParseTime, RejectsInstantsBeyondYear9999) {
  // RFC 3339 has four-digit years; larger Unix seconds would overflow calendar arithmetic.
  EXPECT_TRUE(parseTime("253402300799").has_value());  // 9999-12-31T23:59:59Z
  EXPECT_FALSE(parseTime("253402300800").has_value());
  EXPECT_FALSE(parseTime("9223372036854775807").has_value());
  // Offsets that push a four-digit year out of range cannot be written back: rejected too.
  EXPECT_EQ(parseTime("0000-01-01T00:00:00Z"), utc(0, 1, 1));
  EXPECT_FALSE(parseTime("0000-01-01T00:00:00+00:01").has_value());
  EXPECT_EQ(parseTime("9999-12-31T23:59:59Z"), utc(9999, 12, 31, 23, 59, 59));
  EXPECT_FALSE(parseTime("9999-12-31T23:59:59-00:01").has_value());
  // Whatever is accepted formats back to text that parses to the same instant.
  for (const char* text :
       {"0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0001-02-03T04:05:06+07:08"}) {
    const auto t = parseTime(text);
    ASSERT_TRUE(t.has_value()) << text;
    EXPECT_EQ(parseTime(formatTime(*t)), t) << text << " -> " << formatTime(*t);
  }
}

TEST(ParseCivilTime, ReadsNineteenCharactersWithoutZone) {
  std::size_t used = 0;
  const auto t = parseCivilTime("2024-01-01 06:30:00 extra", &used);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(used, 19u);
  EXPECT_EQ(*t, utc(2024, 1, 1, 6, 30));
  EXPECT_EQ(parseCivilTime("2024-01-01T06:30:00", nullptr), utc(2024, 1, 1, 6, 30));
  EXPECT_FALSE(parseCivilTime("2024-01-01", &used).has_value());
  EXPECT_FALSE(parseCivilTime("2024/01/01 06:30:00", &used).has_value());
}

TEST(FormatTime, Rfc3339InUtc) {
  EXPECT_EQ(formatTime(utc(2026, 1, 31)), "2026-01-31T00:00:00Z");
  EXPECT_EQ(formatTime(utc(2026, 2, 6, 4, 5, 6)), "2026-02-06T04:05:06Z");
  for (const char* text :
       {"2024-02-29T23:59:59Z", "1999-12-31T00:00:01Z", "2038-01-19T03:14:08Z"}) {
    const auto t = parseTime(text);
    ASSERT_TRUE(t.has_value()) << text;
    EXPECT_EQ(formatTime(*t), text);
  }
}

TEST(NowSeconds, IsTruncatedToWholeSeconds) {
  const auto before = std::chrono::floor<seconds>(std::chrono::system_clock::now());
  const auto now = nowSeconds();
  EXPECT_GE(now, before);
  EXPECT_LE(now - before, seconds(5));
}

}  // namespace
}  // namespace budgetgate
