#include "ulus/documents/verifier.hpp"

#include <algorithm>
#include <cctype>

#include "ulus/core/id.hpp"
#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/documents/credential.hpp"
#include "ulus/documents/dcc.hpp"

namespace ulus::documents {

using nlohmann::json;

namespace {

constexpr std::string_view kDccPrefix = "HC1:";
// The locator's digest travels in its query, so that the address alone (the document id, which a
// disclosure names) never fetches the credential: only whoever holds the code knows the digest.
constexpr std::string_view kDigestMark = "?sha256=";
constexpr std::string_view kUvciPrefix = "URN:UVCI:01:";
// A credential may say it was issued a little in the future: issuers' clocks drift.
constexpr auto kClockSkew = std::chrono::minutes(5);

Verification Forged(std::string reason, std::string format = {}) {
  Verification out;
  out.verdict = Verdict::kForged;
  out.reason = std::move(reason);
  out.format = std::move(format);
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

std::string KeySpan(const TrustedKey& key) {
  return FormatRfc3339(key.valid_from) + " to " +
         (key.valid_until ? FormatRfc3339(*key.valid_until) : std::string("now"));
}

}  // namespace

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kGenuine: return "genuine";
    case Verdict::kRevoked: return "revoked";
    case Verdict::kExpired: return "expired";
    case Verdict::kForged: return "forged";
  }
  return "forged";
}

json Verification::ToJson() const {
  json out = {{"verdict", VerdictName(verdict)}, {"reason", reason}, {"format", format}};
  if (verdict == Verdict::kForged) return out;
  out["documentId"] = document_id;
  out["credentialId"] = credential_id;
  out["disclosure"] = disclosure;
  out["issuer"] = {{"agency", agency}, {"name", agency_name}};
  out["type"] = type;
  out["name"] = name;
  if (issued_at) out["issuedAt"] = FormatRfc3339(*issued_at);
  if (expires_at) out["expiresAt"] = FormatRfc3339(*expires_at);
  out["disclosed"] = disclosed;
  return out;
}

Result<Verification> Verifier::Verify(std::string_view text, TimePoint now) const {
  text = Trim(text);
  if (text.empty()) return Forged("nothing to verify");
  if (text.starts_with(kDccPrefix)) return VerifyDcc(text, now);
  if ((text.starts_with("https://") || text.starts_with("http://")) &&
      text.find(kDigestMark) != std::string_view::npos) {
    return VerifyLocator(text, now);
  }
  return VerifyJwt(text, now);
}

Status Verifier::ApplyRevocation(Verification& out) const {
  for (const std::string& id : {out.document_id, out.credential_id}) {
    if (id.empty()) continue;
    ULUS_ASSIGN_OR_RETURN(auto revoked, revocations_(id));
    if (revoked) {
      out.verdict = Verdict::kRevoked;
      out.reason = "revoked on " + FormatRfc3339(revoked->at) +
                   (revoked->reason.empty() ? std::string() : ": " + revoked->reason);
      return Ok();
    }
  }
  return Ok();
}

Result<Verification> Verifier::VerifyJwt(std::string_view text, TimePoint now) const {
  constexpr std::string_view kFormat = "vc-jwt";
  auto parsed = ParseJws(text);
  if (!parsed.ok()) return Forged("not a credential: " + parsed.error().message);
  if (parsed->alg != crypto::SignatureAlg::kEs256) {
    return Forged(
        "documents are signed ES256; this one says " + std::string(crypto::AlgName(parsed->alg)),
        std::string(kFormat));
  }
  const auto [issuer, key] = trust_.FindKey(parsed->kid);
  if (issuer == nullptr) {
    return Forged("signed by a key that is not on the trust list", std::string(kFormat));
  }
  if (!parsed->VerifySignature(key->key).ok()) {
    return Forged("the signature does not match: the document was changed", std::string(kFormat));
  }
  auto credential = CredentialFromClaims(std::move(parsed->payload));
  if (!credential.ok()) return Forged(credential.error().message, std::string(kFormat));
  if (credential->issuer != issuer->uri) {
    return Forged("signed with a key of " + issuer->name + " but claims to be issued by " +
                      credential->issuer,
                  std::string(kFormat));
  }
  if (!key->ValidAt(credential->issued_at)) {
    return Forged("issued " + FormatRfc3339(credential->issued_at) +
                      ", when its signing key was not valid (valid " + KeySpan(*key) + ")",
                  std::string(kFormat));
  }
  if (credential->issued_at > now + kClockSkew) {
    return Forged("issued in the future (" + FormatRfc3339(credential->issued_at) + ")",
                  std::string(kFormat));
  }
  Verification out;
  out.verdict = Verdict::kGenuine;
  out.format = kFormat;
  out.credential_id = credential->id;
  out.disclosure = credential->IsDisclosure();
  out.document_id = credential->parent.value_or(credential->id);
  out.agency = issuer->agency;
  out.agency_name = issuer->name;
  out.type = std::move(credential->type);
  out.name = std::move(credential->name);
  out.issued_at = credential->issued_at;
  out.expires_at = credential->expires_at;
  out.disclosed = std::move(credential->subject);
  if (!out.disclosure) out.disclosed["holder"] = credential->holder;
  ULUS_TRY(ApplyRevocation(out));
  if (out.verdict == Verdict::kGenuine && out.expires_at && *out.expires_at <= now) {
    out.verdict = Verdict::kExpired;
    out.reason = "expired on " + FormatRfc3339(*out.expires_at);
  }
  return out;
}

