// The token, userinfo, introspection and revocation endpoints.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>

#include "oidc_provider.hpp"
#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/random.hpp"

namespace ulus::identity {
namespace {

using nlohmann::json;
using oidc::Client;
using std::chrono::seconds;

constexpr size_t kRefreshIdBytes = 16;
constexpr size_t kRefreshSecretBytes = 32;
constexpr size_t kJtiBytes = 16;
constexpr std::string_view kDisabled = "disabled";

http::Response NoStore(http::Response r) {
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Pragma", "no-cache");
  return r;
}

http::Response ErrorResponse(const OAuthError& e) {
  json body = {{"error", e.error}};
  if (!e.description.empty()) body["error_description"] = e.description;
  auto r = NoStore(http::Response::Json(body, e.status));
  if (e.basic_challenge) r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"dan\"");
  return r;
}

OAuthError BadRequest(std::string error, std::string description) {
  return {http::Status::bad_request, std::move(error), std::move(description), false};
}

std::string Hex(std::string_view secret) {
  return crypto::HexEncode(crypto::Sha256(secret));
}

bool Contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// Percent-decodes one component of an HTTP Basic client credential (RFC 6749 §2.3.1).
std::optional<std::string> FormDecode(std::string_view text) {
  auto form = http::Form::Parse("v=" + std::string(text));
  if (!form.ok()) return std::nullopt;
  return form->Value("v");
}

// Base64 with the standard alphabet and padding, as HTTP Basic uses.
std::optional<std::string> DecodeBasic(std::string_view b64) {
  std::string url(b64);
  while (!url.empty() && url.back() == '=') url.pop_back();
  for (char& c : url) {
    if (c == '+') {
      c = '-';
    } else if (c == '/') {
      c = '_';
    } else if (c == '-' || c == '_') {
      return std::nullopt;
    }
  }
  auto bytes = crypto::Base64UrlDecode(url);
  if (!bytes) return std::nullopt;
  return std::string(bytes->begin(), bytes->end());
}

bool IEqualsPrefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    const char a = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
    if (a != prefix[i]) return false;
  }
  return true;
}

// RFC 7636 §4.1: 43 to 128 characters of [A-Z a-z 0-9 - . _ ~].
bool ValidVerifier(std::string_view v) {
  if (v.size() < 43 || v.size() > 128) return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
  });
}

