#include <sqlite3.h>

#include <atomic>
#include <climits>
#include <memory>
#include <string>
#include <vector>

#include "backend.hpp"
#include "lru_cache.hpp"
#include "pool.hpp"
#include "wal_vfs.hpp"

namespace ulus::store {
namespace {

// Prepared statements kept per connection. Ulus issues a few dozen distinct statements; the
// bound only protects against code that builds SQL text on the fly.
constexpr size_t kStatementCacheSize = 256;
constexpr std::string_view kMemoryPath = ":memory:";

struct StatementDeleter {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};

struct Statement {
  std::unique_ptr<sqlite3_stmt, StatementDeleter> handle;
  std::vector<int> param_index;  // param_index[n - 1] is SQLite's index of parameter $n
};

// Maps a SQLite result code (extended codes are on) to an Error. The message is SQLite's own, which
// names the constraint or the table at fault.
Error SqliteError(sqlite3* db, int rc) {
  std::string message = sqlite3_errmsg(db);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return RetryableError(Error::Unavailable("the SQLite database is locked by another writer (" +
                                               message +
                                               "); it held the lock longer than busy_timeout"));
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY ||
          rc == SQLITE_CONSTRAINT_ROWID) {
        return Error{ErrorCode::kAlreadyExists, std::move(message), {}};
      }
      return Error::InvalidArgument(std::move(message));
    case SQLITE_MISMATCH:
    case SQLITE_RANGE: return Error::InvalidArgument(std::move(message));
    case SQLITE_TOOBIG: return Error{ErrorCode::kTooLarge, std::move(message), {}};
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Error::Unavailable("SQLite storage failure: " + message);
    default: return Error::Internal("SQLite: " + message);
  }
}

// SQLite's own automatic checkpoint threshold, in WAL pages.
constexpr int kCommitCheckpointPages = 1000;
// With checkpoints deferred to the writer: due at this many pages not yet copied back. Small, so
// that each copy is a short pause for the batches queued behind it: on Khur's nodes 2,000 pages
// gave a p99 at half load of 34-39 ms, 500 pages 20 ms, 250 pages 17 ms, for the same rate.
constexpr int kDeferredCheckpointPages = 250;
// A commit still checkpoints itself past this, in case the writer stopped calling; it also bounds
// the log of a database whose group commit is idle while other writers go on (an identity store
// with no refresh rotations for a while): 32 MB.
constexpr int kDeferredSafetyPages = 8000;

// What every connection of one database file knows about its write-ahead log. Commits report
// the log's length through the WAL hook; a checkpoint records how much of it has been copied back
// into the database file. The log restarts from the beginning (its length drops) once a writer
// finds it fully copied and no reader still in it.
struct WalState {
  std::atomic<int> frames{0};
  std::atomic<int> backfilled{0};
  std::atomic<int> commit_checkpoint_pages{kCommitCheckpointPages};
  [[nodiscard]] int Pending() const {
    return frames.load(std::memory_order_relaxed) - backfilled.load(std::memory_order_relaxed);
  }
};

// Replaces SQLite's automatic checkpoint (itself a WAL hook), which copies the log back inside
// whichever commit crosses 1,000 pages. A failed checkpoint here is not the commit's failure:
// the commit is already durable, and the next one tries again.
int OnWalCommit(void* arg, sqlite3* db, const char* schema, int frames) {
  auto& wal = *static_cast<WalState*>(arg);
  wal.frames.store(frames, std::memory_order_relaxed);
  if (frames < wal.backfilled.load(std::memory_order_relaxed)) {
    wal.backfilled.store(0, std::memory_order_relaxed);  // the log restarted
  }
  if (wal.Pending() >= wal.commit_checkpoint_pages.load(std::memory_order_relaxed)) {
    int log = 0;
    int copied = 0;
    if (sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, &log, &copied) ==
        SQLITE_OK) {
      wal.backfilled.store(copied, std::memory_order_relaxed);
    }
  }
  return SQLITE_OK;
}

