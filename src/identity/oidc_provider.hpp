#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "oidc_clients.hpp"
#include "oidc_tokens.hpp"
#include "ulus/http/form.hpp"
#include "ulus/identity/oidc.hpp"
#include "ulus/store/group_commit.hpp"

namespace ulus::identity {

// What a user granted a client: who, which scopes, how strongly they logged in. Travels with a
// code and a refresh token family (stored as JSON).
struct OidcGrant {
  std::string account_id;
  std::vector<std::string> scopes;
  Assurance assurance = Assurance::kNone;
  std::vector<std::string> amr;
  int64_t auth_time = 0;  // seconds since the epoch
  std::string nonce;
  std::string sid;

  [[nodiscard]] nlohmann::json ToJson() const;
  static OidcGrant FromJson(const nlohmann::json& j);
  [[nodiscard]] bool HasScope(std::string_view scope) const;
};

// An OAuth error answer of the token, introspection and revocation endpoints (RFC 6749 §5.2).
struct OAuthError {
  http::Status status = http::Status::bad_request;
  std::string error;
  std::string description;
  bool basic_challenge = false;  // 401 to a client that tried HTTP Basic
};

struct OidcProvider::Impl {
  Impl(store::Database& db_in, KeyStore& keystore_in, AccountDirectory& accounts_in,
       PersonDirectory& people_in, Sessions& sessions_in, AuditLog& audit_in, OidcOptions opts,
       const Clock& clock_in, oidc::ClientRegistry registry);

  store::Database& db;
  KeyStore& keystore;
  AccountDirectory& accounts;
  PersonDirectory& people;
  Sessions& sessions;
  AuditLog& audit;
  const OidcOptions options;
  const Clock& clock;
  const oidc::ClientRegistry clients;
  oidc::ProviderKeys keys;
  oidc::RevocationSet revoked;
  oidc::VerifiedTokenCache token_cache;
  store::GroupCommit group;
  std::string audience;
  std::string discovery;  // the metadata document, rendered once

  // The register's facts about an account's person, as ID tokens and userinfo release them,
  // kept a short while: a busy client refreshes far more often than a name changes.
  struct CachedPerson {
    std::optional<Person> person;
    TimePoint fetched;
  };
  std::mutex people_mu;
  std::unordered_map<std::string, CachedPerson> people_cache;  // guarded by people_mu

  std::atomic<uint64_t> client_credentials_grants{0};
  std::atomic<uint64_t> code_grants{0};
  std::atomic<uint64_t> refresh_grants{0};
  std::atomic<uint64_t> introspections{0};
  std::atomic<uint64_t> token_cache_hits{0};
  std::atomic<uint64_t> housekeeping_ticks{0};

  // oidc_authorize.cpp
  Result<http::Response> Authorize(http::Request& request);
  Result<http::Response> ResumeGet(http::Request& request);
  Result<http::Response> ResumePost(http::Request& request);
  Result<http::Response> Logout(http::Request& request);

  // oidc_token.cpp
  Result<http::Response> Token(http::Request& request);
  Result<http::Response> UserInfo(http::Request& request);
  Result<http::Response> Introspect(http::Request& request);
  Result<http::Response> Revoke(http::Request& request);

  // oidc_provider.cpp: shared by both.
  [[nodiscard]] Result<std::shared_ptr<const AccessTokenInfo>> Verify(std::string_view token);
  // An RFC 9068 access token. `grant` is null for client_credentials.
  Result<std::string> SignAccessToken(const oidc::Client& client, const OidcGrant* grant,
                                      const std::vector<std::string>& scopes,
                                      const std::string& jti, TimePoint now);
  Result<std::string> SignIdToken(const oidc::Client& client, const OidcGrant& grant,
                                  std::string_view access_token, TimePoint now);
  // Claims about the account that `scopes` release (profile, email, phone, national_id).
  Result<nlohmann::json> UserClaims(const std::string& account_id,
                                    const std::vector<std::string>& scopes);
  // Marks a family's refresh tokens revoked and the access tokens issued from them; returns the
  // access token ids to add to the in-memory set once the transaction commits.
  Result<std::vector<std::pair<std::string, TimePoint>>> RevokeFamily(store::Connection& tx,
                                                                      const std::string& family_id,
                                                                      TimePoint now);
  Status RevokeJti(store::Connection& tx, const std::string& jti, TimePoint expires);
  // The expiry to keep a revoked access token's id for, given when it was issued.
  [[nodiscard]] TimePoint RevokedUntil(TimePoint issued) const;
  // Deletes expired codes, requests and revocations now and then.
  void Housekeeping();

  // Reads revocations other processes made into `revoked`, every revocation_poll_interval, on
  // its own thread until StopPolling().
  void StartPolling();
  void StopPolling();
  std::thread poller;
  std::mutex poll_mu;
  std::condition_variable poll_cv;
  bool poll_stop = false;  // guarded by poll_mu
};

}  // namespace ulus::identity
