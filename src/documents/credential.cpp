#include "ulus/documents/credential.hpp"

#include <string>

#include "ulus/core/id.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/jose.hpp"

namespace ulus::documents {

using nlohmann::json;

namespace {

constexpr std::string_view kUrnUuid = "urn:uuid:";

Error Malformed(std::string what) {
  return Error::InvalidArgument("the credential is malformed: " + std::move(what));
}

Result<std::string> StringMember(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_string()) {
    return Malformed(std::string("\"") + name + "\" is missing or not a string");
  }
  return it->get<std::string>();
}

Result<TimePoint> TimeMember(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_number_integer()) {
    return Malformed(std::string("\"") + name + "\" is missing or not an integer");
  }
  return FromUnixSeconds(it->get<int64_t>());
}

}  // namespace

Result<std::string> SignCredential(const Credential& credential, const crypto::Signer& signer) {
  if (signer.Alg() != crypto::SignatureAlg::kEs256) {
    return Error::InvalidArgument("documents are signed ES256");
  }
  if (!IsUuid(credential.id)) return Error::InvalidArgument("a credential id is a UUID");
  json subject = credential.subject.is_object() ? credential.subject : json::object();
  subject["id"] = credential.holder;
  json vc = {
      {"@context", {kCredentialsContext}},
      {"type", {"VerifiableCredential", credential.type}},
      {"credentialSubject", std::move(subject)},
      {"credentialStatus", {{"id", credential.status_url}, {"type", "UlusRevocationCheck"}}}};
  if (!credential.name.empty()) vc["name"] = credential.name;
  if (credential.parent) {
    vc["evidence"] = json::array(
        {{{"id", std::string(kUrnUuid) + *credential.parent}, {"type", {"UlusDocument"}}}});
  }
  json claims = {{"iss", credential.issuer},
                 {"sub", credential.holder},
                 {"jti", std::string(kUrnUuid) + credential.id},
                 {"iat", ToUnixSeconds(credential.issued_at)},
                 {"nbf", ToUnixSeconds(credential.issued_at)},
                 {"vc", std::move(vc)}};
  if (credential.expires_at) claims["exp"] = ToUnixSeconds(*credential.expires_at);
  ULUS_ASSIGN_OR_RETURN(auto jwt, crypto::SignJwt(json{{"typ", "JWT"}}, claims, signer));
  if (jwt.size() > kMaxCredentialBytes) {
    return Error{ErrorCode::kTooLarge,
                 "the document's claims make a credential larger than 64 KiB; shorten them",
                 "claims"};
  }
  return jwt;
}

Status ParsedJws::VerifySignature(const crypto::PublicKey& key) const {
  return key.Verify(alg, crypto::AsBytes(signed_part), signature);
}

Result<ParsedJws> ParseJws(std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return Error::InvalidArgument("the signed text is longer than " + std::to_string(max_bytes) +
                                  " bytes");
  }
  const auto first = text.find('.');
  const auto second = first == std::string_view::npos ? first : text.find('.', first + 1);
  if (second == std::string_view::npos || text.find('.', second + 1) != std::string_view::npos) {
    return Error::InvalidArgument("not a compact JWS: it must have three parts separated by dots");
  }
  ParsedJws out;
  out.signed_part = std::string(text.substr(0, second));
  const auto header_bytes = crypto::Base64UrlDecode(text.substr(0, first));
  const auto payload_bytes = crypto::Base64UrlDecode(text.substr(first + 1, second - first - 1));
  auto signature = crypto::Base64UrlDecode(text.substr(second + 1));
  if (!header_bytes || !payload_bytes || !signature) {
    return Error::InvalidArgument("not a compact JWS: a part is not base64url");
  }
  auto header = crypto::ParseJsonObjectStrict(
      std::string_view(reinterpret_cast<const char*>(header_bytes->data()), header_bytes->size()));
  auto payload = crypto::ParseJsonObjectStrict(std::string_view(
      reinterpret_cast<const char*>(payload_bytes->data()), payload_bytes->size()));
  if (!header || !payload) {
    return Error::InvalidArgument("not a compact JWS: header or payload is not a JSON object");
  }
  const auto alg = header->find("alg");
  const auto kid = header->find("kid");
  if (alg == header->end() || !alg->is_string() || kid == header->end() || !kid->is_string()) {
    return Error::InvalidArgument("the JWS header needs \"alg\" and \"kid\"");
  }
  if (header->contains("crit")) return Error::InvalidArgument("the JWS has critical extensions");
  const auto parsed_alg = crypto::AlgFromName(alg->get<std::string>());
  if (!parsed_alg) return Error::InvalidArgument("the JWS algorithm is not supported");
  out.alg = *parsed_alg;
  out.kid = kid->get<std::string>();
  out.header = std::move(*header);
  out.payload = std::move(*payload);
  out.signature = std::move(*signature);
  return out;
}

