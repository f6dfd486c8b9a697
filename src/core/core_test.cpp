#include <gtest/gtest.h>

#include <set>

#include "ulus/core/clock.hpp"
#include "ulus/core/id.hpp"
#include "ulus/core/result.hpp"

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

}  // namespace
}  // namespace ulus