// Splits "<id>.<secret>"; nothing for any other shape.
std::optional<std::pair<std::string_view, std::string_view>> SplitRefresh(std::string_view token) {
  const auto dot = token.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == token.size() ||
      token.find('.', dot + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  return std::make_pair(token.substr(0, dot), token.substr(dot + 1));
}

// A refresh token's id is "<family>~<generation>", the generation as 8 hex digits: a family's
// tokens sort next to each other, so a rotation writes one page of the table and revoking a
// family reads one range of its key.
constexpr int kGenerationDigits = 8;

std::string RefreshId(std::string_view family, uint32_t generation) {
  char digits[kGenerationDigits + 1];
  std::snprintf(digits, sizeof(digits), "%08x", generation);
  return std::string(family) + "~" + digits;
}

// The next id in the presented id's family; nothing for an id of another shape.
std::optional<std::string> NextRefreshId(std::string_view id) {
  const auto tilde = id.find('~');
  if (tilde == std::string_view::npos || tilde == 0 ||
      id.size() - tilde - 1 != static_cast<size_t>(kGenerationDigits)) {
    return std::nullopt;
  }
  uint32_t generation = 0;
  for (const char c : id.substr(tilde + 1)) {
    const int digit = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (digit < 0) return std::nullopt;
    generation = generation * 16 + static_cast<uint32_t>(digit);
  }
  if (generation == UINT32_MAX) return std::nullopt;
  return RefreshId(id.substr(0, tilde), generation + 1);
}

bool LooksLikeJwt(std::string_view token) {
  return std::count(token.begin(), token.end(), '.') == 2;
}

int64_t EpochSeconds(TimePoint t) {
  return std::chrono::duration_cast<seconds>(t.time_since_epoch()).count();
}

// What the token endpoint knows about the client making a request.
struct Caller {
  const Client* client = nullptr;
  bool authenticated = false;  // presented a valid secret (confidential clients)
};

// Client authentication: client_secret_basic, client_secret_post, or none for public clients.
// Exactly one method may be used (RFC 6749 §2.3).
std::optional<Caller> AuthenticateClient(const oidc::ClientRegistry& clients,
                                         const http::Request& request, const http::Form& form,
                                         OAuthError& error) {
  const auto invalid_client = [&](bool basic) {
    error = {http::Status::unauthorized, "invalid_client", "client authentication failed", basic};
    return std::nullopt;
  };
  if (form.Count("client_id") > 1 || form.Count("client_secret") > 1) {
    error = BadRequest("invalid_request", "a client parameter is repeated");
    return std::nullopt;
  }
  std::string id;
  std::optional<std::string> secret;
  bool basic = false;
  const std::string_view auth = request.Header("Authorization");
  if (!auth.empty() && IEqualsPrefix(auth, "basic ")) {
    basic = true;
    const auto decoded = DecodeBasic(auth.substr(6));
    const auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) return invalid_client(true);
    auto raw_id = FormDecode(std::string_view(*decoded).substr(0, colon));
    auto raw_secret = FormDecode(std::string_view(*decoded).substr(colon + 1));
    if (!raw_id || !raw_secret) return invalid_client(true);
    id = std::move(*raw_id);
    secret = std::move(*raw_secret);
    if (form.Get("client_secret")) {
      error = BadRequest("invalid_request", "use one client authentication method, not two");
      return std::nullopt;
    }
    if (const auto form_id = form.Get("client_id"); form_id && *form_id != id) {
      error = BadRequest("invalid_request", "client_id differs from the authenticated client");
      return std::nullopt;
    }
  } else {
    id = form.Value("client_id");
    secret = form.Get("client_secret");
  }
  if (id.empty()) {
    error = {http::Status::unauthorized, "invalid_client", "no client authentication", false};
    return std::nullopt;
  }
  const Client* client = clients.Find(id);
  if (client == nullptr) return invalid_client(basic);
  if (client->IsPublic()) {
    if (secret) return invalid_client(basic);  // public clients have no secret to present
    return Caller{client, false};
  }
  if (!secret || !client->SecretMatches(*secret)) return invalid_client(basic);
  return Caller{client, true};
}

// The scopes a token request asks for: all of `granted` when absent, else a subset of it.
std::optional<std::vector<std::string>> NarrowScopes(const http::Form& form,
                                                     const std::vector<std::string>& granted) {
  const auto asked = form.Get("scope");
  if (!asked) return granted;
  auto scopes = oidc::SplitScopes(*asked);
  for (const auto& s : scopes) {
    if (!Contains(granted, s)) return std::nullopt;
  }
  return scopes;
}

}  // namespace

