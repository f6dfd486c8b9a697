#include <gtest/gtest.h>

#include <set>

#include "ulus/core/clock.hpp"
#include "ulus/core/id.hpp"
#include "ulus/core/result.hpp"
#include "ulus/core/working_days.hpp"

namespace ulus {
namespace {

Result<int> Half(int n) {
  if (n % 2 != 0) return Error::InvalidArgument("odd number", "n");
  return n / 2;
}

Result<int> Quarter(int n) {
  ULUS_ASSIGN_OR_RETURN(const int half, Half(n));
  ULUS_ASSIGN_OR_RETURN(const int quarter, Half(half));
  return quarter;
}

TEST(Result, CarriesValueOrError) {
  EXPECT_EQ(*Quarter(8), 2);
  const auto bad = Quarter(6);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().field, "n");
  EXPECT_EQ(bad.error().ToString(), "invalid_argument: odd number (field 'n')");
}

TEST(Clock, ManualClockMovesOnlyWhenTold) {
  ManualClock clock(FromUnixMicros(1'700'000'000'000'000));
  EXPECT_EQ(FormatRfc3339(clock.Now()), "2023-11-14T22:13:20.000Z");
  clock.Advance(std::chrono::milliseconds(1500));
  EXPECT_EQ(FormatRfc3339(clock.Now()), "2023-11-14T22:13:21.500Z");
}

TEST(Clock, IsoDaysRoundTripAndRefuseWhatIsNotADay) {
  using std::chrono::sys_days;
  const auto day = ParseIsoDay("2024-02-29");
  ASSERT_TRUE(day.has_value());
  EXPECT_EQ(FormatIsoDay(*day), "2024-02-29");
  EXPECT_EQ(FormatIsoDay(sys_days{}), "1970-01-01");
  for (const char* bad : {"2023-02-29", "2024-13-01", "2024-1-01", "2024-01-01T00", "20240101",
                          "2024-01-+1", "abcd-01-01", ""}) {
    EXPECT_FALSE(ParseIsoDay(bad).has_value()) << bad;
  }
}

TEST(Id, UuidV7IsWellFormedUniqueAndTimeOrdered) {
  ManualClock clock(FromUnixMicros(1'700'000'000'000'000));
  std::set<std::string> seen;
  std::string previous;
  for (int i = 0; i < 1000; ++i) {
    clock.Advance(std::chrono::milliseconds(1));
    auto id = NewUuidV7(clock);
    ASSERT_TRUE(IsUuid(id)) << id;
    EXPECT_EQ(id[14], '7');
    EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
    EXPECT_GT(id, previous);
    previous = id;
    EXPECT_TRUE(seen.insert(id).second);
  }
  EXPECT_FALSE(IsUuid("not-a-uuid"));
  EXPECT_FALSE(IsUuid("0190e6b2-7a3c-7def-8123-45678Z9abcde"));
}

std::chrono::sys_days Day(int y, unsigned m, unsigned d) {
  return std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(m) / std::chrono::day(d));
}

TEST(WorkingDays, SkipWeekendsAndDaysOff) {
  // Mongolia's Naadam 2025: 10-15 July are days off (Thursday to Tuesday).
  std::vector<std::chrono::sys_days> naadam;
  for (unsigned d = 10; d <= 15; ++d) naadam.push_back(Day(2025, 7, d));
  const WorkingDays days({6, 7}, naadam);
  EXPECT_TRUE(days.IsWorkingDay(Day(2025, 7, 9)));
  EXPECT_FALSE(days.IsWorkingDay(Day(2025, 7, 14)));  // a Monday in Naadam
  EXPECT_FALSE(days.IsWorkingDay(Day(2025, 7, 19)));  // a Saturday
  // Filed on Wednesday 9 July with 1 working day: due Wednesday 16 July.
  EXPECT_EQ(days.Add(Day(2025, 7, 9), 1), Day(2025, 7, 16));
  // Filed on a Saturday: counting starts on Monday.
  EXPECT_EQ(days.Add(Day(2025, 7, 19), 1), Day(2025, 7, 21));
  EXPECT_EQ(days.Add(Day(2025, 7, 1), 10), Day(2025, 7, 21));
  EXPECT_EQ(days.Add(Day(2025, 7, 1), 0), Day(2025, 7, 1));
  EXPECT_EQ(days.Between(Day(2025, 7, 9), Day(2025, 7, 16)), 1);
  EXPECT_EQ(days.Between(Day(2025, 7, 1), days.Add(Day(2025, 7, 1), 10)), 10);
  EXPECT_EQ(days.Between(Day(2025, 7, 16), Day(2025, 7, 9)), 0);
  // A calendar without working days gives no deadline rather than looping.
  const WorkingDays none({1, 2, 3, 4, 5, 6, 7}, {});
  EXPECT_EQ(none.Add(Day(2025, 7, 1), 3), Day(2025, 7, 1));
}

}  // namespace
}  // namespace ulus
