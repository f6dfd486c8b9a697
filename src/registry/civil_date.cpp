#include "ulus/registry/civil_date.hpp"

namespace ulus::registry {

namespace {

bool IsLeap(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && IsLeap(year)) return 29;
  return kDays[month - 1];
}

int Digit(char c) {
  return c >= '0' && c <= '9' ? c - '0' : -1;
}

}  // namespace

bool IsValidCivilDate(int year, int month, int day) {
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) return false;
  return day <= DaysInMonth(year, month);
}

std::optional<CivilDate> MakeCivilDate(int year, int month, int day) {
  if (!IsValidCivilDate(year, month, day)) return std::nullopt;
  return CivilDate{year, month, day};
}

// Howard Hinnant's days_from_civil / civil_from_days: exact integer arithmetic, no tables.
int64_t DaysFromCivil(CivilDate date) {
  const int64_t y = date.year - (date.month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t m = date.month;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + date.day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

CivilDate CivilFromDays(int64_t days) {
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return CivilDate{static_cast<int>(y), static_cast<int>(m), static_cast<int>(d)};
}

int IsoWeekday(CivilDate date) {
  const int64_t days = DaysFromCivil(date);
  // 1970-01-01 was a Thursday (4).
  const int64_t w = ((days % 7) + 7 + 3) % 7;
  return static_cast<int>(w) + 1;
}

int AgeOn(CivilDate birth, CivilDate on) {
  int age = on.year - birth.year;
  if (on.month < birth.month || (on.month == birth.month && on.day < birth.day)) --age;
  return age;
}

void AppendIsoDate(std::string& out, CivilDate date) {
  char buf[10];
  int y = date.year;
  for (int i = 3; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + y % 10);
    y /= 10;
  }
  buf[4] = '-';
  buf[5] = static_cast<char>('0' + date.month / 10);
  buf[6] = static_cast<char>('0' + date.month % 10);
  buf[7] = '-';
  buf[8] = static_cast<char>('0' + date.day / 10);
  buf[9] = static_cast<char>('0' + date.day % 10);
  out.append(buf, sizeof(buf));
}

std::string FormatIsoDate(CivilDate date) {
  std::string out;
  out.reserve(10);
  AppendIsoDate(out, date);
  return out;
}

std::optional<CivilDate> ParseIsoDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  int parts[3] = {0, 0, 0};
  const int starts[3] = {0, 5, 8};
  const int lengths[3] = {4, 2, 2};
  for (int p = 0; p < 3; ++p) {
    for (int i = 0; i < lengths[p]; ++i) {
      const int d = Digit(text[static_cast<size_t>(starts[p] + i)]);
      if (d < 0) return std::nullopt;
      parts[p] = parts[p] * 10 + d;
    }
  }
  return MakeCivilDate(parts[0], parts[1], parts[2]);
}

}  // namespace ulus::registry