// One SQLite connection with its statement cache. Not thread-safe (opened SQLITE_OPEN_NOMUTEX):
// the pool lends it to one thread at a time.
class SqliteConnection final : public BackendConnection {
 public:
  SqliteConnection(sqlite3* db, std::shared_ptr<WalState> wal)
      : db_(db), wal_(std::move(wal)), cache_(kStatementCacheSize) {}
  ~SqliteConnection() override {
    cache_.Clear();  // statements must be finalized before the connection closes
    sqlite3_close_v2(db_);
  }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  static Result<std::unique_ptr<BackendConnection>> Open(const std::string& path,
                                                         std::chrono::milliseconds busy_timeout,
                                                         std::shared_ptr<WalState> wal);

  // A passive checkpoint: copies what no reader still needs, never waits. Busy means another
  // connection (or process) is checkpointing right now, which does the same work.
  Status Checkpoint() {
    int log = 0;
    int copied = 0;
    const int rc =
        sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    if ((rc & 0xff) == SQLITE_BUSY) return Ok();
    if (rc != SQLITE_OK) return SqliteError(db_, rc);
    wal_->frames.store(log, std::memory_order_relaxed);
    wal_->backfilled.store(copied, std::memory_order_relaxed);
    return Ok();
  }

  Result<int64_t> Execute(std::string_view sql, std::span<const Value> params) override {
    return Run(sql, params, nullptr);
  }

  Result<std::vector<Row>> Query(std::string_view sql, std::span<const Value> params) override {
    std::vector<Row> rows;
    ULUS_TRY(Run(sql, params, &rows));
    return rows;
  }

  Status ExecuteScript(std::string_view sql) override {
    const std::string text(sql);  // sqlite3_exec wants a terminated string
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, sqlite3_extended_errcode(db_));
    return Ok();
  }

  Status Begin() override {
    if (InTransaction()) return TransactionAlreadyOpen();
    // IMMEDIATE takes the write lock now: two deferred transactions that both try to upgrade
    // from reading to writing would deadlock, and SQLite would fail one without waiting.
    return Command("BEGIN IMMEDIATE");
  }

  Status Commit() override {
    if (!InTransaction()) return NoTransactionOpen();
    return Command("COMMIT");
  }

  Status Rollback() override {
    if (!InTransaction()) return NoTransactionOpen();
    return Command("ROLLBACK");
  }

  // SQLite rolls back by itself after some errors (a full disk, for one), so ask it.
  [[nodiscard]] bool InTransaction() const override { return sqlite3_get_autocommit(db_) == 0; }
  [[nodiscard]] Backend backend() const override { return Backend::kSqlite; }
  [[nodiscard]] bool Healthy() const override { return true; }

 private:
  Result<Statement*> Prepare(std::string_view sql);
  Status Bind(const Statement& statement, std::span<const Value> params);
  Result<int64_t> Run(std::string_view sql, std::span<const Value> params, std::vector<Row>* rows);
  Status Command(std::string_view sql) {
    ULUS_TRY(Run(sql, {}, nullptr));
    return Ok();
  }
  static Row ReadRow(sqlite3_stmt* stmt);

  sqlite3* db_;
  std::shared_ptr<WalState> wal_;  // the database's; outlives the hook installed with it
  LruCache<Statement> cache_;
};

