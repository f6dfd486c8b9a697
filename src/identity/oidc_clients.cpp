#include "oidc_clients.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/random.hpp"

namespace ulus::identity::oidc {
namespace {

constexpr size_t kSecretBytes = 32;
constexpr size_t kMaxClientIdLength = 64;
constexpr std::string_view kKnownGrants[] = {"authorization_code", "refresh_token",
                                             "client_credentials"};
constexpr std::string_view kAllScopes[] = {"openid",    "profile",     "email",
                                           "phone",     "national_id", "offline_access",
                                           "documents", "services"};

bool Contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

bool ValidClientId(std::string_view id) {
  if (id.empty() || id.size() > kMaxClientIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::vector<std::string> StringList(const YAML::Node& node) {
  std::vector<std::string> out;
  if (!node) return out;
  for (const auto& item : node) out.push_back(item.as<std::string>());
  return out;
}

// A redirect URI must be absolute and carry no fragment (RFC 6749 §3.1.2).
bool ValidRedirectUri(std::string_view uri) {
  if (uri.find('#') != std::string_view::npos) return false;
  const auto colon = uri.find("://");
  return colon != std::string_view::npos && colon > 0 && colon + 3 < uri.size();
}

Status CheckClient(const Client& c) {
  const std::string where = "client '" + c.id + "': ";
  if (!ValidClientId(c.id)) {
    return Error::InvalidArgument(where + "client_id must be 1-64 of A-Z a-z 0-9 . _ -",
                                  "client_id");
  }
  for (const auto& grant : c.grant_types) {
    if (std::find(std::begin(kKnownGrants), std::end(kKnownGrants), grant) ==
        std::end(kKnownGrants)) {
      return Error::InvalidArgument(where + "unknown grant type '" + grant + "'", "grant_types");
    }
  }
  for (const auto& scope : c.scopes) {
    if (std::find(std::begin(kAllScopes), std::end(kAllScopes), scope) == std::end(kAllScopes)) {
      return Error::InvalidArgument(where + "unknown scope '" + scope + "'", "scopes");
    }
  }
  for (const auto& uri : c.redirect_uris) {
    if (!ValidRedirectUri(uri)) {
      return Error::InvalidArgument(where + "redirect URI '" + uri + "' is not absolute",
                                    "redirect_uris");
    }
  }
  if (c.HasGrant("authorization_code") && c.redirect_uris.empty()) {
    return Error::InvalidArgument(where + "authorization_code needs redirect_uris",
                                  "redirect_uris");
  }
  if (c.HasGrant("client_credentials")) {
    if (c.IsPublic()) {
      return Error::InvalidArgument(where + "a public client cannot use client_credentials",
                                    "grant_types");
    }
    if (c.agency.empty()) {
      return Error::InvalidArgument(where + "client_credentials needs the agency it acts for",
                                    "agency");
    }
  }
  return Ok();
}

Client BuiltinPortal(const OidcOptions& options) {
  Client c;
  c.id = "ulus-portal";
  c.name_mn = "Улус портал";
  c.name_en = "Ulus portal";
  c.name_kk = "Ulus порталы";
  c.name_ru = "Портал Ulus";
  c.type = ClientType::kPublic;
  c.redirect_uris = options.portal_redirect_uris;
  c.post_logout_redirect_uris = options.portal_post_logout_redirect_uris;
  c.grant_types = {"authorization_code", "refresh_token"};
  c.scopes.assign(std::begin(kAllScopes), std::end(kAllScopes));
  c.first_party = true;
  c.refresh_without_offline_access = true;
  return c;
}

Client BuiltinCli() {
  Client c;
  c.id = "ulus-cli";
  c.name_mn = "Улус тушаалын мөр";
  c.name_en = "Ulus command line";
  c.name_kk = "Ulus пәрмен жолы";
  c.name_ru = "Командная строка Ulus";
  c.type = ClientType::kPublic;
  c.redirect_uris = {"http://127.0.0.1/callback", "http://[::1]/callback"};
  c.grant_types = {"authorization_code", "refresh_token"};
  c.scopes.assign(std::begin(kAllScopes), std::end(kAllScopes));
  c.loopback_any_port = true;
  return c;
}

// Writes `secret` to `path` readable by the owner only, replacing what was there.
Status WriteSecretFile(const std::filesystem::path& path, std::string_view secret) {
  const std::string tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0) {
    return Error::Unavailable("cannot write client secret file " + tmp + ": " +
                              std::strerror(errno));
  }
  const std::string text = std::string(secret) + "\n";
  const bool written = ::fchmod(fd, S_IRUSR | S_IWUSR) == 0 &&
                       ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written || std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Error::Unavailable("cannot write client secret file " + path.string());
  }
  return Ok();
}

// The stored secret hash of `client_id`, generating and storing a secret when there is none.
Result<crypto::Sha256Digest> EnsureSecret(store::Database& db, const OidcOptions& options,
                                          const Clock& clock, const std::string& client_id) {
  const store::Value id_param[] = {client_id};
  {
    ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
    ULUS_ASSIGN_OR_RETURN(
        auto rows,
        conn->Query("SELECT secret_sha256 FROM dan_oidc_client WHERE client_id = $1", id_param));
    if (!rows.empty()) {
      auto bytes = crypto::HexDecode(rows[0].Text(0));
      if (!bytes || bytes->size() != crypto::Sha256Digest{}.size()) {
        return Error::Internal("stored secret hash of client " + client_id + " is malformed");
      }
      crypto::Sha256Digest digest{};
      std::copy(bytes->begin(), bytes->end(), digest.begin());
      return digest;
    }
  }
  if (options.secrets_dir.empty()) {
    return Error{ErrorCode::kFailedPrecondition,
                 "confidential client " + client_id + " needs a secrets directory", "secrets_dir"};
  }
  std::error_code ec;
  std::filesystem::create_directories(options.secrets_dir, ec);
  const std::string secret = crypto::Base64UrlEncode(crypto::RandomBytes(kSecretBytes));
  const auto digest = crypto::Sha256(secret);
  const std::filesystem::path path =
      std::filesystem::path(options.secrets_dir) / (client_id + ".secret");
  ULUS_TRY(WriteSecretFile(path, secret));
  const store::Value params[] = {client_id, crypto::HexEncode(digest), ToUnixMicros(clock.Now())};
  Status stored = db.InTransaction([&](store::Connection& tx) -> Status {
    ULUS_TRY(tx.Execute(
        "INSERT INTO dan_oidc_client (client_id, secret_sha256, created_at) VALUES ($1, $2, $3)",
        params));
    return Ok();
  });
  ULUS_TRY(stored);
  spdlog::info("oidc: generated a secret for client {} in {}", client_id, path.string());
  return digest;
}

}  // namespace

bool Client::HasGrant(std::string_view grant) const {
  return Contains(grant_types, grant);
}

bool Client::AllowsScope(std::string_view scope) const {
  return Contains(scopes, scope);
}

bool Client::RedirectUriAllowed(std::string_view uri) const {
  for (const auto& registered : redirect_uris) {
    if (registered == uri) return true;
    if (loopback_any_port && LoopbackRedirectMatches(registered, uri)) return true;
  }
  return false;
}

bool Client::PostLogoutUriAllowed(std::string_view uri) const {
  return Contains(post_logout_redirect_uris, uri);
}

bool Client::SecretMatches(std::string_view secret) const {
  if (type != ClientType::kConfidential) return false;
  const auto presented = crypto::Sha256(secret);
  return crypto::ConstantTimeEquals(presented, secret_sha256);
}

bool LoopbackRedirectMatches(std::string_view registered, std::string_view presented) {
  for (std::string_view host :
       {std::string_view("http://127.0.0.1"), std::string_view("http://[::1]")}) {
    if (!registered.starts_with(host) || !presented.starts_with(host)) continue;
    std::string_view reg_rest = registered.substr(host.size());
    std::string_view rest = presented.substr(host.size());
    if (!reg_rest.starts_with('/')) return false;  // the registered URI names no port
    if (rest.starts_with(':')) {
      rest.remove_prefix(1);
      size_t digits = 0;
      while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
      if (digits == 0 || digits > 5) return false;
      if (std::stoul(std::string(rest.substr(0, digits))) > 65535) return false;
      rest.remove_prefix(digits);
    }
    return rest == reg_rest;
  }
  return false;
}

Result<std::vector<Client>> ParseClients(std::string_view yaml) {
  std::vector<Client> out;
  try {
    const YAML::Node doc = YAML::Load(std::string(yaml));
    const YAML::Node list = doc["clients"];
    if (!list) return out;
    if (!list.IsSequence()) return Error::InvalidArgument("clients must be a list", "clients");
    for (const auto& node : list) {
      Client c;
      c.id = node["client_id"].as<std::string>("");
      if (const auto name = node["name"]) {
        c.name_mn = name["mn"].as<std::string>("");
        c.name_en = name["en"].as<std::string>("");
        c.name_kk = name["kk"].as<std::string>("");
        c.name_ru = name["ru"].as<std::string>("");
      }
      if (c.name_en.empty()) c.name_en = c.id;
      if (c.name_mn.empty()) c.name_mn = c.name_en;
      const auto type = node["type"].as<std::string>("confidential");
      if (type == "public") {
        c.type = ClientType::kPublic;
      } else if (type != "confidential") {
        return Error::InvalidArgument("client '" + c.id + "': type must be confidential or public",
                                      "type");
      }
      c.redirect_uris = StringList(node["redirect_uris"]);
      c.post_logout_redirect_uris = StringList(node["post_logout_redirect_uris"]);
      c.grant_types = StringList(node["grant_types"]);
      if (c.grant_types.empty()) c.grant_types = {"authorization_code"};
      c.scopes = StringList(node["scopes"]);
      if (c.scopes.empty()) c.scopes = {"openid"};
      const auto alg_name = node["id_token_signed_response_alg"].as<std::string>("RS256");
      const auto alg = crypto::AlgFromName(alg_name);
      if (!alg) {
        return Error::InvalidArgument(
            "client '" + c.id + "': unsupported ID token algorithm '" + alg_name + "'",
            "id_token_signed_response_alg");
      }
      c.id_token_alg = *alg;
      c.agency = node["agency"].as<std::string>("");
      c.first_party = node["first_party"].as<bool>(false);
      c.refresh_without_offline_access = node["refresh_without_offline_access"].as<bool>(false);
      ULUS_TRY(CheckClient(c));
      out.push_back(std::move(c));
    }
  } catch (const YAML::Exception& e) {
    return Error::InvalidArgument(std::string("clients file: ") + e.what());
  }
  return out;
}

Result<ClientRegistry> ClientRegistry::Load(store::Database& db, const OidcOptions& options,
                                            const Clock& clock) {
  std::vector<Client> clients;
  if (!options.clients_file.empty()) {
    std::ifstream in(options.clients_file);
    if (!in) return Error::NotFound("cannot read clients file " + options.clients_file);
    std::stringstream text;
    text << in.rdbuf();
    ULUS_ASSIGN_OR_RETURN(clients, ParseClients(text.str()));
  }
  clients.push_back(BuiltinPortal(options));
  clients.push_back(BuiltinCli());

  ClientRegistry registry;
  for (auto& c : clients) {
    if (c.type == ClientType::kConfidential) {
      ULUS_ASSIGN_OR_RETURN(c.secret_sha256, EnsureSecret(db, options, clock, c.id));
    }
    const std::string id = c.id;
    if (!registry.clients_.emplace(id, std::move(c)).second) {
      return Error::InvalidArgument("client '" + id + "' is defined twice", "client_id");
    }
  }
  return registry;
}

const Client* ClientRegistry::Find(std::string_view id) const {
  const auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : &it->second;
}

}  // namespace ulus::identity::oidc
