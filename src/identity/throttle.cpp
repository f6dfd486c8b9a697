#include "throttle.hpp"

#include <algorithm>

namespace ulus::identity {
namespace {

using std::chrono::seconds;

int64_t Micros(seconds s) {
  return std::chrono::duration_cast<std::chrono::microseconds>(s).count();
}

// Whole seconds until `until`, at least one, so a client never sees "wait 0 seconds".
seconds SecondsUntil(int64_t until_us, int64_t now_us) {
  const int64_t left = std::max<int64_t>(until_us - now_us, 0);
  return seconds(std::max<int64_t>((left + 999'999) / 1'000'000, 1));
}

}  // namespace

seconds LoginThrottle::DelayAfter(int64_t failures, const ThrottleLimits& limits) {
  if (failures < limits.free_failures) return seconds(0);
  const int64_t doublings = std::min<int64_t>(failures - limits.free_failures, 30);
  const int64_t delay = limits.first_delay.count() * (int64_t{1} << doublings);
  return std::min(seconds(delay), limits.max_delay);
}

Result<ThrottleVerdict> LoginThrottle::Admit(std::string_view key, const ThrottleLimits& limits) {
  return db_.InTransaction<ThrottleVerdict>([&](store::Connection& tx) -> Result<ThrottleVerdict> {
    const int64_t now = ToUnixMicros(clock_.Now());
    const store::Value key_param[] = {std::string(key)};
    ULUS_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT failures, next_allowed, locked_until"
                                              " FROM dan_login_throttle WHERE throttle_key = $1",
                                              key_param));
    if (rows.empty()) return ThrottleVerdict{};
    const int64_t failures = rows[0].Int(0);
    const int64_t next_allowed = rows[0].Int(1);
    const int64_t locked_until = rows[0].Int(2);
    if (now < locked_until) {
      return ThrottleVerdict{ThrottleVerdict::Kind::kLocked, SecondsUntil(locked_until, now)};
    }
    if (failures < limits.free_failures) return ThrottleVerdict{};
    if (now < next_allowed) {
      return ThrottleVerdict{ThrottleVerdict::Kind::kDelayed, SecondsUntil(next_allowed, now)};
    }
    // Claim the window: of two racing attempts only one sees its update change the row.
    const seconds delay = DelayAfter(failures, limits);
    const store::Value claim[] = {std::string(key), now + Micros(delay), next_allowed, failures};
    ULUS_ASSIGN_OR_RETURN(
        const int64_t changed,
        tx.Execute("UPDATE dan_login_throttle SET next_allowed = $2 WHERE throttle_key = $1"
                   " AND next_allowed = $3 AND failures = $4",
                   claim));
    if (changed == 0) return ThrottleVerdict{ThrottleVerdict::Kind::kDelayed, delay};
    return ThrottleVerdict{};
  });
}

Result<bool> LoginThrottle::RecordFailure(std::string_view key, const ThrottleLimits& limits) {
  return db_.InTransaction<bool>([&](store::Connection& tx) -> Result<bool> {
    const int64_t now = ToUnixMicros(clock_.Now());
    const store::Value key_param[] = {std::string(key)};
    ULUS_TRY(tx.Execute(
        "INSERT INTO dan_login_throttle (throttle_key, failures, next_allowed, locked_until)"
        " VALUES ($1, 1, 0, 0) ON CONFLICT (throttle_key)"
        " DO UPDATE SET failures = dan_login_throttle.failures + 1",
        key_param));
    ULUS_ASSIGN_OR_RETURN(
        const int64_t failures,
        tx.QueryInt("SELECT failures FROM dan_login_throttle WHERE throttle_key = $1", key_param));
    const bool lock = failures >= limits.lock_after;
    const int64_t next_allowed = now + Micros(DelayAfter(failures, limits));
    const int64_t locked_until = lock ? now + Micros(limits.lock_for) : 0;
    const store::Value update[] = {std::string(key), next_allowed, locked_until};
    ULUS_TRY(
        tx.Execute("UPDATE dan_login_throttle SET next_allowed = $2, locked_until = $3"
                   " WHERE throttle_key = $1",
                   update));
    return lock;
  });
}

Status LoginThrottle::Reset(std::string_view key) {
  return db_.InTransaction([&](store::Connection& tx) -> Status {
    const store::Value key_param[] = {std::string(key)};
    ULUS_TRY(tx.Execute("DELETE FROM dan_login_throttle WHERE throttle_key = $1", key_param));
    return Ok();
  });
}

}  // namespace ulus::identity
