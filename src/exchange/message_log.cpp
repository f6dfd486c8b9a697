#include "ulus/exchange/message_log.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>
#include <vector>

#include "ulus/crypto/encoding.hpp"
#include "ulus/exchange/batch_signer.hpp"
#include "ulus/store/migration.hpp"

namespace ulus::exchange {
namespace {

using crypto::Sha256Digest;
using store::Value;

constexpr int64_t kPageSize = 1000;

const std::vector<store::Migration>& Migrations() {
  static const std::vector<store::Migration> steps = {
      {1, "message log",
       R"(CREATE TABLE exchange_log_record (
            seq INTEGER PRIMARY KEY, at BIGINT NOT NULL, kind TEXT NOT NULL,
            x_road_id TEXT NOT NULL, client TEXT NOT NULL, service TEXT NOT NULL,
            user_id TEXT NOT NULL, subject TEXT NOT NULL, purpose TEXT NOT NULL,
            body_digest BLOB NOT NULL, signature TEXT NOT NULL,
            prev_hash BLOB NOT NULL, hash BLOB NOT NULL);
          CREATE INDEX exchange_log_record_x_road_id ON exchange_log_record (client, x_road_id);
          CREATE TABLE exchange_log_head (id INTEGER PRIMARY KEY, seq BIGINT NOT NULL,
                                          hash BLOB NOT NULL);
          INSERT INTO exchange_log_head (id, seq, hash)
            VALUES (1, 0, X'0000000000000000000000000000000000000000000000000000000000000000');
          CREATE TABLE exchange_log_archive (
            last_seq BIGINT PRIMARY KEY, first_seq BIGINT NOT NULL, prev_hash BLOB NOT NULL,
            last_hash BLOB NOT NULL, file_sha256 BLOB NOT NULL, path TEXT NOT NULL,
            created_at BIGINT NOT NULL);)",
       R"(CREATE TABLE exchange_log_record (
            seq BIGINT PRIMARY KEY, at BIGINT NOT NULL, kind TEXT NOT NULL,
            x_road_id TEXT NOT NULL, client TEXT NOT NULL, service TEXT NOT NULL,
            user_id TEXT NOT NULL, subject TEXT NOT NULL, purpose TEXT NOT NULL,
            body_digest BYTEA NOT NULL, signature TEXT NOT NULL,
            prev_hash BYTEA NOT NULL, hash BYTEA NOT NULL);
          CREATE INDEX exchange_log_record_x_road_id ON exchange_log_record (client, x_road_id);
          CREATE TABLE exchange_log_head (id INTEGER PRIMARY KEY, seq BIGINT NOT NULL,
                                          hash BYTEA NOT NULL);
          INSERT INTO exchange_log_head (id, seq, hash)
            VALUES (1, 0, decode(repeat('00', 32), 'hex'));
          CREATE TABLE exchange_log_archive (
            last_seq BIGINT PRIMARY KEY, first_seq BIGINT NOT NULL, prev_hash BYTEA NOT NULL,
            last_hash BYTEA NOT NULL, file_sha256 BYTEA NOT NULL, path TEXT NOT NULL,
            created_at BIGINT NOT NULL);)"},
      // The (client, X-Road-Id) index put a page at a random place in the file into every
      // commit, which made it the larger part of what a node wrote per exchange; the one look-up
      // it served (FindByXRoadId, an operator's question) can afford a scan of the live log.
      {2, "no X-Road-Id index on the message log",
       "DROP INDEX IF EXISTS exchange_log_record_x_road_id;",
       "DROP INDEX IF EXISTS exchange_log_record_x_road_id;"},
  };
  return steps;
}

constexpr std::string_view kSelectRecord =
    "SELECT seq, at, kind, x_road_id, client, service, user_id, subject, purpose, body_digest, "
    "signature, prev_hash, hash FROM exchange_log_record ";

std::string_view KindName(MessageKind kind) {
  return kind == MessageKind::kRequest ? "request" : "response";
}

std::optional<MessageKind> KindFromName(std::string_view name) {
  if (name == "request") {
    return MessageKind::kRequest;
  }
  if (name == "response") {
    return MessageKind::kResponse;
  }
  return std::nullopt;
}

store::Blob ToBlob(const Sha256Digest& d) {
  return store::Blob{std::vector<uint8_t>(d.begin(), d.end())};
}

