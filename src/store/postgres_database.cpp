#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backend.hpp"
#include "lru_cache.hpp"
#include "pool.hpp"

namespace ulus::store {
namespace {

// Prepared statements kept per connection; see the SQLite backend.
constexpr size_t kStatementCacheSize = 256;
constexpr const char* kConnectTimeoutSeconds = "10";

// Type OIDs from pg_type.h, which is a server header.
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;
constexpr Oid kUnknownOid = 0;  // let the server infer the type from the statement

constexpr int kTextFormat = 0;
constexpr int kBinaryFormat = 1;

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

struct PreparedStatement {
  std::string name;
};

std::string Trimmed(const char* text) {
  std::string s = text != nullptr ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

void LogNotice(void* /*arg*/, const char* message) {
  spdlog::debug("store: PostgreSQL says: {}", Trimmed(message));
}

// Maps a failed result (or a failure without one) to an Error by SQLSTATE.
Error PostgresError(PGconn* conn, const PGresult* result) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  if (PQstatus(conn) == CONNECTION_BAD || state == nullptr) {
    std::string message = Trimmed(result != nullptr ? PQresultErrorMessage(result) : "");
    if (message.empty()) message = Trimmed(PQerrorMessage(conn));
    if (PQstatus(conn) == CONNECTION_BAD) {
      return Error::Unavailable("lost the PostgreSQL connection: " + message);
    }
    return Error::Internal("PostgreSQL: " + message);
  }
  std::string message = Trimmed(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY));
  if (const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL)) {
    message += ": " + Trimmed(detail);
  }
  message += " (SQLSTATE " + std::string(state) + ")";

  const std::string_view code = state;
  if (code == "23505") return Error{ErrorCode::kAlreadyExists, std::move(message), {}};
  // Integrity constraints (23) and bad data such as an out-of-range number (22).
  if (code.starts_with("23") || code.starts_with("22")) {
    return Error::InvalidArgument(std::move(message));
  }
  // Serialization failure and deadlock: the transaction lost a race and may simply run again.
  if (code == "40001" || code == "40P01") {
    return RetryableError(Error::Conflict(std::move(message)));
  }
  if (code == "57014" || code == "55P03") return Error{ErrorCode::kTimeout, std::move(message), {}};
  // Connection exceptions, insufficient resources, server shutting down or starting.
  if (code.starts_with("08") || code.starts_with("53") || code.starts_with("57P")) {
    return Error::Unavailable(std::move(message));
  }
  // A parameter whose type nothing in the statement decides, typically one the SQL never uses.
  if (code == "42P18") return Error::InvalidArgument(std::move(message));
  if (code == "25P02") return Error{ErrorCode::kFailedPrecondition, std::move(message), {}};
  if (code.starts_with("54")) return Error{ErrorCode::kTooLarge, std::move(message), {}};
  return Error::Internal("PostgreSQL: " + message);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Blob DecodeBytea(const char* text, size_t size) {
  Blob blob;
  if (size >= 2 && text[0] == '\\' && text[1] == 'x') {
    blob.bytes.reserve((size - 2) / 2);
    for (size_t i = 2; i + 1 < size; i += 2) {
      blob.bytes.push_back(static_cast<uint8_t>(HexDigit(text[i]) * 16 + HexDigit(text[i + 1])));
    }
    return blob;
  }
  // The old "escape" output format, if a server is configured for it.
  size_t length = 0;
  unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &length);
  if (raw != nullptr) {
    blob.bytes.assign(raw, raw + length);
    PQfreemem(raw);
  }
  return blob;
}

Value ParseValue(Oid type, const char* text, size_t size) {
  switch (type) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid: {
      int64_t n = 0;
      std::from_chars(text, text + size, n);
      return n;
    }
    case kNumericOid: {
      // SUM and friends over integers answer numeric on PostgreSQL but an integer on SQLite; a
      // whole number without a fraction reads as an integer so the same SQL reads alike on both.
      int64_t n = 0;
      const auto [end, ec] = std::from_chars(text, text + size, n);
      if (ec == std::errc() && end == text + size) return n;
      [[fallthrough]];
    }
    case kFloat4Oid:
    case kFloat8Oid: {
      double d = 0;
      // from_chars reads "NaN", "Infinity" and "-Infinity" as PostgreSQL writes them.
      std::from_chars(text, text + size, d);
      return d;
    }
    case kBoolOid: return int64_t{size > 0 && text[0] == 't' ? 1 : 0};
    case kByteaOid: return DecodeBytea(text, size);
    default: return std::string(text, size);
  }
}

std::string FormatDouble(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  // The shortest text that reads back as the same double.
  const auto end = std::to_chars(buf, buf + sizeof buf, d).ptr;
  return {buf, end};
}

// True when `sql` mentions parameter $n (and not, say, $n0).
bool MentionsParameter(std::string_view sql, size_t n) {
  const std::string token = "$" + std::to_string(n);
  for (size_t at = sql.find(token); at != std::string_view::npos; at = sql.find(token, at + 1)) {
    const size_t after = at + token.size();
    if (after == sql.size() || sql[after] < '0' || sql[after] > '9') return true;
  }
  return false;
}

