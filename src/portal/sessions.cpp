// The portal's logins in flight and its sessions, in the platform database (component "portal").

#include <chrono>

#include "portal_impl.hpp"
#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/random.hpp"
#include "ulus/crypto/sealed.hpp"

namespace ulus::portal {

namespace {

using store::Value;

// A login has this long to come back from Dan.
constexpr auto kLoginLifetime = std::chrono::minutes(15);

std::string IdOf(std::string_view cookie_token) {
  return crypto::HexEncode(crypto::Sha256(cookie_token));
}

std::string Binding(std::string_view id) {
  return "portal-session/" + std::string(id);
}

}  // namespace

const std::vector<store::Migration>& Portal::Migrations() {
  static const std::vector<store::Migration> steps = {
      {1, "logins in flight and sessions",
       R"(CREATE TABLE portal_login (
            state TEXT PRIMARY KEY, verifier TEXT NOT NULL, nonce TEXT NOT NULL,
            next_path TEXT NOT NULL, created BIGINT NOT NULL);
          CREATE INDEX portal_login_created ON portal_login (created);
          CREATE TABLE portal_session (
            id TEXT PRIMARY KEY, account_id TEXT NOT NULL, national_id TEXT NOT NULL,
            name TEXT NOT NULL, access_token TEXT NOT NULL, access_expires BIGINT NOT NULL,
            refresh_sealed TEXT NOT NULL, id_token TEXT NOT NULL, csrf TEXT NOT NULL,
            assurance INTEGER NOT NULL, created BIGINT NOT NULL, expires BIGINT NOT NULL);
          CREATE INDEX portal_session_expires ON portal_session (expires);)",
       ""},
  };
  return steps;
}

Result<PendingLogin> Portal::Impl::StartLogin(std::string next) {
  PendingLogin login{.state = crypto::RandomToken(24),
                     .verifier = crypto::RandomToken(48),
                     .nonce = crypto::RandomToken(24),
                     .next = std::move(next)};
  const Value row[] = {login.state, login.verifier, login.nonce, login.next,
                       ToUnixMicros(clock.Now())};
  ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
  ULUS_TRY(
      conn->Execute("INSERT INTO portal_login (state, verifier, nonce, next_path, created) "
                    "VALUES ($1, $2, $3, $4, $5)",
                    row));
  return login;
}

Result<std::optional<PendingLogin>> Portal::Impl::TakeLogin(std::string_view state) {
  const Value key[] = {std::string(state), ToUnixMicros(clock.Now() - kLoginLifetime)};
  // Read and delete in one statement: a state is used once, even by two racing callbacks.
  ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
  ULUS_ASSIGN_OR_RETURN(auto rows,
                        conn->Query("DELETE FROM portal_login WHERE state = $1 AND created > $2 "
                                    "RETURNING verifier, nonce, next_path",
                                    key));
  if (rows.empty()) return std::optional<PendingLogin>();
  return std::optional<PendingLogin>(PendingLogin{.state = std::string(state),
                                                  .verifier = rows[0].Text(0),
                                                  .nonce = rows[0].Text(1),
                                                  .next = rows[0].Text(2)});
}

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
                       tokens.id_token,
                       crypto::RandomToken(24),
                       static_cast<int64_t>(session.assurance),
                       ToUnixMicros(now),
                       ToUnixMicros(now + options.session_lifetime)};
  ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
  ULUS_TRY(
      conn->Execute("INSERT INTO portal_session (id, account_id, national_id, name, access_token, "
                    "access_expires, refresh_sealed, id_token, csrf, assurance, created, expires) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    row));
  return token;
}

Result<std::optional<Session>> Portal::Impl::FindSession(std::string_view cookie_token) {
  if (cookie_token.size() < 32 || cookie_token.size() > 128) return std::optional<Session>();
  const Value key[] = {IdOf(cookie_token), ToUnixMicros(clock.Now())};
  ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
  ULUS_ASSIGN_OR_RETURN(auto rows,
                        conn->Query("SELECT id, account_id, national_id, name, access_token, "
                                    "access_expires, csrf, assurance, expires FROM portal_session "
                                    "WHERE id = $1 AND expires > $2",
                                    key));
  if (rows.empty()) return std::optional<Session>();
  const auto& r = rows[0];
  return std::optional<Session>(Session{.id = r.Text(0),
                                        .account_id = r.Text(1),
                                        .national_id = r.Text(2),
                                        .name = r.Text(3),
                                        .access_token = r.Text(4),
                                        .access_expires = FromUnixMicros(r.Int(5)),
                                        .csrf = r.Text(6),
                                        .assurance = static_cast<int>(r.Int(7)),
                                        .expires = FromUnixMicros(r.Int(8))});
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
  return refresh.ok() ? *refresh : std::string();
}

Status Portal::Impl::Sweep() {
  const auto now = clock.Now();
  const Value sessions[] = {ToUnixMicros(now)};
  const Value logins[] = {ToUnixMicros(now - kLoginLifetime)};
  ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
  ULUS_TRY(conn->Execute("DELETE FROM portal_session WHERE expires <= $1", sessions));
  ULUS_TRY(conn->Execute("DELETE FROM portal_login WHERE created <= $1", logins));
  return Ok();
}

}  // namespace ulus::portal
