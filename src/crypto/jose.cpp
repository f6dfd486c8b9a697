#include "ulus/crypto/jose.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "ulus/crypto/encoding.hpp"

namespace ulus::crypto {

using nlohmann::json;

namespace {

Error Rejected(std::string message, std::string field = {}) {
  return {ErrorCode::kUnauthenticated, std::move(message), std::move(field)};
}

Error Malformed(std::string_view what, std::string field = {}) {
  return Rejected("token is malformed: " + std::string(what), std::move(field));
}

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// RFC 7515 §4.1.9: "typ" is a media type whose "application/" prefix may be left out.
std::string NormalizeType(std::string_view type) {
  std::string lower = LowerAscii(type);
  constexpr std::string_view kPrefix = "application/";
  if (lower.starts_with(kPrefix)) lower.erase(0, kPrefix.size());
  return lower;
}

Result<std::optional<double>> NumericDate(const json& claims, const char* name) {
  const auto it = claims.find(name);
  if (it == claims.end()) return std::optional<double>();
  if (!it->is_number()) return Malformed(std::string("\"") + name + "\" is not a number", name);
  return std::optional<double>(it->get<double>());
}

Status CheckTimes(const json& claims, const JwtPolicy& policy, const Clock& clock) {
  const double now = std::chrono::duration<double>(clock.Now().time_since_epoch()).count();
  const auto leeway = static_cast<double>(policy.leeway.count());
  ULUS_ASSIGN_OR_RETURN(const auto exp, NumericDate(claims, "exp"));
  ULUS_ASSIGN_OR_RETURN(const auto nbf, NumericDate(claims, "nbf"));
  ULUS_ASSIGN_OR_RETURN(const auto iat, NumericDate(claims, "iat"));
  if (!exp && policy.require_exp) return Rejected("token has no expiry (\"exp\")", "exp");
  if (exp && now >= *exp + leeway) return Rejected("token has expired", "exp");
  if (nbf && now + leeway < *nbf) return Rejected("token is not yet valid (\"nbf\")", "nbf");
  if (iat && now + leeway < *iat) {
    return Rejected("token is not yet valid: issued in the future (\"iat\")", "iat");
  }
  return Ok();
}

Status CheckIssuerAndAudience(const json& claims, const JwtPolicy& policy) {
  if (policy.issuer) {
    const auto iss = claims.find("iss");
    if (iss == claims.end() || !iss->is_string() || *iss != *policy.issuer) {
      return Rejected("token issuer is not the one expected", "iss");
    }
  }
  if (policy.audience) {
    const auto aud = claims.find("aud");
    bool found = false;
    if (aud != claims.end() && aud->is_string()) {
      found = *aud == *policy.audience;
    } else if (aud != claims.end() && aud->is_array()) {
      for (const auto& entry : *aud) {
        if (!entry.is_string()) return Malformed("\"aud\" holds a non-string", "aud");
        found = found || entry == *policy.audience;
      }
    }
    if (!found) return Rejected("token audience does not include this service", "aud");
  }
  return Ok();
}

// "alg", "kid", "crit" and "typ" checks on the header, before any key is looked up.
Result<SignatureAlg> CheckHeader(const json& header, const JwtPolicy& policy) {
  const auto alg_it = header.find("alg");
  if (alg_it == header.end() || !alg_it->is_string()) return Malformed("no \"alg\"", "alg");
  const auto& alg_name = alg_it->get_ref<const std::string&>();
  // "none", every HS* and any other name we do not implement end here: there is no code path
  // that could treat a public key as an HMAC secret.
  const auto alg = AlgFromName(alg_name);
  if (!alg || std::find(policy.algorithms.begin(), policy.algorithms.end(), *alg) ==
                  policy.algorithms.end()) {
    return Rejected("token algorithm is not allowed: \"" + alg_name.substr(0, 16) + "\"", "alg");
  }
  const auto kid = header.find("kid");
  if (kid == header.end() || !kid->is_string() || kid->get_ref<const std::string&>().empty()) {
    return Malformed("no \"kid\"", "kid");
  }
  // We implement no JWS extensions, so any critical one is one we do not understand (RFC 7515
  // §4.1.11 says to reject the token then).
  if (header.contains("crit")) {
    return Rejected("token has critical header extensions (\"crit\") that are not supported",
                    "crit");
  }
  if (policy.type) {
    const auto typ = header.find("typ");
    if (typ == header.end() || !typ->is_string() ||
        NormalizeType(typ->get_ref<const std::string&>()) != NormalizeType(*policy.type)) {
      return Rejected("token type is not \"" + *policy.type + "\"", "typ");
    }
  }
  return *alg;
}

// Whether RFC 7517 says to skip this JWK rather than fail on it: a key of a type, curve, use or
// algorithm that Ulus does not verify with.
bool IsForeignJwk(const json& jwk) {
  if (!jwk.is_object()) return false;
  // Not json::value(), which throws when a member has another type.
  const auto text = [&jwk](const char* name) {
    const auto it = jwk.find(name);
    return it != jwk.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const std::string kty = text("kty");
  const std::string crv = text("crv");
  const bool ours =
      (kty == "EC" && crv == "P-256") || kty == "RSA" || (kty == "OKP" && crv == "Ed25519");
  if (!ours) return true;
  if (const auto use = jwk.find("use"); use != jwk.end() && *use != "sig") return true;
  if (const auto alg = jwk.find("alg");
      alg != jwk.end() && alg->is_string() && !AlgFromName(alg->get_ref<const std::string&>())) {
    return true;
  }
  return false;
}

}  // namespace

std::optional<json> ParseJsonObjectStrict(std::string_view text) {
  std::vector<std::set<std::string>> open_objects;
  bool duplicate = false;
  const json::parser_callback_t on_event = [&](int /*depth*/, json::parse_event_t event,
                                               json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: open_objects.emplace_back(); break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() &&
            !open_objects.back().insert(parsed.get<std::string>()).second) {
          duplicate = true;
        }
        break;
      default: break;
    }
    return true;
  };
  json value = json::parse(text.begin(), text.end(), on_event, /*allow_exceptions=*/false);
  if (value.is_discarded() || duplicate || !value.is_object()) return std::nullopt;
  return value;
}