Result<std::unique_ptr<BackendConnection>> SqliteConnection::Open(
    const std::string& path, std::chrono::milliseconds busy_timeout,
    std::shared_ptr<WalState> wal) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  // A file's WAL goes through the buffering VFS: a commit's frames in one write (wal_vfs.hpp).
  const char* vfs = path == kMemoryPath ? nullptr : WalBufferingVfsName();
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, vfs);
  if (rc != SQLITE_OK) {
    const std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Error::Unavailable("cannot open SQLite database '" + path + "': " + message);
  }
  auto conn = std::make_unique<SqliteConnection>(db, std::move(wal));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(std::min<int64_t>(busy_timeout.count(), INT_MAX)));
  if (path != kMemoryPath) {
    // WAL lets readers run beside the writer; with synchronous=FULL a returned commit has been
    // fsynced. The mode is stored in the file, so asking again on later connections is cheap.
    ULUS_ASSIGN_OR_RETURN(auto row, conn->QueryOne("PRAGMA journal_mode=WAL"));
    if (row.size() != 1 || row.Text(0) != "wal") {
      return Error::Unavailable("SQLite database '" + path + "' cannot use WAL mode");
    }
  }
  ULUS_TRY(conn->ExecuteScript("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  if (path != kMemoryPath) sqlite3_wal_hook(db, OnWalCommit, conn->wal_.get());
  return std::unique_ptr<BackendConnection>(std::move(conn));
}

Result<Statement*> SqliteConnection::Prepare(std::string_view sql) {
  if (Statement* cached = cache_.Find(sql)) return cached;
  if (sql.size() >= INT_MAX) return Error{ErrorCode::kTooLarge, "SQL text is too long", {}};

  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &raw, &tail);
  if (rc != SQLITE_OK) return SqliteError(db_, rc);
  if (raw == nullptr) return Error::InvalidArgument("the SQL text holds no statement");
  Statement statement;
  statement.handle.reset(raw);

  // A second statement would be silently ignored; only comments and spaces may follow.
  const auto rest = static_cast<size_t>(tail - sql.data());
  if (rest < sql.size()) {
    sqlite3_stmt* next = nullptr;
    rc = sqlite3_prepare_v2(db_, tail, static_cast<int>(sql.size() - rest), &next, nullptr);
    sqlite3_finalize(next);
    if (rc != SQLITE_OK || next != nullptr) {
      return Error::InvalidArgument(
          "Execute and Query run one statement; use ExecuteScript for several");
    }
  }

  const int count = sqlite3_bind_parameter_count(raw);
  statement.param_index.reserve(static_cast<size_t>(count));
  for (int n = 1; n <= count; ++n) {
    const std::string name = "$" + std::to_string(n);
    const int index = sqlite3_bind_parameter_index(raw, name.c_str());
    if (index == 0) {
      return Error::InvalidArgument("SQL parameters must be numbered $1, $2, ... without gaps; " +
                                    name + " is missing");
    }
    statement.param_index.push_back(index);
  }

  cache_.Insert(std::string(sql), std::move(statement));  // an evicted statement is finalized
  return cache_.Find(sql);
}

Status SqliteConnection::Bind(const Statement& statement, std::span<const Value> params) {
  if (params.size() != statement.param_index.size()) {
    return Error::InvalidArgument(
        "the statement takes " + std::to_string(statement.param_index.size()) + " parameters but " +
        std::to_string(params.size()) + " were given");
  }
  sqlite3_stmt* stmt = statement.handle.get();
  for (size_t i = 0; i < params.size(); ++i) {
    const int index = statement.param_index[i];
    // SQLITE_STATIC: the values outlive the statement's use, which ends with the reset in Run.
    const int rc = std::visit(
        [&](const auto& v) -> int {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            return sqlite3_bind_null(stmt, index);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            return sqlite3_bind_int64(stmt, index, v);
          } else if constexpr (std::is_same_v<T, double>) {
            return sqlite3_bind_double(stmt, index, v);
          } else if constexpr (std::is_same_v<T, std::string>) {
            return sqlite3_bind_text64(stmt, index, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
          } else {
            // A null pointer would bind NULL, not an empty blob.
            if (v.bytes.empty()) return sqlite3_bind_zeroblob(stmt, index, 0);
            return sqlite3_bind_blob64(stmt, index, v.bytes.data(), v.bytes.size(), SQLITE_STATIC);
          }
        },
        params[i]);
    if (rc != SQLITE_OK) return SqliteError(db_, rc);
  }
  return Ok();
}