Result<http::Response> OidcProvider::Impl::Token(http::Request& request) {
  auto parsed = http::Form::FromRequest(request);
  if (!parsed.ok()) {
    return ErrorResponse(BadRequest("invalid_request", "the body must be form-encoded"));
  }
  const http::Form& form = *parsed;
  for (const auto& [name, value] : form.Pairs()) {
    if (form.Count(name) > 1) {
      return ErrorResponse(BadRequest("invalid_request", "parameter " + name + " is repeated"));
    }
  }
  OAuthError error;
  const auto caller = AuthenticateClient(clients, request, form, error);
  if (!caller) return ErrorResponse(error);
  const Client& client = *caller->client;
  const std::string grant_type = form.Value("grant_type");
  if (grant_type.empty()) {
    return ErrorResponse(BadRequest("invalid_request", "grant_type is missing"));
  }
  if (grant_type != "authorization_code" && grant_type != "refresh_token" &&
      grant_type != "client_credentials") {
    return ErrorResponse(BadRequest("unsupported_grant_type", "grant type is not supported"));
  }
  if (!client.HasGrant(grant_type)) {
    return ErrorResponse(
        BadRequest("unauthorized_client", "the client may not use grant type " + grant_type));
  }
  const TimePoint now = clock.Now();

  if (grant_type == "client_credentials") {
    // Hot path: no database work. Issuance is counted, not audited row by row.
    std::vector<std::string> scopes;
    if (const auto asked = form.Get("scope")) {
      scopes = oidc::SplitScopes(*asked);
      for (const auto& s : scopes) {
        if (!client.AllowsScope(s) || s == "openid" || s == "offline_access") {
          return ErrorResponse(BadRequest("invalid_scope", "scope " + s + " is not allowed"));
        }
      }
    }
    const std::string jti = crypto::RandomToken(kJtiBytes);
    ULUS_ASSIGN_OR_RETURN(auto access, SignAccessToken(client, nullptr, scopes, jti, now));
    client_credentials_grants.fetch_add(1, std::memory_order_relaxed);
    json body = {{"access_token", std::move(access)},
                 {"token_type", "Bearer"},
                 {"expires_in", options.access_token_lifetime.count()}};
    if (!scopes.empty()) body["scope"] = oidc::JoinScopes(scopes);
    return NoStore(http::Response::Json(body));
  }

  OidcGrant grant;
  std::vector<std::string> scopes;
  std::string refresh_token;
  std::string access_jti = crypto::RandomToken(kJtiBytes);
  const std::string new_family = crypto::RandomToken(kRefreshIdBytes);
  std::string new_refresh_id = RefreshId(new_family, 0);
  const std::string new_refresh_secret = crypto::RandomToken(kRefreshSecretBytes);
  std::vector<std::pair<std::string, TimePoint>> to_revoke;
  std::optional<OAuthError> refused;
  const auto refuse = [&](std::string description) {
    refused = BadRequest("invalid_grant", std::move(description));
    return Ok();
  };

  if (grant_type == "authorization_code") {
    const std::string code = form.Value("code");
    const std::string redirect_uri = form.Value("redirect_uri");
    const std::string verifier = form.Value("code_verifier");
    if (code.empty()) return ErrorResponse(BadRequest("invalid_request", "code is missing"));
    const std::string code_hash = Hex(code);
    bool issue_refresh = false;
    Status done = group.Submit([&](store::Connection& tx) -> Status {
      refused.reset();
      to_revoke.clear();
      issue_refresh = false;
      const store::Value key[] = {code_hash};
      ULUS_ASSIGN_OR_RETURN(
          auto rows,
          tx.Query("SELECT client_id, redirect_uri, code_challenge, grant_data, expires_at,"
                   " used_at, access_jti, refresh_family, created_at FROM dan_auth_code"
                   " WHERE code_sha256 = $1",
                   key));
      if (rows.empty()) return refuse("the code is unknown");
      const store::Row& row = rows[0];
      if (!row.IsNull(5)) {
        // A replayed code: whoever holds it now may be an attacker, so what it bought goes too.
        if (auto jti = row.OptionalText(6)) {
          const TimePoint until = RevokedUntil(FromUnixMicros(row.Int(5)));
          if (until > now) {
            ULUS_TRY(RevokeJti(tx, *jti, until));
            to_revoke.emplace_back(*jti, until);
          }
        }
        if (auto family = row.OptionalText(7)) {
          ULUS_ASSIGN_OR_RETURN(auto more, RevokeFamily(tx, *family, now));
          to_revoke.insert(to_revoke.end(), more.begin(), more.end());
        }
        ULUS_TRY(audit.Record(
            tx,
            {.event = "oidc.code.replayed",
             .account_id = OidcGrant::FromJson(json::parse(row.Text(3), nullptr, false)).account_id,
             .client_id = client.id,
             .remote_address = request.remote_address(),
             .detail = {{"revoked_tokens", to_revoke.size()}}}));
        return refuse("the code was already used");
      }
      const store::Value used[] = {code_hash, ToUnixMicros(now)};
      ULUS_ASSIGN_OR_RETURN(const int64_t marked,
                            tx.Execute("UPDATE dan_auth_code SET used_at = $2"
                                       " WHERE code_sha256 = $1 AND used_at IS NULL",
                                       used));
      if (marked != 1) return refuse("the code was already used");
      // The code is spent from here on, whatever the checks below say.
      if (row.Text(0) != client.id) return refuse("the code was issued to another client");
      if (now >= FromUnixMicros(row.Int(4))) return refuse("the code has expired");
      if (row.Text(1) != redirect_uri) return refuse("redirect_uri differs from the request's");
      const std::string& challenge = row.Text(2);
      if (challenge.empty()) {
        if (!verifier.empty()) return refuse("no code_challenge was sent for this code");
      } else {
        if (!ValidVerifier(verifier)) return refuse("code_verifier is missing or malformed");
        const auto digest = crypto::Sha256(verifier);
        const std::string computed = crypto::Base64UrlEncode(digest);
        if (!crypto::ConstantTimeEquals(crypto::AsBytes(computed), crypto::AsBytes(challenge))) {
          return refuse("code_verifier does not match the code_challenge");
        }
      }
      grant = OidcGrant::FromJson(json::parse(row.Text(3), nullptr, false));
      issue_refresh = client.HasGrant("refresh_token") &&
                      (grant.HasScope("offline_access") || client.refresh_without_offline_access);
      const std::string family = issue_refresh ? new_family : std::string();
      const store::Value issued[] = {code_hash, access_jti,
                                     family.empty() ? store::Value() : store::Value(family)};
      ULUS_TRY(tx.Execute(
          "UPDATE dan_auth_code SET access_jti = $2, refresh_family = $3 WHERE code_sha256 = $1",
          issued));
      if (issue_refresh) {
        const store::Value token[] = {
            new_refresh_id,    Hex(new_refresh_secret),
            new_family,        client.id,
            grant.account_id,  grant.ToJson().dump(),
            ToUnixMicros(now), ToUnixMicros(now + options.refresh_token_lifetime),
            access_jti};
        ULUS_TRY(tx.Execute(
            "INSERT INTO dan_refresh_token (id, secret_sha256, family_id, client_id, account_id,"
            " grant_data, state, created_at, expires_at, access_jti)"
            " VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9)",
            token));
      }
      ULUS_TRY(audit.Record(tx, {.event = "oidc.token.issued",
                                 .account_id = grant.account_id,
                                 .client_id = client.id,
                                 .remote_address = request.remote_address(),
                                 .detail = {{"grant_type", "authorization_code"},
                                            {"scope", oidc::JoinScopes(grant.scopes)},
                                            {"refresh_token", issue_refresh}}}));
      return Ok();
    });
    ULUS_TRY(done);
    for (const auto& [jti, until] : to_revoke) revoked.Add(jti, until);
    if (refused) return ErrorResponse(*refused);
    scopes = grant.scopes;
    if (issue_refresh) refresh_token = new_refresh_id + "." + new_refresh_secret;
    code_grants.fetch_add(1, std::memory_order_relaxed);
  } else {
    const std::string presented_token = form.Value("refresh_token");
    const auto parts = SplitRefresh(presented_token);
    if (!parts) return ErrorResponse(BadRequest("invalid_grant", "the refresh token is unknown"));
    const std::string id(parts->first);
    const auto next_id = NextRefreshId(id);
    if (!next_id) return ErrorResponse(BadRequest("invalid_grant", "the refresh token is unknown"));
    new_refresh_id = *next_id;
    // Read first, outside the writer: most requests can be judged without it.
    std::string family;
    std::string state;
    {
      ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
      const store::Value key[] = {id};
      ULUS_ASSIGN_OR_RETURN(
          auto rows, conn->Query("SELECT secret_sha256, family_id, client_id, grant_data, state,"
                                 " expires_at FROM dan_refresh_token WHERE id = $1",
                                 key));
      const std::string presented = Hex(parts->second);
      if (rows.empty() || !crypto::ConstantTimeEquals(crypto::AsBytes(presented),
                                                      crypto::AsBytes(rows[0].Text(0)))) {
        return ErrorResponse(BadRequest("invalid_grant", "the refresh token is unknown"));
      }
      const store::Row& row = rows[0];
      if (row.Text(2) != client.id) {
        return ErrorResponse(
            BadRequest("invalid_grant", "the refresh token was issued to another client"));
      }
      if (now >= FromUnixMicros(row.Int(5))) {
        return ErrorResponse(BadRequest("invalid_grant", "the refresh token has expired"));
      }
      family = row.Text(1);
      state = row.Text(4);
      grant = OidcGrant::FromJson(json::parse(row.Text(3), nullptr, false));
      if (state == "revoked") {
        return ErrorResponse(BadRequest("invalid_grant", "the refresh token was revoked"));
      }
    }
    const auto narrowed = NarrowScopes(form, grant.scopes);
    if (!narrowed) {
      return ErrorResponse(BadRequest("invalid_scope", "scope exceeds what was granted"));
    }
    scopes = *narrowed;
    if (state == "active") {
      ULUS_ASSIGN_OR_RETURN(auto account, accounts.FindById(grant.account_id));
      if (!account || account->status == kDisabled) {
        return ErrorResponse(BadRequest("invalid_grant", "the account is not active"));
      }
    }
    Status done = group.Submit([&](store::Connection& tx) -> Status {
      refused.reset();
      to_revoke.clear();
      const store::Value key[] = {id};
      int64_t rotated = 0;
      if (state == "active") {
        ULUS_ASSIGN_OR_RETURN(rotated, tx.Execute("UPDATE dan_refresh_token SET state = 'rotated'"
                                                  " WHERE id = $1 AND state = 'active'",
                                                  key));
      }
      if (rotated != 1) {
        // Rotated already: two parties hold this token, one of them not the client.
        ULUS_ASSIGN_OR_RETURN(to_revoke, RevokeFamily(tx, family, now));
        ULUS_TRY(audit.Record(
            tx, {.event = "oidc.refresh.reused",
                 .account_id = grant.account_id,
                 .client_id = client.id,
                 .remote_address = request.remote_address(),
                 .detail = {{"family", family}, {"revoked_tokens", to_revoke.size()}}}));
        return refuse("the refresh token was already used; its family is revoked");
      }
      const store::Value token[] = {
          new_refresh_id,        Hex(new_refresh_secret), family, client.id, grant.account_id,
          grant.ToJson().dump(), ToUnixMicros(now),       id,     access_jti};
      // The family's end does not move: rotation never extends a login. The new row is the
      // record of the rotation (when, which client, whose), so no audit row is added: a busy
      // client rotates far more often than anything worth an auditor's eye happens.
      ULUS_TRY(tx.Execute(
          "INSERT INTO dan_refresh_token (id, secret_sha256, family_id, client_id, account_id,"
          " grant_data, state, created_at, expires_at, access_jti)"
          " SELECT $1, $2, $3, $4, $5, $6, 'active', $7, expires_at, $9"
          " FROM dan_refresh_token WHERE id = $8",
          token));
      return Ok();
    });
    ULUS_TRY(done);
    for (const auto& [jti, until] : to_revoke) revoked.Add(jti, until);
    if (refused) return ErrorResponse(*refused);
    refresh_token = new_refresh_id + "." + new_refresh_secret;
    refresh_grants.fetch_add(1, std::memory_order_relaxed);
  }
  Housekeeping();

  ULUS_ASSIGN_OR_RETURN(auto access, SignAccessToken(client, &grant, scopes, access_jti, now));
  json body = {{"access_token", access},
               {"token_type", "Bearer"},
               {"expires_in", options.access_token_lifetime.count()},
               {"scope", oidc::JoinScopes(scopes)}};
  if (Contains(scopes, "openid")) {
    OidcGrant for_id = grant;
    for_id.scopes = scopes;
    if (grant_type == "refresh_token") for_id.nonce.clear();  // OIDC Core §12.2
    ULUS_ASSIGN_OR_RETURN(body["id_token"], SignIdToken(client, for_id, access, now));
  }
  if (!refresh_token.empty()) body["refresh_token"] = refresh_token;
  return NoStore(http::Response::Json(body));
}