Result<JwkSet> JwkSet::FromJson(const json& jwks) {
  if (!jwks.is_object() || !jwks.contains("keys") || !jwks["keys"].is_array()) {
    return Error::InvalidArgument("a JWK Set is an object with a \"keys\" array", "keys");
  }
  JwkSet set;
  for (const auto& jwk : jwks["keys"]) {
    if (IsForeignJwk(jwk)) continue;
    ULUS_ASSIGN_OR_RETURN(auto key, PublicKey::FromJwk(jwk));
    ULUS_TRY(set.Add(std::move(key)));
  }
  return set;
}

Status JwkSet::Add(PublicKey key) {
  const std::string kid = key.Kid();
  if (!keys_.emplace(kid, std::move(key)).second) {
    return Error{ErrorCode::kAlreadyExists, "the JWK Set already has a key \"" + kid + "\"", "kid"};
  }
  return Ok();
}

Result<PublicKey> JwkSet::Resolve(std::string_view kid) const {
  const auto it = keys_.find(kid);
  if (it == keys_.end()) return Error::NotFound("no key with this kid");
  return it->second;
}

json JwkSet::ToJson() const {
  json keys = json::array();
  for (const auto& [kid, key] : keys_) keys.push_back(key.Jwk());
  return json{{"keys", std::move(keys)}};
}

