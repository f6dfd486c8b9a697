#include "ulus/registry/record_store.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <utility>

namespace ulus::registry {
namespace {

using nlohmann::json;
using store::Backend;
using store::Value;

// A write that lost a race reruns from the start; under contention on one record each rerun
// sees the winner's version, so a few attempts settle any realistic burst.
constexpr int kMaxWriteAttempts = 8;
constexpr std::chrono::milliseconds kRaceBackoff{2};
// Rows per INSERT statement in a bulk load: fewer statements to run, far below both backends'
// parameter limits.
constexpr size_t kLoadRowsPerStatement = 128;
constexpr size_t kLoadParamsPerRow = 4;

// The secondary indexes of record_version. A bulk load into an empty store drops them and builds
// them once at the end (far faster than updating them row by row); every open creates any that
// are missing, so a load that died half-way never leaves a store without them.
constexpr std::string_view kRecordIndexes =
    "CREATE UNIQUE INDEX IF NOT EXISTS record_version_key"
    " ON record_version (registry, record_id, version);"
    "CREATE INDEX IF NOT EXISTS record_version_subject ON record_version (registry, subject)"
    " WHERE subject IS NOT NULL;";
constexpr std::string_view kDropRecordIndexes =
    "DROP INDEX IF EXISTS record_version_key;"
    "DROP INDEX IF EXISTS record_version_subject;";

constexpr std::string_view kAddLive =
    "INSERT INTO registry_count (registry, live) VALUES ($1, $2) ON CONFLICT (registry) "
    "DO UPDATE SET live = registry_count.live + excluded.live";

constexpr std::string_view kColumns =
    "r.seq, r.registry, r.record_id, r.version, r.valid_from, r.recorded_at, r.actor, r.reason, "
    "r.deleted, r.subject, r.data";

constexpr std::string_view kInsert =
    "INSERT INTO record_version (registry, record_id, version, valid_from, recorded_at, actor, "
    "reason, deleted, is_current, subject, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, "
    "$10)";

RecordVersion FromRow(const store::Row& row) {
  return RecordVersion{.registry = row.Text(1),
                       .id = row.Text(2),
                       .version = row.Int(3),
                       .valid_from = row.Text(4),
                       .recorded_at = row.Int(5),
                       .actor = row.Text(6),
                       .reason = row.Text(7),
                       .deleted = row.Int(8) != 0,
                       .subject = row.OptionalText(9),
                       .data = row.Text(10)};
}

// SQLite's JSON path of a top-level field. Field names come from schemas, which never hold a
// quote or a backslash; refusing them keeps the path unambiguous.
Result<std::string> SqlitePath(std::string_view field) {
  if (field.find_first_of("\"\\") != std::string_view::npos) {
    return Error::InvalidArgument("field name '" + std::string(field) + "' is not allowed",
                                  "field");
  }
  return "$.\"" + std::string(field) + "\"";
}

// Builds a WHERE clause and its parameters in step, so placeholders always match their values.
class SqlBuilder {
 public:
  explicit SqlBuilder(Backend backend) : backend_(backend) {}

  std::string Param(Value v) {
    params_.push_back(std::move(v));
    return "$" + std::to_string(params_.size());
  }
  [[nodiscard]] bool postgres() const { return backend_ == Backend::kPostgres; }
  std::vector<Value>& params() { return params_; }

  // The expression of a top-level field as JSON (PostgreSQL) or as an SQL value (SQLite).
  Result<std::string> FieldValue(std::string_view field) {
    if (postgres()) return "(r.data::jsonb -> CAST(" + Param(std::string(field)) + " AS TEXT))";
    ULUS_ASSIGN_OR_RETURN(auto path, SqlitePath(field));
    return "json_extract(r.data, " + Param(std::move(path)) + ")";
  }

