#include "platform.hpp"

#include <spdlog/spdlog.h>

#include <system_error>

#include "ulus/store/migration.hpp"
#include "ulus/store/outbox.hpp"

namespace ulus::app {

Result<std::unique_ptr<store::Database>> OpenPlatformDatabase(const PlatformOptions& options) {
  store::DatabaseOptions db_options;
  if (!options.database_url.empty()) {
    db_options.url = options.database_url;
  } else {
    std::error_code ec;
    std::filesystem::create_directories(options.data_dir, ec);
    if (ec) {
      return Error::InvalidArgument(
          "cannot create data directory " + options.data_dir.string() + ": " + ec.message(),
          "data");
    }
    db_options.url = "sqlite:" + (options.data_dir / "platform.db").string();
  }
  db_options.max_connections = options.server.threads + 2;
  ULUS_ASSIGN_OR_RETURN(auto db, store::Database::Open(db_options));
  ULUS_TRY(store::Migrate(*db, "outbox", store::Outbox::Migrations()));
  return db;
}

Result<std::unique_ptr<Platform>> Platform::Open(const PlatformOptions& options) {
  std::unique_ptr<Platform> platform(new Platform());
  ULUS_ASSIGN_OR_RETURN(platform->db_, OpenPlatformDatabase(options));

  http::Router router;
  // Parts mount their routes here as they arrive (registry, identity, exchange, ...).
  ULUS_ASSIGN_OR_RETURN(auto pack, registry::LoadPack(options.packs_dir / options.pack));
  platform->pack_ = std::make_unique<registry::Pack>(std::move(pack));
  const registry::StoreLocation location{.data_dir = options.data_dir,
                                         .database_url = options.database_url,
                                         .max_connections = options.server.threads + 2};
  ULUS_ASSIGN_OR_RETURN(platform->stores_,
                        registry::AgencyStores::Open(*platform->pack_, location));
  ULUS_ASSIGN_OR_RETURN(platform->catalog_, registry::RegistryCatalog::Open(
                                                *platform->pack_, *platform->stores_,
                                                {.administrators = options.registry_admins}));
  platform->registry_api_ = std::make_unique<registry::RegistryApi>(*platform->catalog_);
  platform->registry_api_->Mount(router);

  platform->tls_ = !options.server.tls_certificate_file.empty();
  ULUS_ASSIGN_OR_RETURN(platform->server_, http::Server::Create(options.server, std::move(router)));
  return platform;
}

Status Platform::Start() {
  return server_->Start();
}

void Platform::Stop() {
  server_->Stop();
}

void Platform::Wait() {
  server_->Wait();
}

}  // namespace ulus::app
