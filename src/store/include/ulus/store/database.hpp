#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ulus/core/result.hpp"

namespace ulus::store {

enum class Backend { kSqlite, kPostgres };

// Bytes stored as BLOB (SQLite) or BYTEA (PostgreSQL).
struct Blob {
  std::vector<uint8_t> bytes;
  bool operator==(const Blob&) const = default;
};

// A parameter or column value. Text is UTF-8; integers are 64-bit; timestamps are stored as
// integer microseconds since the Unix epoch so both backends compare and sort them alike.
using Value = std::variant<std::monostate, int64_t, double, std::string, Blob>;

// One result row. Columns are addressed by position, in the SELECT's order. Accessors assert on
// a type mismatch: the SQL and the code that reads it live side by side and must agree. The one
// leniency: Real() also reads an integer, since SQLite may hand back a whole real as one.
class Row {
 public:
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}
  [[nodiscard]] size_t size() const { return values_.size(); }
  [[nodiscard]] bool IsNull(size_t i) const;
  [[nodiscard]] int64_t Int(size_t i) const;
  [[nodiscard]] double Real(size_t i) const;
  [[nodiscard]] const std::string& Text(size_t i) const;
  [[nodiscard]] const Blob& Bytes(size_t i) const;
  [[nodiscard]] std::optional<int64_t> OptionalInt(size_t i) const;
  [[nodiscard]] std::optional<std::string> OptionalText(size_t i) const;
  [[nodiscard]] const Value& At(size_t i) const;

 private:
  std::vector<Value> values_;
};

// One database session. SQL is written once for both backends with PostgreSQL-style numbered
// parameters ($1, $2, ...); the SQLite backend binds them by name. Not thread-safe: a connection
// belongs to one thread at a time, handed out by Database::Acquire.
//
// Where the dialects differ in ways code can trip over:
// - PostgreSQL receives integer parameters as bigint, reals as double precision and bytes as
//   bytea; text and NULL take the type the statement implies. A function that wants a narrower
//   type needs a cast: pg_terminate_backend(CAST($1 AS INTEGER)).
// - PostgreSQL's numeric (what SUM of integers yields) reads as an integer when it is a whole
//   number and as a double otherwise; SQLite yields an integer.
// - On PostgreSQL a failed statement aborts the whole transaction, so do not catch an error and
//   carry on inside one (use INSERT ... ON CONFLICT instead of catching kAlreadyExists).
// - Transactions on PostgreSQL run at READ COMMITTED; SQLite runs one writer at a time. Code that
//   reads a row and then writes what it computed from it must update conditionally
//   (UPDATE ... SET n = n + 1, or WHERE version = $2) to be correct on both.
class Connection {
 public:
  virtual ~Connection() = default;

  // Runs a statement and returns the number of rows it changed.
  virtual Result<int64_t> Execute(std::string_view sql, std::span<const Value> params = {}) = 0;
  // Runs a query and returns all its rows.
  virtual Result<std::vector<Row>> Query(std::string_view sql,
                                         std::span<const Value> params = {}) = 0;
  // Runs several statements without parameters (migrations, DDL).
  virtual Status ExecuteScript(std::string_view sql) = 0;

  virtual Status Begin() = 0;  // a write transaction (SQLite: BEGIN IMMEDIATE)
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;
  [[nodiscard]] virtual bool InTransaction() const = 0;

  [[nodiscard]] virtual Backend backend() const = 0;

  // Convenience: first row or NotFound; first column of the first row as an integer.
  Result<Row> QueryOne(std::string_view sql, std::span<const Value> params = {});
  Result<int64_t> QueryInt(std::string_view sql, std::span<const Value> params = {});
};

class Database;

// A connection borrowed from a Database's pool; returned when this handle is destroyed. A
// connection left inside a transaction is rolled back before it goes back to the pool.
class PooledConnection {
 public:
  PooledConnection(Database* owner, std::unique_ptr<Connection> conn);
  PooledConnection(PooledConnection&&) noexcept;
  PooledConnection& operator=(PooledConnection&&) noexcept;
  PooledConnection(const PooledConnection&) = delete;
  PooledConnection& operator=(const PooledConnection&) = delete;
  ~PooledConnection();

  Connection& operator*() { return *conn_; }
  Connection* operator->() { return conn_.get(); }

 private:
  void Release();
  Database* owner_ = nullptr;
  std::unique_ptr<Connection> conn_;
};

struct DatabaseOptions {
  // "sqlite:/path/to/file.db", "sqlite::memory:" or a PostgreSQL URI
  // ("postgresql://user@host:port/dbname?..." or "postgres://..."). An in-memory SQLite database
  // lives in one connection, so its pool holds just that one and callers take turns.
  std::string url;
  // Most connections held open at once; Acquire waits up to acquire_timeout for a free one.
  size_t max_connections = 8;
  std::chrono::milliseconds acquire_timeout{5000};
  // SQLite: how long a writer waits for the file lock before failing with kUnavailable.
  std::chrono::milliseconds busy_timeout{5000};
};

// A database: a pool of connections to one SQLite file or one PostgreSQL database. Commits are
// durable on both backends (SQLite: WAL with synchronous=FULL; PostgreSQL: synchronous_commit).
// Thread-safe.
class Database {
 public:
  virtual ~Database() = default;

  static Result<std::unique_ptr<Database>> Open(const DatabaseOptions& options);

  [[nodiscard]] virtual Backend backend() const = 0;
  // Borrows a connection, waiting for one if all are in use; kUnavailable after the timeout.
  virtual Result<PooledConnection> Acquire() = 0;

  // Runs `work` inside a write transaction on a pooled connection: commits if it returns ok,
  // rolls back if it returns an error. Serialization failures and deadlocks (PostgreSQL) and
  // busy files (SQLite) are retried a few times with backoff, so `work` must be repeatable.
  template <typename T>
  Result<T> InTransaction(const std::function<Result<T>(Connection&)>& work);
  Status InTransaction(const std::function<Status(Connection&)>& work);

  // Write-ahead-log upkeep for a database with one busy writer (a GroupCommit). SQLite copies
  // its log back into the database file inside whichever commit crosses 1,000 pages, so every
  // submitter of that batch waits for the copy and its fsync. After DeferCheckpoints(), commits
  // leave that to the writer, which calls CheckpointIfDue() between its transactions once their
  // answers are out; a commit still checkpoints itself past a much larger safety limit, should
  // the writer go quiet. PostgreSQL checkpoints on its own: both do nothing there.
  virtual void DeferCheckpoints() {}
  virtual Status CheckpointIfDue() { return Ok(); }

 protected:
  friend class PooledConnection;
  virtual void Return(std::unique_ptr<Connection> conn) = 0;
  // Runs `attempt` (which begins, works and commits) with the backend's retry policy.
  virtual Status RunWithRetry(const std::function<Status()>& attempt) = 0;
};

template <typename T>
Result<T> Database::InTransaction(const std::function<Result<T>(Connection&)>& work) {
  std::optional<T> out;
  ULUS_TRY(InTransaction([&](Connection& conn) -> Status {
    ULUS_ASSIGN_OR_RETURN(auto v, work(conn));
    out = std::move(v);
    return Ok();
  }));
  return std::move(*out);
}

}  // namespace ulus::store