// A stored digest of the wrong length reads as all zeros, which then fails its hash check.
Sha256Digest ToDigest(const store::Blob& b) {
  Sha256Digest d{};
  if (b.bytes.size() == d.size()) {
    std::copy(b.bytes.begin(), b.bytes.end(), d.begin());
  }
  return d;
}

std::optional<Sha256Digest> DigestFromHex(const nlohmann::json& j) {
  if (!j.is_string()) {
    return std::nullopt;
  }
  auto bytes = crypto::HexDecode(j.get<std::string>());
  if (!bytes || bytes->size() != Sha256Digest{}.size()) {
    return std::nullopt;
  }
  Sha256Digest d{};
  std::copy(bytes->begin(), bytes->end(), d.begin());
  return d;
}

LogRecord FromRow(const store::Row& row) {
  LogRecord r;
  r.seq = row.Int(0);
  r.at = FromUnixMicros(row.Int(1));
  // An unknown kind is hashed as a request and so fails the hash check.
  r.entry.kind = KindFromName(row.Text(2)).value_or(MessageKind::kRequest);
  r.entry.x_road_id = row.Text(3);
  r.entry.client = row.Text(4);
  r.entry.service = row.Text(5);
  r.entry.user_id = row.Text(6);
  r.entry.subject = row.Text(7);
  r.entry.purpose = row.Text(8);
  r.entry.body_digest = ToDigest(row.Bytes(9));
  r.entry.signature = row.Text(10);
  r.prev_hash = ToDigest(row.Bytes(11));
  r.hash = ToDigest(row.Bytes(12));
  return r;
}

nlohmann::json ToJson(const LogRecord& r) {
  return {
      {"seq", r.seq},
      {"at", ToUnixMicros(r.at)},
      {"kind", std::string(KindName(r.entry.kind))},
      {"x_road_id", r.entry.x_road_id},
      {"client", r.entry.client},
      {"service", r.entry.service},
      {"user_id", r.entry.user_id},
      {"subject", r.entry.subject},
      {"purpose", r.entry.purpose},
      {"body_digest", crypto::HexEncode(r.entry.body_digest)},
      {"signature", r.entry.signature},
      {"prev_hash", crypto::HexEncode(r.prev_hash)},
      {"hash", crypto::HexEncode(r.hash)},
  };
}

std::optional<LogRecord> FromJson(const nlohmann::json& j) {
  static constexpr const char* kStrings[] = {"kind",        "x_road_id", "client",  "service",
                                             "user_id",     "subject",   "purpose", "signature",
                                             "body_digest", "prev_hash", "hash"};
  if (!j.is_object() || j.size() != 13 || !j.contains("seq") || !j["seq"].is_number_integer() ||
      !j.contains("at") || !j["at"].is_number_integer()) {
    return std::nullopt;
  }
  for (const char* key : kStrings) {
    if (!j.contains(key) || !j[key].is_string()) {
      return std::nullopt;
    }
  }
  LogRecord r;
  r.seq = j["seq"].get<int64_t>();
  r.at = FromUnixMicros(j["at"].get<int64_t>());
  auto kind = KindFromName(j["kind"].get<std::string>());
  auto body = DigestFromHex(j["body_digest"]);
  auto prev = DigestFromHex(j["prev_hash"]);
  auto hash = DigestFromHex(j["hash"]);
  if (!kind || !body || !prev || !hash) {
    return std::nullopt;
  }
  r.entry.kind = *kind;
  r.entry.x_road_id = j["x_road_id"].get<std::string>();
  r.entry.client = j["client"].get<std::string>();
  r.entry.service = j["service"].get<std::string>();
  r.entry.user_id = j["user_id"].get<std::string>();
  r.entry.subject = j["subject"].get<std::string>();
  r.entry.purpose = j["purpose"].get<std::string>();
  r.entry.body_digest = *body;
  r.entry.signature = j["signature"].get<std::string>();
  r.prev_hash = *prev;
  r.hash = *hash;
  return r;
}

// Walks a chain one record at a time; stops at the first bad one.
class ChainWalker {
 public:
  ChainWalker(int64_t first_seq, const Sha256Digest& prev, const crypto::KeyResolver* keys)
      : keys_(keys), expected_(first_seq), prev_(prev) {
    out_.first_seq = first_seq;
    out_.last_seq = first_seq - 1;
    out_.last_hash = prev;
  }

