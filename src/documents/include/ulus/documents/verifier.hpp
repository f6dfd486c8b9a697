#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/documents/trust_list.hpp"

namespace ulus::documents {

// What a verifier tells the person holding a document up to it.
enum class Verdict {
  kGenuine,  // signed by a listed key of its issuer while the key was valid, not revoked, in date
  kRevoked,  // genuine, but its issuer revoked it (or the document it discloses)
  kExpired,  // genuine, but past its expiry
  kForged,   // anything else: changed, signed by an unknown key, malformed
};
std::string_view VerdictName(Verdict verdict);  // "genuine", "revoked", "expired", "forged"

struct Verification {
  Verdict verdict = Verdict::kForged;
  std::string reason;         // for a person: why forged, revoked (the issuer's reason) or expired
  std::string format;         // "vc-jwt", "dcc"; empty when the input was not recognised
  std::string document_id;    // the document (for a disclosure, the parent document)
  std::string credential_id;  // what was shown: the document or the disclosure
  bool disclosure = false;    // only some fields, chosen by the holder
  std::string agency;
  std::string agency_name;
  std::string type;  // the credential type, e.g. "UlusAddressReference" or "EuDcc"
  std::string name;  // the document's title
  std::optional<TimePoint> issued_at;
  std::optional<TimePoint> expires_at;
  nlohmann::json disclosed = nlohmann::json::object();  // what the verifier may be shown

  [[nodiscard]] nlohmann::json ToJson() const;
};

// Looks up whether a document was revoked; the online verifier asks the store, `ulus verify`
// the cached revocation list.
using RevocationLookup =
    std::function<Result<std::optional<Revocation>>(std::string_view document_id)>;
// Fetches a credential JWT by document id, for QR codes that carry a locator and a digest
// instead of the credential; nothing when offline.
using CredentialFetch = std::function<Result<std::optional<std::string>>(std::string_view id)>;

// Decides genuine, revoked, expired or forged for a VC-JWT, an "HC1:" DCC or a locator
// (<origin>/documents/v1/credentials/<id>?sha256=<SHA-256 of the credential, base64url>),
// against a trust list. Holds no state of its own beyond what it is given; safe to use from many
// threads if the lookups are.
class Verifier {
 public:
  Verifier(const TrustList& trust, RevocationLookup revocations, CredentialFetch fetch = {})
      : trust_(trust), revocations_(std::move(revocations)), fetch_(std::move(fetch)) {}

  // Input errors are verdicts (forged), never Result errors; a Result error means the verifier
  // itself could not decide (a revocation lookup failed, an offline locator).
  [[nodiscard]] Result<Verification> Verify(std::string_view text, TimePoint now) const;

 private:
  Result<Verification> VerifyJwt(std::string_view text, TimePoint now) const;
  Result<Verification> VerifyDcc(std::string_view text, TimePoint now) const;
  Result<Verification> VerifyLocator(std::string_view text, TimePoint now) const;
  Status ApplyRevocation(Verification& out) const;

  const TrustList& trust_;
  RevocationLookup revocations_;
  CredentialFetch fetch_;
};

// The locator a QR code carries when the credential is too large for it.
std::string MakeLocator(std::string_view url, std::string_view credential_jwt);

// The UVCI Ulus puts in a DCC's "ci" for a document id, and back.
std::string UvciForDocument(std::string_view country, std::string_view document_id);
std::optional<std::string> DocumentFromUvci(std::string_view uvci);

}  // namespace ulus::documents
