#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/registry/civil_date.hpp"
#include "ulus/store/database.hpp"
#include "ulus/store/migration.hpp"
#include "ulus/store/outbox.hpp"

namespace ulus::registry {

// Who changes a record, why, and from which day the new content is valid. Every version keeps
// these; a national register must be able to say who changed what, when, and on what grounds.
struct Change {
  std::string actor;   // the X-Road client id (later: client + user) making the change
  std::string reason;  // the legal or factual ground, never empty
  CivilDate valid_from;
};

// One version of one record. `data` is the record's compact JSON text exactly as stored.
struct RecordVersion {
  std::string registry;
  std::string id;
  int64_t version = 0;
  std::string valid_from;   // YYYY-MM-DD
  int64_t recorded_at = 0;  // microseconds since the Unix epoch
  std::string actor;
  std::string reason;
  bool deleted = false;  // a tombstone: the record was deleted by this version
  std::optional<std::string> subject;
  std::string data;
};

// A condition on a record's content. Field names come from the registry's schema: the caller
// has checked them, and they are passed to SQL as bound parameters, never spliced into the text.
struct RecordFilter {
  enum class Target {
    kRecordId,  // the primary key, stored as record_id (indexed)
    kSubject,   // the subject field, stored as subject (indexed)
    kField,     // any other top-level field of the JSON content
    kAnyText,   // search: any top-level string value (field is empty)
  };
  enum class Op {
    kEquals,    // value is a JSON scalar (string, integer, number, boolean or null)
    kContains,  // value is a string: a case-sensitive substring of the field's text
  };
  Target target = Target::kField;
  Op op = Op::kEquals;
  std::string field;
  nlohmann::json value;
};

// What a listing selects and how it pages.
struct RecordQuery {
  std::vector<RecordFilter> filters;  // all must hold
  // Sorting: by record id when `order_field` is empty, else by that top-level field (then id).
  std::string order_field;
  bool descending = false;
  int64_t offset = 0;
  int64_t limit = 100;
  // False skips counting the matches (RecordPage::total stays 0).
  bool count = true;
  // Reads the registry as it was on this day (see RecordStore::ReadAsOf) instead of now.
  std::optional<CivilDate> as_of;
};

struct RecordPage {
  int64_t total = 0;  // records matching, over all pages
  std::vector<RecordVersion> records;
};

// A registry record to load in bulk (a first version, no history yet).
struct LoadRow {
  std::string id;
  std::string valid_from;  // YYYY-MM-DD
  std::optional<std::string> subject;
  std::string data;
};

class RecordStore;

// The record operations of one write transaction: handed to RecordStore::Write's callback and
// valid only inside it. Not thread-safe.
class RecordWriter {
 public:
  enum class Expect {
    kNew,       // create: the record must not exist (a deleted one may be re-created)
    kExisting,  // update: the record must exist and not be deleted
    kAny,       // update or create
  };

  // The current version of a record, tombstones included; NotFound when it never existed.
  Result<RecordVersion> Current(std::string_view registry, std::string_view id);
  // Current, not deleted records matching `query` (as_of must be empty), at most query.limit.
  Result<std::vector<RecordVersion>> Find(std::string_view registry, const RecordQuery& query);
  // Writes a new version with `data` (compact JSON). kAlreadyExists / kNotFound when `expect`
  // does not hold. Appends registry.<name>.created or .updated to the outbox. The new version
  // follows the one this transaction last saw of the record (through Current, Find or an
  // earlier Put): data computed from a read is never written over a version it did not see.
  Result<RecordVersion> Put(std::string_view registry, std::string_view id,
                            std::optional<std::string> subject, std::string data,
                            const Change& change, Expect expect);
  // Writes a tombstone version (the content of the last version is kept in it, so nothing is
  // lost); kNotFound when there is no live record. Appends registry.<name>.deleted.
  Result<RecordVersion> Delete(std::string_view registry, std::string_view id,
                               const Change& change);

 private:
  friend class RecordStore;
  RecordWriter(RecordStore& store, store::Connection& tx) : store_(store), tx_(tx) {}
  Result<RecordVersion> Append(const RecordVersion& previous, bool had_previous, RecordVersion next,
                               std::string_view event);
  // The version this transaction last saw (nullopt: it saw that there is none), or reads it.
  Result<std::optional<RecordVersion>> Seen(std::string_view registry, std::string_view id);
  static std::string Key(std::string_view registry, std::string_view id);

  RecordStore& store_;
  store::Connection& tx_;
  std::map<std::string, std::optional<RecordVersion>> seen_;
  // Set when a write lost a race with a concurrent writer (PostgreSQL); Write then retries.
  bool lost_race_ = false;
};

// The versioned records of every registry held in one database (one agency's store). A change
// never overwrites: it inserts version n+1, marks it current and the previous one not, and
// writes an outbox event, all in one transaction. Reads see the current version, the version
// valid on a past day, or the whole history. Thread-safe.
class RecordStore {
 public:
  explicit RecordStore(store::Database& db, const Clock& clock = Clock::System());

  // Component "registry": record_version, registry_count, registry_schema, registry_seed.
  static const std::vector<store::Migration>& Migrations();
  // Brings this component's and the outbox's tables up to date, and creates any index of
  // record_version that a bulk load dropped and did not get to build again.
  static Status MigrateAll(store::Database& db);

  // For a bulk load into an empty store: drop the secondary indexes, load, then build them in
  // one pass. Without the indexes ids are not checked for uniqueness, so only a loader that
  // builds them again (which then fails on a duplicate id) may do this.
  Status DropIndexesForLoad();
  Status BuildIndexes();
  Status BuildIndexes(store::Connection& conn);  // on a connection the loader holds

  // Runs `work` in one write transaction: every Put/Delete in it commits together with its
  // events, or none does. Rerun from the start when a concurrent writer got in between, so
  // `work` must be repeatable.
  Status Write(const std::function<Status(RecordWriter&)>& work);

  // The current version; NotFound when the record does not exist or is deleted.
  Result<RecordVersion> Read(std::string_view registry, std::string_view id);
  // The newest version whose valid_from is on or before `day`; NotFound when there is none or
  // it is a tombstone.
  Result<RecordVersion> ReadAsOf(std::string_view registry, std::string_view id, CivilDate day);
  // Every version, newest first; NotFound when the record never existed.
  Result<std::vector<RecordVersion>> History(std::string_view registry, std::string_view id);
  // Matching live records, one page, with the total count.
  Result<RecordPage> List(std::string_view registry, const RecordQuery& query);
  // Live records in `registry`.
  Result<int64_t> Count(std::string_view registry);

  // Inserts first versions in bulk inside `tx` (an open transaction): the initial load of a
  // synthetic country. No per-record events; the caller appends one event per batch. The rows'
  // strings are moved out; `actor` and `reason` apply to every row.
  Status Load(store::Connection& tx, std::string_view registry, std::span<LoadRow> rows,
              const std::string& actor, const std::string& reason);

  [[nodiscard]] store::Database& database() { return db_; }
  [[nodiscard]] store::Outbox& outbox() { return outbox_; }

 private:
  friend class RecordWriter;
  Result<std::vector<RecordVersion>> Select(store::Connection& conn, std::string_view registry,
                                            const RecordQuery& query, bool with_count,
                                            int64_t* total);
  static Result<int64_t> LiveCount(store::Connection& conn, std::string_view registry);

  store::Database& db_;
  const Clock& clock_;
  store::Outbox outbox_;
};

}  // namespace ulus::registry