  // False once the chain is found bad.
  bool Next(const LogRecord& r) {
    if (!out_.ok) {
      return false;
    }
    if (r.seq != expected_) {
      return Fail(expected_, LogProblem::kMissingRecord,
                  "record " + std::to_string(expected_) + " is missing (next present is " +
                      std::to_string(r.seq) + ")");
    }
    if (r.prev_hash != prev_) {
      return Fail(r.seq, LogProblem::kBrokenLink,
                  "prev_hash is not the hash of the record before it");
    }
    if (RecordHash(r.prev_hash, r) != r.hash) {
      return Fail(r.seq, LogProblem::kHashMismatch, "stored hash does not match record bytes");
    }
    if (keys_ != nullptr) {
      if (auto st = CheckSignature(r); !st.ok()) {
        return Fail(r.seq, LogProblem::kBadSignature, st.error().message);
      }
    }
    prev_ = r.hash;
    ++expected_;
    ++out_.count;
    out_.last_seq = r.seq;
    out_.last_hash = r.hash;
    return true;
  }

  bool Fail(int64_t seq, LogProblem problem, std::string reason) {
    out_.ok = false;
    out_.bad_seq = seq;
    out_.problem = problem;
    out_.reason = std::move(reason);
    return false;
  }

  [[nodiscard]] int64_t expected() const { return expected_; }
  [[nodiscard]] const Sha256Digest& prev() const { return prev_; }
  LogVerification& result() { return out_; }

 private:
  Status CheckSignature(const LogRecord& r) const {
    ULUS_ASSIGN_OR_RETURN(auto sig, ParseBatchSignature(r.entry.signature));
    ULUS_ASSIGN_OR_RETURN(auto key, keys_->Resolve(sig.kid));
    return VerifyBatchSignature(r.entry.body_digest, sig, key);
  }

  const crypto::KeyResolver* keys_;
  int64_t expected_;
  Sha256Digest prev_;
  LogVerification out_;
};

struct Boundary {
  int64_t first_seq = 1;
  Sha256Digest prev{};
};

Result<Boundary> ReadBoundary(store::Connection& conn) {
  ULUS_ASSIGN_OR_RETURN(auto rows,
                        conn.Query("SELECT last_seq, last_hash FROM exchange_log_archive "
                                   "ORDER BY last_seq DESC LIMIT 1"));
  Boundary b;
  if (!rows.empty()) {
    b.first_seq = rows[0].Int(0) + 1;
    b.prev = ToDigest(rows[0].Bytes(1));
  }
  return b;
}

Status WriteFileDurably(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    return Error::Unavailable("cannot create " + tmp + ": " + std::strerror(errno));
  }
  size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      ::close(fd);
      return Error::Unavailable("cannot write " + tmp + ": " + std::strerror(errno));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return Error::Unavailable("cannot sync " + tmp + ": " + std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    return Error::Unavailable("cannot rename " + tmp + ": " + ec.message());
  }
  // The rename is durable only once the directory is.
  auto dir = std::filesystem::path(path).parent_path();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Ok();
}

void AppendField(std::string& out, std::string_view bytes) {
  const uint64_t n = bytes.size();
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((n >> shift) & 0xFFU));
  }
  out.append(bytes);
}

std::string_view AsText(const Sha256Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};  // NOLINT
}

}  // namespace

std::string RecordBytes(const LogRecord& r) {
  std::string out;
  AppendField(out, std::to_string(r.seq));
  AppendField(out, std::to_string(ToUnixMicros(r.at)));
  AppendField(out, KindName(r.entry.kind));
  AppendField(out, r.entry.x_road_id);
  AppendField(out, r.entry.client);
  AppendField(out, r.entry.service);
  AppendField(out, r.entry.user_id);
  AppendField(out, r.entry.subject);
  AppendField(out, r.entry.purpose);
  AppendField(out, AsText(r.entry.body_digest));
  AppendField(out, r.entry.signature);
  return out;
}

Sha256Digest RecordHash(const Sha256Digest& prev_hash, const LogRecord& record) {
  std::string buf(AsText(prev_hash));
  buf += RecordBytes(record);
  return crypto::Sha256(buf);
}

