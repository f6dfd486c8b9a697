#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/keys.hpp"
#include "ulus/identity/oidc.hpp"
#include "ulus/store/database.hpp"

namespace ulus::identity::oidc {

// The clients file is YAML:
//
//   clients:
//     - client_id: tax-office            # [A-Za-z0-9._-], at most 64 characters
//       name: {mn: "Татварын алба", en: "Tax office"}   # also kk:, ru:; English when missing
//       type: confidential               # or public (public clients must use PKCE)
//       redirect_uris: [https://tax.example.mn/callback]
//       post_logout_redirect_uris: [https://tax.example.mn/]
//       grant_types: [authorization_code, refresh_token, client_credentials]
//       scopes: [openid, profile, national_id, offline_access]
//       id_token_signed_response_alg: RS256   # RS256 (default), ES256 or EdDSA
//       agency: TAX                      # whom client_credentials tokens act for
//       first_party: false               # true skips the consent page
//       refresh_without_offline_access: false  # true: refresh tokens without offline_access
//
// Confidential clients' secrets are not in the file: Dan generates one on first start, writes
// it to <secrets dir>/<client_id>.secret (mode 0600) and keeps only its SHA-256.

enum class ClientType { kConfidential, kPublic };

struct Client {
  std::string id;
  std::string name_mn;
  std::string name_en;
  std::string name_kk;  // empty: the English name is shown
  std::string name_ru;  // empty: the English name is shown
  ClientType type = ClientType::kConfidential;
  std::vector<std::string> redirect_uris;
  std::vector<std::string> post_logout_redirect_uris;
  std::vector<std::string> grant_types;
  std::vector<std::string> scopes;
  crypto::SignatureAlg id_token_alg = crypto::SignatureAlg::kRs256;
  std::string agency;
  bool first_party = false;
  bool refresh_without_offline_access = false;
  // RFC 8252 §7.3: registered loopback IP redirect URIs match on any port.
  bool loopback_any_port = false;
  crypto::Sha256Digest secret_sha256{};  // confidential clients only

  [[nodiscard]] bool HasGrant(std::string_view grant) const;
  [[nodiscard]] bool AllowsScope(std::string_view scope) const;
  [[nodiscard]] bool IsPublic() const { return type == ClientType::kPublic; }
  // Exact string match, or for loopback clients the port-free match of RFC 8252 §7.3.
  [[nodiscard]] bool RedirectUriAllowed(std::string_view uri) const;
  [[nodiscard]] bool PostLogoutUriAllowed(std::string_view uri) const;
  // Constant-time check of a presented secret.
  [[nodiscard]] bool SecretMatches(std::string_view secret) const;
};

// True when `presented` is `registered` (an http URI on 127.0.0.1 or [::1] without a port) with
// any port or none added; the path and the rest must be identical. Host names such as
// "localhost" never qualify.
bool LoopbackRedirectMatches(std::string_view registered, std::string_view presented);

// Parses the clients file's text.
Result<std::vector<Client>> ParseClients(std::string_view yaml);

// Every client Dan knows. Immutable once loaded, so lookups need no lock.
class ClientRegistry {
 public:
  // Reads the clients file, adds the built-ins, and makes sure every confidential client has a
  // secret (generated, written to the secrets directory and its hash stored in the database).
  static Result<ClientRegistry> Load(store::Database& db, const OidcOptions& options,
                                     const Clock& clock);
  [[nodiscard]] const Client* Find(std::string_view id) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Client, Hash, std::equal_to<>> clients_;
};

}  // namespace ulus::identity::oidc