// One libpq session with its prepared statements. Not thread-safe: the pool lends it to one
// thread at a time.
class PostgresConnection final : public BackendConnection {
 public:
  explicit PostgresConnection(PGconn* conn) : conn_(conn), cache_(kStatementCacheSize) {}
  ~PostgresConnection() override { PQfinish(conn_); }
  PostgresConnection(const PostgresConnection&) = delete;
  PostgresConnection& operator=(const PostgresConnection&) = delete;

  static Result<std::unique_ptr<BackendConnection>> Open(const std::string& url);

  Result<int64_t> Execute(std::string_view sql, std::span<const Value> params) override {
    return Run(sql, params, nullptr);
  }

  Result<std::vector<Row>> Query(std::string_view sql, std::span<const Value> params) override {
    std::vector<Row> rows;
    ULUS_TRY(Run(sql, params, &rows));
    return rows;
  }

  Status ExecuteScript(std::string_view sql) override { return Simple(std::string(sql).c_str()); }

  Status Begin() override {
    if (InTransaction()) return TransactionAlreadyOpen();
    return Simple("BEGIN");
  }

  Status Commit() override {
    if (!InTransaction()) return NoTransactionOpen();
    PgResult result(PQexec(conn_, "COMMIT"));
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      return PostgresError(conn_, result.get());
    }
    // COMMIT of a transaction that failed earlier "succeeds" by rolling back.
    if (std::strcmp(PQcmdStatus(result.get()), "ROLLBACK") == 0) {
      return Error::Internal(
          "the transaction was rolled back, not committed: a statement in it had failed");
    }
    return Ok();
  }

  Status Rollback() override {
    if (!InTransaction()) return NoTransactionOpen();
    return Simple("ROLLBACK");
  }

  [[nodiscard]] bool InTransaction() const override {
    const auto status = PQtransactionStatus(conn_);
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
  }
  [[nodiscard]] Backend backend() const override { return Backend::kPostgres; }
  [[nodiscard]] bool Healthy() const override {
    return PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
  }

 private:
  Status Simple(const char* sql);
  Result<const PreparedStatement*> Prepare(std::string_view sql, std::span<const Value> params);
  Result<int64_t> Run(std::string_view sql, std::span<const Value> params, std::vector<Row>* rows);
  void Deallocate(const std::string& name);

  PGconn* conn_;
  LruCache<PreparedStatement> cache_;
  uint64_t statements_made_ = 0;  // names the next prepared statement
  // Scratch space reused by every call, so a cached statement runs without allocating.
  std::string key_;
  std::vector<Oid> types_;
  std::vector<std::string> texts_;
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

Result<std::unique_ptr<BackendConnection>> PostgresConnection::Open(const std::string& url) {
  // Settings before "dbname" are defaults: the URL, expanded in its place, overrides them.
  const char* keys[] = {"connect_timeout", "fallback_application_name", "client_encoding", "dbname",
                        nullptr};
  const char* values[] = {kConnectTimeoutSeconds, "ulus", "UTF8", url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return Error::Unavailable("cannot connect to PostgreSQL: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string message = Trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    return Error::Unavailable("cannot connect to PostgreSQL: " + message);
  }
  PQsetNoticeProcessor(conn, LogNotice, nullptr);
  return std::unique_ptr<BackendConnection>(std::make_unique<PostgresConnection>(conn));
}

Status PostgresConnection::Simple(const char* sql) {
  PgResult result(PQexec(conn_, sql));
  const auto status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return PostgresError(conn_, result.get());
  }
  return Ok();
}

void PostgresConnection::Deallocate(const std::string& name) {
  // Best effort: inside a failed transaction this fails, and the statement lives on in the
  // session until it closes, which costs only server memory.
  PgResult result(PQexec(conn_, ("DEALLOCATE " + name).c_str()));
}