Result<std::unique_ptr<MessageLog>> MessageLog::Open(store::Database& db, const Clock& clock) {
  ULUS_TRY(store::Migrate(db, "exchange_log", Migrations()));
  return std::unique_ptr<MessageLog>(new MessageLog(db, clock));
}

MessageLog::MessageLog(store::Database& db, const Clock& clock)
    : db_(db),
      clock_(clock),
      commits_(db, {.open_batch = [this](store::Connection& conn) { return OpenBatch(conn); },
                    .close_batch = [this](store::Connection& conn) { return CloseBatch(conn); }}) {}

// Updating the head row (not only reading it) takes its lock on PostgreSQL, so two logs on one
// database append in turn; SQLite's write transaction already does.
Status MessageLog::OpenBatch(store::Connection& conn) {
  ULUS_ASSIGN_OR_RETURN(auto row, conn.QueryOne("UPDATE exchange_log_head SET seq = seq "
                                                "WHERE id = 1 RETURNING seq, hash"));
  head_ = {row.Int(0), ToDigest(row.Bytes(1))};
  return Ok();
}

Status MessageLog::CloseBatch(store::Connection& conn) {
  const Value params[] = {head_.seq, ToBlob(head_.hash)};
  ULUS_TRY(conn.Execute("UPDATE exchange_log_head SET seq = $1, hash = $2 WHERE id = 1", params));
  return Ok();
}

MessageLog::~MessageLog() = default;

Result<LogRecord> MessageLog::Append(LogEntry entry) {
  std::vector<LogEntry> entries;
  entries.push_back(std::move(entry));
  ULUS_ASSIGN_OR_RETURN(auto records, Append(std::move(entries)));
  return std::move(records.front());
}

