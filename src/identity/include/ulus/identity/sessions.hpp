#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/http/message.hpp"
#include "ulus/identity/assurance.hpp"
#include "ulus/store/database.hpp"
#include "ulus/store/migration.hpp"

namespace ulus::identity {

struct SessionOptions {
  std::string cookie_name = "dan_session";
  bool secure = false;                               // the Secure attribute: set under TLS
  std::chrono::seconds idle_timeout{30 * 60};        // no request for this long ends it
  std::chrono::seconds absolute_timeout{12 * 3600};  // a login is good for this long at most
};

// A signed-in browser: who, how strongly, since when. `id` is the SHA-256 (hex) of the cookie
// token, which is what the store keeps, so a leaked table does not leak sessions.
struct Session {
  std::string id;
  std::string account_id;
  Assurance assurance = Assurance::kNone;
  std::vector<std::string> amr;  // RFC 8176 methods: "pwd", "otp", "hwk"
  TimePoint auth_time;           // when the last factor was presented
  TimePoint created;
  TimePoint expires;
  std::string csrf;  // per-session anti-forgery token for forms
};

// Browser sessions of Dan's pages (`dan_session`): a random 256-bit token in an HttpOnly,
// SameSite=Lax cookie, looked up by its hash. Thread-safe.
class Sessions {
 public:
  Sessions(store::Database& db, SessionOptions options, const Clock& clock = Clock::System())
      : db_(db), options_(std::move(options)), clock_(clock) {}
  static const std::vector<store::Migration>& Migrations();  // component "dan_session"

  struct Created {
    Session session;
    std::string set_cookie;  // the Set-Cookie header value carrying the token
  };
  // A new session after a successful login (a fresh token every time: no session fixation).
  Result<Created> Create(std::string_view account_id, Assurance assurance,
                         std::vector<std::string> amr);
  // The live session the request's cookie names, or nullopt (no cookie, unknown, expired).
  // Refreshes its idle clock.
  Result<std::optional<Session>> FromRequest(const http::Request& request);
  // Step-up: raises the session's level and adds methods; auth_time becomes now.
  Result<Session> Elevate(std::string_view session_id, Assurance assurance,
                          const std::vector<std::string>& amr);
  Status Destroy(std::string_view session_id);
  Status DestroyAllFor(std::string_view account_id);
  // A Set-Cookie header value that deletes the cookie.
  [[nodiscard]] std::string ClearCookie() const;
  [[nodiscard]] const SessionOptions& options() const { return options_; }

 private:
  store::Database& db_;
  SessionOptions options_;
  const Clock& clock_;
};

}  // namespace ulus::identity
