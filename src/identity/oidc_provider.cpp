#include "oidc_provider.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "ulus/crypto/random.hpp"

namespace ulus::identity {
namespace {

using nlohmann::json;
using std::chrono::duration_cast;
using std::chrono::seconds;

// Revoked token ids are kept past expiry by the verifier's clock-skew leeway and a margin.
constexpr seconds kRevocationMargin{180};
// How long the register's facts about a person are reused for ID tokens and userinfo, and how
// many people are remembered.
constexpr auto kPersonCacheTtl = std::chrono::seconds(60);
constexpr size_t kPersonCacheEntries = 100'000;
// Housekeeping runs every this many code or token writes.
constexpr uint64_t kHousekeepingEvery = 1024;

int64_t EpochSeconds(TimePoint t) {
  return duration_cast<seconds>(t.time_since_epoch()).count();
}

std::string GenderOf(std::string_view sex) {
  if (sex == "F") return "female";
  if (sex == "M") return "male";
  return "other";
}

json Operation(std::string summary) {
  return {{"summary", std::move(summary)},
          {"tags", {"Dan: OpenID Connect"}},
          {"responses", {{"200", {{"description", "OK"}}}}}};
}

std::string RenderDiscovery(const OidcOptions& o) {
  const std::string& i = o.issuer;
  json acr = json::array();
  for (auto level : {Assurance::kLow, Assurance::kSubstantial, Assurance::kHigh}) {
    acr.push_back(AcrValue(level));
  }
  const json doc = {
      {"issuer", i},
      {"authorization_endpoint", i + "/oidc/authorize"},
      {"token_endpoint", i + "/oidc/token"},
      {"userinfo_endpoint", i + "/oidc/userinfo"},
      {"jwks_uri", i + "/oidc/jwks"},
      {"introspection_endpoint", i + "/oidc/introspect"},
      {"revocation_endpoint", i + "/oidc/revoke"},
      {"end_session_endpoint", i + "/oidc/logout"},
      {"scopes_supported",
       {"openid", "profile", "email", "phone", "national_id", "offline_access"}},
      {"response_types_supported", {"code"}},
      {"response_modes_supported", {"query"}},
      {"grant_types_supported", {"authorization_code", "refresh_token", "client_credentials"}},
      {"subject_types_supported", {"public"}},
      {"id_token_signing_alg_values_supported", {"RS256", "ES256", "EdDSA"}},
      {"userinfo_signing_alg_values_supported", json::array()},
      {"token_endpoint_auth_methods_supported",
       {"client_secret_basic", "client_secret_post", "none"}},
      {"introspection_endpoint_auth_methods_supported",
       {"client_secret_basic", "client_secret_post"}},
      {"revocation_endpoint_auth_methods_supported",
       {"client_secret_basic", "client_secret_post", "none"}},
      {"code_challenge_methods_supported", {"S256"}},
      {"acr_values_supported", acr},
      {"prompt_values_supported", {"none", "login", "consent"}},
      {"claims_supported",
       {"sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "acr",
        "amr",
        "sid",
        "at_hash",
        "name",
        "given_name",
        "family_name",
        "birthdate",
        "gender",
        "email",
        "phone_number",
        "phone_number_verified",
        "national_id"}},
      {"claims_parameter_supported", false},
      {"request_parameter_supported", false},
      {"request_uri_parameter_supported", false},
      {"authorization_response_iss_parameter_supported", true},
      {"ui_locales_supported", {"mn", "en"}},
  };
  return doc.dump();
}

}  // namespace

json OidcGrant::ToJson() const {
  return {{"sub", account_id},
          {"scope", oidc::JoinScopes(scopes)},
          {"acr", static_cast<int>(assurance)},
          {"amr", amr},
          {"auth_time", auth_time},
          {"nonce", nonce},
          {"sid", sid}};
}

OidcGrant OidcGrant::FromJson(const json& j) {
  OidcGrant g;
  g.account_id = j.value("sub", "");
  g.scopes = oidc::SplitScopes(j.value("scope", ""));
  g.assurance = static_cast<Assurance>(std::clamp(j.value("acr", 0), 0, 3));
  g.amr = j.value("amr", std::vector<std::string>{});
  g.auth_time = j.value("auth_time", int64_t{0});
  g.nonce = j.value("nonce", "");
  g.sid = j.value("sid", "");
  return g;
}

bool OidcGrant::HasScope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

bool AccessTokenInfo::HasScope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

OidcProvider::Impl::Impl(store::Database& db_in, KeyStore& keystore_in,
                         AccountDirectory& accounts_in, PersonDirectory& people_in,
                         Sessions& sessions_in, AuditLog& audit_in, OidcOptions opts,
                         const Clock& clock_in, oidc::ClientRegistry registry)
    : db(db_in),
      keystore(keystore_in),
      accounts(accounts_in),
      people(people_in),
      sessions(sessions_in),
      audit(audit_in),
      options(std::move(opts)),
      clock(clock_in),
      clients(std::move(registry)),
      keys(keystore_in, clock_in),
      token_cache(options.token_cache_entries),
      group(db_in, {.max_batch = options.max_group_commit_batch}),
      audience(options.access_token_audience.empty() ? options.issuer
                                                     : options.access_token_audience),
      discovery(RenderDiscovery(options)) {}

const std::vector<store::Migration>& OidcProvider::Migrations() {
  static const std::vector<store::Migration> steps = {
      {.version = 1,
       .name = "clients, requests, codes, refresh tokens, revocations, consent",
       .sql = "CREATE TABLE dan_oidc_client ("
              " client_id TEXT PRIMARY KEY,"
              " secret_sha256 TEXT NOT NULL,"
              " created_at BIGINT NOT NULL);"
              "CREATE TABLE dan_auth_request ("
              " id TEXT PRIMARY KEY,"
              " client_id TEXT NOT NULL,"
              " request TEXT NOT NULL,"
              " created_at BIGINT NOT NULL,"
              " expires_at BIGINT NOT NULL);"
              "CREATE INDEX dan_auth_request_expiry ON dan_auth_request (expires_at);"
              "CREATE TABLE dan_auth_code ("
              " code_sha256 TEXT PRIMARY KEY,"
              " client_id TEXT NOT NULL,"
              " redirect_uri TEXT NOT NULL,"
              " code_challenge TEXT NOT NULL,"
              " grant_data TEXT NOT NULL,"
              " created_at BIGINT NOT NULL,"
              " expires_at BIGINT NOT NULL,"
              " used_at BIGINT,"
              " access_jti TEXT,"
              " refresh_family TEXT);"
              "CREATE INDEX dan_auth_code_expiry ON dan_auth_code (expires_at);"
              "CREATE TABLE dan_refresh_token ("
              " id TEXT PRIMARY KEY,"
              " secret_sha256 TEXT NOT NULL,"
              " family_id TEXT NOT NULL,"
              " client_id TEXT NOT NULL,"
              " account_id TEXT NOT NULL,"
              " grant_data TEXT NOT NULL,"
              " state TEXT NOT NULL,"
              " created_at BIGINT NOT NULL,"
              " expires_at BIGINT NOT NULL,"
              " access_jti TEXT);"
              "CREATE INDEX dan_refresh_token_family ON dan_refresh_token (family_id);"
              "CREATE TABLE dan_revoked_token ("
              " jti TEXT PRIMARY KEY,"
              " expires_at BIGINT NOT NULL);"
              "CREATE TABLE dan_oidc_consent ("
              " account_id TEXT NOT NULL,"
              " client_id TEXT NOT NULL,"
              " scope TEXT NOT NULL,"
              " granted_at BIGINT NOT NULL,"
              " PRIMARY KEY (account_id, client_id));",
       .postgres = {}},
      // When each revocation was made, so that other processes can read the new ones.
      {.version = 2,
       .name = "revocation times",
       .sql = "ALTER TABLE dan_revoked_token ADD COLUMN revoked_at BIGINT NOT NULL DEFAULT 0;"
              "CREATE INDEX dan_revoked_token_at ON dan_revoked_token (revoked_at);",
       .postgres = {}},
      // Refresh tokens keyed "<family>~<generation>" in a clustered table: a rotation touches
      // one page, a family is one key range. Tokens of the earlier layout are dropped (their
      // clients log in again).
      {.version = 3,
       .name = "refresh tokens clustered by family",
       .sql = "DROP TABLE dan_refresh_token;"
              "CREATE TABLE dan_refresh_token ("
              " id TEXT PRIMARY KEY,"
              " secret_sha256 TEXT NOT NULL,"
              " family_id TEXT NOT NULL,"
              " client_id TEXT NOT NULL,"
              " account_id TEXT NOT NULL,"
              " grant_data TEXT NOT NULL,"
              " state TEXT NOT NULL,"
              " created_at BIGINT NOT NULL,"
              " expires_at BIGINT NOT NULL,"
              " access_jti TEXT) WITHOUT ROWID;"
              "CREATE INDEX dan_refresh_token_expiry ON dan_refresh_token (expires_at);"
              "CREATE INDEX dan_refresh_token_account ON dan_refresh_token (account_id);",
       // Byte order ("C") for the key, so that a family's range is contiguous in any locale.
       .postgres = "DROP TABLE dan_refresh_token;"
                   "CREATE TABLE dan_refresh_token ("
                   " id TEXT COLLATE \"C\" PRIMARY KEY,"
                   " secret_sha256 TEXT NOT NULL,"
                   " family_id TEXT NOT NULL,"
                   " client_id TEXT NOT NULL,"
                   " account_id TEXT NOT NULL,"
                   " grant_data TEXT NOT NULL,"
                   " state TEXT NOT NULL,"
                   " created_at BIGINT NOT NULL,"
                   " expires_at BIGINT NOT NULL,"
                   " access_jti TEXT);"
                   "CREATE INDEX dan_refresh_token_expiry ON dan_refresh_token (expires_at);"
                   "CREATE INDEX dan_refresh_token_account ON dan_refresh_token (account_id);"},
  };
  return steps;
}

Result<std::unique_ptr<OidcProvider>> OidcProvider::Open(store::Database& db, KeyStore& keys,
                                                         AccountDirectory& accounts,
                                                         PersonDirectory& people,
                                                         Sessions& sessions, AuditLog& audit,
                                                         OidcOptions options, const Clock& clock) {
  if (options.issuer.empty() || options.issuer.back() == '/' ||
      options.issuer.find('?') != std::string::npos ||
      !(options.issuer.starts_with("https://") || options.issuer.starts_with("http://"))) {
    return Error::InvalidArgument(
        "the issuer must be an http(s) URL without a trailing slash or query", "issuer");
  }
  ULUS_TRY(store::Migrate(db, "dan_oidc", Migrations()));
  ULUS_ASSIGN_OR_RETURN(auto registry, oidc::ClientRegistry::Load(db, options, clock));
  auto impl = std::make_unique<Impl>(db, keys, accounts, people, sessions, audit,
                                     std::move(options), clock, std::move(registry));
  ULUS_TRY(impl->keys.Load());
  // The revocations still in force, into memory.
  {
    ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
    const store::Value now[] = {ToUnixMicros(clock.Now())};
    ULUS_ASSIGN_OR_RETURN(
        auto rows,
        conn->Query("SELECT jti, expires_at FROM dan_revoked_token WHERE expires_at > $1", now));
    for (const auto& row : rows) impl->revoked.Add(row.Text(0), FromUnixMicros(row.Int(1)));
  }
  impl->StartPolling();
  return std::unique_ptr<OidcProvider>(new OidcProvider(std::move(impl)));
}

OidcProvider::OidcProvider(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OidcProvider::~OidcProvider() {
  impl_->StopPolling();
}

void OidcProvider::Mount(http::Router& router) {
  Impl* impl = impl_.get();
  using http::Method;
  router.Add(
      Method::get, "/.well-known/openid-configuration",
      [impl](http::Request&) -> Result<http::Response> {
        auto r = http::Response::Text(impl->discovery, "application/json");
        r.headers.emplace_back("Cache-Control", "public, max-age=3600");
        return r;
      },
      Operation("OpenID Provider metadata"));
  router.Add(
      Method::get, "/oidc/jwks",
      [impl](http::Request&) -> Result<http::Response> {
        ULUS_ASSIGN_OR_RETURN(auto jwks, impl->keys.Jwks());
        auto r = http::Response::Text(jwks.dump(), "application/jwk-set+json");
        r.headers.emplace_back("Cache-Control", "public, max-age=300");
        return r;
      },
      Operation("The provider's public signing keys (JWK Set)"));
  const auto bind = [impl](Result<http::Response> (Impl::*fn)(http::Request&)) {
    return [impl, fn](http::Request& request) { return (impl->*fn)(request); };
  };
  router.Add(Method::get, "/oidc/authorize", bind(&Impl::Authorize),
             Operation("Authorization endpoint (code flow with PKCE)"));
  router.Add(Method::post, "/oidc/authorize", bind(&Impl::Authorize),
             Operation("Authorization endpoint, form-posted"));
  router.Add(Method::get, "/oidc/authorize/resume", bind(&Impl::ResumeGet),
             Operation("Continues an authorization request after login"));
  router.Add(Method::post, "/oidc/authorize/resume", bind(&Impl::ResumePost),
             Operation("The consent decision"));
  router.Add(Method::post, "/oidc/token", bind(&Impl::Token), Operation("Token endpoint"));
  router.Add(Method::get, "/oidc/userinfo", bind(&Impl::UserInfo), Operation("UserInfo"));
  router.Add(Method::post, "/oidc/userinfo", bind(&Impl::UserInfo), Operation("UserInfo"));
  router.Add(Method::post, "/oidc/introspect", bind(&Impl::Introspect),
             Operation("Token introspection (RFC 7662)"));
  router.Add(Method::post, "/oidc/revoke", bind(&Impl::Revoke),
             Operation("Token revocation (RFC 7009)"));
  router.Add(Method::get, "/oidc/logout", bind(&Impl::Logout), Operation("RP-initiated logout"));
  router.Add(Method::post, "/oidc/logout", bind(&Impl::Logout),
             Operation("RP-initiated logout, confirmed"));
}

Result<AccessTokenInfo> OidcProvider::VerifyAccessToken(std::string_view token) const {
  ULUS_ASSIGN_OR_RETURN(auto info, impl_->Verify(token));
  return *info;
}

OidcProvider::Stats OidcProvider::stats() const {
  return {.client_credentials_grants = impl_->client_credentials_grants.load(),
          .code_grants = impl_->code_grants.load(),
          .refresh_grants = impl_->refresh_grants.load(),
          .introspections = impl_->introspections.load(),
          .token_cache_hits = impl_->token_cache_hits.load()};
}

Result<std::shared_ptr<const AccessTokenInfo>> OidcProvider::Impl::Verify(std::string_view token) {
  const Error unauthenticated{ErrorCode::kUnauthenticated, "the access token is not valid", {}};
  const TimePoint now = clock.Now();
  auto info = token_cache.Find(token);
  if (info != nullptr) {
    token_cache_hits.fetch_add(1, std::memory_order_relaxed);
    // The cache skips only the signature; time and revocation are checked every time.
    if (now > info->expires_at + seconds(60)) {
      return Error{ErrorCode::kUnauthenticated, "token has expired", {}};
    }
  } else {
    crypto::JwtPolicy policy;
    policy.algorithms = {crypto::SignatureAlg::kEs256};
    policy.issuer = options.issuer;
    policy.type = "at+jwt";
    ULUS_ASSIGN_OR_RETURN(auto verified, crypto::VerifyJwt(token, keys, policy, clock));
    ULUS_ASSIGN_OR_RETURN(auto parsed, oidc::InfoFromClaims(verified.claims));
    info = std::make_shared<const AccessTokenInfo>(std::move(parsed));
    token_cache.Insert(token, info);
  }
  if (revoked.Contains(info->jti)) {
    return Error{ErrorCode::kUnauthenticated, "token has been revoked", {}};
  }
  return info;
}

Result<std::string> OidcProvider::Impl::SignAccessToken(const oidc::Client& client,
                                                        const OidcGrant* grant,
                                                        const std::vector<std::string>& scopes,
                                                        const std::string& jti, TimePoint now) {
  ULUS_ASSIGN_OR_RETURN(auto signer, keys.Signer(crypto::SignatureAlg::kEs256));
  const int64_t iat = EpochSeconds(now);
  json claims = {{"iss", options.issuer},
                 {"aud", audience},
                 {"client_id", client.id},
                 {"exp", iat + options.access_token_lifetime.count()},
                 {"iat", iat},
                 {"jti", jti}};
  if (!scopes.empty()) claims["scope"] = oidc::JoinScopes(scopes);
  if (grant != nullptr) {
    claims["sub"] = grant->account_id;
    claims["acr"] = AcrValue(grant->assurance);
    claims["auth_time"] = grant->auth_time;
  } else {
    claims["sub"] = client.id;
    claims["agency"] = client.agency;
  }
  ULUS_ASSIGN_OR_RETURN(auto token, crypto::SignJwt({{"typ", "at+jwt"}}, claims, *signer));
  // This process signed it, so later checks may skip the signature.
  if (auto info = oidc::InfoFromClaims(claims); info.ok()) {
    token_cache.Insert(token, std::make_shared<const AccessTokenInfo>(std::move(info).value()));
  }
  return token;
}

Result<std::string> OidcProvider::Impl::SignIdToken(const oidc::Client& client,
                                                    const OidcGrant& grant,
                                                    std::string_view access_token, TimePoint now) {
  ULUS_ASSIGN_OR_RETURN(auto signer, keys.Signer(client.id_token_alg));
  const int64_t iat = EpochSeconds(now);
  json claims = {{"iss", options.issuer},
                 {"sub", grant.account_id},
                 {"aud", client.id},
                 {"exp", iat + options.id_token_lifetime.count()},
                 {"iat", iat},
                 {"auth_time", grant.auth_time},
                 {"acr", AcrValue(grant.assurance)},
                 {"amr", grant.amr},
                 {"azp", client.id}};
  if (!grant.nonce.empty()) claims["nonce"] = grant.nonce;
  if (!grant.sid.empty()) claims["sid"] = grant.sid;
  if (!access_token.empty()) claims["at_hash"] = oidc::HalfHash(client.id_token_alg, access_token);
  ULUS_ASSIGN_OR_RETURN(auto user, UserClaims(grant.account_id, grant.scopes));
  for (auto& [name, value] : user.items()) claims[name] = value;
  return crypto::SignJwt(nullptr, claims, *signer);
}

Result<json> OidcProvider::Impl::UserClaims(const std::string& account_id,
                                            const std::vector<std::string>& scopes) {
  json out = json::object();
  const auto has = [&](std::string_view s) {
    return std::find(scopes.begin(), scopes.end(), s) != scopes.end();
  };
  if (!has("profile") && !has("email") && !has("phone") && !has("national_id")) return out;
  std::optional<Person> person;
  const TimePoint now = clock.Now();
  bool cached = false;
  {
    std::lock_guard lock(people_mu);
    if (const auto it = people_cache.find(account_id);
        it != people_cache.end() && now - it->second.fetched < kPersonCacheTtl) {
      person = it->second.person;
      cached = true;
    }
  }
  if (!cached) {
    ULUS_ASSIGN_OR_RETURN(auto account, accounts.FindById(account_id));
    if (!account) return Error{ErrorCode::kUnauthenticated, "the account no longer exists", {}};
    ULUS_ASSIGN_OR_RETURN(person, people.Find(account->national_id));
    std::lock_guard lock(people_mu);
    // Bounded the simple way: a full cache starts again empty.
    if (people_cache.size() >= kPersonCacheEntries) people_cache.clear();
    people_cache[account_id] = {person, now};
  }
  if (!person) return out;  // the register no longer knows the person: no claims to release
  if (has("profile")) {
    out["given_name"] = person->given_name;
    out["family_name"] = person->family_name;
    out["name"] = person->given_name + " " + person->family_name;
    if (!person->birth_date.empty()) out["birthdate"] = person->birth_date;
    out["gender"] = GenderOf(person->sex);
  }
  if (has("email") && !person->email.empty()) {
    out["email"] = person->email;
    out["email_verified"] = false;  // the register holds it; Dan never confirmed it
  }
  if (has("phone") && !person->phone.empty()) {
    out["phone_number"] = person->phone;
    out["phone_number_verified"] = true;  // sign-up sent a code to it
  }
  if (has("national_id")) out["national_id"] = person->national_id;
  return out;
}

TimePoint OidcProvider::Impl::RevokedUntil(TimePoint issued) const {
  return issued + options.access_token_lifetime + kRevocationMargin;
}

Status OidcProvider::Impl::RevokeJti(store::Connection& tx, const std::string& jti,
                                     TimePoint expires) {
  const store::Value params[] = {jti, ToUnixMicros(expires), ToUnixMicros(clock.Now())};
  ULUS_TRY(
      tx.Execute("INSERT INTO dan_revoked_token (jti, expires_at, revoked_at) VALUES ($1, $2, $3)"
                 " ON CONFLICT DO NOTHING",
                 params));
  return Ok();
}

Result<int64_t> OidcProvider::RevokeAccount(std::string_view account_id) {
  Impl& s = *impl_;
  const TimePoint now = s.clock.Now();
  std::vector<std::pair<std::string, TimePoint>> to_revoke;
  int64_t families = 0;
  ULUS_TRY(s.group.Submit([&](store::Connection& tx) -> Status {
    to_revoke.clear();
    families = 0;
    const store::Value params[] = {std::string(account_id), ToUnixMicros(now)};
    ULUS_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT DISTINCT family_id FROM dan_refresh_token"
                                              " WHERE account_id = $1 AND state = 'active'"
                                              " AND expires_at > $2",
                                              params));
    for (const auto& row : rows) {
      ULUS_ASSIGN_OR_RETURN(auto more, s.RevokeFamily(tx, row.Text(0), now));
      to_revoke.insert(to_revoke.end(), more.begin(), more.end());
      ++families;
    }
    if (families == 0) return Ok();
    return s.audit.Record(
        tx, {.event = "oidc.account.revoked",
             .account_id = std::string(account_id),
             .detail = {{"families", families}, {"access_tokens", to_revoke.size()}}});
  }));
  for (const auto& [jti, until] : to_revoke) s.revoked.Add(jti, until);
  return families;
}

