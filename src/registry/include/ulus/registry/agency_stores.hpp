#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/registry/pack.hpp"
#include "ulus/registry/record_store.hpp"
#include "ulus/store/database.hpp"

namespace ulus::registry {

// Where the agencies' registry stores live.
struct StoreLocation {
  // The embedded default: one SQLite file per agency, <data_dir>/agencies/<agency code>.db.
  std::filesystem::path data_dir = "data";
  // When set, one PostgreSQL database holds every agency's registries instead.
  std::string database_url;
  size_t max_connections = 8;  // per database
};

// The record stores of a pack's agencies: each agency's registries live in that agency's own
// database (later each agency's exchange node serves its own file), or all in one PostgreSQL
// database. Opening migrates every store. Thread-safe; the stores live as long as this object.
class AgencyStores {
 public:
  static Result<std::unique_ptr<AgencyStores>> Open(const Pack& pack, const StoreLocation& location,
                                                    const Clock& clock = Clock::System());

  // The store of the agency with this code; nullptr when the pack has no such agency.
  [[nodiscard]] RecordStore* ForAgency(std::string_view agency_code) const;
  // Every distinct store once (one when they share a PostgreSQL database).
  [[nodiscard]] std::vector<RecordStore*> Distinct() const;
  // True when all agencies share one database.
  [[nodiscard]] bool shared() const { return databases_.size() == 1 && by_agency_.size() > 1; }

 private:
  AgencyStores() = default;
  std::vector<std::unique_ptr<store::Database>> databases_;
  std::vector<std::unique_ptr<RecordStore>> stores_;  // one per database, same order
  std::map<std::string, RecordStore*, std::less<>> by_agency_;
};

}  // namespace ulus::registry
