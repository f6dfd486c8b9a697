#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/crypto/keys.hpp"

namespace ulus::documents {

// One signing key of an issuing agency, and when it may have signed: from its creation until it
// was retired (open when still current). A document issued outside that span is forged.
struct TrustedKey {
  crypto::PublicKey key;
  std::string dcc_kid;  // base64 of DccKeyId(key), as DCC verifiers name keys
  TimePoint valid_from;
  std::optional<TimePoint> valid_until;

  [[nodiscard]] bool ValidAt(TimePoint t) const {
    return t >= valid_from && (!valid_until || t < *valid_until);
  }
};

struct TrustedIssuer {
  std::string agency;  // the pack's agency code
  std::string name;    // the agency's name in English
  std::string uri;     // the "iss" of its credentials
  std::vector<TrustedKey> keys;
};

// The issuers whose documents verifiers accept, signed by the platform's trust-list key (the
// trust anchor), which verifiers pin by its RFC 7638 thumbprint.
struct TrustList {
  std::string issuer;  // the platform that signed it
  TimePoint issued_at;
  TimePoint expires_at;  // a verifier refuses a list past this and must fetch a new one
  std::vector<TrustedIssuer> issuers;

  [[nodiscard]] const TrustedIssuer* FindIssuer(std::string_view uri) const;
  // The issuer and key that `kid` (a JWK thumbprint) or `dcc_kid` names, or nulls.
  [[nodiscard]] std::pair<const TrustedIssuer*, const TrustedKey*> FindKey(
      std::string_view kid) const;
  [[nodiscard]] std::pair<const TrustedIssuer*, const TrustedKey*> FindDccKey(
      std::string_view dcc_kid) const;
};

struct Revocation {
  std::string document_id;
  std::string reason;
  TimePoint at;
};

// Every revoked document, signed by the same anchor; rebuilt often, so verifiers that refresh
// it every minute learn of a revocation within a minute.
struct RevocationList {
  std::string issuer;
  TimePoint issued_at;
  TimePoint expires_at;
  std::vector<Revocation> revoked;  // sorted by document id

  [[nodiscard]] const Revocation* Find(std::string_view document_id) const;
};

inline constexpr std::string_view kTrustListType = "ulus-trust-list+jwt";
inline constexpr std::string_view kRevocationListType = "ulus-revocation-list+jwt";

Result<std::string> SignTrustList(const TrustList& list, const crypto::Signer& anchor);
Result<std::string> SignRevocationList(const RevocationList& list, const crypto::Signer& anchor);

// Checks the JWS against the anchor key (signature, type) and reads it. A list past its expiry
// is kFailedPrecondition ("... expired at ...; fetch a new one"), so a stale cache is never
// trusted silently.
Result<TrustList> VerifyTrustList(std::string_view jws, const crypto::PublicKey& anchor,
                                  TimePoint now);
Result<RevocationList> VerifyRevocationList(std::string_view jws, const crypto::PublicKey& anchor,
                                            TimePoint now);

}  // namespace ulus::documents