  Result<std::string> FieldText(std::string_view field) {
    if (postgres()) return "(r.data::jsonb ->> CAST(" + Param(std::string(field)) + " AS TEXT))";
    return FieldValue(field);
  }

  std::string Contains(const std::string& haystack, const std::string& needle) {
    return postgres() ? "strpos(" + haystack + ", " + Param(needle) + ") > 0"
                      : "instr(" + haystack + ", " + Param(needle) + ") > 0";
  }

  Result<std::string> Condition(const RecordFilter& f) {
    using Target = RecordFilter::Target;
    if (f.op == RecordFilter::Op::kContains) {
      if (!f.value.is_string()) return Error::InvalidArgument("a search term must be text");
      const auto needle = f.value.get<std::string>();
      switch (f.target) {
        case Target::kRecordId: return Contains("r.record_id", needle);
        case Target::kSubject: return Contains("r.subject", needle);
        case Target::kField: {
          ULUS_ASSIGN_OR_RETURN(auto text, FieldText(f.field));
          return Contains(text, needle);
        }
        case Target::kAnyText:
          if (postgres()) {
            return "EXISTS (SELECT 1 FROM jsonb_each(r.data::jsonb) j WHERE "
                   "jsonb_typeof(j.value) = 'string' AND " +
                   Contains("(j.value #>> '{}')", needle) + ")";
          }
          return "EXISTS (SELECT 1 FROM json_each(r.data) j WHERE j.type = 'text' AND " +
                 Contains("j.value", needle) + ")";
      }
    }
    switch (f.target) {
      case Target::kRecordId:
      case Target::kSubject: {
        if (!f.value.is_string()) return std::string("1 = 0");  // ids are text: nothing matches
        const char* column = f.target == Target::kRecordId ? "r.record_id" : "r.subject";
        return std::string(column) + " = " + Param(f.value.get<std::string>());
      }
      case Target::kAnyText:
        return Error::InvalidArgument("a search over every field cannot test equality");
      case Target::kField: break;
    }
    if (!f.value.is_primitive()) {
      return Error::InvalidArgument("field '" + f.field + "' cannot be matched on a list or object",
                                    f.field);
    }
    if (postgres()) {
      ULUS_ASSIGN_OR_RETURN(auto value, FieldValue(f.field));
      return value + " = CAST(" + Param(f.value.dump()) + " AS jsonb)";
    }
    ULUS_ASSIGN_OR_RETURN(auto path, SqlitePath(f.field));
    if (f.value.is_null()) return "json_type(r.data, " + Param(std::move(path)) + ") = 'null'";
    ULUS_ASSIGN_OR_RETURN(auto value, FieldValue(f.field));
    // json_extract gives strings as text, integers and booleans as integers, reals as reals; a
    // value of another type never compares equal.
    Value bound;
    if (f.value.is_string()) {
      bound = f.value.get<std::string>();
    } else if (f.value.is_boolean()) {
      bound = int64_t{f.value.get<bool>() ? 1 : 0};
      // Booleans and integers both come back as integers: check the JSON type too.
      return "(" + value + " = " + Param(std::move(bound)) + " AND json_type(r.data, " +
             Param(*SqlitePath(f.field)) + ") IN ('true', 'false'))";
    } else if (f.value.is_number_integer()) {
      bound = f.value.get<int64_t>();
    } else {
      bound = f.value.get<double>();
    }
    return value + " = " + Param(std::move(bound));
  }

