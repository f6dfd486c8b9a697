#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/crypto/jose.hpp"
#include "ulus/crypto/keys.hpp"
#include "ulus/crypto/sealed.hpp"
#include "ulus/store/database.hpp"
#include "ulus/store/migration.hpp"

namespace ulus::identity {

// Whose key: the platform itself (id names the use: "oidc", "consent"), an agency (its code),
// or a person (an account id; citizens and officers alike).
enum class KeyOwnerKind { kPlatform, kAgency, kPerson };
std::string_view KeyOwnerKindName(KeyOwnerKind kind);

struct KeyOwner {
  KeyOwnerKind kind = KeyOwnerKind::kPlatform;
  std::string id;
  bool operator==(const KeyOwner&) const = default;
};

enum class KeyState {
  kCurrent,  // signs new things
  kRetired,  // no longer signs; still published until `publish_until`
  kRevoked,  // withdrawn: not published, its signatures no longer trusted
};

struct KeyInfo {
  std::string kid;  // RFC 7638 thumbprint
  KeyOwner owner;
  crypto::SignatureAlg alg = crypto::SignatureAlg::kEs256;
  nlohmann::json public_jwk;
  KeyState state = KeyState::kCurrent;
  bool in_token = false;  // held in the PKCS#11 token, not sealed in the database
  TimePoint created;
  std::optional<TimePoint> retired;
  std::optional<TimePoint> publish_until;  // set when retired
};

// A PKCS#11 token for platform and agency keys (an HSM; SoftHSM2 in tests).
struct Pkcs11Options {
  std::string module_path;  // e.g. /usr/lib/softhsm/libsofthsm2.so
  std::string token_label;
  std::string pin;
};

struct KeyStoreOptions {
  // When set, platform and agency keys are generated and kept in this token; person keys are
  // always sealed in the database (a token per citizen is not a thing a platform can hold).
  std::optional<Pkcs11Options> pkcs11;
};

// Signing keys of the platform, agencies and people (`dan_key`). Private halves are sealed
// under the master key, bound to owner and kid, or live in a PKCS#11 token; none is ever
// returned, logged or serialized: callers get a Signer to use inside the process. Each owner has
// at most one current key per algorithm. Thread-safe; signers are cached after first use.
class KeyStore {
 public:
  static Result<std::unique_ptr<KeyStore>> Open(store::Database& db, crypto::MasterKey master,
                                                KeyStoreOptions options,
                                                const Clock& clock = Clock::System());
  static const std::vector<store::Migration>& Migrations();  // component "dan_key"
  ~KeyStore();

  // The owner's current signer for `alg`, generating the key on first use.
  Result<std::shared_ptr<const crypto::Signer>> Signer(const KeyOwner& owner,
                                                       crypto::SignatureAlg alg);
  // The current signer if there is one; kNotFound otherwise (does not generate).
  Result<std::shared_ptr<const crypto::Signer>> CurrentSigner(const KeyOwner& owner,
                                                              crypto::SignatureAlg alg);
  // Makes a new current key for owner and alg; the old current one is retired and stays
  // published for `keep_published` (set it to the longest lifetime of what it signed).
  Result<KeyInfo> Rotate(const KeyOwner& owner, crypto::SignatureAlg alg,
                         std::chrono::seconds keep_published);
  // Withdraws a key at once (compromise): it is no longer published or used.
  Status Revoke(const KeyOwner& owner, std::string_view kid);
  // Current and still-published retired keys of the owner, newest first.
  Result<std::vector<KeyInfo>> Keys(const KeyOwner& owner);
  // Every key of the owner that was not revoked, retired ones however long ago: what signed
  // documents that live for decades are checked against (their trust list says until when each
  // key signed).
  Result<std::vector<KeyInfo>> KeysEverUsed(const KeyOwner& owner);
  // The same as a JWK Set (what a jwks_uri serves and a verifier resolves against).
  Result<crypto::JwkSet> Jwks(const KeyOwner& owner);
  // Any key by kid, whatever its owner and state (for audit and verification of old records).
  Result<KeyInfo> Find(std::string_view kid);

  struct Impl;

 private:
  explicit KeyStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ulus::identity