void OidcProvider::Impl::StartPolling() {
  if (options.revocation_poll_interval.count() <= 0) return;
  poller = std::thread([this] {
    // Re-reading a window behind the last poll catches revocations that committed late or were
    // stamped by a replica whose clock runs behind ours.
    constexpr auto kWindow = std::chrono::seconds(30);
    TimePoint since = clock.Now() - kWindow;
    std::unique_lock lock(poll_mu);
    while (!poll_cv.wait_for(lock, options.revocation_poll_interval, [&] { return poll_stop; })) {
      lock.unlock();
      const TimePoint started = clock.Now();
      auto polled = [&]() -> Status {
        ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
        const store::Value params[] = {ToUnixMicros(since), ToUnixMicros(started)};
        ULUS_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT jti, expires_at FROM dan_revoked_token"
                                                     " WHERE revoked_at >= $1 AND expires_at > $2",
                                                     params));
        for (const auto& row : rows) revoked.Add(row.Text(0), FromUnixMicros(row.Int(1)));
        return Ok();
      }();
      if (polled.ok()) {
        since = started - kWindow;
      } else {
        spdlog::warn("oidc: reading revocations failed: {}", polled.error().ToString());
      }
      lock.lock();
    }
  });
}

void OidcProvider::Impl::StopPolling() {
  {
    std::lock_guard lock(poll_mu);
    poll_stop = true;
  }
  poll_cv.notify_all();
  if (poller.joinable()) poller.join();
}

