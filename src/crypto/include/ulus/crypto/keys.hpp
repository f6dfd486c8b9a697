#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/result.hpp"

namespace ulus::crypto {

// The JOSE signature algorithms Ulus signs and verifies with. There is deliberately no HMAC and
// no "none": every token is signed with a private key and checked with its public half.
enum class SignatureAlg {
  kEs256,  // ECDSA on P-256 with SHA-256; signatures are raw r||s (64 bytes), as JOSE wants
  kRs256,  // RSASSA-PKCS1-v1_5 with SHA-256; RSA keys of 2048 to 4096 bits
  kEdDsa,  // Ed25519 (RFC 8037)
};

// "ES256", "RS256", "EdDSA": the names in a JWS "alg" header and a JWK "alg" member.
std::string_view AlgName(SignatureAlg alg);
// The algorithm with that exact (case-sensitive) name, or nothing for any other name.
std::optional<SignatureAlg> AlgFromName(std::string_view name);

namespace detail {
class SigningKeyAccess;
}  // namespace detail

// A public key that verifies one algorithm's signatures: P-256, RSA or Ed25519. Built from a JWK
// or a PEM SubjectPublicKeyInfo; immutable, cheap to copy (copies share the key) and safe to use
// from many threads at once.
class PublicKey {
 public:
  // Accepts kty EC (crv P-256), RSA and OKP (crv Ed25519). Refuses a JWK that carries private
  // members ("d" and RSA's factors), whose "use" is not "sig", or whose "alg" does not fit the
  // key. EC points must be on the curve.
  static Result<PublicKey> FromJwk(const nlohmann::json& jwk);
  // A PEM "PUBLIC KEY" (SubjectPublicKeyInfo) block, as `openssl pkey -pubout` writes.
  static Result<PublicKey> FromPem(std::string_view pem);

  [[nodiscard]] SignatureAlg Alg() const;
  // The JWK's own "kid" when it had one, otherwise the RFC 7638 thumbprint.
  [[nodiscard]] const std::string& Kid() const;
  // The RFC 7638 JWK thumbprint (SHA-256, base64url): the kid Ulus gives its own keys.
  [[nodiscard]] const std::string& Thumbprint() const;
  // The public JWK: kty with crv/x/y or n/e, kid, alg and use "sig". Never private members.
  [[nodiscard]] nlohmann::json Jwk() const;
  [[nodiscard]] std::string ToPem() const;

  // Checks `signature` over `data`. Fails when `alg` is not this key's algorithm, so a token
  // cannot pick how its signature is checked (no RS256 key used as an HMAC secret, no ES256
  // signature checked with an RSA key).
  [[nodiscard]] Status Verify(SignatureAlg alg, std::span<const uint8_t> data,
                              std::span<const uint8_t> signature) const;

  // Same key, another kid: for a JWKS whose publisher names keys its own way.
  [[nodiscard]] PublicKey WithKid(std::string kid) const;

  struct Impl;

 private:
  explicit PublicKey(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  friend class SigningKey;
  std::shared_ptr<const Impl> impl_;
};

// Anything that signs for one key: a SigningKey in memory or a key inside a PKCS#11 token. The
// private key never leaves the signer. Implementations are safe to use from many threads.
class Signer {
 public:
  virtual ~Signer() = default;

  [[nodiscard]] virtual const PublicKey& Public() const = 0;
  // A JOSE-form signature over `data` with Alg(): ES256 as raw r||s, RS256 as PKCS#1 v1.5 bytes,
  // EdDSA as the 64-byte Ed25519 signature.
  [[nodiscard]] virtual Result<std::vector<uint8_t>> Sign(std::span<const uint8_t> data) const = 0;

  [[nodiscard]] SignatureAlg Alg() const { return Public().Alg(); }
  [[nodiscard]] const std::string& Kid() const { return Public().Kid(); }
  [[nodiscard]] nlohmann::json PublicJwk() const { return Public().Jwk(); }
};

// A private signing key held in memory. Its private half is never returned, printed or put in an
// error message; the only way out is SealPrivateKey (sealed.hpp), encrypted under the master key.
// Move-only; immutable once made and safe to sign with from many threads.
class SigningKey final : public Signer {
 public:
  static constexpr int kDefaultRsaBits = 2048;

  // A fresh key from the operating system's randomness. `rsa_bits` (2048, 3072 or 4096) is used
  // only for RS256.
  static Result<SigningKey> Generate(SignatureAlg alg, int rsa_bits = kDefaultRsaBits);
  // A PEM private key (PKCS#8 "PRIVATE KEY", or the traditional EC/RSA forms), unencrypted. The
  // algorithm follows from the key: P-256 is ES256, RSA is RS256, Ed25519 is EdDSA.
  static Result<SigningKey> FromPem(std::string_view pem);

  SigningKey(SigningKey&& other) noexcept;
  SigningKey& operator=(SigningKey&& other) noexcept;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;
  ~SigningKey() override;

  [[nodiscard]] const PublicKey& Public() const override;
  [[nodiscard]] Result<std::vector<uint8_t>> Sign(std::span<const uint8_t> data) const override;

  struct Impl;

 private:
  explicit SigningKey(std::unique_ptr<Impl> impl);
  friend class detail::SigningKeyAccess;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ulus::crypto
