#include "operator/model/window_bounds.h"

#include <date/date.h>
#include <gtest/gtest.h>

namespace budgetgate::model {
namespace {

using std::chrono::hours;

constexpr Seconds kDay{86400};

TimePoint utc(int y, unsigned mo, unsigned d, int h = 0) {
  return date::sys_days(date::year(y) / mo / d) + hours(h);
}

TimeWindow calendar(int count, CalendarUnit unit, std::string start = {},
                    std::string zone = "UTC") {
  TimeWindow w;
  w.isRolling = false;
  w.calendarCount = count;
  w.calendarUnit = unit;
  w.calendarStart = std::move(start);
  w.calendarTimeZone = std::move(zone);
  return w;
}

WindowBounds resolve(const TimeWindow& w, TimePoint at) {
  std::string error;
  const auto b = resolveWindow(w, at, &error);
  EXPECT_TRUE(b.has_value()) << error;
  return b.value_or(WindowBounds{});
}

TEST(WindowBounds, RollingWindowEndsNow) {
  TimeWindow w;
  w.isRolling = true;
  w.duration = 30 * kDay;
  const auto b = resolve(w, utc(2026, 1, 31));
  EXPECT_EQ(b.end, utc(2026, 1, 31));
  EXPECT_EQ(b.start, utc(2026, 1, 1));
  EXPECT_EQ(b.length, 30 * kDay);
}

TEST(WindowBounds, CalendarMonthLengths) {
  const auto w = calendar(1, CalendarUnit::Month);
  struct Case {
    TimePoint at;
    TimePoint start;
    Seconds length;
  };
  for (const Case& c : {
           Case{utc(2026, 1, 15), utc(2026, 1, 1), 31 * kDay},
           Case{utc(2026, 2, 15), utc(2026, 2, 1), 28 * kDay},
           Case{utc(2024, 2, 15), utc(2024, 2, 1), 29 * kDay},  // leap year
           Case{utc(2026, 4, 30, 23), utc(2026, 4, 1), 30 * kDay},
           Case{utc(2026, 12, 31, 23), utc(2026, 12, 1), 31 * kDay},
       }) {
    const auto b = resolve(w, c.at);
    EXPECT_EQ(b.start, c.start) << date::format("%F", c.at);
    EXPECT_EQ(b.length, c.length) << date::format("%F", c.at);
    EXPECT_EQ(b.end, c.at);
  }
}

TEST(WindowBounds, APeriodStartsExactlyOnItsBoundary) {
  const auto w = calendar(1, CalendarUnit::Month);
  EXPECT_EQ(resolve(w, utc(2026, 3, 1)).start, utc(2026, 3, 1));
  EXPECT_EQ(resolve(w, utc(2026, 3, 1) - Seconds(1)).start, utc(2026, 2, 1));
}

TEST(WindowBounds, JanuaryThirtyFirstPlusOneMonthClampsToFebruary) {
  const auto w = calendar(1, CalendarUnit::Month, "2026-01-31 00:00:00");
  auto b = resolve(w, utc(2026, 2, 15));
  EXPECT_EQ(b.start, utc(2026, 1, 31));
  EXPECT_EQ(b.length, 28 * kDay);  // Jan 31 -> Feb 28
  b = resolve(w, utc(2026, 3, 1));
  EXPECT_EQ(b.start, utc(2026, 2, 28));
  EXPECT_EQ(b.length, 31 * kDay);  // Feb 28 -> Mar 31 (the anchor's day again)
  b = resolve(w, utc(2024, 2, 29, 12));
  EXPECT_EQ(b.start, utc(2024, 2, 29));  // leap year: Feb 29
}

TEST(WindowBounds, BeforeTheAnchorCountsBackwards) {
  const auto w = calendar(1, CalendarUnit::Month, "2026-01-01 00:00:00");
  const auto b = resolve(w, utc(2025, 12, 15));
  EXPECT_EQ(b.start, utc(2025, 12, 1));
  EXPECT_EQ(b.length, 31 * kDay);
}

TEST(WindowBounds, QuartersYearsWeeksAndDays) {
  auto b = resolve(calendar(1, CalendarUnit::Quarter), utc(2026, 5, 10));
  EXPECT_EQ(b.start, utc(2026, 4, 1));
  EXPECT_EQ(b.length, 91 * kDay);
  b = resolve(calendar(1, CalendarUnit::Year), utc(2024, 7, 1));
  EXPECT_EQ(b.start, utc(2024, 1, 1));
  EXPECT_EQ(b.length, 366 * kDay);
  b = resolve(calendar(1, CalendarUnit::Year), utc(2026, 7, 1));
  EXPECT_EQ(b.length, 365 * kDay);
  // Weeks anchored on Monday 2024-01-01.
  b = resolve(calendar(1, CalendarUnit::Week, "2024-01-01 00:00:00"), utc(2026, 1, 31, 12));
  EXPECT_EQ(b.start, utc(2026, 1, 26));  // the Monday before
  EXPECT_EQ(b.length, 7 * kDay);
  b = resolve(calendar(2, CalendarUnit::Week, "2026-01-05 00:00:00"), utc(2026, 1, 31));
  EXPECT_EQ(b.start, utc(2026, 1, 19));
  EXPECT_EQ(b.length, 14 * kDay);
  b = resolve(calendar(1, CalendarUnit::Day), utc(2026, 1, 31, 13));
  EXPECT_EQ(b.start, utc(2026, 1, 31));
  EXPECT_EQ(b.length, kDay);
}

TEST(WindowBounds, StartTimeOfDayIsKept) {
  const auto b =
      resolve(calendar(1, CalendarUnit::Day, "2024-01-01 06:00:00"), utc(2026, 1, 31, 3));
  EXPECT_EQ(b.start, utc(2026, 1, 30, 6));
}

TEST(WindowBounds, BerlinDaysAcrossDaylightSavingTime) {
  const auto w = calendar(1, CalendarUnit::Day, "2024-01-01 00:00:00", "Europe/Berlin");
  // 2026-03-29: clocks go from 02:00 CET to 03:00 CEST; the local day has 23 hours.
  auto b = resolve(w, utc(2026, 3, 29, 12));
  EXPECT_EQ(b.start, utc(2026, 3, 28, 23));  // local midnight, UTC+1
  EXPECT_EQ(b.length, hours(23));
  // 2026-10-25: back from 03:00 CEST to 02:00 CET; 25 hours.
  b = resolve(w, utc(2026, 10, 25, 12));
  EXPECT_EQ(b.start, utc(2026, 10, 24, 22));  // local midnight, UTC+2
  EXPECT_EQ(b.length, hours(25));
  // An ordinary winter day.
  b = resolve(w, utc(2026, 1, 15, 12));
  EXPECT_EQ(b.start, utc(2026, 1, 14, 23));
  EXPECT_EQ(b.length, hours(24));
}

TEST(WindowBounds, BerlinMonthsAcrossDaylightSavingTime) {
  const auto w = calendar(1, CalendarUnit::Month, "2024-01-01 00:00:00", "Europe/Berlin");
  auto b = resolve(w, utc(2026, 3, 15));
  EXPECT_EQ(b.start, utc(2026, 2, 28, 23));   // 2026-03-01T00:00+01:00
  EXPECT_EQ(b.length, 31 * kDay - hours(1));  // ends 2026-04-01T00:00+02:00
  b = resolve(w, utc(2026, 10, 15));
  EXPECT_EQ(b.start, utc(2026, 9, 30, 22));  // 2026-10-01T00:00+02:00
  EXPECT_EQ(b.length, 31 * kDay + hours(1));
  // Just after local midnight on 1 April is already April; just before is still March.
  EXPECT_EQ(resolve(w, utc(2026, 3, 31, 22)).start, utc(2026, 3, 31, 22));
  EXPECT_EQ(resolve(w, utc(2026, 3, 31, 21)).start, utc(2026, 2, 28, 23));
}

TEST(WindowBounds, NonexistentLocalStartDoesNotFail) {
  // 02:30 on 2026-03-29 does not exist in Berlin; the window still resolves.
  std::string error;
  const auto b =
      resolveWindow(calendar(1, CalendarUnit::Day, "2026-03-29 02:30:00", "Europe/Berlin"),
                    utc(2026, 4, 2, 12), &error);
  ASSERT_TRUE(b.has_value()) << error;
  EXPECT_LE(b->start, utc(2026, 4, 2, 12));
  EXPECT_GT(b->start + b->length, utc(2026, 4, 2, 12));
}

TEST(WindowBounds, UnknownZoneAndBadStartAreErrors) {
  std::string error;
  EXPECT_FALSE(
      resolveWindow(calendar(1, CalendarUnit::Month, "", "Mars/Olympus"), utc(2026, 1, 1), &error)
          .has_value());
  EXPECT_NE(error.find("Mars/Olympus"), std::string::npos);
  EXPECT_FALSE(
      resolveWindow(calendar(1, CalendarUnit::Month, "2026-01-01"), utc(2026, 1, 1), &error)
          .has_value());
  EXPECT_NE(error.find("2026-01-01"), std::string::npos);
  EXPECT_FALSE(resolveWindow(calendar(1, CalendarUnit::Month, "2026-01-01 00:00:00Z"),
                             utc(2026, 1, 1), &error)
                   .has_value());
  EXPECT_FALSE(
      resolveWindow(calendar(1, CalendarUnit::Month, "", "Mars/Olympus"), utc(2026, 1, 1), nullptr)
          .has_value());
}

TEST(WindowBounds, HugeCalendarCountsResolveOrFailButNeverWrap) {
  const TimePoint at = utc(2026, 1, 31, 12);
  for (auto unit : {CalendarUnit::Day, CalendarUnit::Week, CalendarUnit::Month,
                    CalendarUnit::Quarter, CalendarUnit::Year}) {
    for (int count : {1, 12, 999, 9999, 40000, 999999}) {
      auto w = calendar(count, unit);
      w.text = std::to_string(count) + "?";
      std::string error;
      const auto b = resolveWindow(w, at, &error);
      if (b) {
        EXPECT_LE(b->start, at) << count;
        EXPECT_GT(b->start + b->length, at) << count;
        EXPECT_GT(b->length, Seconds(0)) << count;
      } else {
        EXPECT_NE(error.find("cannot be placed"), std::string::npos) << error;
      }
    }
  }
  // Within the calendar library's range the answer is exact: 100 years from 2020.
  const auto century = resolve(calendar(100, CalendarUnit::Year, "2020-01-01 00:00:00"), at);
  EXPECT_EQ(century.start, utc(2020, 1, 1));
  EXPECT_EQ(century.start + century.length, utc(2120, 1, 1));
  std::string error;
  EXPECT_FALSE(resolveWindow(calendar(40000, CalendarUnit::Year), at, &error).has_value());
}

TEST(WindowBounds, KnownTimeZones) {
  EXPECT_TRUE(isKnownTimeZone("UTC"));
  EXPECT_TRUE(isKnownTimeZone("Europe/Berlin"));
  EXPECT_TRUE(isKnownTimeZone("America/New_York"));
  EXPECT_FALSE(isKnownTimeZone("Europe/Atlantis"));
  EXPECT_FALSE(isKnownTimeZone(""));
}

TEST(WindowBounds, EveryPeriodContainsTheInstant) {
  // Property: for many instants, start <= at < start + length, and consecutive periods tile.
  for (auto unit : {CalendarUnit::Day, CalendarUnit::Week, CalendarUnit::Month,
                    CalendarUnit::Quarter, CalendarUnit::Year}) {
    for (const char* zone : {"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"}) {
      const auto w =
          calendar(unit == CalendarUnit::Week ? 2 : 1, unit, "2023-01-31 00:00:00", zone);
      for (TimePoint at = utc(2022, 1, 1); at < utc(2028, 1, 1); at += Seconds(86400 * 17 + 3607)) {
        const auto b = resolve(w, at);
        ASSERT_LE(b.start, at) << zone;
        ASSERT_GT(b.start + b.length, at) << zone;
        ASSERT_GT(b.length, Seconds(0));
        const auto next = resolve(w, b.start + b.length);
        ASSERT_EQ(next.start, b.start + b.length) << zone;
      }
    }
  }
}

}  // namespace
}  // namespace budgetgate::model
