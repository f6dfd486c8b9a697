#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/crypto/keys.hpp"

namespace ulus::documents {

// The W3C Verifiable Credentials data model 1.1, encoded as a JWT (its section 6.3.1): `iss` is
// the issuer, `sub` the holder, `jti` the credential id, `nbf`/`iat` the issuance and `exp` the
// expiry; `vc` holds @context, type, credentialSubject and credentialStatus. Signed ES256.
inline constexpr std::string_view kCredentialsContext = "https://www.w3.org/2018/credentials/v1";
inline constexpr std::string_view kDisclosureType = "UlusDisclosure";
// The largest credential Ulus issues or verifies (the verify API's body limit too).
inline constexpr size_t kMaxCredentialBytes = size_t{64} * 1024;

struct Credential {
  std::string id;      // the document id (a UUID); the JWT's jti is "urn:uuid:" + id
  std::string issuer;  // the issuing agency's URI
  std::string holder;  // the holder's URI, "urn:ulus:<country>:person:<national id>"
  std::string type;    // e.g. "UlusAddressReference" (after "VerifiableCredential")
  std::string name;    // the document's title, for a person reading it
  TimePoint issued_at;
  std::optional<TimePoint> expires_at;
  nlohmann::json subject = nlohmann::json::object();  // credentialSubject members but "id"
  std::string status_url;  // where a verifier asks whether it was revoked
  // Disclosures only: the document whose fields this credential discloses.
  std::optional<std::string> parent;

  [[nodiscard]] bool IsDisclosure() const { return parent.has_value(); }
};

// The JWT of `credential`, signed by `signer` (ES256 only); kTooLarge past kMaxCredentialBytes.
Result<std::string> SignCredential(const Credential& credential, const crypto::Signer& signer);

// A compact JWS taken apart before anything in it is trusted.
struct ParsedJws {
  nlohmann::json header;
  nlohmann::json payload;
  std::string kid;
  crypto::SignatureAlg alg = crypto::SignatureAlg::kEs256;
  std::string signed_part;  // header "." payload, as it came
  std::vector<uint8_t> signature;

  // The signature against `key` (kUnauthenticated when it does not match).
  [[nodiscard]] Status VerifySignature(const crypto::PublicKey& key) const;
};

// Splits and decodes a compact JWS (three base64url parts, JSON objects without duplicate
// members, an "alg" and a "kid"). kInvalidArgument, saying what is wrong, for anything else.
Result<ParsedJws> ParseJws(std::string_view text, size_t max_bytes = kMaxCredentialBytes);

// Reads a credential out of a parsed JWS's payload (the inverse of SignCredential's layout);
// kInvalidArgument when a member is missing or of the wrong type.
Result<Credential> CredentialFromClaims(nlohmann::json payload);

}  // namespace ulus::documents
