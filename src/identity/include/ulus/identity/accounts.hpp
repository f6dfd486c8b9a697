#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"

namespace ulus::identity {

// An account: one registry person who has signed up. Officers are accounts holding roles.
struct Account {
  std::string id;           // UUIDv7; the OpenID Connect `sub`
  std::string national_id;  // the person in the population register
  std::string status;       // "active" or "disabled"
  bool totp_enabled = false;
  bool has_signature_key = false;  // a registered public key for signature login
  TimePoint created;
};

// A role of an officer: in an agency, optionally only at one one-stop centre. Roles the
// platform knows: "officer" (works applications), "admin" (manages the agency's officers),
// "desk" (files applications for citizens present at a one-stop centre),
// "operator" (platform operation; agency "PLATFORM").
struct Role {
  std::string agency;
  std::string centre;  // empty: the whole agency
  std::string role;
  bool operator==(const Role&) const = default;
};

// Read access to accounts for the other parts of Dan (OIDC claims, consent). The login and
// sign-up side (accounts_service.hpp) implements it. Thread-safe.
class AccountDirectory {
 public:
  virtual ~AccountDirectory() = default;
  [[nodiscard]] virtual Result<std::optional<Account>> FindById(std::string_view id) const = 0;
  [[nodiscard]] virtual Result<std::optional<Account>> FindByNationalId(
      std::string_view national_id) const = 0;
  [[nodiscard]] virtual Result<std::vector<Role>> Roles(std::string_view account_id) const = 0;
};

}  // namespace ulus::identity
