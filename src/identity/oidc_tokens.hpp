#pragma once

#include <array>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/crypto/jose.hpp"
#include "ulus/identity/keystore.hpp"
#include "ulus/identity/oidc.hpp"

namespace ulus::identity::oidc {

// The provider's keys (owner {kPlatform, "oidc"}): one signer per algorithm and the JWK Set
// that verifies them, both cached and reloaded from the KeyStore now and then, so a rotation
// shows within `kReload` and a token signed by a new key is verifiable at once. Thread-safe.
class ProviderKeys final : public crypto::KeyResolver {
 public:
  ProviderKeys(KeyStore& keys, const Clock& clock) : keys_(keys), clock_(clock) {}
  // Makes sure a key of every algorithm exists and loads them.
  Status Load();
  Result<std::shared_ptr<const crypto::Signer>> Signer(crypto::SignatureAlg alg);
  [[nodiscard]] Result<crypto::PublicKey> Resolve(std::string_view kid) const override;
  // {"keys": [...]}: what the jwks_uri serves.
  Result<nlohmann::json> Jwks();

 private:
  Status ReloadJwks() const;

  KeyStore& keys_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::array<std::shared_ptr<const crypto::Signer>, 3> signers_;  // guarded by mu_
  std::array<TimePoint, 3> signers_loaded_{};                     // guarded by mu_
  mutable std::shared_ptr<const crypto::JwkSet> jwks_;            // guarded by mu_
  mutable TimePoint jwks_loaded_{};                               // guarded by mu_
};

// The ids (jti) of access tokens revoked before they expire, mirrored from dan_revoked_token so
// checking one costs a hash lookup. Thread-safe.
class RevocationSet {
 public:
  [[nodiscard]] bool Contains(std::string_view jti) const;
  void Add(const std::string& jti, TimePoint expires);
  // Forgets ids whose tokens have expired anyway.
  void Prune(TimePoint now);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, TimePoint, Hash, std::equal_to<>> revoked_;  // guarded by mu_
};

// Access tokens whose signature was checked (or that this process signed), by the SHA-256 of
// the token text, least recently used first out. Sharded to keep lock contention low.
// Thread-safe.
class VerifiedTokenCache {
 public:
  explicit VerifiedTokenCache(size_t capacity);
  [[nodiscard]] std::shared_ptr<const AccessTokenInfo> Find(std::string_view token) const;
  void Insert(std::string_view token, std::shared_ptr<const AccessTokenInfo> info);

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    using Entry = std::pair<std::string, std::shared_ptr<const AccessTokenInfo>>;
    mutable std::mutex mu;
    mutable std::list<Entry> order;  // most recently used first
    std::unordered_map<std::string, std::list<Entry>::iterator> index;
  };
  static std::string Key(std::string_view token);
  Shard& ShardOf(const std::string& key) const;

  size_t shard_capacity_;
  mutable std::array<Shard, kShards> shards_;
};

// Left half of the hash of `token` that suits `alg`, base64url: at_hash (OIDC Core §3.1.3.6).
std::string HalfHash(crypto::SignatureAlg alg, std::string_view token);

// AccessTokenInfo from verified claims; kUnauthenticated when a required claim is missing.
Result<AccessTokenInfo> InfoFromClaims(const nlohmann::json& claims);

// Space-separated scope string from a list, and back.
std::string JoinScopes(const std::vector<std::string>& scopes);
std::vector<std::string> SplitScopes(std::string_view text);

}  // namespace ulus::identity::oidc