namespace {

std::vector<LogRecord> RecordsOf(std::vector<LogEntry> entries) {
  std::vector<LogRecord> records(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) records[i].entry = std::move(entries[i]);
  return records;
}

// The body of every append: runs on the group commit's single writer, inside a batch that has
// read the chain's head (`head`), so records are chained in commit order. The head moves on only
// once the whole append, `also` included, has succeeded: an append that fails is rolled back to
// its savepoint and must leave the head where it found it. Repeatable: a rerun of the batch
// reads the head again and recomputes every seq and hash.
Status WriteRecords(store::Connection& conn, std::vector<LogRecord>& records,
                    const store::GroupCommit::Work& also, const Clock& clock, int64_t& head_seq,
                    Sha256Digest& head_hash) {
  int64_t seq = head_seq;
  Sha256Digest prev = head_hash;
  const TimePoint now = clock.Now();
  for (auto& rec : records) {
    rec.seq = ++seq;
    rec.prev_hash = prev;
    rec.at = now;
    rec.hash = RecordHash(rec.prev_hash, rec);
    prev = rec.hash;
    const Value params[] = {rec.seq,
                            ToUnixMicros(rec.at),
                            std::string(KindName(rec.entry.kind)),
                            rec.entry.x_road_id,
                            rec.entry.client,
                            rec.entry.service,
                            rec.entry.user_id,
                            rec.entry.subject,
                            rec.entry.purpose,
                            ToBlob(rec.entry.body_digest),
                            rec.entry.signature,
                            ToBlob(rec.prev_hash),
                            ToBlob(rec.hash)};
    ULUS_TRY(conn.Execute(
        "INSERT INTO exchange_log_record (seq, at, kind, x_road_id, client, service, user_id, "
        "subject, purpose, body_digest, signature, prev_hash, hash) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        params));
  }
  if (also) ULUS_TRY(also(conn));
  head_seq = seq;
  head_hash = prev;
  return Ok();
}

}  // namespace

Result<std::vector<LogRecord>> MessageLog::Append(std::vector<LogEntry> entries,
                                                  const store::GroupCommit::Work& also) {
  std::vector<LogRecord> records = RecordsOf(std::move(entries));
  Status appended = commits_.Submit([&](store::Connection& conn) {
    return WriteRecords(conn, records, also, clock_, head_.seq, head_.hash);
  });
  if (!appended.ok()) {
    return std::move(appended).error();
  }
  return records;
}

void MessageLog::AppendAsync(std::vector<LogEntry> entries, store::GroupCommit::Work also,
                             AppendDone done) {
  // The caller returns at once, so the work and the callback share what they need.
  struct Pending {
    std::vector<LogRecord> records;
    store::GroupCommit::Work also;
  };
  auto pending = std::make_shared<Pending>(Pending{RecordsOf(std::move(entries)), std::move(also)});
  commits_.SubmitAsync(
      [this, pending](store::Connection& conn) {
        return WriteRecords(conn, pending->records, pending->also, clock_, head_.seq, head_.hash);
      },
      [pending, done = std::move(done)](Status appended) {
        if (!done) return;
        if (!appended.ok()) {
          done(std::move(appended).error());
          return;
        }
        done(std::move(pending->records));
      });
}

Result<LogVerification> MessageLog::Verify(const crypto::KeyResolver* keys) {
  ULUS_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  ULUS_ASSIGN_OR_RETURN(auto boundary, ReadBoundary(*conn));
  ULUS_ASSIGN_OR_RETURN(auto head_row,
                        conn->QueryOne("SELECT seq, hash FROM exchange_log_head WHERE id = 1"));
  const int64_t head_seq = head_row.Int(0);
  const Sha256Digest head_hash = ToDigest(head_row.Bytes(1));

  ChainWalker walker(boundary.first_seq, boundary.prev, keys);
  const std::string page_sql =
      std::string(kSelectRecord) + "WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT $3";
  for (int64_t from = boundary.first_seq; from <= head_seq;) {
    const Value params[] = {from, head_seq, kPageSize};
    ULUS_ASSIGN_OR_RETURN(auto rows, conn->Query(page_sql, params));
    if (rows.empty()) {
      break;
    }
    for (const auto& row : rows) {
      if (!walker.Next(FromRow(row))) {
        return walker.result();
      }
    }
    from = rows.back().Int(0) + 1;
  }
  if (walker.expected() <= head_seq) {
    walker.Fail(walker.expected(), LogProblem::kMissingRecord,
                "the log's head is at " + std::to_string(head_seq) + " but record " +
                    std::to_string(walker.expected()) + " is missing");
  } else if (walker.prev() != head_hash) {
    walker.Fail(head_seq, LogProblem::kHashMismatch, "the log's head hash is not the last hash");
  }
  return walker.result();
}

Result<LogVerification> MessageLog::Archive(int64_t up_to_seq, const std::string& path) {
  if (std::filesystem::exists(path)) {
    return Error{ErrorCode::kAlreadyExists, "archive file " + path + " already exists", {}};
  }
  Boundary boundary;
  std::vector<store::Row> rows;
  {
    ULUS_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
    ULUS_ASSIGN_OR_RETURN(boundary, ReadBoundary(*conn));
    ULUS_ASSIGN_OR_RETURN(auto head_seq,
                          conn->QueryInt("SELECT seq FROM exchange_log_head WHERE id = 1"));
    if (up_to_seq < boundary.first_seq || up_to_seq > head_seq) {
      return Error::InvalidArgument("archive: seq " + std::to_string(up_to_seq) +
                                    " is not between " + std::to_string(boundary.first_seq) +
                                    " and the head " + std::to_string(head_seq));
    }
    const Value params[] = {boundary.first_seq, up_to_seq};
    ULUS_ASSIGN_OR_RETURN(
        rows, conn->Query(std::string(kSelectRecord) + "WHERE seq >= $1 AND seq <= $2 ORDER BY seq",
                          params));
  }
  ChainWalker walker(boundary.first_seq, boundary.prev, nullptr);
  std::string content;
  for (const auto& row : rows) {
    LogRecord r = FromRow(row);
    if (!walker.Next(r)) {
      return Error{ErrorCode::kFailedPrecondition,
                   "archive: the chain is broken at " + std::to_string(walker.result().bad_seq) +
                       ": " + walker.result().reason,
                   {}};
    }
    content += ToJson(r).dump();
    content += '\n';
  }
  if (walker.expected() != up_to_seq + 1) {
    return Error{ErrorCode::kFailedPrecondition,
                 "archive: record " + std::to_string(walker.expected()) + " is missing",
                 {}};
  }
  const nlohmann::json summary = {
      {"archive_end", true},
      {"first_seq", boundary.first_seq},
      {"last_seq", up_to_seq},
      {"count", walker.result().count},
      {"prev_hash", crypto::HexEncode(boundary.prev)},
      {"last_hash", crypto::HexEncode(walker.prev())},
  };
  content += summary.dump();
  content += '\n';
  ULUS_TRY(WriteFileDurably(path, content));
  const Sha256Digest file_digest = crypto::Sha256(content);

  Status moved = db_.InTransaction([&](store::Connection& conn) -> Status {
    const Value params[] = {up_to_seq,
                            boundary.first_seq,
                            ToBlob(boundary.prev),
                            ToBlob(walker.prev()),
                            ToBlob(file_digest),
                            path,
                            ToUnixMicros(clock_.Now())};
    ULUS_TRY(
        conn.Execute("INSERT INTO exchange_log_archive (last_seq, first_seq, prev_hash, last_hash, "
                     "file_sha256, path, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                     params));
    const Value del[] = {up_to_seq};
    ULUS_TRY(conn.Execute("DELETE FROM exchange_log_record WHERE seq <= $1", del));
    return Ok();
  });
  if (!moved.ok()) {
    return std::move(moved).error();
  }
  spdlog::info("exchange: archived message log records {}..{} to {}", boundary.first_seq, up_to_seq,
               path);
  return walker.result();
}

Result<Sha256Digest> MessageLog::ArchiveFileDigest(int64_t last_seq) {
  ULUS_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  const Value params[] = {last_seq};
  ULUS_ASSIGN_OR_RETURN(
      auto row,
      conn->QueryOne("SELECT file_sha256 FROM exchange_log_archive WHERE last_seq = $1", params));
  return ToDigest(row.Bytes(0));
}

Result<std::optional<LogRecord>> MessageLog::FindByXRoadId(std::string_view client,
                                                           std::string_view x_road_id) {
  ULUS_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  const Value params[] = {std::string(client), std::string(x_road_id)};
  ULUS_ASSIGN_OR_RETURN(
      auto rows, conn->Query(std::string(kSelectRecord) +
                                 "WHERE client = $1 AND x_road_id = $2 AND kind = 'response' "
                                 "ORDER BY seq DESC LIMIT 1",
                             params));
  if (rows.empty()) {
    return std::optional<LogRecord>();
  }
  return std::optional<LogRecord>(FromRow(rows[0]));
}

Result<LogVerification> VerifyArchive(const std::string& path,
                                      const crypto::Sha256Digest& expected_prev_hash,
                                      const crypto::KeyResolver* keys) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error::NotFound("archive file " + path + " cannot be read");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string content = ss.str();

  std::vector<std::string_view> lines;
  std::string_view rest = content;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) {
      lines.push_back(rest);  // an unterminated last line is refused below
      break;
    }
    lines.push_back(rest.substr(0, nl));
    rest.remove_prefix(nl + 1);
  }
  std::optional<ChainWalker> walker;
  LogVerification bad;
  auto malformed = [&](int64_t seq, std::string reason) {
    bad.ok = false;
    bad.bad_seq = seq;
    bad.problem = LogProblem::kMalformed;
    bad.reason = std::move(reason);
    return bad;
  };
  if (lines.empty() || content.back() != '\n') {
    return malformed(0, "archive is empty or its last line is cut off");
  }
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    const int64_t at_seq = walker ? walker->expected() : 0;
    auto j = nlohmann::json::parse(lines[i], nullptr, false);
    auto rec = FromJson(j);
    if (!rec || j.dump() != lines[i]) {
      return malformed(at_seq, "archive line " + std::to_string(i + 1) + " is not a record");
    }
    if (!walker) {
      walker.emplace(rec->seq, expected_prev_hash, keys);
    }
    if (!walker->Next(*rec)) {
      return walker->result();
    }
  }
  if (!walker) {
    return malformed(0, "archive holds no records");
  }
  auto summary = nlohmann::json::parse(lines.back(), nullptr, false);
  auto& result = walker->result();
  const nlohmann::json expected_summary = {
      {"archive_end", true},
      {"first_seq", result.first_seq},
      {"last_seq", result.last_seq},
      {"count", result.count},
      {"prev_hash", crypto::HexEncode(expected_prev_hash)},
      {"last_hash", crypto::HexEncode(result.last_hash)},
  };
  if (summary.is_discarded() || summary != expected_summary ||
      expected_summary.dump() != lines.back()) {
    walker->Fail(result.last_seq, LogProblem::kHashMismatch,
                 "archive summary line does not match its records");
  }
  return walker->result();
}

}  // namespace ulus::exchange
