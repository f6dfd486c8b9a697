#include "ulus/registry/agency_stores.hpp"

#include <system_error>

namespace ulus::registry {

Result<std::unique_ptr<AgencyStores>> AgencyStores::Open(const Pack& pack,
                                                         const StoreLocation& location,
                                                         const Clock& clock) {
  std::unique_ptr<AgencyStores> stores(new AgencyStores());
  auto open = [&](const std::string& url) -> Result<RecordStore*> {
    store::DatabaseOptions options;
    options.url = url;
    options.max_connections = location.max_connections;
    ULUS_ASSIGN_OR_RETURN(auto db, store::Database::Open(options));
    ULUS_TRY(RecordStore::MigrateAll(*db));
    stores->stores_.push_back(std::make_unique<RecordStore>(*db, clock));
    stores->databases_.push_back(std::move(db));
    return stores->stores_.back().get();
  };

  if (!location.database_url.empty()) {
    ULUS_ASSIGN_OR_RETURN(RecordStore * shared, open(location.database_url));
    for (const auto& agency : pack.agencies) stores->by_agency_[agency.code] = shared;
    return stores;
  }
  const auto dir = location.data_dir / "agencies";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Error::InvalidArgument("cannot create " + dir.string() + ": " + ec.message(), "data");
  }
  for (const auto& agency : pack.agencies) {
    ULUS_ASSIGN_OR_RETURN(RecordStore * store,
                          open("sqlite:" + (dir / (agency.code + ".db")).string()));
    stores->by_agency_[agency.code] = store;
  }
  return stores;
}

RecordStore* AgencyStores::ForAgency(std::string_view agency_code) const {
  auto it = by_agency_.find(agency_code);
  return it == by_agency_.end() ? nullptr : it->second;
}

std::vector<RecordStore*> AgencyStores::Distinct() const {
  std::vector<RecordStore*> out;
  out.reserve(stores_.size());
  for (const auto& s : stores_) out.push_back(s.get());
  return out;
}

}  // namespace ulus::registry
