#include "ulus/core/working_days.hpp"

#include <algorithm>

namespace ulus {

namespace {

// Ten years of days off and weekends at most between two working days: beyond that, the
// calendar has none.
constexpr int kMaxScanDays = 3660;

}  // namespace

WorkingDays::WorkingDays(const std::vector<int>& weekend,
                         std::vector<std::chrono::sys_days> days_off)
    : days_off_(std::move(days_off)) {
  for (int day : weekend) {
    if (day >= 1 && day <= 7) weekend_[static_cast<size_t>(day)] = true;
  }
  std::sort(days_off_.begin(), days_off_.end());
  days_off_.erase(std::unique(days_off_.begin(), days_off_.end()), days_off_.end());
}

bool WorkingDays::IsWorkingDay(std::chrono::sys_days day) const {
  const unsigned iso = std::chrono::weekday(day).iso_encoding();
  if (weekend_[iso]) return false;
  return !std::binary_search(days_off_.begin(), days_off_.end(), day);
}

std::chrono::sys_days WorkingDays::Add(std::chrono::sys_days start, int n) const {
  std::chrono::sys_days day = start;
  for (int counted = 0, scanned = 0; counted < n; ++scanned) {
    if (scanned > kMaxScanDays && counted == 0) return start;
    day += std::chrono::days(1);
    if (IsWorkingDay(day)) ++counted;
  }
  return day;
}

int WorkingDays::Between(std::chrono::sys_days from, std::chrono::sys_days to) const {
  int count = 0;
  for (std::chrono::sys_days day = from + std::chrono::days(1); day <= to;
       day += std::chrono::days(1)) {
    if (IsWorkingDay(day)) ++count;
  }
  return count;
}

}  // namespace ulus