Result<http::Response> OidcProvider::Impl::UserInfo(http::Request& request) {
  const auto challenge = [](http::Status status, std::string_view error,
                            std::string_view description) {
    std::string value = "Bearer realm=\"dan\"";
    if (!error.empty()) {
      value += ", error=\"" + std::string(error) + "\", error_description=\"" +
               std::string(description) + "\"";
    }
    json body = json::object();
    if (!error.empty()) body = {{"error", error}, {"error_description", description}};
    auto r = NoStore(http::Response::Json(body, status));
    r.headers.emplace_back("WWW-Authenticate", std::move(value));
    return r;
  };
  std::string token;
  const std::string_view auth = request.Header("Authorization");
  if (IEqualsPrefix(auth, "bearer ")) {
    token = std::string(auth.substr(7));
  } else if (request.method() == http::Method::post) {
    if (auto form = http::Form::FromRequest(request); form.ok()) {
      token = form->Value("access_token");
    }
  }
  if (token.empty()) return challenge(http::Status::unauthorized, "", "");
  auto info = Verify(token);
  if (!info.ok()) {
    return challenge(http::Status::unauthorized, "invalid_token", info.error().message);
  }
  const AccessTokenInfo& t = **info;
  if (t.IsClientToken() || !t.HasScope("openid")) {
    return challenge(http::Status::forbidden, "insufficient_scope",
                     "the token does not carry the openid scope of a user");
  }
  auto claims = UserClaims(t.subject, t.scopes);
  if (!claims.ok()) return challenge(http::Status::unauthorized, "invalid_token", "no account");
  json body = std::move(claims).value();
  body["sub"] = t.subject;
  return NoStore(http::Response::Json(body));
}