Result<std::string> SignJwt(const json& header_extra, const json& claims, const Signer& signer) {
  if (!header_extra.is_null() && !header_extra.is_object()) {
    return Error::InvalidArgument("the JWT header must be a JSON object", "header");
  }
  if (!claims.is_object()) return Error::InvalidArgument("JWT claims must be a JSON object");
  json header = header_extra.is_null() ? json::object() : header_extra;
  const std::string alg(AlgName(signer.Alg()));
  if (header.contains("alg") && header["alg"] != alg) {
    return Error::InvalidArgument("the header \"alg\" conflicts with the signing key", "alg");
  }
  if (header.contains("kid") && header["kid"] != signer.Kid()) {
    return Error::InvalidArgument("the header \"kid\" conflicts with the signing key", "kid");
  }
  if (header.contains("crit")) {
    return Error::InvalidArgument("\"crit\" header extensions are not supported", "crit");
  }
  header["alg"] = alg;
  header["kid"] = signer.Kid();
  if (!header.contains("typ")) header["typ"] = "JWT";

  std::string input;
  try {
    input = Base64UrlEncode(AsBytes(header.dump())) + "." + Base64UrlEncode(AsBytes(claims.dump()));
  } catch (const json::type_error&) {
    // dump() throws only for strings that are not valid UTF-8.
    return Error::InvalidArgument("JWT header or claims hold a string that is not UTF-8");
  }
  ULUS_ASSIGN_OR_RETURN(auto signature, signer.Sign(AsBytes(input)));
  input += '.';
  input += Base64UrlEncode(signature);
  return input;
}

Result<VerifiedJwt> VerifyJwt(std::string_view token, const KeyResolver& keys,
                              const JwtPolicy& policy, const Clock& clock) {
  if (token.size() > policy.max_token_bytes) return Malformed("too long");
  const size_t first_dot = token.find('.');
  const size_t second_dot =
      first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos) {
    return Malformed("a JWT has exactly three parts");
  }
  const std::string_view header_part = token.substr(0, first_dot);
  const std::string_view claims_part = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature_part = token.substr(second_dot + 1);

  const auto header_bytes = Base64UrlDecode(header_part);
  const auto claims_bytes = Base64UrlDecode(claims_part);
  const auto signature = Base64UrlDecode(signature_part);
  if (!header_bytes || !claims_bytes || !signature) {
    return Malformed("a part is not unpadded base64url");
  }
  auto header = ParseJsonObjectStrict(
      std::string_view(reinterpret_cast<const char*>(header_bytes->data()), header_bytes->size()));
  if (!header) return Malformed("the header is not a JSON object", "header");
  ULUS_ASSIGN_OR_RETURN(const SignatureAlg alg, CheckHeader(*header, policy));
  std::string kid = (*header)["kid"].get<std::string>();

  auto key = keys.Resolve(kid);
  if (!key.ok()) {
    if (key.error().code != ErrorCode::kNotFound) return std::move(key).error();
    return Rejected("token key is unknown: no key with kid \"" + kid.substr(0, 64) + "\"", "kid");
  }
  // The key decides how the signature is checked; a token claiming another algorithm than its
  // key's type fails here (key-confusion defence).
  if (key->Alg() != alg) {
    return Rejected("token algorithm is not allowed: " + std::string(AlgName(alg)) +
                        " does not match the key's type",
                    "alg");
  }
  const std::string_view signing_input = token.substr(0, second_dot);
  if (!key->Verify(alg, AsBytes(signing_input), *signature).ok()) {
    return Rejected("token signature is invalid", "signature");
  }

  auto claims = ParseJsonObjectStrict(
      std::string_view(reinterpret_cast<const char*>(claims_bytes->data()), claims_bytes->size()));
  if (!claims) return Malformed("the claims are not a JSON object", "claims");
  ULUS_TRY(CheckTimes(*claims, policy, clock));
  ULUS_TRY(CheckIssuerAndAudience(*claims, policy));
  return VerifiedJwt{std::move(*header), std::move(*claims), alg, std::move(kid)};
}

}  // namespace ulus::crypto
