#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/http/router.hpp"
#include "ulus/identity/accounts_service.hpp"
#include "ulus/identity/audit.hpp"
#include "ulus/identity/consent.hpp"
#include "ulus/identity/directory.hpp"
#include "ulus/identity/keystore.hpp"
#include "ulus/identity/messages.hpp"
#include "ulus/identity/oidc.hpp"
#include "ulus/identity/sessions.hpp"
#include "ulus/store/database.hpp"

namespace ulus::identity {

struct DanOptions {
  // Dan's issuer URL, e.g. "https://dan.gov.mn" or "http://127.0.0.1:8080".
  std::string issuer;
  // Holds master.key (sealing private keys and TOTP secrets) and clients/<id>.secret.
  std::filesystem::path data_dir;
  // The pack's clients.yaml; empty: the built-in clients only.
  std::filesystem::path clients_file;
  std::vector<std::string> portal_redirect_uris;
  std::vector<std::string> portal_post_logout_redirect_uris;
  std::optional<Pkcs11Options> pkcs11;
  bool secure_cookies = false;  // under TLS
  // The pack's languages in order, e.g. {"mn", "en"} or {"kk", "ru", "en"}: the languages Dan's
  // pages offer, the first the default. Empty: {"mn", "en"}. Open installs them for the whole
  // process (SetPageLanguages in pages.hpp); languages Dan has no text in are left out.
  std::vector<std::string> languages;
  AccountServiceOptions accounts;
  OidcOptions oidc;  // issuer, clients_file and secrets_dir are filled from the above
};

// Dan, assembled: the key store, accounts and login pages, sessions, the OpenID Connect
// provider, consent, and the signing-key API, over the platform database. `people` and
// `messages` come from the platform (the population register, an SMS gateway) and must outlive
// it. Thread-safe once open.
class Dan {
 public:
  static Result<std::unique_ptr<Dan>> Open(store::Database& db, PersonDirectory& people,
                                           MessageGateway& messages, DanOptions options,
                                           const Clock& clock = Clock::System());
  // Runs every Dan migration on `db` (Open does this too).
  static Status Migrate(store::Database& db);
  ~Dan();

  // Mounts every Dan route: /dan/..., /oidc/..., /.well-known/openid-configuration, the
  // Consent BB routes and the key API.
  void Mount(http::Router& router);

  // Who calls: a bearer access token (user or agency client) or Dan's session cookie.
  [[nodiscard]] CallerResolver Callers();

  KeyStore& keys() { return *keys_; }
  AccountService& accounts() { return *accounts_; }
  OidcProvider& oidc() { return *oidc_; }
  ConsentService& consent() { return *consent_; }
  Sessions& sessions() { return *sessions_; }
  AuditLog& audit() { return *audit_; }
  // The platform's master key, for parts that keep secrets at rest (the portal's refresh tokens).
  const crypto::MasterKey& master_key() const { return *master_; }

 private:
  Dan() = default;
  void MountKeyApi(http::Router& router);

  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Sessions> sessions_;
  std::unique_ptr<crypto::MasterKey> master_;
  std::unique_ptr<KeyStore> keys_;
  std::unique_ptr<AccountService> accounts_;
  std::unique_ptr<OidcProvider> oidc_;
  std::unique_ptr<ConsentService> consent_;
};

}  // namespace ulus::identity
