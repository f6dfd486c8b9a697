// The portal's logins in flight (sealed in a cookie of the browser that started them) and its
// sessions (in the platform database, component "portal").

#include <chrono>

#include "portal_impl.hpp"
#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/random.hpp"

namespace ulus::portal {

namespace {

using nlohmann::json;
using store::Value;

// A login has this long to come back from Dan.
constexpr auto kLoginLifetime = std::chrono::minutes(15);
// last_seen is written at most this often: a page view is not a write.
constexpr auto kTouchEvery = std::chrono::minutes(1);
constexpr std::string_view kLoginBinding = "portal-login";

std::string IdOf(std::string_view cookie_token) {
  return crypto::HexEncode(crypto::Sha256(cookie_token));
}

std::string Binding(std::string_view id) {
  return "portal-session/" + std::string(id);
}

}  // namespace

const std::vector<store::Migration>& Portal::Migrations() {
  static const std::vector<store::Migration> steps = {
      {1, "sessions",
       R"(CREATE TABLE portal_session (
            id TEXT PRIMARY KEY, account_id TEXT NOT NULL, national_id TEXT NOT NULL,
            name TEXT NOT NULL, access_token TEXT NOT NULL, access_expires BIGINT NOT NULL,
            refresh_sealed TEXT NOT NULL, csrf TEXT NOT NULL, assurance INTEGER NOT NULL,
            created BIGINT NOT NULL, last_seen BIGINT NOT NULL, expires BIGINT NOT NULL);
          CREATE INDEX portal_session_expires ON portal_session (expires);
          CREATE INDEX portal_session_last_seen ON portal_session (last_seen);)",
       ""},
  };
  return steps;
}

// --- logins in flight ------------------------------------------------------------------------

PendingLogin Portal::Impl::StartLogin(std::string next) const {
  return PendingLogin{.state = crypto::RandomToken(24),
                      .verifier = crypto::RandomToken(48),
                      .nonce = crypto::RandomToken(24),
                      .next = std::move(next),
                      .started = clock.Now()};
}

Result<std::string> Portal::Impl::SealLogin(const PendingLogin& login) const {
  const json body = {{"s", login.state},
                     {"v", login.verifier},
                     {"n", login.nonce},
                     {"x", login.next},
                     {"t", ToUnixMicros(login.started)}};
  return master->Seal(crypto::AsBytes(body.dump()), kLoginBinding);
}

Result<PendingLogin> Portal::Impl::OpenLogin(std::string_view sealed,
                                             std::string_view state) const {
  const Error expired{ErrorCode::kFailedPrecondition,
                      "this login has expired or was started in another window; please log in "
                      "again",
                      "state"};
  auto bytes = master->Open(sealed, kLoginBinding);
  if (!bytes.ok()) return expired;
  const json body = json::parse(bytes->begin(), bytes->end(), nullptr, false);
  if (!body.is_object() || !body["s"].is_string() || !body["v"].is_string() ||
      !body["n"].is_string() || !body["x"].is_string() || !body["t"].is_number_integer()) {
    return expired;
  }
  PendingLogin login{.state = body["s"].get<std::string>(),
                     .verifier = body["v"].get<std::string>(),
                     .nonce = body["n"].get<std::string>(),
                     .next = body["x"].get<std::string>(),
                     .started = FromUnixMicros(body["t"].get<int64_t>())};
  // The state Dan returns must be the one this browser sent: a callback URL from another
  // browser (an attacker's own login) does not log this one in.
  if (state.empty() ||
      !crypto::ConstantTimeEquals(crypto::AsBytes(state), crypto::AsBytes(login.state))) {
    return expired;
  }
  if (clock.Now() - login.started > kLoginLifetime) return expired;
  return login;
}

// --- sessions ----------------------------------------------------------------------------------