 private:
  Backend backend_;
  std::vector<Value> params_;
};

json EventPayload(const RecordVersion& v) {
  return json{{"registry", v.registry}, {"id", v.id},         {"version", v.version},
              {"actor", v.actor},       {"reason", v.reason}, {"valid_from", v.valid_from}};
}

}  // namespace

// ---------------------------------------------------------------------------------------------

RecordStore::RecordStore(store::Database& db, const Clock& clock)
    : db_(db), clock_(clock), outbox_(db, clock) {}

const std::vector<store::Migration>& RecordStore::Migrations() {
  // One table for every registry of the store: the registry's name is a column, so a registry
  // added at run time needs no DDL. The key serves reads of one record and listings in id order
  // and rejects a second writer of the same version; the subject index finds everything about one
  // citizen. registry_count keeps each registry's number of live records, which listings report
  // on every page and which counting rows would make slow for a registry of millions.
  static const std::string kRest =
      " registry TEXT NOT NULL,"
      " record_id TEXT NOT NULL,"
      " version BIGINT NOT NULL,"
      " valid_from TEXT NOT NULL,"
      " recorded_at BIGINT NOT NULL,"
      " actor TEXT NOT NULL,"
      " reason TEXT NOT NULL,"
      " deleted INTEGER NOT NULL,"
      " is_current INTEGER NOT NULL,"
      " subject TEXT,"
      " data TEXT NOT NULL);"
      "CREATE TABLE registry_count (registry TEXT PRIMARY KEY, live BIGINT NOT NULL);" +
      std::string(kRecordIndexes);
  static const std::string kSchemaRest =
      " name TEXT NOT NULL,"
      " version TEXT NOT NULL,"
      " document TEXT NOT NULL,"
      " deleted INTEGER NOT NULL,"
      " recorded_at BIGINT NOT NULL,"
      " actor TEXT NOT NULL);"
      "CREATE INDEX registry_schema_name ON registry_schema (name, seq);"
      "CREATE TABLE registry_seed ("
      " pack TEXT NOT NULL,"
      " seed BIGINT NOT NULL,"
      " people BIGINT NOT NULL,"
      " records BIGINT NOT NULL,"
      " started_at BIGINT NOT NULL,"
      " finished_at BIGINT NOT NULL);";
  static const std::vector<store::Migration> steps = {
      {.version = 1,
       .name = "record versions",
       .sql = "CREATE TABLE record_version (seq INTEGER PRIMARY KEY," + kRest,
       .postgres =
           "CREATE TABLE record_version (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY," +
           kRest},
      {.version = 2,
       .name = "registry schemas and seeding runs",
       .sql = "CREATE TABLE registry_schema (seq INTEGER PRIMARY KEY," + kSchemaRest,
       .postgres =
           "CREATE TABLE registry_schema (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY," +
           kSchemaRest},
  };
  return steps;
}

Status RecordStore::MigrateAll(store::Database& db) {
  ULUS_TRY(store::Migrate(db, "outbox", store::Outbox::Migrations()));
  ULUS_TRY(store::Migrate(db, "registry", Migrations()));
  ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
  return conn->ExecuteScript(kRecordIndexes);
}

Status RecordStore::DropIndexesForLoad() {
  ULUS_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  return conn->ExecuteScript(kDropRecordIndexes);
}

Status RecordStore::BuildIndexes() {
  ULUS_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  return BuildIndexes(*conn);
}

Status RecordStore::BuildIndexes(store::Connection& conn) {
  if (conn.backend() != Backend::kSqlite) return conn.ExecuteScript(kRecordIndexes);
  // SQLite sorts each index's keys within cache_size and spills to temporary files beyond it:
  // give the sort room and helper threads, then set the connection back as it was.
  ULUS_ASSIGN_OR_RETURN(const int64_t cache, conn.QueryInt("PRAGMA cache_size"));
  ULUS_TRY(
      conn.ExecuteScript("PRAGMA cache_size=-2097152; PRAGMA temp_store=MEMORY; "
                         "PRAGMA threads=2;"));
  Status built = conn.ExecuteScript(kRecordIndexes);
  Status restored = conn.ExecuteScript("PRAGMA cache_size=" + std::to_string(cache) +
                                       "; PRAGMA temp_store=DEFAULT; PRAGMA threads=0;");
  return built.ok() ? restored : built;
}

Status RecordStore::Write(const std::function<Status(RecordWriter&)>& work) {
  for (int attempt = 1;; ++attempt) {
    bool lost_race = false;
    Status status = db_.InTransaction([&](store::Connection& tx) -> Status {
      RecordWriter writer(*this, tx);
      Status s = work(writer);
      lost_race = writer.lost_race_;
      return s;
    });
    if (status.ok() || !lost_race) return status;
    if (attempt == kMaxWriteAttempts) {
      return Error::Conflict("the record kept changing under concurrent writes; try again");
    }
    std::this_thread::sleep_for(kRaceBackoff * attempt);
  }
}

Result<RecordVersion> RecordStore::Read(std::string_view registry, std::string_view id) {
  ULUS_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  const Value params[] = {std::string(registry), std::string(id)};
  ULUS_ASSIGN_OR_RETURN(
      auto rows, conn->Query("SELECT " + std::string(kColumns) +
                                 " FROM record_version r WHERE r.registry = $1 AND r.record_id = "
                                 "$2 AND r.is_current = 1",
                             params));
  if (rows.empty() || rows.front().Int(8) != 0) {
    return Error::NotFound("registry '" + std::string(registry) + "' has no record '" +
                           std::string(id) + "'");
  }
  return FromRow(rows.front());
}

Result<RecordVersion> RecordStore::ReadAsOf(std::string_view registry, std::string_view id,
                                            CivilDate day) {
  ULUS_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  const std::string date = FormatIsoDate(day);
  const Value params[] = {std::string(registry), std::string(id), date};
  ULUS_ASSIGN_OR_RETURN(
      auto rows,
      conn->Query("SELECT " + std::string(kColumns) +
                      " FROM record_version r WHERE r.registry = $1 AND r.record_id = $2 AND "
                      "r.valid_from <= $3 ORDER BY r.version DESC LIMIT 1",
                  params));
  if (rows.empty() || rows.front().Int(8) != 0) {
    return Error::NotFound("registry '" + std::string(registry) + "' had no record '" +
                           std::string(id) + "' on " + date);
  }
  return FromRow(rows.front());
}

Result<std::vector<RecordVersion>> RecordStore::History(std::string_view registry,
                                                        std::string_view id) {
  ULUS_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  const Value params[] = {std::string(registry), std::string(id)};
  ULUS_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT " + std::string(kColumns) +
                                                   " FROM record_version r WHERE r.registry = $1 "
                                                   "AND r.record_id = $2 ORDER BY r.version DESC",
                                               params));
  if (rows.empty()) {
    return Error::NotFound("registry '" + std::string(registry) + "' has no record '" +
                           std::string(id) + "'");
  }
  std::vector<RecordVersion> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(FromRow(row));
  return out;
}

