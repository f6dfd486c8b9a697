#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ulus {

using TimePoint = std::chrono::system_clock::time_point;

// A source of wall-clock time, injectable so tests can hold or move time. Implementations are
// thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual TimePoint Now() const = 0;

  // The real system clock, shared by the whole process.
  static Clock& System();
};

// A clock that moves only when told to; for tests of expiry, deadlines and lockouts.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start) : now_us_(ToMicros(start)) {}
  [[nodiscard]] TimePoint Now() const override {
    return TimePoint(std::chrono::microseconds(now_us_.load()));
  }
  void Advance(std::chrono::microseconds by) { now_us_ += by.count(); }
  void Set(TimePoint t) { now_us_ = ToMicros(t); }

 private:
  static int64_t ToMicros(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  }
  std::atomic<int64_t> now_us_;
};

// RFC 3339 UTC with millisecond precision: "2026-11-22T11:26:27.123Z".
std::string FormatRfc3339(TimePoint t);
// A calendar day as ISO 8601 "YYYY-MM-DD", and back: nullopt unless the text is exactly that
// form and names a real day (no 30 February).
std::string FormatIsoDay(std::chrono::sys_days day);
std::optional<std::chrono::sys_days> ParseIsoDay(std::string_view text);
// Microseconds since the Unix epoch, the form timestamps take in the stores.
int64_t ToUnixMicros(TimePoint t);
TimePoint FromUnixMicros(int64_t micros);
// Whole seconds since the Unix epoch (rounded down), the form JWT and CWT time claims take.
int64_t ToUnixSeconds(TimePoint t);
TimePoint FromUnixSeconds(int64_t seconds);

}  // namespace ulus