Result<http::Response> OidcProvider::Impl::Introspect(http::Request& request) {
  introspections.fetch_add(1, std::memory_order_relaxed);
  auto parsed = http::Form::FromRequest(request);
  if (!parsed.ok()) {
    return ErrorResponse(BadRequest("invalid_request", "the body must be form-encoded"));
  }
  OAuthError error;
  const auto caller = AuthenticateClient(clients, request, *parsed, error);
  if (!caller) return ErrorResponse(error);
  if (!caller->authenticated) {
    return ErrorResponse({http::Status::unauthorized, "invalid_client",
                          "only confidential clients may introspect", false});
  }
  const std::string token = parsed->Value("token");
  if (token.empty()) return ErrorResponse(BadRequest("invalid_request", "token is missing"));
  const json inactive = {{"active", false}};

  if (LooksLikeJwt(token)) {
    auto info = Verify(token);
    if (!info.ok()) return NoStore(http::Response::Json(inactive));
    const AccessTokenInfo& t = **info;
    json body = t.claims;
    body["active"] = true;
    body["token_type"] = "Bearer";
    return NoStore(http::Response::Json(body));
  }
  const auto parts = SplitRefresh(token);
  if (!parts) return NoStore(http::Response::Json(inactive));
  ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
  const store::Value key[] = {std::string(parts->first)};
  ULUS_ASSIGN_OR_RETURN(
      auto rows, conn->Query("SELECT secret_sha256, client_id, grant_data, state, created_at,"
                             " expires_at FROM dan_refresh_token WHERE id = $1",
                             key));
  const std::string presented = Hex(parts->second);
  if (rows.empty() ||
      !crypto::ConstantTimeEquals(crypto::AsBytes(presented), crypto::AsBytes(rows[0].Text(0))) ||
      rows[0].Text(3) != "active" || clock.Now() >= FromUnixMicros(rows[0].Int(5))) {
    return NoStore(http::Response::Json(inactive));
  }
  const OidcGrant grant = OidcGrant::FromJson(json::parse(rows[0].Text(2), nullptr, false));
  const json body = {{"active", true},
                     {"client_id", rows[0].Text(1)},
                     {"sub", grant.account_id},
                     {"scope", oidc::JoinScopes(grant.scopes)},
                     {"iss", options.issuer},
                     {"iat", EpochSeconds(FromUnixMicros(rows[0].Int(4)))},
                     {"exp", EpochSeconds(FromUnixMicros(rows[0].Int(5)))}};
  return NoStore(http::Response::Json(body));
}