Result<std::vector<RecordVersion>> RecordStore::Select(store::Connection& conn,
                                                       std::string_view registry,
                                                       const RecordQuery& query, bool with_count,
                                                       int64_t* total) {
  SqlBuilder sql(conn.backend());
  std::string where =
      " FROM record_version r WHERE r.registry = " + sql.Param(std::string(registry));
  if (query.as_of) {
    const std::string day = sql.Param(FormatIsoDate(*query.as_of));
    where += " AND r.valid_from <= " + day +
             " AND r.deleted = 0 AND r.version = (SELECT MAX(o.version) FROM record_version o "
             "WHERE o.registry = r.registry AND o.record_id = r.record_id AND o.valid_from <= " +
             day + ")";
  } else {
    where += " AND r.is_current = 1 AND r.deleted = 0";
  }
  for (const auto& filter : query.filters) {
    ULUS_ASSIGN_OR_RETURN(auto condition, sql.Condition(filter));
    where += " AND " + condition;
  }
  if (with_count && query.filters.empty() && !query.as_of) {
    ULUS_ASSIGN_OR_RETURN(*total, LiveCount(conn, registry));
  } else if (with_count) {
    ULUS_ASSIGN_OR_RETURN(*total, conn.QueryInt("SELECT COUNT(*)" + where, sql.params()));
  }
  const char* direction = query.descending ? " DESC" : " ASC";
  std::string order = " ORDER BY ";
  if (!query.order_field.empty()) {
    ULUS_ASSIGN_OR_RETURN(auto value, sql.FieldValue(query.order_field));
    // Both backends put records without the field last, whatever the direction.
    order += value + direction + " NULLS LAST, ";
  }
  // Everything about one citizen is a handful of rows found by the subject index; ordering them
  // by a plain r.record_id would make SQLite walk the registry's key index in order instead
  // (seconds at millions of records). An expression cannot use that index, so the few rows are
  // sorted after the lookup.
  const bool by_subject =
      std::any_of(query.filters.begin(), query.filters.end(), [](const RecordFilter& f) {
        return f.target == RecordFilter::Target::kSubject && f.op == RecordFilter::Op::kEquals;
      });
  order += std::string(by_subject ? "(r.record_id || '')" : "r.record_id") + direction;
  const std::string page = " LIMIT " + sql.Param(std::max<int64_t>(query.limit, 0)) + " OFFSET " +
                           sql.Param(std::max<int64_t>(query.offset, 0));
  ULUS_ASSIGN_OR_RETURN(
      auto rows,
      conn.Query("SELECT " + std::string(kColumns) + where + order + page, sql.params()));
  std::vector<RecordVersion> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(FromRow(row));
  return out;
}

