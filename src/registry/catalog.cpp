#include "ulus/registry/catalog.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <utility>

namespace ulus::registry {
namespace {

using nlohmann::json;

bool Lists(const std::vector<std::string>& clients, std::string_view client) {
  return std::find(clients.begin(), clients.end(), client) != clients.end();
}

// pack.yaml may list `administrators: [client ids]`, the clients that manage schemas through the
// database API. Read here rather than by LoadPack, which does not know the key.
Result<std::vector<std::string>> PackAdministrators(const Pack& pack) {
  const auto path = pack.dir / "pack.yaml";
  std::vector<std::string> out;
  try {
    const YAML::Node doc = YAML::LoadFile(path.string());
    const YAML::Node list = doc["administrators"];
    if (!list) return out;
    if (!list.IsSequence()) {
      return Error::InvalidArgument(path.string() + ": administrators must be a list of client ids",
                                    "administrators");
    }
    for (const auto& item : list) out.push_back(item.as<std::string>());
  } catch (const YAML::Exception& e) {
    return Error::InvalidArgument(path.string() + ": " + e.what(), "administrators");
  }
  return out;
}

Result<std::vector<std::string>> ClientList(const json& access, const char* key) {
  std::vector<std::string> out;
  auto it = access.find(key);
  if (it == access.end()) return out;
  if (!it->is_array()) {
    return Error::InvalidArgument(std::string("access.") + key + " must be a list of client ids",
                                  std::string("access.") + key);
  }
  for (const auto& c : *it) {
    if (!c.is_string()) {
      return Error::InvalidArgument(std::string("access.") + key + " must be a list of client ids",
                                    std::string("access.") + key);
    }
    out.push_back(c.get<std::string>());
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<RegistryCatalog>> RegistryCatalog::Open(const Pack& pack,
                                                               AgencyStores& stores,
                                                               CatalogOptions options,
                                                               const Clock& clock) {
  std::unique_ptr<RegistryCatalog> catalog(new RegistryCatalog(pack, stores, clock));
  ULUS_ASSIGN_OR_RETURN(auto admins, PackAdministrators(pack));
  for (auto& a : admins) catalog->administrators_.insert(std::move(a));
  for (auto& a : options.administrators) catalog->administrators_.insert(std::move(a));
  for (const auto& schema : pack.registries) {
    RecordStore* store = stores.ForAgency(schema.agency);
    if (store == nullptr) {
      return Error::Internal("registry '" + schema.name + "' belongs to agency '" + schema.agency +
                             "', which has no store");
    }
    auto entry = std::make_shared<CatalogEntry>();
    entry->schema = schema;
    entry->store = store;
    catalog->entries_[schema.name] = std::move(entry);
  }
  ULUS_TRY(catalog->LoadRunTimeChanges());
  return catalog;
}

Status RegistryCatalog::LoadRunTimeChanges() {
  for (RecordStore* store : stores_.Distinct()) {
    ULUS_ASSIGN_OR_RETURN(auto conn, store->database().Acquire());
    // The newest row per registry wins; older rows are the schema's history.
    ULUS_ASSIGN_OR_RETURN(
        auto rows,
        conn->Query("SELECT s.name, s.document, s.deleted, s.recorded_at, s.actor FROM "
                    "registry_schema s WHERE s.seq = (SELECT MAX(o.seq) FROM registry_schema o "
                    "WHERE o.name = s.name)"));
    for (const auto& row : rows) {
      const std::string& name = row.Text(0);
      if (row.Int(2) != 0) {
        entries_.erase(name);
        continue;
      }
      const json document = json::parse(row.Text(1), nullptr, false);
      if (document.is_discarded()) {
        return Error::Internal("stored schema of registry '" + name + "' is not JSON");
      }
      auto made = MakeEntry(document, false);
      if (!made.ok()) {
        // A stored schema this pack no longer accepts (its agency was removed, say) is served
        // by nobody rather than stopping the platform.
        continue;
      }
      auto entry = std::const_pointer_cast<CatalogEntry>(std::move(made).value());
      entry->modified_at = row.Int(3);
      entry->modified_by = row.Text(4);
      entries_[name] = std::move(entry);
    }
  }
  return Ok();
}

Result<std::shared_ptr<const CatalogEntry>> RegistryCatalog::MakeEntry(const json& document,
                                                                       bool from_pack) const {
  ULUS_ASSIGN_OR_RETURN(RegistrySchema schema, ParseRegistrySchema(document));
  RecordStore* store = stores_.ForAgency(schema.agency);
  if (store == nullptr) {
    return Error::InvalidArgument(
        "agency '" + schema.agency + "' is not an agency of pack '" + pack_.code + "'", "agency");
  }
  auto entry = std::make_shared<CatalogEntry>();
  if (auto it = document.find("access"); it != document.end() && !it->is_null()) {
    if (!it->is_object()) {
      return Error::InvalidArgument("access must be {\"read\": [...], \"write\": [...]}", "access");
    }
    ULUS_ASSIGN_OR_RETURN(entry->readers, ClientList(*it, "read"));
    ULUS_ASSIGN_OR_RETURN(entry->writers, ClientList(*it, "write"));
  }
  entry->schema = std::move(schema);
  entry->store = store;
  entry->from_pack = from_pack;
  return std::shared_ptr<const CatalogEntry>(std::move(entry));
}

std::shared_ptr<const CatalogEntry> RegistryCatalog::Find(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const CatalogEntry>> RegistryCatalog::All() const {
  std::shared_lock lock(mu_);
  std::vector<std::shared_ptr<const CatalogEntry>> out;
  out.reserve(entries_.size());
  for (const auto& [name, entry] : entries_) out.push_back(entry);
  return out;
}

bool RegistryCatalog::MayAccess(std::string_view client, const CatalogEntry& entry,
                                Access access) const {
  if (pack_.MayAccess(client, entry.schema.name, access)) return true;
  if (Lists(entry.writers, client)) return true;
  return access == Access::kRead && Lists(entry.readers, client);
}

bool RegistryCatalog::IsAdministrator(std::string_view client) const {
  return administrators_.find(client) != administrators_.end();
}

Result<std::shared_ptr<const CatalogEntry>> RegistryCatalog::Put(const json& document,
                                                                 std::string_view actor) {
  std::lock_guard write_lock(write_mu_);
  ULUS_ASSIGN_OR_RETURN(auto made, MakeEntry(document, false));
  auto entry = std::const_pointer_cast<CatalogEntry>(std::move(made));
  const std::string& name = entry->schema.name;
  // A registry's records live in its agency's store; moving them is not a schema change.
  for (RecordStore* store : stores_.Distinct()) {
    if (store == entry->store) continue;
    ULUS_ASSIGN_OR_RETURN(auto conn, store->database().Acquire());
    const store::Value params[] = {name};
    ULUS_ASSIGN_OR_RETURN(
        const int64_t elsewhere,
        conn->QueryInt("SELECT COUNT(*) FROM (SELECT 1 FROM record_version WHERE registry = $1 "
                       "LIMIT 1) t",
                       params));
    if (elsewhere > 0) {
      return Error::InvalidArgument("registry '" + name +
                                        "' already holds records in another agency's store; "
                                        "its agency cannot change",
                                    "agency");
    }
  }
  if (auto current = Find(name); current && current->schema.agency != entry->schema.agency) {
    return Error::InvalidArgument("registry '" + name + "' belongs to agency '" +
                                      current->schema.agency + "'; its agency cannot change",
                                  "agency");
  }
  entry->modified_at = ToUnixMicros(clock_.Now());
  entry->modified_by = std::string(actor);
  const std::string text = document.dump();
  auto record = [&](store::Connection& tx) -> Status {
    const store::Value params[] = {name, entry->schema.version, text, entry->modified_at,
                                   entry->modified_by};
    ULUS_TRY(tx.Execute(
        "INSERT INTO registry_schema (name, version, document, deleted, recorded_at, actor) "
        "VALUES ($1, $2, $3, 0, $4, $5)",
        params));
    const json event = {{"registry", name}, {"version", entry->schema.version}, {"actor", actor}};
    ULUS_TRY(entry->store->outbox().Append(tx, "registry.schema.modified", name, event.dump()));
    return Ok();
  };
  ULUS_TRY(entry->store->database().InTransaction(record));
  std::shared_ptr<const CatalogEntry> done = std::move(entry);
  std::unique_lock lock(mu_);
  entries_[name] = done;
  return done;
}

Status RegistryCatalog::Remove(std::string_view name, std::string_view actor) {
  std::lock_guard write_lock(write_mu_);
  auto current = Find(name);
  if (!current) return Error::NotFound("there is no registry '" + std::string(name) + "'");
  const int64_t now = ToUnixMicros(clock_.Now());
  const std::string text = current->schema.document.dump();
  auto record = [&](store::Connection& tx) -> Status {
    const store::Value params[] = {std::string(name), current->schema.version, text, now,
                                   std::string(actor)};
    ULUS_TRY(tx.Execute(
        "INSERT INTO registry_schema (name, version, document, deleted, recorded_at, actor) "
        "VALUES ($1, $2, $3, 1, $4, $5)",
        params));
    const json event = {{"registry", name}, {"actor", actor}};
    ULUS_TRY(current->store->outbox().Append(tx, "registry.schema.deleted", std::string(name),
                                             event.dump()));
    return Ok();
  };
  ULUS_TRY(current->store->database().InTransaction(record));
  std::unique_lock lock(mu_);
  entries_.erase(std::string(name));
  return Ok();
}

}  // namespace ulus::registry
