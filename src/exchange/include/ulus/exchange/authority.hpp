#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/crypto/keys.hpp"
#include "ulus/exchange/certificates.hpp"
#include "ulus/exchange/global_config.hpp"
#include "ulus/exchange/identifiers.hpp"
#include "ulus/http/router.hpp"
#include "ulus/store/database.hpp"

namespace ulus::exchange {

// A one-time registration token: "khur1.<secret>.<thumbprint>", where the secret is 32 random
// bytes in base64url and the thumbprint is the RFC 7638 thumbprint of the authority's
// configuration-signing key. The node that is handed a token thereby learns which authority key
// to pin, so a man in the middle of its first contact cannot pose as the authority.
inline constexpr std::string_view kRegistrationTokenPrefix = "khur1";

struct RegistrationToken {
  std::string secret;
  std::string authority_thumbprint;
};
// Splits a token into its parts; kInvalidArgument (field "token") when it is not one.
Result<RegistrationToken> ParseRegistrationToken(std::string_view token);

// Placeholder address of a subsystem whose node has not registered yet: the global
// configuration requires an https address for every subsystem. ".invalid" (RFC 6761) never
// resolves, and such a subsystem lists no certificate, so no peer can pass for it.
inline constexpr std::string_view kUnregisteredNodeAddress = "https://unregistered.invalid";

struct AuthorityOptions {
  std::chrono::seconds config_validity{600};  // a signed configuration's expires - issued
  std::chrono::seconds reissue_after{60};     // a cached configuration older than this is re-signed
  std::chrono::seconds token_ttl{86400};      // a registration token is usable this long
  std::chrono::days certificate_validity{730};
};

// What a node sends to register (POST /khur/authority/register).
struct RegistrationRequest {
  std::string token;
  std::string csr_pem;             // PKCS#10, P-256 key
  std::string address;             // https URL of the node's mutual-TLS port
  nlohmann::json signing_jwk;      // the public ES256 JWK, with kid, the node signs messages with
  std::vector<std::string> hosts;  // extra names for the certificate; the address's host is added
  // The subsystem the node means to serve. When set and the token is another subsystem's, the
  // registration is kPermissionDenied and writes nothing (the token stays usable): a mix-up of
  // tokens must not re-point another subsystem's node.
  std::optional<ClientId> subsystem;
};

// What the authority answers a registration with.
struct Registration {
  ClientId subsystem;
  std::string certificate_pem;
  CertificateInfo certificate;
  std::string ca_pem;
  nlohmann::json authority_jwk;
  std::string config_jws;  // the global configuration that already lists the new node
};

// Khur's central authority, modelled on X-Road's central server: the instance's members and
// subsystems (from the country pack), the nodes that registered for them with a one-time token
// (address, TLS certificate, message-signing keys), its certificate authority, and the signed
// global configuration it publishes. State lives in the given database (migration component
// "exchange_authority"; SQLite or PostgreSQL), so several authority processes may share one
// PostgreSQL database; each caches its signed configuration, so another process's registration
// shows in this one's configuration within reissue_after.
//
// Tokens: only their SHA-256 is stored; one is usable once, until token_ttl; issuing a new token
// for a subsystem withdraws that subsystem's older unused ones, so only the newest handed-out
// token works. Registration replaces the subsystem's node address and certificate fingerprint
// (the old certificate stops being accepted by nodes as soon as they install the next
// configuration) and keeps the two newest signing keys, so messages signed just before a key
// rotation still verify.
//
// Thread-safe. The database, signer, CA and clock must outlive it, and it must outlive a router
// it is mounted on.
class Authority {
 public:
  static constexpr size_t kKeptSigningKeys = 2;

  static Result<std::unique_ptr<Authority>> Open(store::Database& db,
                                                 const crypto::Signer& config_signer,
                                                 CertificateAuthority& ca, PackExchange pack,
                                                 const Clock& clock, AuthorityOptions options = {});

  // A new one-time token for `subsystem`'s node, which must be one of the pack's subsystems
  // (else kInvalidArgument naming "subsystem"). The text is returned once and never stored.
  Result<std::string> IssueRegistrationToken(const ClientId& subsystem);

  // Registers a node: checks the request (address https, signing_jwk a public ES256 key with a
  // kid, hosts), then in one transaction spends the token, issues the certificate and records
  // the node, and signs the configuration that lists it. A token that is wrong, spent, withdrawn
  // or expired is kUnauthenticated with one message for all, so the answer tells nothing about
  // which tokens exist. Any failure writes nothing, and the token stays usable.
  Result<Registration> Register(const RegistrationRequest& request);

  // The current global configuration as a JWS (see SignGlobalConfig): the pack's members,
  // subsystems, services and rights with the registered nodes' addresses, fingerprints and
  // signing keys, and the CA certificate. Re-signed when the cached one is older than
  // reissue_after and after every registration; issued times strictly increase, so a node never
  // sees two documents claiming one instant.
  Result<std::string> SignedConfig();

  // The public JWK of the configuration-signing key, with its kid.
  [[nodiscard]] nlohmann::json AuthorityJwk() const { return signer_.PublicJwk(); }

  // GET /khur/authority/conf (application/jwt), GET /khur/authority/ca.pem, GET
  // /khur/authority/key (the public JWK) and POST /khur/authority/register, whose only
  // credential is the one-time token in its body.
  void Mount(http::Router& router);

 private:
  Authority(store::Database& db, const crypto::Signer& config_signer, CertificateAuthority& ca,
            PackExchange pack, const Clock& clock, AuthorityOptions options);

  // Reads the registered nodes through `conn`, builds and signs the configuration issued at the
  // next free instant. Needs config_mu_.
  Result<std::string> BuildSignedConfig(store::Connection& conn, TimePoint& issued);

  store::Database& db_;
  const crypto::Signer& signer_;
  CertificateAuthority& ca_;
  const PackExchange pack_;
  const Clock& clock_;
  const AuthorityOptions options_;
  const std::unordered_set<std::string> subsystems_;  // the pack's subsystems, encoded

  // Guards the cached configuration. Taken before any database connection (Register holds it
  // across its transaction), never the other way round, so the two cannot deadlock.
  std::mutex config_mu_;
  std::string cached_jws_;   // guarded by config_mu_
  TimePoint cached_issued_;  // guarded by config_mu_; zero before the first
};

}  // namespace ulus::exchange