Result<Credential> CredentialFromClaims(json payload) {
  Credential out;
  ULUS_ASSIGN_OR_RETURN(out.issuer, StringMember(payload, "iss"));
  ULUS_ASSIGN_OR_RETURN(out.holder, StringMember(payload, "sub"));
  ULUS_ASSIGN_OR_RETURN(auto jti, StringMember(payload, "jti"));
  if (!jti.starts_with(kUrnUuid) || !IsUuid(jti.substr(kUrnUuid.size()))) {
    return Malformed("\"jti\" is not a urn:uuid");
  }
  out.id = jti.substr(kUrnUuid.size());
  ULUS_ASSIGN_OR_RETURN(out.issued_at, TimeMember(payload, "nbf"));
  if (payload.contains("exp")) {
    ULUS_ASSIGN_OR_RETURN(out.expires_at, TimeMember(payload, "exp"));
  }
  const auto vc = payload.find("vc");
  if (vc == payload.end() || !vc->is_object()) return Malformed("\"vc\" is missing");
  const auto context = vc->find("@context");
  if (context == vc->end() || !context->is_array() || context->empty() ||
      (*context)[0] != kCredentialsContext) {
    return Malformed("\"@context\" does not start with the credentials context");
  }
  const auto types = vc->find("type");
  if (types == vc->end() || !types->is_array() || types->size() != 2 ||
      (*types)[0] != "VerifiableCredential" || !(*types)[1].is_string()) {
    return Malformed("\"type\" must be [\"VerifiableCredential\", <type>]");
  }
  out.type = (*types)[1].get<std::string>();
  const auto subject = vc->find("credentialSubject");
  if (subject == vc->end() || !subject->is_object()) {
    return Malformed("\"credentialSubject\" is missing");
  }
  if (subject->value("id", std::string()) != out.holder) {
    return Malformed("\"credentialSubject.id\" is not the \"sub\"");
  }
  out.subject = std::move(*subject);
  out.subject.erase("id");
  if (const auto name = vc->find("name"); name != vc->end() && name->is_string()) {
    out.name = name->get<std::string>();
  }
  if (const auto status = vc->find("credentialStatus");
      status != vc->end() && status->is_object() && status->contains("id") &&
      (*status)["id"].is_string()) {
    out.status_url = (*status)["id"].get<std::string>();
  }
  const bool disclosure = out.type == kDisclosureType;
  const auto evidence = vc->find("evidence");
  if (disclosure) {
    if (evidence == vc->end() || !evidence->is_array() || evidence->size() != 1 ||
        !(*evidence)[0].is_object() || !(*evidence)[0].contains("id") ||
        !(*evidence)[0]["id"].is_string()) {
      return Malformed("a disclosure must name its document in \"evidence\"");
    }
    const auto parent = (*evidence)[0]["id"].get<std::string>();
    if (!parent.starts_with(kUrnUuid) || !IsUuid(parent.substr(kUrnUuid.size()))) {
      return Malformed("a disclosure's evidence is not a urn:uuid");
    }
    out.parent = parent.substr(kUrnUuid.size());
  }
  return out;
}

}  // namespace ulus::documents
