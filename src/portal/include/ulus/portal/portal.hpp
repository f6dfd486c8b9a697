#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/documents/documents.hpp"
#include "ulus/http/router.hpp"
#include "ulus/http/server.hpp"
#include "ulus/identity/dan.hpp"
#include "ulus/registry/pack.hpp"
#include "ulus/services/applications.hpp"
#include "ulus/store/database.hpp"
#include "ulus/store/migration.hpp"

namespace ulus::portal {

// One line of the data tracker as the portal shows it.
struct DataUse {
  TimePoint at;
  std::string institution;  // the reading agency's name
  std::string registry;     // the registry read
  std::string purpose;      // "services:address-reference/<application>", "portal:my-data"
  std::string officer;      // X-Road-UserId: an officer's account, or "citizen"
};

// The parts the portal shows, all owned by the platform and outliving the portal.
struct PortalParts {
  identity::Dan* dan = nullptr;
  services::ApplicationService* applications = nullptr;
  documents::DocumentService* documents = nullptr;
  // "My data" reads every registry through Khur, as the platform's subsystem.
  services::DataExchange* exchange = nullptr;
  std::vector<services::RegistrySource> registries;
  const registry::Pack* pack = nullptr;
  // Each consent-bound service's data agreement in Dan (service id -> agreement id).
  std::map<std::string, std::string, std::less<>> consent_agreements;
  // The data tracker: records about a person across Khur's nodes, newest first.
  std::function<Result<std::vector<DataUse>>(const std::string& national_id, size_t offset,
                                             size_t limit)>
      data_usage;
};

struct PortalOptions {
  // The platform's origin ("https://e-mongolia.mn"): Dan's issuer and the portal's redirect.
  std::string origin;
  bool secure_cookies = false;  // under TLS: __Host- cookies, Secure
  // At most as long as a Dan session, and ended sooner when idle: a shared computer left alone
  // does not stay logged in. The cookie itself ends with the browser.
  std::chrono::hours session_lifetime{12};
  std::chrono::minutes idle_timeout{30};
};

// The citizen portal (/, /catalogue, /my/...) and the officer workspace (/work/...):
// server-rendered pages in the pack's languages over the platform's parts. It logs people in as
// Dan's built-in public client "ulus-portal" (code flow with PKCE), keeps their tokens
// server-side (the component "portal" of the platform database; refresh tokens sealed with the
// master key) and acts with the person's own access token, so every right is checked as it is
// for the JSON APIs. Thread-safe.
class Portal {
 public:
  static Result<std::unique_ptr<Portal>> Open(store::Database& db, PortalParts parts,
                                              PortalOptions options,
                                              const Clock& clock = Clock::System());
  static const std::vector<store::Migration>& Migrations();  // component "portal"
  ~Portal();

  void Mount(http::Router& router);
  // The server whose Dan token endpoint the portal calls in process. Call before serving.
  void Attach(const http::Server& server);
  // Ends sessions past their lifetime or idle, revoking their refresh tokens at Dan. The
  // platform calls it every minute. Returns how many ended.
  Result<size_t> Sweep();

  struct Impl;

 private:
  explicit Portal(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ulus::portal
