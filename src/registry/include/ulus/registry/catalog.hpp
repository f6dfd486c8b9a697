#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/registry/agency_stores.hpp"
#include "ulus/registry/pack.hpp"
#include "ulus/registry/schema.hpp"

namespace ulus::registry {

// One registry as it is served now: its schema, where its records live and who may use it
// beyond the pack's access rules. Immutable; replaced as a whole when the schema changes.
struct CatalogEntry {
  RegistrySchema schema;
  RecordStore* store = nullptr;  // the owning agency's store
  bool from_pack = true;         // false once changed or created at run time
  int64_t modified_at = 0;       // microseconds since the Unix epoch; 0 for the pack's
  std::string modified_by;
  // From a run-time document's "access": {"read": [clients], "write": [clients]}. The pack's
  // access rules were checked against the pack's registries when it loaded, so a registry made
  // at run time says here who may use it.
  std::vector<std::string> readers;
  std::vector<std::string> writers;
};

struct CatalogOptions {
  // Clients (X-Road ids) allowed to manage schemas through the database API, in addition to
  // the pack's `administrators` list in pack.yaml.
  std::vector<std::string> administrators;
};

// The registries a platform serves: the pack's schemas, overridden, added or removed at run time
// by an administrator through the database API. Run-time changes are kept, versioned, in the
// owning agency's store (registry_schema) and announced on its outbox, so they survive restarts.
// Thread-safe: lookups take a shared lock; changes are serialized.
class RegistryCatalog {
 public:
  static Result<std::unique_ptr<RegistryCatalog>> Open(const Pack& pack, AgencyStores& stores,
                                                       CatalogOptions options = {},
                                                       const Clock& clock = Clock::System());

  // nullptr when there is no registry of that name.
  [[nodiscard]] std::shared_ptr<const CatalogEntry> Find(std::string_view name) const;
  // Every registry, by name.
  [[nodiscard]] std::vector<std::shared_ptr<const CatalogEntry>> All() const;

  [[nodiscard]] bool MayAccess(std::string_view client, const CatalogEntry& entry,
                               Access access) const;
  [[nodiscard]] bool IsAdministrator(std::string_view client) const;

  // Creates or replaces a registry from a registry document (as in packs/<cc>/registries/*.yaml,
  // plus an optional "access"). A registry keeps its agency: its records live in that store.
  Result<std::shared_ptr<const CatalogEntry>> Put(const nlohmann::json& document,
                                                  std::string_view actor);
  // Stops serving a registry. Its records stay in the store (nothing is lost); putting the
  // schema back serves them again.
  Status Remove(std::string_view name, std::string_view actor);

  [[nodiscard]] const Pack& pack() const { return pack_; }

 private:
  RegistryCatalog(const Pack& pack, AgencyStores& stores, const Clock& clock)
      : pack_(pack), stores_(stores), clock_(clock) {}
  Result<std::shared_ptr<const CatalogEntry>> MakeEntry(const nlohmann::json& document,
                                                        bool from_pack) const;
  Status LoadRunTimeChanges();

  const Pack& pack_;
  AgencyStores& stores_;
  const Clock& clock_;
  std::set<std::string, std::less<>> administrators_;  // immutable after Open

  std::mutex write_mu_;  // serializes Put and Remove
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<const CatalogEntry>, std::less<>> entries_;  // guarded
};

}  // namespace ulus::registry