Result<RecordPage> RecordStore::List(std::string_view registry, const RecordQuery& query) {
  ULUS_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  RecordPage page;
  ULUS_ASSIGN_OR_RETURN(page.records, Select(*conn, registry, query, query.count, &page.total));
  return page;
}

Result<int64_t> RecordStore::Count(std::string_view registry) {
  ULUS_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  return LiveCount(*conn, registry);
}

Result<int64_t> RecordStore::LiveCount(store::Connection& conn, std::string_view registry) {
  const Value params[] = {std::string(registry)};
  return conn.QueryInt("SELECT COALESCE((SELECT live FROM registry_count WHERE registry = $1), 0)",
                       params);
}

Status RecordStore::Load(store::Connection& tx, std::string_view registry, std::span<LoadRow> rows,
                         const std::string& actor, const std::string& reason) {
  if (!tx.InTransaction()) {
    return Error{ErrorCode::kFailedPrecondition, "RecordStore::Load runs inside a transaction", {}};
  }
  // Shared values are parameters $1..$4; each row adds its id, valid_from, subject and data.
  auto statement = [](size_t count) {
    std::string sql =
        "INSERT INTO record_version (registry, record_id, version, valid_from, recorded_at, "
        "actor, reason, deleted, is_current, subject, data) VALUES ";
    for (size_t i = 0; i < count; ++i) {
      const size_t p = 5 + kLoadParamsPerRow * i;
      if (i > 0) sql += ", ";
      sql += "($1, $" + std::to_string(p) + ", 1, $" + std::to_string(p + 1) +
             ", $2, $3, $4, 0, 1, $" + std::to_string(p + 2) + ", $" + std::to_string(p + 3) + ")";
    }
    return sql;
  };
  static const std::string kFull = statement(kLoadRowsPerStatement);
  static const std::string kOne = statement(1);

  const int64_t now = ToUnixMicros(clock_.Now());
  std::vector<Value> params;
  params.reserve(4 + kLoadParamsPerRow * kLoadRowsPerStatement);
  size_t i = 0;
  while (i < rows.size()) {
    const size_t n = rows.size() - i >= kLoadRowsPerStatement ? kLoadRowsPerStatement : 1;
    params.clear();
    params.emplace_back(std::string(registry));
    params.emplace_back(now);
    params.emplace_back(actor);
    params.emplace_back(reason);
    for (size_t k = 0; k < n; ++k) {
      LoadRow& row = rows[i + k];
      params.emplace_back(std::move(row.id));
      params.emplace_back(std::move(row.valid_from));
      if (row.subject) {
        params.emplace_back(std::move(*row.subject));
      } else {
        params.emplace_back(std::monostate{});
      }
      params.emplace_back(std::move(row.data));
    }
    ULUS_TRY(tx.Execute(n == 1 ? kOne : kFull, params));
    i += n;
  }
  const Value count[] = {std::string(registry), static_cast<int64_t>(rows.size())};
  ULUS_TRY(tx.Execute(kAddLive, count));
  return Ok();
}