Result<const PreparedStatement*> PostgresConnection::Prepare(std::string_view sql,
                                                             std::span<const Value> params) {
  // Integers, reals and bytes are declared, so "SELECT $1" returns what was bound, as on SQLite;
  // text and NULL are left for the server to infer, so text may fill a jsonb or date column.
  // The declared types are part of the statement, so they are part of its cache key.
  types_.clear();
  key_.assign(sql);
  key_.push_back('\0');
  for (const auto& param : params) {
    Oid type = kUnknownOid;
    char tag = 'u';
    if (std::holds_alternative<int64_t>(param)) {
      type = kInt8Oid;
      tag = 'i';
    } else if (std::holds_alternative<double>(param)) {
      type = kFloat8Oid;
      tag = 'd';
    } else if (std::holds_alternative<Blob>(param)) {
      type = kByteaOid;
      tag = 'b';
    }
    types_.push_back(type);
    key_.push_back(tag);
  }
  if (const PreparedStatement* cached = cache_.Find(key_)) return cached;

  std::string name = "ulus_" + std::to_string(statements_made_++);
  const std::string text(sql);
  PgResult prepared(
      PQprepare(conn_, name.c_str(), text.c_str(), static_cast<int>(params.size()), types_.data()));
  if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
    return PostgresError(conn_, prepared.get());
  }
  // The server counts the parameters the SQL needs (at least as many as were declared); a
  // mismatch is the caller's mistake, reported the same way on both backends.
  PgResult described(PQdescribePrepared(conn_, name.c_str()));
  if (PQresultStatus(described.get()) != PGRES_COMMAND_OK) {
    return PostgresError(conn_, described.get());
  }
  const auto wanted = static_cast<size_t>(PQnparams(described.get()));
  if (wanted != params.size() || (wanted > 0 && !MentionsParameter(sql, wanted))) {
    Deallocate(name);
    const std::string takes = wanted > params.size() ? std::to_string(wanted) : "fewer";
    return Error::InvalidArgument("the statement takes " + takes + " parameters but " +
                                  std::to_string(params.size()) + " were given");
  }
  if (auto evicted = cache_.Insert(key_, PreparedStatement{std::move(name)})) {
    Deallocate(evicted->name);
  }
  return cache_.Find(key_);
}

Result<int64_t> PostgresConnection::Run(std::string_view sql, std::span<const Value> params,
                                        std::vector<Row>* rows) {
  ULUS_ASSIGN_OR_RETURN(const PreparedStatement* statement, Prepare(sql, params));

  const size_t n = params.size();
  texts_.resize(n);
  values_.assign(n, nullptr);
  lengths_.assign(n, 0);
  formats_.assign(n, kTextFormat);
  for (size_t i = 0; i < n; ++i) {
    const Value& param = params[i];
    if (const auto* v = std::get_if<int64_t>(&param)) {
      char buf[24];
      texts_[i].assign(buf, std::to_chars(buf, buf + sizeof buf, *v).ptr);
      values_[i] = texts_[i].c_str();
    } else if (const auto* d = std::get_if<double>(&param)) {
      texts_[i] = FormatDouble(*d);
      values_[i] = texts_[i].c_str();
    } else if (const auto* s = std::get_if<std::string>(&param)) {
      // Text goes as a C string, and PostgreSQL text cannot hold a zero byte anyway.
      if (s->find('\0') != std::string::npos) {
        return Error::InvalidArgument("parameter $" + std::to_string(i + 1) +
                                      " holds a zero byte, which text cannot store; use a Blob");
      }
      values_[i] = s->c_str();
    } else if (const auto* b = std::get_if<Blob>(&param)) {
      // A null pointer would mean SQL NULL, so an empty blob points at an empty string.
      values_[i] = b->bytes.empty() ? "" : reinterpret_cast<const char*>(b->bytes.data());
      lengths_[i] = static_cast<int>(b->bytes.size());
      formats_[i] = kBinaryFormat;
    }
  }

  PgResult result(PQexecPrepared(conn_, statement->name.c_str(), static_cast<int>(n),
                                 values_.data(), lengths_.data(), formats_.data(), kTextFormat));
  const auto status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    const char* state = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
    // The statement vanished (DISCARD ALL) or its result shape changed under DDL: prepare it
    // afresh next time.
    if (state != nullptr &&
        (std::strcmp(state, "26000") == 0 || std::strcmp(state, "0A000") == 0)) {
      if (auto erased = cache_.Erase(key_)) Deallocate(erased->name);
    }
    return PostgresError(conn_, result.get());
  }

  if (rows != nullptr) {
    const int row_count = PQntuples(result.get());
    const int column_count = PQnfields(result.get());
    rows->reserve(static_cast<size_t>(row_count));
    for (int r = 0; r < row_count; ++r) {
      std::vector<Value> values;
      values.reserve(static_cast<size_t>(column_count));
      for (int c = 0; c < column_count; ++c) {
        if (PQgetisnull(result.get(), r, c) != 0) {
          values.emplace_back(std::monostate{});
          continue;
        }
        values.push_back(ParseValue(PQftype(result.get(), c), PQgetvalue(result.get(), r, c),
                                    static_cast<size_t>(PQgetlength(result.get(), r, c))));
      }
      rows->emplace_back(std::move(values));
    }
  }
  const char* changed = PQcmdTuples(result.get());
  int64_t count = 0;
  std::from_chars(changed, changed + std::strlen(changed), count);
  return count;
}

// A PostgreSQL database reached through a pool of libpq sessions.
class PostgresDatabase final : public PooledDatabase {
 public:
  explicit PostgresDatabase(const DatabaseOptions& options)
      : PooledDatabase(Backend::kPostgres, options), url_(options.url) {}

 protected:
  Result<std::unique_ptr<BackendConnection>> Connect() override {
    return PostgresConnection::Open(url_);
  }

 private:
  const std::string url_;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenPostgres(const DatabaseOptions& options) {
  auto db = std::make_unique<PostgresDatabase>(options);
  ULUS_TRY(db->Start());
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace ulus::store
