#include "ulus/store/migration.hpp"

#include <spdlog/spdlog.h>

#include <string>

#include "ulus/core/clock.hpp"

namespace ulus::store {
namespace {

constexpr std::string_view kCreateMigrationTable =
    "CREATE TABLE IF NOT EXISTS schema_migration ("
    " component TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " name TEXT NOT NULL,"
    " applied_at BIGINT NOT NULL,"
    " PRIMARY KEY (component, version))";

// Advisory lock keys are 64-bit numbers; FNV-1a of a name keeps them stable across builds and
// processes, unlike std::hash.
int64_t LockKey(std::string_view name) {
  uint64_t hash = 14695981039346656037ULL;
  for (const char c : name) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 1099511628211ULL;
  }
  return static_cast<int64_t>(hash);
}

// Serializes migrators until the transaction ends. On SQLite, BEGIN IMMEDIATE already made this
// transaction the only writer.
Status LockFor(Connection& tx, std::string_view name) {
  if (tx.backend() != Backend::kPostgres) return Ok();
  const Value params[] = {LockKey(name)};
  ULUS_TRY(tx.Query("SELECT pg_advisory_xact_lock($1)", params));
  return Ok();
}

Status CheckSteps(const std::string& component, const std::vector<Migration>& steps) {
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].version != static_cast<int>(i + 1)) {
      return Error::Internal(
          "migrations of '" + component + "' must be numbered 1, 2, 3... in order, but step " +
          std::to_string(i + 1) + " has version " + std::to_string(steps[i].version));
    }
    if (steps[i].sql.empty()) {
      return Error::Internal("migration " + std::to_string(i + 1) + " of '" + component +
                             "' has no SQL");
    }
  }
  return Ok();
}

Result<int> CurrentVersion(Connection& conn, const std::string& component) {
  const Value params[] = {component};
  ULUS_ASSIGN_OR_RETURN(
      const int64_t version,
      conn.QueryInt("SELECT COALESCE(MAX(version), 0) FROM schema_migration WHERE component = $1",
                    params));
  return static_cast<int>(version);
}

Error NewerSchema(const std::string& component, int found, size_t known) {
  return Error{ErrorCode::kFailedPrecondition,
               "the database has schema version " + std::to_string(found) + " of '" + component +
                   "', but this binary knows only up to version " + std::to_string(known) +
                   "; run a newer binary (an older one must not write to a newer schema)",
               {}};
}

}  // namespace

Status Migrate(Database& db, const std::string& component, const std::vector<Migration>& steps) {
  ULUS_TRY(CheckSteps(component, steps));
  const auto create_table = [](Connection& tx) -> Status {
    // Concurrent CREATE TABLE IF NOT EXISTS can collide on PostgreSQL's catalog, so lock first.
    ULUS_TRY(LockFor(tx, "ulus.schema_migration"));
    return tx.ExecuteScript(kCreateMigrationTable);
  };
  ULUS_TRY(db.InTransaction(create_table));

  const std::string lock_name = "ulus.migrate." + component;
  for (bool done = false; !done;) {
    // One step per transaction, committed with its record: a crash between steps leaves a
    // state the next run resumes from.
    const auto apply_next = [&](Connection& tx) -> Result<bool> {
      ULUS_TRY(LockFor(tx, lock_name));
      ULUS_ASSIGN_OR_RETURN(const int current, CurrentVersion(tx, component));
      if (static_cast<size_t>(current) > steps.size()) {
        return NewerSchema(component, current, steps.size());
      }
      if (static_cast<size_t>(current) == steps.size()) return true;

      const Migration& step = steps[static_cast<size_t>(current)];
      const bool own_dialect = tx.backend() == Backend::kPostgres && !step.postgres.empty();
      ULUS_TRY(tx.ExecuteScript(own_dialect ? step.postgres : step.sql));
      const Value record[] = {component, int64_t{step.version}, step.name,
                              ToUnixMicros(Clock::System().Now())};
      ULUS_TRY(
          tx.Execute("INSERT INTO schema_migration (component, version, name, applied_at) "
                     "VALUES ($1, $2, $3, $4)",
                     record));
      spdlog::info("store: applied migration {} {} ({})", component, step.version, step.name);
      return false;
    };
    ULUS_ASSIGN_OR_RETURN(done, db.InTransaction<bool>(apply_next));
  }
  return Ok();
}

Result<int> SchemaVersion(Database& db, const std::string& component) {
  ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
  const std::string_view exists =
      conn->backend() == Backend::kPostgres
          ? "SELECT COUNT(*) FROM (SELECT to_regclass('schema_migration') AS t) r "
            "WHERE t IS NOT NULL"
          : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = "
            "'schema_migration'";
  ULUS_ASSIGN_OR_RETURN(const int64_t found, conn->QueryInt(exists));
  if (found == 0) return 0;
  return CurrentVersion(*conn, component);
}

}  // namespace ulus::store
