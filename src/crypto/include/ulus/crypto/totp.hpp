#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"

namespace ulus::crypto {

// The HMAC under one-time passwords. Authenticator apps assume SHA-1, which is still sound for
// HOTP: HMAC-SHA-1's security does not rest on SHA-1's collision resistance.
enum class OtpHash { kSha1, kSha256, kSha512 };

// How TOTP codes are made and checked (RFC 6238). The defaults are what every authenticator app
// understands; `digits` is 6 to 8 and `period` at least one second (our configuration, so out
// of range is a bug and asserts).
struct TotpConfig {
  OtpHash hash = OtpHash::kSha1;
  int digits = 6;
  std::chrono::seconds period{30};
  // Steps either side of now that are still accepted, for phone clocks that drift and people
  // who type slowly.
  int window = 1;
};

// RFC 4226 HOTP: the code for `counter`, zero-padded to `digits`.
std::string Hotp(std::span<const uint8_t> secret, uint64_t counter, int digits = 6,
                 OtpHash hash = OtpHash::kSha1);

// The RFC 6238 time step containing `at` (0 before the epoch).
uint64_t TotpStep(TimePoint at, std::chrono::seconds period);
// The TOTP code at time `at`.
std::string Totp(std::span<const uint8_t> secret, TimePoint at, const TotpConfig& config = {});

// Checks `code` against the steps within the window around `now` and returns the step it
// matched. The caller stores that step and passes it back as `last_used_step`: a step at or
// before it is refused, so a code cannot be replayed (RFC 6238 §5.2). kUnauthenticated for a
// wrong, expired or reused code; the comparison takes the same time whichever digit is wrong.
Result<uint64_t> VerifyTotp(std::span<const uint8_t> secret, std::string_view code, TimePoint now,
                            std::optional<uint64_t> last_used_step, const TotpConfig& config = {});

// A new random TOTP secret of 20 bytes (160 bits, RFC 4226 §4's recommendation).
std::vector<uint8_t> NewTotpSecret();

// The otpauth://totp URI an authenticator app reads from a QR code:
// otpauth://totp/Issuer:account?secret=BASE32&issuer=Issuer&algorithm=SHA1&digits=6&period=30.
// Issuer and account are UTF-8 (Cyrillic names are fine) and percent-encoded; neither may be
// empty or contain ':', which separates them in the label.
Result<std::string> OtpauthUri(std::string_view issuer, std::string_view account,
                               std::span<const uint8_t> secret, const TotpConfig& config = {});

// Recovery codes: single-use codes a person prints when enrolling TOTP, for when the phone is
// lost. Each is 12 characters from an alphabet without look-alikes (no 0/O, 1/I), shown as
// "XXXX-XXXX-XXXX": 60 bits each, so a salted SHA-256 is enough to store them (nobody can search
// 2^60 codes per account), unlike passwords.
inline constexpr size_t kRecoveryCodeCount = 10;
std::vector<std::string> NewRecoveryCodes(size_t count = kRecoveryCodeCount);
// The hex SHA-256 to store for `code`, salted with `account` (the account's id) so equal codes
// of two accounts hash differently. Case, spaces and dashes in `code` do not matter.
std::string HashRecoveryCode(std::string_view code, std::string_view account);
// Whether `code` matches `stored_hash`, compared in constant time.
bool RecoveryCodeMatches(std::string_view code, std::string_view account,
                         std::string_view stored_hash);

}  // namespace ulus::crypto
