#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/http/router.hpp"
#include "ulus/identity/accounts.hpp"
#include "ulus/identity/assurance.hpp"
#include "ulus/identity/audit.hpp"
#include "ulus/identity/directory.hpp"
#include "ulus/identity/keystore.hpp"
#include "ulus/identity/sessions.hpp"
#include "ulus/store/database.hpp"
#include "ulus/store/migration.hpp"

namespace ulus::identity {

struct OidcOptions {
  // The issuer identifier: scheme, host, optional port and path, no trailing slash, no query.
  std::string issuer;
  // The clients file (YAML; the format is described in oidc_clients.hpp). Empty: built-ins only.
  std::string clients_file;
  // Where confidential clients' generated secrets are written, one <client_id>.secret each.
  std::string secrets_dir;
  // The built-in "ulus-portal" client's redirect URIs (exact match).
  std::vector<std::string> portal_redirect_uris;
  std::vector<std::string> portal_post_logout_redirect_uris;

  std::chrono::seconds code_lifetime{60};
  std::chrono::seconds access_token_lifetime{600};
  std::chrono::seconds id_token_lifetime{600};
  // The longest a refresh token family lives, however often it rotates.
  std::chrono::seconds refresh_token_lifetime{std::chrono::hours(24 * 30)};
  std::chrono::seconds auth_request_lifetime{600};
  // Dan's login page; it returns the browser to `return_to` when the login succeeds.
  std::string login_path = "/dan/login";
  // The "aud" of access tokens; empty means the issuer.
  std::string access_token_audience;
  // Verified access tokens remembered by hash, so repeated introspections skip the signature.
  size_t token_cache_entries = 65536;
  size_t max_group_commit_batch = 512;
  // How often revocations made by other processes (replicas over one PostgreSQL, or the
  // command line) are read into this one's memory; zero turns the reading off.
  std::chrono::milliseconds revocation_poll_interval{1000};
};

// A valid access token: signature, issuer, type and expiry checked, and not revoked.
struct AccessTokenInfo {
  std::string jti;
  std::string subject;  // an account id, or the client id for client_credentials tokens
  std::string client_id;
  std::vector<std::string> scopes;
  std::string agency;                  // client_credentials tokens: the agency the client acts for
  std::optional<Assurance> assurance;  // user tokens: the level of the login
  TimePoint issued_at;
  TimePoint expires_at;
  nlohmann::json claims;  // every claim of the token

  [[nodiscard]] bool HasScope(std::string_view scope) const;
  // True when the token was issued to a client acting for itself (no user).
  [[nodiscard]] bool IsClientToken() const {
    return subject == client_id && assurance == std::nullopt;
  }
};

// Dan's OpenID Connect provider: discovery, JWKS, authorization with PKCE, consent, the token
// endpoint (authorization_code, refresh_token, client_credentials), userinfo, introspection,
// revocation and RP-initiated logout. Its state is the `dan_oidc` migration component of the
// platform database. Thread-safe; the referenced objects must outlive it.
class OidcProvider {
 public:
  static Result<std::unique_ptr<OidcProvider>> Open(store::Database& db, KeyStore& keys,
                                                    AccountDirectory& accounts,
                                                    PersonDirectory& people, Sessions& sessions,
                                                    AuditLog& audit, OidcOptions options,
                                                    const Clock& clock = Clock::System());
  static const std::vector<store::Migration>& Migrations();  // component "dan_oidc"
  ~OidcProvider();
  OidcProvider(const OidcProvider&) = delete;
  OidcProvider& operator=(const OidcProvider&) = delete;

  // Adds /.well-known/openid-configuration and the /oidc/... endpoints.
  void Mount(http::Router& router);

  // Checks a bearer token for other parts of the platform (Khur, the portal): signature by one of
  // Dan's keys, issuer, typ at+jwt, expiry, and revocation (in memory, no database read).
  [[nodiscard]] Result<AccessTokenInfo> VerifyAccessToken(std::string_view token) const;
  // Ends every refresh token family of the account and the access tokens issued from them (a
  // password was changed or reset, an account disabled). Returns how many families ended.
  Result<int64_t> RevokeAccount(std::string_view account_id);

  // Counters for /metrics and tests. client_credentials grants are counted, not written to the
  // audit log: at thousands a second a row each would be most of the database's work.
  struct Stats {
    uint64_t client_credentials_grants = 0;
    uint64_t code_grants = 0;
    uint64_t refresh_grants = 0;
    uint64_t introspections = 0;
    uint64_t token_cache_hits = 0;
  };
  [[nodiscard]] Stats stats() const;

  struct Impl;

 private:
  explicit OidcProvider(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Who calls one of the platform's APIs with a Dan access token, resolved the same way for
// every part: an agency's back-end (a client-credentials token) or a person.
struct ApiCaller {
  std::string client_id;      // a client token's client; empty for a person
  std::string client_agency;  // the agency that client acts for (may be empty)
  std::string account_id;     // a person's account
  std::string national_id;
  // The person's roles, only after a login at substantial assurance or higher: officers act for
  // their agency only after a login above a password alone.
  std::vector<Role> roles;

  [[nodiscard]] bool IsClient() const { return !client_id.empty(); }
  // The agencies the person works applications or documents for (role officer or admin).
  [[nodiscard]] std::vector<std::string> OfficerOf() const;
  [[nodiscard]] bool HasRole(std::string_view role) const;
};

// Resolves the request's `Authorization: Bearer` token. kUnauthenticated without a token, with a
// bad one, or for an account that is not active; kPermissionDenied when a person's token was not
// granted `scope` (a login at some other relying party does not open a part's API to it).
Result<ApiCaller> AuthenticateApiCaller(const http::Request& request, OidcProvider& oidc,
                                        const AccountDirectory& accounts, std::string_view scope);
// The same for a token held elsewhere (the portal keeps its users' tokens server-side).
Result<ApiCaller> ApiCallerFromToken(std::string_view token, OidcProvider& oidc,
                                     const AccountDirectory& accounts, std::string_view scope);

}  // namespace ulus::identity
