#include "ulus/exchange/enrollment.hpp"

#include <spdlog/spdlog.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>
#include <utility>

#include "ulus/core/files.hpp"
#include "ulus/exchange/authority.hpp"
#include "ulus/exchange/global_config.hpp"
#include "ulus/http/client.hpp"

namespace ulus::exchange {
namespace {

using nlohmann::json;

constexpr std::string_view kRegisterPath = "/khur/authority/register";

Error Precondition(std::string message, std::string field = {}) {
  return Error{ErrorCode::kFailedPrecondition, std::move(message), std::move(field)};
}

// "https://host:port/prefix/" -> origin "https://host:port" and prefix "/prefix".
Result<std::pair<std::string, std::string>> SplitUrl(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return Error::InvalidArgument("the authority URL must be http(s)://host[:port][/prefix]",
                                  "authority_url");
  }
  const auto path_start = url.find('/', scheme_end + 3);
  std::string origin(url.substr(0, path_start));
  std::string prefix(path_start == std::string_view::npos ? "" : url.substr(path_start));
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (prefix.find_first_of("?#") != std::string::npos) {
    return Error::InvalidArgument("the authority URL must not have a query or fragment",
                                  "authority_url");
  }
  return std::make_pair(std::move(origin), std::move(prefix));
}

// The authority's refusal as an error of the matching kind, carrying its problem's detail.
Error Refusal(const http::ClientResponse& response) {
  std::string detail;
  const auto problem = json::parse(response.body, nullptr, false);
  if (problem.is_object() && problem.contains("detail") && problem["detail"].is_string()) {
    detail = problem["detail"].get<std::string>();
  } else {
    detail = "HTTP " + std::to_string(static_cast<unsigned>(response.status));
  }
  std::string field;
  if (problem.is_object() && problem.contains("field") && problem["field"].is_string()) {
    field = problem["field"].get<std::string>();
  }
  ErrorCode code = ErrorCode::kUnavailable;
  switch (response.status) {
    case http::Status::bad_request: code = ErrorCode::kInvalidArgument; break;
    case http::Status::unauthorized: code = ErrorCode::kUnauthenticated; break;
    case http::Status::forbidden: code = ErrorCode::kPermissionDenied; break;
    case http::Status::conflict: code = ErrorCode::kFailedPrecondition; break;
    default: break;
  }
  return Error{code, "the authority refused the registration: " + detail, std::move(field)};
}

Result<std::string> AnswerString(const json& answer, const char* name) {
  const auto it = answer.find(name);
  if (it == answer.end() || !it->is_string()) {
    return Precondition(std::string("the authority's answer has no \"") + name + "\"", name);
  }
  return it->get<std::string>();
}

Result<std::string> ReadNodeFile(const std::filesystem::path& dir, std::string_view name) {
  const auto path = dir / name;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return Precondition(path.string() +
                        " is missing; enroll this node with a registration token first");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Precondition("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Trim(std::string text) {
  const auto end = text.find_last_not_of(" \t\r\n");
  text.erase(end == std::string::npos ? 0 : end + 1);
  const auto begin = text.find_first_not_of(" \t\r\n");
  return begin == std::string::npos ? std::string() : text.substr(begin);
}

}  // namespace

Status EnrollNode(std::string_view authority_url, std::string_view token, const ClientId& subsystem,
                  std::string_view node_address, const std::filesystem::path& node_dir,
                  const std::vector<std::string>& hosts, const Clock& clock) {
  if (!subsystem.subsystem) {
    return Error::InvalidArgument("a node serves a subsystem, INSTANCE/CLASS/MEMBER/SUBSYSTEM",
                                  "subsystem");
  }
  ULUS_ASSIGN_OR_RETURN(const auto parsed_token, ParseRegistrationToken(token));
  ULUS_ASSIGN_OR_RETURN(const auto url, SplitUrl(authority_url));

  ULUS_ASSIGN_OR_RETURN(const auto tls, MakeNodeKeyAndCsr(subsystem));
  ULUS_ASSIGN_OR_RETURN(const auto signing_pem, GenerateP256KeyPem());
  ULUS_ASSIGN_OR_RETURN(const auto signing_key, crypto::SigningKey::FromPem(signing_pem));
  const json signing_jwk = signing_key.PublicJwk();

  ULUS_ASSIGN_OR_RETURN(auto client, http::Client::Create(url.first));
  const json body = {
      {"token", std::string(token)}, {"csr", tls.csr_pem}, {"address", std::string(node_address)},
      {"signing_jwk", signing_jwk},  {"hosts", hosts},     {"subsystem", subsystem.ToString()}};
  ULUS_ASSIGN_OR_RETURN(const auto response,
                        client->PostJson(url.second + std::string(kRegisterPath), body.dump()));
  if (response.status != http::Status::created && response.status != http::Status::ok) {
    return Refusal(response);
  }
  const auto answer = json::parse(response.body, nullptr, false);
  if (!answer.is_object()) return Precondition("the authority's answer is not a JSON object");

  // The pin: the key must be the one the token names, whatever else the answer says.
  const auto jwk = answer.find("authority_jwk");
  if (jwk == answer.end()) return Precondition("the authority's answer has no authority_jwk");
  auto authority_key = crypto::PublicKey::FromJwk(*jwk);
  if (!authority_key.ok() || authority_key->Thumbprint() != parsed_token.authority_thumbprint) {
    return Error{ErrorCode::kUnauthenticated,
                 "the answering authority's key is not the one the registration token names "
                 "(thumbprint " +
                     parsed_token.authority_thumbprint +
                     "): refusing it, as it may be a man in the middle or another authority; "
                     "nothing was written",
                 "authority_jwk"};
  }
  ULUS_ASSIGN_OR_RETURN(const auto config_jws, AnswerString(answer, "config"));
  ULUS_ASSIGN_OR_RETURN(const auto config, VerifyGlobalConfig(config_jws, *authority_key, clock));

  ULUS_ASSIGN_OR_RETURN(const auto registered_text, AnswerString(answer, "subsystem"));
  ULUS_ASSIGN_OR_RETURN(const auto registered, ClientId::Parse(registered_text, "subsystem"));
  if (registered != subsystem) {
    return Precondition(
        "the token was issued for " + registered.ToString() + ", not " + subsystem.ToString() +
            "; nothing was written here: ask for a token for " + subsystem.ToString(),
        "subsystem");
  }

  ULUS_ASSIGN_OR_RETURN(const auto certificate_pem, AnswerString(answer, "certificate"));
  ULUS_ASSIGN_OR_RETURN(const auto certificate, ReadCertificate(certificate_pem));
  const auto& cas = config.content().ca_certificates;
  ULUS_TRY(VerifyNodeCertificate(certificate.pem, tls.key_pem, cas, clock));
  ULUS_ASSIGN_OR_RETURN(const auto ca_pem, AnswerString(answer, "ca"));
  ULUS_ASSIGN_OR_RETURN(const auto ca, ReadCertificate(ca_pem));
  bool ca_listed = false;
  for (const auto& listed : cas) {
    const auto info = ReadCertificate(listed);
    ca_listed = ca_listed || (info.ok() && info->sha256 == ca.sha256);
  }
  if (!ca_listed) {
    return Precondition("the answered CA is not one the signed configuration lists", "ca");
  }

  const NodeEntry* node = config.NodeOf(subsystem);
  if (node == nullptr || node->address != node_address ||
      !config.NodePresents(subsystem, certificate.sha256) ||
      config.SigningKey(subsystem, signing_key.Kid()) == nullptr) {
    return Precondition(
        "the signed configuration does not list this node's address, certificate and signing "
        "key; nothing was written");
  }

  std::error_code ec;
  std::filesystem::create_directories(node_dir, ec);
  if (ec) return Precondition("cannot create " + node_dir.string() + ": " + ec.message());
  std::filesystem::permissions(node_dir, std::filesystem::perms::owner_all, ec);
  ULUS_TRY(WritePrivateFile(node_dir / kNodeTlsKeyFile, tls.key_pem));
  ULUS_TRY(WritePrivateFile(node_dir / kNodeSigningKeyFile, signing_pem));
  ULUS_TRY(WritePrivateFile(node_dir / kNodeCertificateFile, certificate.pem));
  ULUS_TRY(WritePrivateFile(node_dir / kNodeCaFile, ca.pem));
  ULUS_TRY(WritePrivateFile(node_dir / kNodeAuthorityKeyFile, authority_key->Jwk().dump(2) + "\n"));
  ULUS_TRY(WritePrivateFile(node_dir / kNodeGlobalConfigFile, config_jws));
  ULUS_TRY(WritePrivateFile(node_dir / kNodeSubsystemFile, subsystem.ToString() + "\n"));
  spdlog::info("node of {} enrolled in {}: certificate {} until {}, signing key {}",
               subsystem.ToString(), node_dir.string(), certificate.sha256,
               FormatRfc3339(certificate.not_after), signing_key.Kid());
  return Ok();
}

Result<NodeCredentials> LoadNodeCredentials(const std::filesystem::path& node_dir) {
  ULUS_ASSIGN_OR_RETURN(const auto subsystem_text, ReadNodeFile(node_dir, kNodeSubsystemFile));
  const auto subsystem_path = (node_dir / kNodeSubsystemFile).string();
  auto subsystem = ClientId::Parse(Trim(subsystem_text), subsystem_path);
  if (!subsystem.ok() || !subsystem->subsystem) {
    return Precondition(subsystem_path + " does not hold a subsystem id");
  }
  ULUS_ASSIGN_OR_RETURN(const auto key_pem, ReadNodeFile(node_dir, kNodeTlsKeyFile));
  ULUS_ASSIGN_OR_RETURN(const auto cert_pem, ReadNodeFile(node_dir, kNodeCertificateFile));
  ULUS_ASSIGN_OR_RETURN(const auto ca_pem, ReadNodeFile(node_dir, kNodeCaFile));
  auto certificate = ReadCertificate(cert_pem);
  if (!certificate.ok()) {
    return Precondition((node_dir / kNodeCertificateFile).string() + " is not a certificate");
  }
  if (!ReadCertificate(ca_pem).ok()) {
    return Precondition((node_dir / kNodeCaFile).string() + " is not a certificate");
  }
  if (!CheckKeyPair(cert_pem, key_pem).ok()) {
    return Precondition((node_dir / kNodeCertificateFile).string() + " is not for the key in " +
                        (node_dir / kNodeTlsKeyFile).string() +
                        "; an enrollment was cut short: enroll again");
  }
  ULUS_ASSIGN_OR_RETURN(const auto signing_pem, ReadNodeFile(node_dir, kNodeSigningKeyFile));
  auto signing_key = crypto::SigningKey::FromPem(signing_pem);
  if (!signing_key.ok() || signing_key->Alg() != crypto::SignatureAlg::kEs256) {
    return Precondition((node_dir / kNodeSigningKeyFile).string() + " is not an ES256 key");
  }
  ULUS_ASSIGN_OR_RETURN(const auto jwk_text, ReadNodeFile(node_dir, kNodeAuthorityKeyFile));
  const auto jwk = json::parse(jwk_text, nullptr, false);
  auto authority_key = jwk.is_discarded() ? Result<crypto::PublicKey>(Error::InvalidArgument(""))
                                          : crypto::PublicKey::FromJwk(jwk);
  if (!authority_key.ok()) {
    return Precondition((node_dir / kNodeAuthorityKeyFile).string() + " is not a public JWK");
  }
  ULUS_ASSIGN_OR_RETURN(auto jws, ReadNodeFile(node_dir, kNodeGlobalConfigFile));
  return NodeCredentials{std::move(subsystem).value(),     node_dir / kNodeTlsKeyFile,
                         node_dir / kNodeCertificateFile,  node_dir / kNodeCaFile,
                         std::move(certificate).value(),   std::move(signing_key).value(),
                         std::move(authority_key).value(), Trim(std::move(jws))};
}

}  // namespace ulus::exchange
