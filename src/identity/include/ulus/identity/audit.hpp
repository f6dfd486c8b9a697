#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/store/database.hpp"
#include "ulus/store/migration.hpp"

namespace ulus::identity {

// One security-relevant event: a login, a failure, a lockout, a sign-up, a factor or role
// change, a token revoked. `event` is a dotted name ("login.failed"); `account_id` is empty when
// no account is involved (an unknown identifier), and `identifier` is then the SHA-256 of what
// was typed, so the log does not become a list of guessed IDs in clear.
struct AuditEvent {
  std::string event;
  std::string account_id;
  std::string identifier;
  std::string client_id;
  std::string remote_address;
  nlohmann::json detail = nlohmann::json::object();
};

struct AuditEntry {
  int64_t id = 0;
  TimePoint at;
  AuditEvent event;
};

// The append-only audit log of Dan (`dan_audit`). Thread-safe.
class AuditLog {
 public:
  AuditLog(store::Database& db, const Clock& clock = Clock::System()) : db_(db), clock_(clock) {}
  static const std::vector<store::Migration>& Migrations();  // component "dan_audit"

  // Records in a transaction of its own.
  Status Record(const AuditEvent& event);
  // Records inside the caller's transaction, so the event commits with the change it describes.
  Status Record(store::Connection& tx, const AuditEvent& event);
  // Newest first. Empty `account_id` and `event_prefix` match everything.
  Result<std::vector<AuditEntry>> List(std::string_view account_id, std::string_view event_prefix,
                                       size_t limit) const;

 private:
  store::Database& db_;
  const Clock& clock_;
};

}  // namespace ulus::identity