Result<http::Response> OidcProvider::Impl::Revoke(http::Request& request) {
  auto parsed = http::Form::FromRequest(request);
  if (!parsed.ok()) {
    return ErrorResponse(BadRequest("invalid_request", "the body must be form-encoded"));
  }
  OAuthError error;
  const auto caller = AuthenticateClient(clients, request, *parsed, error);
  if (!caller) return ErrorResponse(error);
  const Client& client = *caller->client;
  const std::string token = parsed->Value("token");
  if (token.empty()) return ErrorResponse(BadRequest("invalid_request", "token is missing"));
  const TimePoint now = clock.Now();
  // RFC 7009 §2.2: unknown, invalid and foreign tokens all answer 200, so nothing is learnt.
  const auto ok = [] { return NoStore(http::Response::Text("", "text/plain")); };

  if (LooksLikeJwt(token)) {
    auto info = Verify(token);
    if (!info.ok() || (*info)->client_id != client.id) return ok();
    const std::string jti = (*info)->jti;
    const TimePoint until = RevokedUntil((*info)->issued_at);
    const std::string subject = (*info)->subject;
    Status done = group.Submit([&](store::Connection& tx) -> Status {
      ULUS_TRY(RevokeJti(tx, jti, until));
      return audit.Record(tx, {.event = "oidc.token.revoked",
                               .account_id = subject == client.id ? std::string() : subject,
                               .client_id = client.id,
                               .remote_address = request.remote_address(),
                               .detail = {{"token_type", "access_token"}, {"jti", jti}}});
    });
    ULUS_TRY(done);
    revoked.Add(jti, until);
    return ok();
  }
  const auto parts = SplitRefresh(token);
  if (!parts) return ok();
  const std::string id(parts->first);
  const std::string presented = Hex(parts->second);
  std::vector<std::pair<std::string, TimePoint>> to_revoke;
  Status done = group.Submit([&](store::Connection& tx) -> Status {
    to_revoke.clear();
    const store::Value key[] = {id};
    ULUS_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT secret_sha256, client_id, family_id,"
                                              " account_id FROM dan_refresh_token WHERE id = $1",
                                              key));
    if (rows.empty() ||
        !crypto::ConstantTimeEquals(crypto::AsBytes(presented), crypto::AsBytes(rows[0].Text(0))) ||
        rows[0].Text(1) != client.id) {
      return Ok();
    }
    ULUS_ASSIGN_OR_RETURN(to_revoke, RevokeFamily(tx, rows[0].Text(2), now));
    return audit.Record(tx, {.event = "oidc.token.revoked",
                             .account_id = rows[0].Text(3),
                             .client_id = client.id,
                             .remote_address = request.remote_address(),
                             .detail = {{"token_type", "refresh_token"},
                                        {"family", rows[0].Text(2)},
                                        {"revoked_tokens", to_revoke.size()}}});
  });
  ULUS_TRY(done);
  for (const auto& [jti, until] : to_revoke) revoked.Add(jti, until);
  return ok();
}

}  // namespace ulus::identity
