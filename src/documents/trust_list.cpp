#include "ulus/documents/trust_list.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "ulus/crypto/jose.hpp"
#include "ulus/documents/credential.hpp"

namespace ulus::documents {

using nlohmann::json;

namespace {

// A revocation list of a national platform may name a few hundred thousand documents.
constexpr size_t kMaxListBytes = size_t{64} * 1024 * 1024;

Error Malformed(std::string_view what, std::string_view list) {
  return Error::InvalidArgument("the " + std::string(list) + " is malformed: " + std::string(what));
}

// Checks the anchor's signature, the type and the expiry; returns the payload.
Result<json> VerifyList(std::string_view jws, const crypto::PublicKey& anchor, TimePoint now,
                        std::string_view type, std::string_view what) {
  auto parsed = ParseJws(jws, kMaxListBytes);
  if (!parsed.ok()) {
    return Error::InvalidArgument("the " + std::string(what) +
                                  " is not a signed list: " + parsed.error().message);
  }
  const auto typ = parsed->header.find("typ");
  if (typ == parsed->header.end() || !typ->is_string() || *typ != type) {
    return Error::InvalidArgument("the " + std::string(what) + " has the wrong type");
  }
  if (parsed->kid != anchor.Thumbprint() || !parsed->VerifySignature(anchor).ok()) {
    return Error{ErrorCode::kUnauthenticated,
                 "the " + std::string(what) + " is not signed by the pinned trust anchor",
                 {}};
  }
  const json& payload = parsed->payload;
  if (!payload.contains("iat") || !payload["iat"].is_number_integer() || !payload.contains("exp") ||
      !payload["exp"].is_number_integer() || !payload.contains("iss") ||
      !payload["iss"].is_string()) {
    return Malformed("iss, iat or exp is missing", what);
  }
  const TimePoint expires = FromUnixSeconds(payload["exp"].get<int64_t>());
  if (now >= expires) {
    return Error{
        ErrorCode::kFailedPrecondition,
        "the " + std::string(what) + " expired at " + FormatRfc3339(expires) + "; fetch a new one",
        {}};
  }
  return std::move(parsed->payload);
}

}  // namespace

const TrustedIssuer* TrustList::FindIssuer(std::string_view uri) const {
  for (const auto& candidate : issuers) {
    if (candidate.uri == uri) return &candidate;
  }
  return nullptr;
}

std::pair<const TrustedIssuer*, const TrustedKey*> TrustList::FindKey(std::string_view kid) const {
  for (const auto& candidate : issuers) {
    for (const auto& key : candidate.keys) {
      if (key.key.Thumbprint() == kid) return {&candidate, &key};
    }
  }
  return {nullptr, nullptr};
}

std::pair<const TrustedIssuer*, const TrustedKey*> TrustList::FindDccKey(
    std::string_view dcc_kid) const {
  for (const auto& candidate : issuers) {
    for (const auto& key : candidate.keys) {
      if (key.dcc_kid == dcc_kid) return {&candidate, &key};
    }
  }
  return {nullptr, nullptr};
}

const Revocation* RevocationList::Find(std::string_view document_id) const {
  const auto it =
      std::lower_bound(revoked.begin(), revoked.end(), document_id,
                       [](const Revocation& r, std::string_view id) { return r.document_id < id; });
  return it != revoked.end() && it->document_id == document_id ? &*it : nullptr;
}

Result<std::string> SignTrustList(const TrustList& list, const crypto::Signer& anchor) {
  json issuers = json::array();
  for (const auto& issuer : list.issuers) {
    json keys = json::array();
    for (const auto& key : issuer.keys) {
      json entry = {{"jwk", key.key.Jwk()},
                    {"dcc_kid", key.dcc_kid},
                    {"valid_from", ToUnixSeconds(key.valid_from)}};
      if (key.valid_until) entry["valid_until"] = ToUnixSeconds(*key.valid_until);
      keys.push_back(std::move(entry));
    }
    issuers.push_back(
        {{"agency", issuer.agency}, {"name", issuer.name}, {"uri", issuer.uri}, {"keys", keys}});
  }
  const json claims = {{"iss", list.issuer},
                       {"iat", ToUnixSeconds(list.issued_at)},
                       {"exp", ToUnixSeconds(list.expires_at)},
                       {"issuers", std::move(issuers)}};
  return crypto::SignJwt(json{{"typ", kTrustListType}}, claims, anchor);
}

Result<std::string> SignRevocationList(const RevocationList& list, const crypto::Signer& anchor) {
  json revoked = json::array();
  for (const auto& r : list.revoked) {
    revoked.push_back({{"id", r.document_id}, {"reason", r.reason}, {"at", ToUnixSeconds(r.at)}});
  }
  const json claims = {{"iss", list.issuer},
                       {"iat", ToUnixSeconds(list.issued_at)},
                       {"exp", ToUnixSeconds(list.expires_at)},
                       {"revoked", std::move(revoked)}};
  return crypto::SignJwt(json{{"typ", kRevocationListType}}, claims, anchor);
}

Result<TrustList> VerifyTrustList(std::string_view jws, const crypto::PublicKey& anchor,
                                  TimePoint now) {
  constexpr std::string_view kWhat = "trust list";
  ULUS_ASSIGN_OR_RETURN(auto payload, VerifyList(jws, anchor, now, kTrustListType, kWhat));
  TrustList out;
  out.issuer = payload["iss"].get<std::string>();
  out.issued_at = FromUnixSeconds(payload["iat"].get<int64_t>());
  out.expires_at = FromUnixSeconds(payload["exp"].get<int64_t>());
  if (!payload.contains("issuers") || !payload["issuers"].is_array()) {
    return Malformed("\"issuers\" is missing", kWhat);
  }
  for (const auto& entry : payload["issuers"]) {
    if (!entry.is_object() || !entry.contains("uri") || !entry["uri"].is_string() ||
        !entry.contains("agency") || !entry["agency"].is_string() || !entry.contains("keys") ||
        !entry["keys"].is_array()) {
      return Malformed("an issuer lacks agency, uri or keys", kWhat);
    }
    TrustedIssuer issuer;
    issuer.agency = entry["agency"].get<std::string>();
    issuer.uri = entry["uri"].get<std::string>();
    issuer.name = entry.value("name", issuer.agency);
    for (const auto& k : entry["keys"]) {
      if (!k.is_object() || !k.contains("jwk") || !k.contains("valid_from") ||
          !k["valid_from"].is_number_integer() || !k.contains("dcc_kid") ||
          !k["dcc_kid"].is_string()) {
        return Malformed("a key of " + issuer.agency + " lacks jwk, dcc_kid or valid_from", kWhat);
      }
      auto key = crypto::PublicKey::FromJwk(k["jwk"]);
      if (!key.ok()) {
        return Malformed("a key of " + issuer.agency + ": " + key.error().message, kWhat);
      }
      TrustedKey trusted{.key = std::move(*key),
                         .dcc_kid = k["dcc_kid"].get<std::string>(),
                         .valid_from = FromUnixSeconds(k["valid_from"].get<int64_t>()),
                         .valid_until = std::nullopt};
      if (k.contains("valid_until")) {
        if (!k["valid_until"].is_number_integer()) {
          return Malformed("valid_until is not an integer", kWhat);
        }
        trusted.valid_until = FromUnixSeconds(k["valid_until"].get<int64_t>());
      }
      issuer.keys.push_back(std::move(trusted));
    }
    out.issuers.push_back(std::move(issuer));
  }
  return out;
}

Result<RevocationList> VerifyRevocationList(std::string_view jws, const crypto::PublicKey& anchor,
                                            TimePoint now) {
  constexpr std::string_view kWhat = "revocation list";
  ULUS_ASSIGN_OR_RETURN(auto payload, VerifyList(jws, anchor, now, kRevocationListType, kWhat));
  RevocationList out;
  out.issuer = payload["iss"].get<std::string>();
  out.issued_at = FromUnixSeconds(payload["iat"].get<int64_t>());
  out.expires_at = FromUnixSeconds(payload["exp"].get<int64_t>());
  if (!payload.contains("revoked") || !payload["revoked"].is_array()) {
    return Malformed("\"revoked\" is missing", kWhat);
  }
  out.revoked.reserve(payload["revoked"].size());
  for (const auto& r : payload["revoked"]) {
    if (!r.is_object() || !r.contains("id") || !r["id"].is_string() || !r.contains("at") ||
        !r["at"].is_number_integer()) {
      return Malformed("an entry lacks id or at", kWhat);
    }
    out.revoked.push_back({.document_id = r["id"].get<std::string>(),
                           .reason = r.value("reason", std::string()),
                           .at = FromUnixSeconds(r["at"].get<int64_t>())});
  }
  std::sort(out.revoked.begin(), out.revoked.end(),
            [](const Revocation& a, const Revocation& b) { return a.document_id < b.document_id; });
  return out;
}

}  // namespace ulus::documents
