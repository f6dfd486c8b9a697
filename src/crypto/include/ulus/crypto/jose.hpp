#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/crypto/keys.hpp"

namespace ulus::crypto {

// Finds the public key a token names in its "kid" header. Implementations must be safe to call
// from many threads.
class KeyResolver {
 public:
  virtual ~KeyResolver() = default;
  // The key with this id; kNotFound when there is none (other errors, such as a JWKS that could
  // not be fetched, pass through to the caller unchanged).
  [[nodiscard]] virtual Result<PublicKey> Resolve(std::string_view kid) const = 0;
};

// A JWK Set (RFC 7517 §5): the keys a party publishes at its jwks_uri, current and recently
// rotated ones together. Immutable once built, so safe for concurrent readers; to rotate, build
// a new set and swap it in.
class JwkSet final : public KeyResolver {
 public:
  JwkSet() = default;
  // Reads {"keys":[...]}. Keys Ulus cannot use (other curves, HMAC "oct" keys, "use":"enc") are
  // skipped, as RFC 7517 advises; a malformed key of a kind we support, or a repeated kid, fails.
  static Result<JwkSet> FromJson(const nlohmann::json& jwks);

  // Adds a key; kAlreadyExists when its kid is taken.
  Status Add(PublicKey key);
  [[nodiscard]] Result<PublicKey> Resolve(std::string_view kid) const override;
  // {"keys":[...]} with public members only, in kid order: what a jwks_uri serves.
  [[nodiscard]] nlohmann::json ToJson() const;
  [[nodiscard]] size_t Size() const { return keys_.size(); }

 private:
  std::map<std::string, PublicKey, std::less<>> keys_;
};

// What VerifyJwt accepts. The defaults suit Ulus's own tokens; set issuer and audience whenever
// the caller knows them, which is nearly always.
struct JwtPolicy {
  // Algorithms accepted; a token's "alg" must be one of these and must match its key's type.
  std::vector<SignatureAlg> algorithms{SignatureAlg::kEs256, SignatureAlg::kRs256,
                                       SignatureAlg::kEdDsa};
  std::optional<std::string> issuer;    // "iss" must equal it when set
  std::optional<std::string> audience;  // "aud" (string or array) must contain it when set
  // The "typ" header must equal it when set (RFC 8725 §3.11: "at+jwt" for access tokens, RFC
  // 9068), compared without case and with an optional "application/" prefix.
  std::optional<std::string> type;
  std::chrono::seconds leeway{60};  // clock skew allowed for exp, nbf and iat
  bool require_exp = true;
  size_t max_token_bytes = size_t{16} * 1024;
};

// A token whose signature, algorithm and time claims checked out.
struct VerifiedJwt {
  nlohmann::json header;
  nlohmann::json claims;
  SignatureAlg alg = SignatureAlg::kEs256;
  std::string kid;
};

// Parses a JSON object, refusing duplicate member names at any depth (RFC 7515 §5.2 lets a
// verifier reject them; accepting "last wins" would let two parsers disagree about a token).
// Nothing for malformed JSON, a duplicate, or a value that is not an object.
std::optional<nlohmann::json> ParseJsonObjectStrict(std::string_view text);

// A JWS compact-serialized JWT signed by `signer`. The header is `header_extra` (an object or
// null) with "alg" and "kid" set from the signer (a conflicting value is an error) and "typ"
// "JWT" unless given. `claims` must be an object.
Result<std::string> SignJwt(const nlohmann::json& header_extra, const nlohmann::json& claims,
                            const Signer& signer);

// Checks a compact JWT: three base64url parts without padding, header and claims JSON objects
// without duplicate members, an allowed "alg" that fits the key, a "kid" the resolver knows, no
// "crit", a valid signature, then exp/nbf/iat against `clock` with the policy's leeway, and iss,
// aud and typ when the policy sets them. Every failure is kUnauthenticated with a distinct
// message: "token is malformed: …", "token algorithm is not allowed: …", "token key is unknown:
// …", "token signature is invalid", "token has expired", "token is not yet valid", "token
// issuer …", "token audience …", "token type …".
Result<VerifiedJwt> VerifyJwt(std::string_view token, const KeyResolver& keys,
                              const JwtPolicy& policy, const Clock& clock = Clock::System());

}  // namespace ulus::crypto
