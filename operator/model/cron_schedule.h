#pragma once
// A five-field cron schedule ("minute hour day-of-month month day-of-week"), as Kubernetes
// CronJobs write it: each field "*", "*/n", "a", "a-b", "a-b/n" or a comma list of those.
// Day-of-week 0-7 (0 and 7 are Sunday). When both day fields are restricted a day matches if
// either does, as in cron. Used for recurring budget adjustments (maintenance windows).

#include <bitset>
#include <optional>
#include <string>

namespace budgetgate::model {

struct CronSchedule {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> daysOfMonth;  // 1-31
  std::bitset<13> months;       // 1-12
  std::bitset<7> daysOfWeek;    // 0-6, Sunday = 0
  bool dayOfMonthRestricted = false;
  bool dayOfWeekRestricted = false;

  // A civil (local) time matches when every field does.
  bool matches(int minute, int hour, int dayOfMonth, int month, int dayOfWeek) const;
  bool matchesDay(int dayOfMonth, int month, int dayOfWeek) const;
};

// nullopt with *error ("field 2 (hour): 25 is out of range 0-23") for a malformed schedule.
std::optional<CronSchedule> parseCronSchedule(const std::string& text, std::string* error);

}  // namespace budgetgate::model