// ---------------------------------------------------------------------------------------------

std::string RecordWriter::Key(std::string_view registry, std::string_view id) {
  std::string key(registry);
  key += '\0';
  key += id;
  return key;
}

Result<RecordVersion> RecordWriter::Current(std::string_view registry, std::string_view id) {
  const Value params[] = {std::string(registry), std::string(id)};
  if (tx_.backend() == Backend::kPostgres) {
    // Writers of one record queue here until the transaction ends, so the read below sees the
    // latest committed version and the write rarely loses a race (READ COMMITTED would let two
    // writers read the same version; the conditional flip in Append catches what gets past).
    // SQLite needs no lock: BEGIN IMMEDIATE already admits one writer at a time.
    ULUS_TRY(tx_.Query(
        "SELECT pg_advisory_xact_lock(hashtext(CAST($1 AS TEXT)), hashtext(CAST($2 AS TEXT)))",
        params));
  }
  ULUS_ASSIGN_OR_RETURN(auto rows, tx_.Query("SELECT " + std::string(kColumns) +
                                                 " FROM record_version r WHERE r.registry = $1 "
                                                 "AND r.record_id = $2 AND r.is_current = 1",
                                             params));
  if (rows.empty()) {
    seen_[Key(registry, id)] = std::nullopt;
    return Error::NotFound("registry '" + std::string(registry) + "' has no record '" +
                           std::string(id) + "'");
  }
  RecordVersion v = FromRow(rows.front());
  seen_[Key(registry, id)] = v;
  return v;
}

Result<std::optional<RecordVersion>> RecordWriter::Seen(std::string_view registry,
                                                        std::string_view id) {
  if (auto it = seen_.find(Key(registry, id)); it != seen_.end()) return it->second;
  auto current = Current(registry, id);
  if (current.ok()) return std::optional<RecordVersion>(std::move(current).value());
  if (current.error().code == ErrorCode::kNotFound) return std::optional<RecordVersion>();
  return std::move(current).error();
}

Result<std::vector<RecordVersion>> RecordWriter::Find(std::string_view registry,
                                                      const RecordQuery& query) {
  if (query.as_of) return Error::InvalidArgument("a write cannot select records as of a past day");
  ULUS_ASSIGN_OR_RETURN(auto found, store_.Select(tx_, registry, query, false, nullptr));
  for (const auto& v : found) seen_[Key(registry, v.id)] = v;
  return found;
}

