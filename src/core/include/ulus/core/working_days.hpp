#pragma once

#include <array>
#include <chrono>
#include <vector>

namespace ulus {

// A country's working days: its weekend (ISO weekdays) and its dated days off (holidays and the
// days off moved onto weekdays). The deadlines of services and appeals count these. Immutable
// once made; safe for concurrent readers.
class WorkingDays {
 public:
  WorkingDays() = default;
  // `weekend` holds ISO weekdays, 1 = Monday ... 7 = Sunday; other numbers are ignored.
  WorkingDays(const std::vector<int>& weekend, std::vector<std::chrono::sys_days> days_off);

  [[nodiscard]] bool IsWorkingDay(std::chrono::sys_days day) const;
  // The `n`th working day after `start` (which itself does not count, working or not): a
  // request made on a Friday with a 1-day deadline is due on Monday; n = 0 gives `start`.
  // With no working day at all in the calendar, gives `start` (a calendar without working days
  // is a misconfiguration, not a deadline).
  [[nodiscard]] std::chrono::sys_days Add(std::chrono::sys_days start, int n) const;
  // The working days after `from` up to and including `to` (0 when `to` <= `from`): how much of
  // a deadline has run.
  [[nodiscard]] int Between(std::chrono::sys_days from, std::chrono::sys_days to) const;

 private:
  std::array<bool, 8> weekend_{};                // by ISO weekday
  std::vector<std::chrono::sys_days> days_off_;  // sorted, unique
};

}  // namespace ulus
