#pragma once

#include "ulus/identity/directory.hpp"
#include "ulus/registry/agency_stores.hpp"
#include "ulus/registry/pack.hpp"

namespace ulus::app {

// Dan's view of the population register, read from the register's own store. This is the one
// place where identity meets registry, and it lives in app so that neither part links the
// other. Thread-safe (the store is).
class RegistryPersonDirectory final : public identity::PersonDirectory {
 public:
  // `stores` must hold the pack's "person" registry; both must outlive this object.
  static Result<std::unique_ptr<RegistryPersonDirectory>> Open(const registry::Pack& pack,
                                                               registry::AgencyStores& stores);

  [[nodiscard]] Result<std::optional<identity::Person>> Find(
      std::string_view national_id) const override;

 private:
  explicit RegistryPersonDirectory(registry::RecordStore& store) : store_(store) {}
  registry::RecordStore& store_;
};

}  // namespace ulus::app