Result<int64_t> SqliteConnection::Run(std::string_view sql, std::span<const Value> params,
                                      std::vector<Row>* rows) {
  ULUS_ASSIGN_OR_RETURN(Statement * statement, Prepare(sql));
  sqlite3_stmt* stmt = statement->handle.get();
  // A statement left unreset keeps its read snapshot open and blocks WAL checkpoints.
  struct ResetOnExit {
    sqlite3_stmt* stmt;
    ~ResetOnExit() {
      sqlite3_reset(stmt);
      sqlite3_clear_bindings(stmt);
    }
  } reset{stmt};

  ULUS_TRY(Bind(*statement, params));
  int rc = SQLITE_OK;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (rows != nullptr) rows->push_back(ReadRow(stmt));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc);
  if (sqlite3_stmt_readonly(stmt) != 0) return int64_t{0};
  return static_cast<int64_t>(sqlite3_changes64(db_));
}

Row SqliteConnection::ReadRow(sqlite3_stmt* stmt) {
  const int count = sqlite3_column_count(stmt);
  std::vector<Value> values;
  values.reserve(static_cast<size_t>(count));
  for (int c = 0; c < count; ++c) {
    switch (sqlite3_column_type(stmt, c)) {
      case SQLITE_INTEGER:
        values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt, c)));
        break;
      case SQLITE_FLOAT: values.emplace_back(sqlite3_column_double(stmt, c)); break;
      case SQLITE_TEXT: {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
        const auto size = static_cast<size_t>(sqlite3_column_bytes(stmt, c));
        values.emplace_back(std::string(text, size));
        break;
      }
      case SQLITE_BLOB: {
        const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt, c));
        const auto size = static_cast<size_t>(sqlite3_column_bytes(stmt, c));
        Blob blob;
        if (size > 0) blob.bytes.assign(data, data + size);
        values.emplace_back(std::move(blob));
        break;
      }
      default: values.emplace_back(std::monostate{}); break;
    }
  }
  return Row(std::move(values));
}

// SQLite databases: a file shared by a pool of connections, or a private in-memory database.
class SqliteDatabase final : public PooledDatabase {
 public:
  SqliteDatabase(const DatabaseOptions& options, std::string path)
      : PooledDatabase(Backend::kSqlite, options),
        path_(std::move(path)),
        busy_timeout_(options.busy_timeout) {}

  void DeferCheckpoints() override {
    wal_->commit_checkpoint_pages.store(kDeferredSafetyPages, std::memory_order_relaxed);
  }

  Status CheckpointIfDue() override {
    if (wal_->Pending() < kDeferredCheckpointPages) return Ok();
    ULUS_ASSIGN_OR_RETURN(auto conn, Acquire());
    return static_cast<SqliteConnection&>(*conn).Checkpoint();
  }

 protected:
  Result<std::unique_ptr<BackendConnection>> Connect() override {
    return SqliteConnection::Open(path_, busy_timeout_, wal_);
  }

 private:
  const std::string path_;
  const std::chrono::milliseconds busy_timeout_;
  const std::shared_ptr<WalState> wal_ = std::make_shared<WalState>();
};

}  // namespace

Result<std::unique_ptr<Database>> OpenSqlite(const DatabaseOptions& options) {
  const std::string path = options.url.substr(std::string_view("sqlite:").size());
  if (path.empty()) {
    return Error::InvalidArgument(
        "the SQLite URL names no file; use sqlite:/path/to/file.db or sqlite::memory:",
        "database-url");
  }
  if (sqlite3_threadsafe() == 0) {
    return Error::Internal("this SQLite library was built without thread support");
  }
  DatabaseOptions effective = options;
  // Each connection to ":memory:" is a database of its own, so an in-memory database is one
  // connection that callers take turns with.
  if (path == kMemoryPath) effective.max_connections = 1;
  auto db = std::make_unique<SqliteDatabase>(effective, path);
  ULUS_TRY(db->Start());
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace ulus::store
