#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/jose.hpp"
#include "ulus/store/database.hpp"
#include "ulus/store/group_commit.hpp"

namespace ulus::exchange {

enum class MessageKind { kRequest, kResponse };

// What a node logs about one message, before the log gives it a place in the chain.
struct LogEntry {
  MessageKind kind = MessageKind::kRequest;
  std::string x_road_id;
  std::string client;   // INSTANCE/CLASS/MEMBER/SUBSYSTEM of the caller
  std::string service;  // INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE
  std::string user_id;
  std::string subject;  // whom the data is about (Ulus-Subject), may be empty
  std::string purpose;
  crypto::Sha256Digest body_digest{};  // SHA-256 of the message
  std::string signature;               // SerializeBatchSignature() over body_digest
};

// A logged entry: hash = SHA-256(prev_hash || RecordBytes(record)); the first record's prev_hash
// is 32 zero bytes, or the last hash of the archive before it.
struct LogRecord {
  int64_t seq = 0;
  TimePoint at;
  LogEntry entry;
  crypto::Sha256Digest prev_hash{};
  crypto::Sha256Digest hash{};
};

// The canonical bytes a record's hash covers: seq, at (Unix microseconds), kind and every entry
// field in declaration order, each as an 8-byte big-endian length followed by its bytes.
std::string RecordBytes(const LogRecord& record);
crypto::Sha256Digest RecordHash(const crypto::Sha256Digest& prev_hash, const LogRecord& record);

enum class LogProblem {
  kNone,
  kMissingRecord,  // a seq is absent (deleted row) or the head points past the last row
  kBrokenLink,     // prev_hash is not the previous record's hash
  kHashMismatch,   // the stored hash is not the hash of the record's bytes
  kBadSignature,   // the batch signature does not cover body_digest or does not verify
  kMalformed,      // an archive line could not be read
};

// The outcome of walking a chain: ok with the number of records checked, or the first bad seq.
struct LogVerification {
  bool ok = true;
  int64_t count = 0;
  int64_t bad_seq = 0;
  LogProblem problem = LogProblem::kNone;
  std::string reason;
  int64_t first_seq = 0;  // archives: the seqs the file holds and its last hash
  int64_t last_seq = 0;
  crypto::Sha256Digest last_hash{};
};

// Checks an archive file written by MessageLog::Archive: every line's link and hash, the final
// line's summary, and that its first record links to `expected_prev_hash`. With `keys`, every
// signature is checked too.
Result<LogVerification> VerifyArchive(const std::string& path,
                                      const crypto::Sha256Digest& expected_prev_hash,
                                      const crypto::KeyResolver* keys = nullptr);

// A node's append-only, hash-chained log of the messages it sent and received, kept in the node's
// own store (migration component "exchange_log"). Appends go through a GroupCommit, so concurrent
// appends share one commit and the chain order is the commit order. Thread-safe; `db` and `clock`
// must outlive it.
class MessageLog {
 public:
  using AppendDone = std::function<void(Result<std::vector<LogRecord>>)>;

  static Result<std::unique_ptr<MessageLog>> Open(store::Database& db,
                                                  const Clock& clock = Clock::System());
  ~MessageLog();
  MessageLog(const MessageLog&) = delete;
  MessageLog& operator=(const MessageLog&) = delete;

  // Appends one record and returns it, with its seq and hashes, once it is durable.
  Result<LogRecord> Append(LogEntry entry);
  // Appends `entries` as consecutive records (a request and its response) and runs `also` in the
  // same transaction (a node's reply and data-usage rows), so all or none become durable. `also`
  // runs on the group commit's writer and must be repeatable; an error from it fails the append.
  Result<std::vector<LogRecord>> Append(std::vector<LogEntry> entries,
                                        const store::GroupCommit::Work& also = {});
  // The same append without waiting for other appenders (store::GroupCommit::SubmitAsync): the
  // caller may run batches, everyone's, until the queue is empty if nobody else was writing, and
  // otherwise returns at once. `done` gets what Append would return, exactly once, on the thread
  // that committed the batch (maybe the caller's, inside AppendAsync), outside the log's locks;
  // it may append again. The entries and `also` are kept until then.
  void AppendAsync(std::vector<LogEntry> entries, store::GroupCommit::Work also, AppendDone done);

  // Walks the chain from the start (or the last archive's boundary), checking links, hashes and,
  // with `keys`, signatures. Errors only when the store fails; a bad chain is a LogVerification.
  Result<LogVerification> Verify(const crypto::KeyResolver* keys = nullptr);

  // Moves records up to `up_to_seq` into a new archive file at `path` (JSON lines, then a final
  // summary line with the last hash), records the file's SHA-256 and deletes those rows. The
  // first remaining record still links to the archive's last hash. Refuses an existing path.
  Result<LogVerification> Archive(int64_t up_to_seq, const std::string& path);
  // The SHA-256 the store recorded for the archive ending at `last_seq`.
  Result<crypto::Sha256Digest> ArchiveFileDigest(int64_t last_seq);

  // The logged response to `client`'s request `x_road_id`, if any (not searched in archives).
  // An operator's look-up: it scans the live log, which has no index on the X-Road-Id so that
  // appends stay sequential writes.
  Result<std::optional<LogRecord>> FindByXRoadId(std::string_view client,
                                                 std::string_view x_road_id);

  [[nodiscard]] store::GroupCommit::Stats commit_stats() const { return commits_.stats(); }

 private:
  MessageLog(store::Database& db, const Clock& clock);

  // The chain's head while a batch of appends is open: read once by the batch's first statement,
  // advanced by each append that succeeds, written back once by its last statement. Touched only
  // by the group commit's leader, inside a batch.
  struct Head {
    int64_t seq = 0;
    crypto::Sha256Digest hash{};
  };

  Status OpenBatch(store::Connection& conn);
  Status CloseBatch(store::Connection& conn);

  store::Database& db_;
  const Clock& clock_;
  Head head_;
  store::GroupCommit commits_;
};

}  // namespace ulus::exchange
