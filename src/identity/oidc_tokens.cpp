#include "oidc_tokens.hpp"

#include <openssl/evp.h>

#include <chrono>
#include <functional>

#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"

namespace ulus::identity::oidc {
namespace {

using std::chrono::seconds;

constexpr crypto::SignatureAlg kAlgs[] = {
    crypto::SignatureAlg::kRs256, crypto::SignatureAlg::kEs256, crypto::SignatureAlg::kEdDsa};
// How long a cached signer is used before the KeyStore is asked again (rotation shows then).
constexpr seconds kSignerReload{300};
// An unknown kid reloads the JWK Set at most this often, so junk tokens cannot hammer the store.
constexpr seconds kJwksMissReload{5};

size_t AlgIndex(crypto::SignatureAlg alg) {
  switch (alg) {
    case crypto::SignatureAlg::kRs256: return 0;
    case crypto::SignatureAlg::kEs256: return 1;
    case crypto::SignatureAlg::kEdDsa: return 2;
  }
  return 0;
}

const KeyOwner& Owner() {
  static const KeyOwner owner{KeyOwnerKind::kPlatform, "oidc"};
  return owner;
}

}  // namespace

Status ProviderKeys::Load() {
  for (const auto alg : kAlgs) ULUS_TRY(Signer(alg));
  std::lock_guard lock(mu_);
  return ReloadJwks();
}

Result<std::shared_ptr<const crypto::Signer>> ProviderKeys::Signer(crypto::SignatureAlg alg) {
  const size_t i = AlgIndex(alg);
  const TimePoint now = clock_.Now();
  {
    std::lock_guard lock(mu_);
    if (signers_[i] != nullptr && now - signers_loaded_[i] < kSignerReload) return signers_[i];
  }
  ULUS_ASSIGN_OR_RETURN(auto signer, keys_.Signer(Owner(), alg));
  std::lock_guard lock(mu_);
  const bool changed = signers_[i] == nullptr || signers_[i]->Kid() != signer->Kid();
  signers_[i] = signer;
  signers_loaded_[i] = now;
  // A new key must be verifiable before the first token it signs goes out.
  if (changed) ULUS_TRY(ReloadJwks());
  return signer;
}

Status ProviderKeys::ReloadJwks() const {
  ULUS_ASSIGN_OR_RETURN(auto set, keys_.Jwks(Owner()));
  jwks_ = std::make_shared<const crypto::JwkSet>(std::move(set));
  jwks_loaded_ = clock_.Now();
  return Ok();
}

Result<crypto::PublicKey> ProviderKeys::Resolve(std::string_view kid) const {
  std::shared_ptr<const crypto::JwkSet> set;
  {
    std::lock_guard lock(mu_);
    set = jwks_;
  }
  if (set != nullptr) {
    auto key = set->Resolve(kid);
    if (key.ok() || key.error().code != ErrorCode::kNotFound) return key;
  }
  std::lock_guard lock(mu_);
  if (jwks_ == nullptr || clock_.Now() - jwks_loaded_ >= kJwksMissReload) ULUS_TRY(ReloadJwks());
  return jwks_->Resolve(kid);
}

Result<nlohmann::json> ProviderKeys::Jwks() {
  std::lock_guard lock(mu_);
  if (jwks_ == nullptr || clock_.Now() - jwks_loaded_ >= kSignerReload) ULUS_TRY(ReloadJwks());
  return jwks_->ToJson();
}

bool RevocationSet::Contains(std::string_view jti) const {
  std::shared_lock lock(mu_);
  return !revoked_.empty() && revoked_.find(jti) != revoked_.end();
}

void RevocationSet::Add(const std::string& jti, TimePoint expires) {
  std::unique_lock lock(mu_);
  revoked_[jti] = expires;
}

void RevocationSet::Prune(TimePoint now) {
  std::unique_lock lock(mu_);
  std::erase_if(revoked_, [&](const auto& entry) { return entry.second < now; });
}

VerifiedTokenCache::VerifiedTokenCache(size_t capacity)
    : shard_capacity_(std::max<size_t>(1, capacity / kShards)) {}

std::string VerifiedTokenCache::Key(std::string_view token) {
  const auto digest = crypto::Sha256(token);
  return {digest.begin(), digest.end()};
}

VerifiedTokenCache::Shard& VerifiedTokenCache::ShardOf(const std::string& key) const {
  return shards_[static_cast<uint8_t>(key[0]) % kShards];
}

std::shared_ptr<const AccessTokenInfo> VerifiedTokenCache::Find(std::string_view token) const {
  const std::string key = Key(token);
  Shard& shard = ShardOf(key);
  std::lock_guard lock(shard.mu);
  const auto it = shard.index.find(key);
  if (it == shard.index.end()) return nullptr;
  shard.order.splice(shard.order.begin(), shard.order, it->second);
  return it->second->second;
}

void VerifiedTokenCache::Insert(std::string_view token,
                                std::shared_ptr<const AccessTokenInfo> info) {
  std::string key = Key(token);
  Shard& shard = ShardOf(key);
  std::lock_guard lock(shard.mu);
  if (shard.index.contains(key)) return;
  shard.order.emplace_front(key, std::move(info));
  shard.index.emplace(std::move(key), shard.order.begin());
  if (shard.order.size() > shard_capacity_) {
    shard.index.erase(shard.order.back().first);
    shard.order.pop_back();
  }
}

std::string HalfHash(crypto::SignatureAlg alg, std::string_view token) {
  if (alg == crypto::SignatureAlg::kEdDsa) {
    // Ed25519 hashes with SHA-512, so its half-hash is the left 32 bytes of a SHA-512.
    std::array<uint8_t, 64> digest{};
    unsigned int size = 0;
    EVP_Digest(token.data(), token.size(), digest.data(), &size, EVP_sha512(), nullptr);
    return crypto::Base64UrlEncode(std::span<const uint8_t>(digest.data(), 32));
  }
  const auto digest = crypto::Sha256(token);
  return crypto::Base64UrlEncode(std::span<const uint8_t>(digest.data(), 16));
}

Result<AccessTokenInfo> InfoFromClaims(const nlohmann::json& claims) {
  const auto text = [&](const char* name) -> std::string {
    const auto it = claims.find(name);
    return it != claims.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  AccessTokenInfo info;
  info.jti = text("jti");
  info.subject = text("sub");
  info.client_id = text("client_id");
  if (info.jti.empty() || info.subject.empty() || info.client_id.empty() ||
      !claims.contains("exp") || !claims["exp"].is_number_integer()) {
    return Error{ErrorCode::kUnauthenticated, "token lacks jti, sub, client_id or exp", {}};
  }
  info.scopes = SplitScopes(text("scope"));
  info.agency = text("agency");
  if (const auto acr = text("acr"); !acr.empty()) info.assurance = AssuranceFromAcr(acr);
  info.expires_at = TimePoint(seconds(claims["exp"].get<int64_t>()));
  if (const auto it = claims.find("iat"); it != claims.end() && it->is_number_integer()) {
    info.issued_at = TimePoint(seconds(it->get<int64_t>()));
  }
  info.claims = claims;
  return info;
}

std::string JoinScopes(const std::vector<std::string>& scopes) {
  std::string out;
  for (const auto& s : scopes) {
    if (!out.empty()) out += ' ';
    out += s;
  }
  return out;
}

std::vector<std::string> SplitScopes(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto space = text.find(' ');
    const auto word = text.substr(0, space);
    if (!word.empty() && std::find(out.begin(), out.end(), word) == out.end()) {
      out.emplace_back(word);
    }
    if (space == std::string_view::npos) break;
    text.remove_prefix(space + 1);
  }
  return out;
}

}  // namespace ulus::identity::oidc
