#pragma once

#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "demo_accounts.hpp"
#include "khur.hpp"
#include "person_directory.hpp"
#include "ulus/core/result.hpp"
#include "ulus/documents/api.hpp"
#include "ulus/documents/documents.hpp"
#include "ulus/http/server.hpp"
#include "ulus/identity/dan.hpp"
#include "ulus/identity/messages.hpp"
#include "ulus/portal/portal.hpp"
#include "ulus/registry/agency_stores.hpp"
#include "ulus/registry/catalog.hpp"
#include "ulus/registry/pack.hpp"
#include "ulus/registry/registry_api.hpp"
#include "ulus/services/applications.hpp"
#include "ulus/services/catalogue.hpp"
#include "ulus/store/database.hpp"

namespace ulus::app {

// Where the platform keeps its state and how it listens; filled from the command line.
struct PlatformOptions {
  std::filesystem::path data_dir = "data";
  // Empty: the embedded default, SQLite at <data_dir>/platform.db. Else a PostgreSQL URI.
  std::string database_url;
  http::ServerOptions server;
  // The country pack: <packs_dir>/<pack>. The agencies' registries live in
  // <data_dir>/agencies/<code>.db (or in the PostgreSQL database).
  std::filesystem::path packs_dir;
  std::string pack = "mn";
  // Clients that may manage registry schemas, besides pack.yaml's administrators.
  std::vector<std::string> registry_admins;
  // OpenID Connect clients (YAML); empty: the pack's clients.yaml.
  std::filesystem::path clients_file;
  // Dan's issuer URL; empty: this server's own origin (http(s)://address:port).
  std::string issuer;
  // Platform and agency keys in a PKCS#11 token instead of sealed in the database.
  std::optional<identity::Pkcs11Options> pkcs11;
  // Khur: the authority always; agency nodes when khur.run_nodes (ulus up).
  KhurOptions khur;
  // A file holding the key the registries demand of their callers (Khur's nodes); ulus up makes
  // <data>/khur/caller.key. Empty with serve: the registries trust their network.
  std::filesystem::path registry_key_file;
};

// The platform process: its stores (migrated on open) and its HTTP server with every part's
// routes mounted. Owned by main; not thread-safe except Stop(), which a signal thread may call.
class Platform {
 public:
  static Result<std::unique_ptr<Platform>> Open(const PlatformOptions& options);

  // Starts serving; returns once listening.
  Status Start();
  // Drains requests in flight and stops; safe from another thread.
  void Stop();
  void Wait();
  [[nodiscard]] uint16_t port() const { return server_->port(); }
  [[nodiscard]] bool tls() const { return tls_; }
  [[nodiscard]] const std::string& issuer() const { return issuer_; }
  // The demo accounts of `ulus up` (made on first call).
  Result<std::vector<DemoAccount>> EnsureDemoAccounts(const std::filesystem::path& data_dir);
  identity::Dan& dan() { return *dan_; }
  Khur& khur() { return *khur_; }
  documents::DocumentService& documents() { return *documents_; }
  services::ApplicationService& applications() { return *applications_; }
  // http(s)://<loopback or address>:<port>: where this process reaches its own server.
  [[nodiscard]] std::string LocalOrigin() const;

 private:
  Platform() = default;
  // The documents part: templates from the pack's documents/ folder, routes on `router`.
  Status OpenDocuments(const PlatformOptions& options, http::Router& router);
  // The service catalogue from the pack's services/ and life_events.yaml, checked against the
  // pack's agencies, registries and document templates.
  Status OpenCatalogue(const PlatformOptions& options, http::Router& router);
  // Applications: pulls through the node of the pack's platform subsystem, documents from the
  // documents part, codes for one-stop centre filings through Dan's messages.
  Status OpenApplications(const PlatformOptions& options, http::Router& router);
  // The citizen portal and the officer workspace over the parts above.
  Status OpenPortal(http::Router& router);
  // Finishes automatic applications a crash or an unreachable node left unfinished, now and
  // every minute until Stop().
  void RunResumer();
  std::unique_ptr<store::Database> db_;
  // The registry part; declared before the server, which calls into it, so it outlives it.
  std::unique_ptr<registry::Pack> pack_;
  std::unique_ptr<registry::AgencyStores> stores_;
  std::unique_ptr<registry::RegistryCatalog> catalog_;
  std::unique_ptr<registry::RegistryApi> registry_api_;
  std::unique_ptr<http::Router> registry_router_;  // the registry routes, for in-process calls
  // Dan, and what it is given by the platform.
  std::unique_ptr<RegistryPersonDirectory> people_;
  std::unique_ptr<identity::LocalOutbox> messages_;
  std::unique_ptr<identity::Dan> dan_;
  std::unique_ptr<Khur> khur_;
  std::unique_ptr<documents::DocumentService> documents_;
  std::unique_ptr<documents::DocumentsApi> documents_api_;
  std::unique_ptr<services::Catalogue> catalogue_;
  std::unique_ptr<services::KhurExchange> exchange_;
  std::unique_ptr<services::ApplicationService> applications_;
  std::vector<services::RegistrySource> registry_sources_;
  std::map<std::string, std::string, std::less<>> consent_agreements_;
  std::unique_ptr<portal::Portal> portal_;
  std::thread resumer_;
  std::mutex resumer_mutex_;
  std::condition_variable resumer_wake_;
  bool stopping_ = false;
  std::unique_ptr<http::Server> server_;
  std::string address_;
  bool tls_ = false;
  std::string issuer_;
};

// Opens the platform's database: the URL if given, else SQLite in the data directory (which is
// created if needed).
Result<std::unique_ptr<store::Database>> OpenPlatformDatabase(const PlatformOptions& options);

// The first line of a registry caller-key file (at least 16 characters).
Result<std::string> ReadCallerKey(const std::filesystem::path& file);

}  // namespace ulus::app