Result<Verification> Verifier::VerifyDcc(std::string_view text, TimePoint now) const {
  constexpr std::string_view kFormat = "dcc";
  auto parsed = ParseHc1(text);
  if (!parsed.ok())
    return Forged("not a health certificate: " + parsed.error().message, std::string(kFormat));
  const auto kid = crypto::Base64Encode(parsed->kid);
  const auto [issuer, key] = trust_.FindDccKey(kid);
  if (issuer == nullptr) {
    return Forged("signed by a key that is not on the trust list", std::string(kFormat));
  }
  if (!VerifyHc1(*parsed, key->key).ok()) {
    return Forged("the signature does not match: the certificate was changed",
                  std::string(kFormat));
  }
  const DccClaims& claims = parsed->claims;
  if (!key->ValidAt(claims.issued_at)) {
    return Forged("issued " + FormatRfc3339(claims.issued_at) +
                      ", when its signing key was not valid (valid " + KeySpan(*key) + ")",
                  std::string(kFormat));
  }
  if (claims.issued_at > now + kClockSkew) {
    return Forged("issued in the future (" + FormatRfc3339(claims.issued_at) + ")",
                  std::string(kFormat));
  }
  Verification out;
  out.verdict = Verdict::kGenuine;
  out.format = kFormat;
  out.agency = issuer->agency;
  out.agency_name = issuer->name;
  out.type = "EuDcc";
  out.name = "EU Digital COVID Certificate";
  out.issued_at = claims.issued_at;
  out.expires_at = claims.expires_at;
  out.disclosed = claims.hcert;
  for (const char* group : {"v", "t", "r"}) {
    if (claims.hcert.contains(group) && claims.hcert[group].is_array() &&
        !claims.hcert[group].empty() && claims.hcert[group][0].contains("ci") &&
        claims.hcert[group][0]["ci"].is_string()) {
      if (auto id = DocumentFromUvci(claims.hcert[group][0]["ci"].get<std::string>())) {
        out.document_id = *id;
        out.credential_id = *id;
      }
    }
  }
  ULUS_TRY(ApplyRevocation(out));
  if (out.verdict == Verdict::kGenuine && claims.expires_at <= now) {
    out.verdict = Verdict::kExpired;
    out.reason = "expired on " + FormatRfc3339(claims.expires_at);
  }
  return out;
}

Result<Verification> Verifier::VerifyLocator(std::string_view text, TimePoint now) const {
  const auto mark = text.find(kDigestMark);
  const std::string_view url = text.substr(0, mark);
  const std::string_view digest = text.substr(mark + kDigestMark.size());
  const auto slash = url.rfind('/');
  const std::string id(url.substr(slash + 1));
  if (!IsUuid(id)) return Forged("the code's address does not name a document");
  if (!fetch_) {
    return Error{ErrorCode::kFailedPrecondition,
                 "this code points to " + std::string(url) +
                     "; verifying it needs the network (open the address, or verify online)",
                 {}};
  }
  ULUS_ASSIGN_OR_RETURN(auto credential, fetch_(id));
  if (!credential) return Forged("no document is found at the code's address");
  const auto actual = crypto::Sha256(*credential);
  if (crypto::Base64UrlEncode(actual) != digest) {
    return Forged("the document found does not match the code's digest");
  }
  return VerifyJwt(*credential, now);
}

std::string MakeLocator(std::string_view url, std::string_view credential_jwt) {
  return std::string(url) + std::string(kDigestMark) +
         crypto::Base64UrlEncode(crypto::Sha256(credential_jwt));
}

std::string UvciForDocument(std::string_view country, std::string_view document_id) {
  std::string out(kUvciPrefix);
  for (char c : country)
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  out.push_back(':');
  for (char c : document_id) {
    if (c != '-') out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

std::optional<std::string> DocumentFromUvci(std::string_view uvci) {
  if (!uvci.starts_with(kUvciPrefix)) return std::nullopt;
  const auto colon = uvci.rfind(':');
  std::string_view hex = uvci.substr(colon + 1);
  if (const auto hash = hex.find('#'); hash != std::string_view::npos) hex = hex.substr(0, hash);
  if (hex.size() != 32) return std::nullopt;
  std::string id;
  for (size_t i = 0; i < hex.size(); ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) id.push_back('-');
    id.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(hex[i]))));
  }
  if (!IsUuid(id)) return std::nullopt;
  return id;
}

}  // namespace ulus::documents
