#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/identity/accounts_service.hpp"
#include "ulus/store/database.hpp"

namespace ulus::identity {

// What the throttle says about one more attempt.
struct ThrottleVerdict {
  enum class Kind { kAllowed, kDelayed, kLocked };
  Kind kind = Kind::kAllowed;
  std::chrono::seconds retry_after{0};
  [[nodiscard]] bool allowed() const { return kind == Kind::kAllowed; }
};

// Failure counters in `dan_login_throttle`, one row per key ("id:<hash>" or "addr:<address>").
// Admit is checked before any password work, so a refused attempt costs the server nothing.
// Every change is a single conditional statement, so concurrent attempts on one key cannot all
// slip through a delay, on SQLite or PostgreSQL. Thread-safe.
class LoginThrottle {
 public:
  LoginThrottle(store::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

  // Whether an attempt may go ahead now. Past the free failures an admitted attempt claims the
  // delay window, so a second attempt racing it is refused.
  Result<ThrottleVerdict> Admit(std::string_view key, const ThrottleLimits& limits);
  // Counts a failure; true when this failure locked the key.
  Result<bool> RecordFailure(std::string_view key, const ThrottleLimits& limits);
  Status Reset(std::string_view key);

  // The delay owed after `failures` failures (zero while they are free).
  static std::chrono::seconds DelayAfter(int64_t failures, const ThrottleLimits& limits);

 private:
  store::Database& db_;
  const Clock& clock_;
};

}  // namespace ulus::identity