Result<std::vector<std::pair<std::string, TimePoint>>> OidcProvider::Impl::RevokeFamily(
    store::Connection& tx, const std::string& family_id, TimePoint now) {
  std::vector<std::pair<std::string, TimePoint>> out;
  // The family's tokens are the key range ["<family>~", "<family>\x7f"): '~' is 0x7e.
  const store::Value family[] = {family_id + "~", family_id + "\x7f"};
  ULUS_ASSIGN_OR_RETURN(auto rows,
                        tx.Query("SELECT access_jti, created_at FROM dan_refresh_token"
                                 " WHERE id >= $1 AND id < $2 AND access_jti IS NOT NULL",
                                 family));
  ULUS_TRY(tx.Execute("UPDATE dan_refresh_token SET state = 'revoked' WHERE id >= $1 AND id < $2",
                      family));
  for (const auto& row : rows) {
    const TimePoint until = RevokedUntil(FromUnixMicros(row.Int(1)));
    if (until <= now) continue;  // long expired anyway
    ULUS_TRY(RevokeJti(tx, row.Text(0), until));
    out.emplace_back(row.Text(0), until);
  }
  return out;
}

void OidcProvider::Impl::Housekeeping() {
  if (housekeeping_ticks.fetch_add(1, std::memory_order_relaxed) % kHousekeepingEvery != 0) {
    return;
  }
  const TimePoint now = clock.Now();
  revoked.Prune(now);
  const store::Value params[] = {ToUnixMicros(now)};
  Status cleaned = db.InTransaction([&](store::Connection& tx) -> Status {
    ULUS_TRY(tx.Execute("DELETE FROM dan_auth_request WHERE expires_at < $1", params));
    // Used codes are kept a day past expiry so that a late replay is still recognised.
    const store::Value day_ago[] = {ToUnixMicros(now - std::chrono::hours(24))};
    ULUS_TRY(tx.Execute("DELETE FROM dan_auth_code WHERE expires_at < $1", day_ago));
    ULUS_TRY(tx.Execute("DELETE FROM dan_revoked_token WHERE expires_at < $1", params));
    ULUS_TRY(tx.Execute("DELETE FROM dan_refresh_token WHERE expires_at < $1", params));
    return Ok();
  });
  if (!cleaned.ok()) spdlog::warn("oidc: housekeeping failed: {}", cleaned.error().ToString());
}

}  // namespace ulus::identity
