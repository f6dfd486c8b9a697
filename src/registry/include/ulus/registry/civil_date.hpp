#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ulus::registry {

// A date in the proleptic Gregorian calendar, with no time zone: a birth date, a holiday, the
// day a record became valid. A plain value; construct valid ones with MakeCivilDate.
struct CivilDate {
  int year = 1970;
  int month = 1;
  int day = 1;

  friend auto operator<=>(const CivilDate&, const CivilDate&) = default;
};

bool IsValidCivilDate(int year, int month, int day);
std::optional<CivilDate> MakeCivilDate(int year, int month, int day);

// Days since 1970-01-01 (negative before it), and back; exact for years 1..9999.
int64_t DaysFromCivil(CivilDate date);
CivilDate CivilFromDays(int64_t days);

// ISO weekday of a date: 1 = Monday ... 7 = Sunday.
int IsoWeekday(CivilDate date);

// Whole years from `birth` to `on` (the age on that day).
int AgeOn(CivilDate birth, CivilDate on);

// "YYYY-MM-DD" for years 0..9999.
std::string FormatIsoDate(CivilDate date);
void AppendIsoDate(std::string& out, CivilDate date);
// Strict "YYYY-MM-DD" that names a real day; nullopt otherwise.
std::optional<CivilDate> ParseIsoDate(std::string_view text);

}  // namespace ulus::registry
