#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ulus/core/result.hpp"

namespace ulus::crypto {

// Argon2id work factors: passes over memory (t) and memory in bytes (m). libsodium always uses
// one lane (p = 1).
struct Argon2idCost {
  uint64_t ops_limit = 0;
  size_t mem_limit_bytes = 0;
};

// The default for Dan's password login: t = 2 passes over 64 MiB, libsodium's INTERACTIVE level,
// about 3.4 times the work of OWASP's floor (19 MiB, t = 2) for anyone cracking a stolen hash
// table, which for a national IdP is the attack that matters. On the 2-core reference machine a
// hash takes about 91 ms (crypto_benchmark), so a node sustains about 20 password logins per
// second with both cores busy and holds 64 MiB per login in flight: enough, because most
// sign-ins renew tokens or use signature login, and peaks are met with more nodes and rate
// limits, not cheaper hashes. Raising the cost later is safe: NeedsRehash tells the login path
// to rehash on the next success.
inline constexpr Argon2idCost kDefaultArgon2idCost{2, 64ULL * 1024 * 1024};

// Hashes and checks passwords with Argon2id in libsodium's encoded form
// ("$argon2id$v=19$m=…,t=…,p=1$salt$hash"), each hash with its own random salt. Stateless and
// safe to use from many threads; each call in flight holds the cost's memory. Passwords are
// never logged or put in errors.
class PasswordHasher {
 public:
  // Passwords longer than this are refused: no person types them, and they only cost time.
  static constexpr size_t kMaxPasswordBytes = 4096;

  PasswordHasher() : cost_(kDefaultArgon2idCost) {}
  // kInvalidArgument when the cost is below libsodium's minimum (t >= 1, m >= 8 KiB) or absurd.
  static Result<PasswordHasher> Create(Argon2idCost cost);

  [[nodiscard]] Result<std::string> Hash(std::string_view password) const;
  // True when `password` matches `encoded`; false when it does not. kInvalidArgument when
  // `encoded` is not an Argon2 hash at all (a corrupt row, not a wrong password).
  [[nodiscard]] Result<bool> Verify(std::string_view encoded, std::string_view password) const;
  // True when `encoded` was made with another cost or algorithm than this hasher's, so the
  // caller should store a fresh Hash after the next successful Verify.
  [[nodiscard]] bool NeedsRehash(std::string_view encoded) const;

  [[nodiscard]] const Argon2idCost& Cost() const { return cost_; }

 private:
  explicit PasswordHasher(Argon2idCost cost) : cost_(cost) {}
  Argon2idCost cost_;
};

}  // namespace ulus::crypto