Result<RecordVersion> RecordWriter::Put(std::string_view registry, std::string_view id,
                                        std::optional<std::string> subject, std::string data,
                                        const Change& change, Expect expect) {
  RecordVersion previous;
  ULUS_ASSIGN_OR_RETURN(auto seen, Seen(registry, id));
  const bool had_previous = seen.has_value();
  if (had_previous) previous = std::move(*seen);
  const bool live = had_previous && !previous.deleted;
  if (expect == Expect::kNew && live) {
    return Error{
        ErrorCode::kAlreadyExists,
        "registry '" + std::string(registry) + "' already has a record '" + std::string(id) + "'",
        "id"};
  }
  if (expect == Expect::kExisting && !live) {
    return Error::NotFound("registry '" + std::string(registry) + "' has no record '" +
                           std::string(id) + "'");
  }
  RecordVersion next{.registry = std::string(registry),
                     .id = std::string(id),
                     .version = had_previous ? previous.version + 1 : 1,
                     .valid_from = FormatIsoDate(change.valid_from),
                     .recorded_at = 0,
                     .actor = change.actor,
                     .reason = change.reason,
                     .deleted = false,
                     .subject = std::move(subject),
                     .data = std::move(data)};
  const bool created = !live;
  auto written = Append(previous, had_previous, std::move(next), created ? "created" : "updated");
  if (!written.ok() && written.error().code == ErrorCode::kAlreadyExists) {
    // Another transaction wrote this version first. A create that collides with a concurrent
    // create is a plain duplicate; anything else reruns and builds on the winner's version.
    if (expect == Expect::kNew) {
      return Error{
          ErrorCode::kAlreadyExists,
          "registry '" + std::string(registry) + "' already has a record '" + std::string(id) + "'",
          "id"};
    }
    lost_race_ = true;
    return Error::Conflict("a concurrent write got in first");
  }
  return written;
}

Result<RecordVersion> RecordWriter::Delete(std::string_view registry, std::string_view id,
                                           const Change& change) {
  ULUS_ASSIGN_OR_RETURN(auto seen, Seen(registry, id));
  if (!seen) {
    return Error::NotFound("registry '" + std::string(registry) + "' has no record '" +
                           std::string(id) + "'");
  }
  const RecordVersion previous = std::move(*seen);
  if (previous.deleted) {
    return Error::NotFound("registry '" + std::string(registry) + "' has no record '" +
                           std::string(id) + "' (it was deleted)");
  }
  RecordVersion next = previous;
  next.version = previous.version + 1;
  next.valid_from = FormatIsoDate(change.valid_from);
  next.actor = change.actor;
  next.reason = change.reason;
  next.deleted = true;
  auto written = Append(previous, true, std::move(next), "deleted");
  if (!written.ok() && written.error().code == ErrorCode::kAlreadyExists) {
    lost_race_ = true;
    return Error::Conflict("a concurrent write got in first");
  }
  return written;
}

Result<RecordVersion> RecordWriter::Append(const RecordVersion& previous, bool had_previous,
                                           RecordVersion next, std::string_view event) {
  if (had_previous) {
    // The condition on is_current makes a racing writer (PostgreSQL, READ COMMITTED) that read
    // the same version change nothing once the winner commits; it then reruns.
    const Value flip[] = {previous.registry, previous.id, previous.version};
    ULUS_ASSIGN_OR_RETURN(
        const int64_t flipped,
        tx_.Execute("UPDATE record_version SET is_current = 0 WHERE registry = $1 AND "
                    "record_id = $2 AND version = $3 AND is_current = 1",
                    flip));
    if (flipped != 1) {
      lost_race_ = true;
      return Error::Conflict("a concurrent write got in first");
    }
  }
  next.recorded_at = ToUnixMicros(store_.clock_.Now());
  const Value params[] = {next.registry,
                          next.id,
                          next.version,
                          next.valid_from,
                          next.recorded_at,
                          next.actor,
                          next.reason,
                          int64_t{next.deleted ? 1 : 0},
                          next.subject ? Value(*next.subject) : Value(std::monostate{}),
                          next.data};
  ULUS_TRY(tx_.Execute(kInsert, params));
  const int64_t live_change = (next.deleted ? 0 : 1) - (had_previous && !previous.deleted ? 1 : 0);
  if (live_change != 0) {
    const Value count[] = {next.registry, live_change};
    ULUS_TRY(tx_.Execute(kAddLive, count));
  }
  ULUS_TRY(store_.outbox_.Append(tx_, "registry." + next.registry + "." + std::string(event),
                                 next.id, EventPayload(next).dump()));
  seen_[Key(next.registry, next.id)] = next;
  return next;
}

}  // namespace ulus::registry
