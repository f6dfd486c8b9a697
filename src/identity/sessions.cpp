#include "ulus/identity/sessions.hpp"

#include <algorithm>

#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/random.hpp"
#include "ulus/http/form.hpp"

namespace ulus::identity {
namespace {

// The idle clock is written back at most this often, so browsing does not write on every page.
constexpr auto kTouchEvery = std::chrono::seconds(60);

std::string TokenHash(std::string_view token) {
  return crypto::HexEncode(crypto::Sha256(token));
}

std::string JoinAmr(const std::vector<std::string>& amr) {
  std::string out;
  for (const auto& method : amr) {
    if (!out.empty()) out += ' ';
    out += method;
  }
  return out;
}

std::vector<std::string> SplitAmr(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto space = text.find(' ');
    if (space != 0) out.emplace_back(text.substr(0, space));
    if (space == std::string_view::npos) break;
    text.remove_prefix(space + 1);
  }
  return out;
}

void AddAmr(std::vector<std::string>& amr, const std::vector<std::string>& more) {
  for (const auto& method : more) {
    if (std::find(amr.begin(), amr.end(), method) == amr.end()) amr.push_back(method);
  }
}

constexpr std::string_view kColumns =
    "id, account_id, assurance, amr, auth_time, created, expires, last_seen, csrf";

Session FromRow(const store::Row& row) {
  Session s;
  s.id = row.Text(0);
  s.account_id = row.Text(1);
  s.assurance = static_cast<Assurance>(row.Int(2));
  s.amr = SplitAmr(row.Text(3));
  s.auth_time = FromUnixMicros(row.Int(4));
  s.created = FromUnixMicros(row.Int(5));
  s.expires = FromUnixMicros(row.Int(6));
  s.csrf = row.Text(8);
  return s;
}

}  // namespace

const std::vector<store::Migration>& Sessions::Migrations() {
  static const std::vector<store::Migration> steps = {
      {.version = 1,
       .name = "browser sessions",
       .sql = "CREATE TABLE dan_session ("
              " id TEXT PRIMARY KEY,"
              " account_id TEXT NOT NULL,"
              " assurance INTEGER NOT NULL,"
              " amr TEXT NOT NULL,"
              " auth_time BIGINT NOT NULL,"
              " created BIGINT NOT NULL,"
              " expires BIGINT NOT NULL,"
              " last_seen BIGINT NOT NULL,"
              " csrf TEXT NOT NULL);"
              "CREATE INDEX dan_session_account ON dan_session (account_id);",
       .postgres = {}},
  };
  return steps;
}

Result<Sessions::Created> Sessions::Create(std::string_view account_id, Assurance assurance,
                                           std::vector<std::string> amr) {
  const auto token = crypto::RandomToken(32);
  const auto now = clock_.Now();
  Session session;
  session.id = TokenHash(token);
  session.account_id = std::string(account_id);
  session.assurance = assurance;
  session.amr = std::move(amr);
  session.auth_time = now;
  session.created = now;
  session.expires = now + options_.absolute_timeout;
  session.csrf = crypto::RandomToken(24);
  const auto stored = db_.InTransaction([&](store::Connection& tx) -> Status {
    const store::Value params[] = {session.id,
                                   session.account_id,
                                   static_cast<int64_t>(assurance),
                                   JoinAmr(session.amr),
                                   ToUnixMicros(now),
                                   ToUnixMicros(now),
                                   ToUnixMicros(session.expires),
                                   ToUnixMicros(now),
                                   session.csrf};
    ULUS_TRY(tx.Execute("INSERT INTO dan_session (" + std::string(kColumns) +
                            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                        params));
    return Ok();
  });
  if (!stored.ok()) return stored.error();
  http::CookieOptions cookie{.path = "/",
                             .secure = options_.secure,
                             .http_only = true,
                             .same_site = "Lax",
                             .max_age = std::nullopt};
  return Created{std::move(session), http::SetCookie(options_.cookie_name, token, cookie)};
}

Result<std::optional<Session>> Sessions::FromRequest(const http::Request& request) {
  const auto token = http::CookieValue(request, options_.cookie_name);
  if (!token || token->empty() || token->size() > 128) return std::optional<Session>();
  const auto id = TokenHash(*token);
  const auto now = clock_.Now();
  ULUS_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  const store::Value params[] = {id};
  ULUS_ASSIGN_OR_RETURN(
      auto rows,
      conn->Query("SELECT " + std::string(kColumns) + " FROM dan_session WHERE id = $1", params));
  if (rows.empty()) return std::optional<Session>();
  auto session = FromRow(rows.front());
  const auto last_seen = FromUnixMicros(rows.front().Int(7));
  if (now >= session.expires || now - last_seen >= options_.idle_timeout) {
    ULUS_TRY(conn->Execute("DELETE FROM dan_session WHERE id = $1", params));
    return std::optional<Session>();
  }
  if (now - last_seen >= kTouchEvery) {
    const store::Value touch[] = {ToUnixMicros(now), id};
    ULUS_TRY(conn->Execute("UPDATE dan_session SET last_seen = $1 WHERE id = $2", touch));
  }
  return std::optional<Session>(std::move(session));
}

Result<Session> Sessions::Elevate(std::string_view session_id, Assurance assurance,
                                  const std::vector<std::string>& amr) {
  return db_.InTransaction<Session>([&](store::Connection& tx) -> Result<Session> {
    const store::Value params[] = {std::string(session_id)};
    ULUS_ASSIGN_OR_RETURN(
        auto rows,
        tx.Query("SELECT " + std::string(kColumns) + " FROM dan_session WHERE id = $1", params));
    if (rows.empty()) return Error::NotFound("the session has ended; log in again");
    auto session = FromRow(rows.front());
    if (assurance > session.assurance) session.assurance = assurance;
    AddAmr(session.amr, amr);
    const auto now = clock_.Now();
    session.auth_time = now;
    const store::Value update[] = {static_cast<int64_t>(session.assurance), JoinAmr(session.amr),
                                   ToUnixMicros(now), session.id};
    ULUS_TRY(
        tx.Execute("UPDATE dan_session SET assurance = $1, amr = $2, auth_time = $3, last_seen = $3"
                   " WHERE id = $4",
                   update));
    return session;
  });
}

Status Sessions::Destroy(std::string_view session_id) {
  return db_.InTransaction([&](store::Connection& tx) -> Status {
    const store::Value params[] = {std::string(session_id)};
    ULUS_TRY(tx.Execute("DELETE FROM dan_session WHERE id = $1", params));
    return Ok();
  });
}

Status Sessions::DestroyAllFor(std::string_view account_id) {
  return db_.InTransaction([&](store::Connection& tx) -> Status {
    const store::Value params[] = {std::string(account_id)};
    ULUS_TRY(tx.Execute("DELETE FROM dan_session WHERE account_id = $1", params));
    return Ok();
  });
}

std::string Sessions::ClearCookie() const {
  return http::SetCookie(options_.cookie_name, "",
                         {.path = "/",
                          .secure = options_.secure,
                          .http_only = true,
                          .same_site = "Lax",
                          .max_age = 0});
}

}  // namespace ulus::identity
