#pragma once

#include <string>
#include <vector>

#include "ulus/store/database.hpp"

namespace ulus::store {

// One step of a schema's history. Versions within a component are 1, 2, 3... and never change
// once released; a new need is a new step. Where the dialects differ, `postgres` holds that
// dialect's text; empty means `sql` serves both.
struct Migration {
  int version = 0;
  std::string name;
  std::string sql;
  std::string postgres;
};

// Brings `component`'s tables (e.g. "outbox", "registry") up to the newest of `steps`, each step
// in its own transaction together with its record in schema_migration, so a crash between steps
// leaves a consistent, resumable state. Refuses (kFailedPrecondition) a database that already
// has a step this binary does not know: an older binary must not run on a newer schema.
// Safe to call from several processes at once.
Status Migrate(Database& db, const std::string& component, const std::vector<Migration>& steps);

// The newest step applied for `component`, 0 when none.
Result<int> SchemaVersion(Database& db, const std::string& component);

}  // namespace ulus::store