Result<std::string> Portal::Impl::CreateSession(const Session& session, const Tokens& tokens) {
  const std::string token = crypto::RandomToken(32);
  const std::string id = IdOf(token);
  std::string sealed;
  if (!tokens.refresh_token.empty()) {
    ULUS_ASSIGN_OR_RETURN(sealed, master->Seal(crypto::AsBytes(tokens.refresh_token), Binding(id)));
  }
  const auto now = clock.Now();
  const Value row[] = {id,
                       session.account_id,
                       session.national_id,
                       session.name,
                       tokens.access_token,
                       ToUnixMicros(tokens.access_expires),
                       sealed,
                       crypto::RandomToken(24),
                       static_cast<int64_t>(session.assurance),
                       ToUnixMicros(now),
                       ToUnixMicros(now),
                       ToUnixMicros(now + options.session_lifetime)};
  ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
  ULUS_TRY(
      conn->Execute("INSERT INTO portal_session (id, account_id, national_id, name, access_token, "
                    "access_expires, refresh_sealed, csrf, assurance, created, last_seen, expires) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    row));
  return token;
}

Result<std::optional<Session>> Portal::Impl::FindSession(std::string_view cookie_token) {
  if (cookie_token.size() < 32 || cookie_token.size() > 128) return std::optional<Session>();
  const auto now = clock.Now();
  const Value key[] = {IdOf(cookie_token), ToUnixMicros(now),
                       ToUnixMicros(now - options.idle_timeout)};
  ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
  ULUS_ASSIGN_OR_RETURN(
      auto rows,
      conn->Query("SELECT id, account_id, national_id, name, access_token, access_expires, csrf, "
                  "assurance, expires, last_seen FROM portal_session "
                  "WHERE id = $1 AND expires > $2 AND last_seen > $3",
                  key));
  if (rows.empty()) return std::optional<Session>();
  const auto& r = rows[0];
  Session session{.id = r.Text(0),
                  .account_id = r.Text(1),
                  .national_id = r.Text(2),
                  .name = r.Text(3),
                  .access_token = r.Text(4),
                  .access_expires = FromUnixMicros(r.Int(5)),
                  .csrf = r.Text(6),
                  .assurance = static_cast<int>(r.Int(7)),
                  .expires = FromUnixMicros(r.Int(8))};
  // An idle session ends: a shared computer left alone does not stay logged in.
  if (now - FromUnixMicros(r.Int(9)) > kTouchEvery) {
    const Value touch[] = {ToUnixMicros(now), session.id};
    ULUS_TRY(conn->Execute("UPDATE portal_session SET last_seen = $1 WHERE id = $2", touch));
  }
  return std::optional<Session>(std::move(session));
}

Status Portal::Impl::StoreTokens(std::string_view id, const Tokens& tokens) {
  std::string sealed;
  if (!tokens.refresh_token.empty()) {
    ULUS_ASSIGN_OR_RETURN(sealed, master->Seal(crypto::AsBytes(tokens.refresh_token), Binding(id)));
  }
  const Value row[] = {tokens.access_token, ToUnixMicros(tokens.access_expires), sealed,
                       std::string(id)};
  ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
  ULUS_TRY(
      conn->Execute("UPDATE portal_session SET access_token = $1, access_expires = $2, "
                    "refresh_sealed = $3 WHERE id = $4",
                    row));
  return Ok();
}

Result<std::string> Portal::Impl::RefreshTokenOf(std::string_view id) {
  const Value key[] = {std::string(id)};
  ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
  ULUS_ASSIGN_OR_RETURN(
      auto rows, conn->Query("SELECT refresh_sealed FROM portal_session WHERE id = $1", key));
  if (rows.empty() || rows[0].Text(0).empty()) return std::string();
  ULUS_ASSIGN_OR_RETURN(auto bytes, master->Open(rows[0].Text(0), Binding(id)));
  return std::string(bytes.begin(), bytes.end());
}

Result<std::string> Portal::Impl::EndSession(std::string_view id) {
  auto refresh = RefreshTokenOf(id);
  const Value key[] = {std::string(id)};
  ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
  ULUS_TRY(conn->Execute("DELETE FROM portal_session WHERE id = $1", key));
  std::string token = refresh.ok() ? *refresh : std::string();
  if (!token.empty()) RevokeAtDan(token);
  return token;
}

Result<size_t> Portal::Impl::Sweep() {
  const auto now = clock.Now();
  const Value ended[] = {ToUnixMicros(now), ToUnixMicros(now - options.idle_timeout)};
  std::vector<std::string> ids;
  {
    ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
    ULUS_ASSIGN_OR_RETURN(auto rows,
                          conn->Query("SELECT id FROM portal_session WHERE expires <= $1 "
                                      "UNION SELECT id FROM portal_session WHERE last_seen <= $2 "
                                      "LIMIT 1000",
                                      ended));
    for (const auto& row : rows) ids.push_back(row.Text(0));
  }
  // Each ended session's refresh token is revoked at Dan, not just forgotten here.
  for (const auto& id : ids) ULUS_TRY(EndSession(id));
  return ids.size();
}

}  // namespace ulus::portal
