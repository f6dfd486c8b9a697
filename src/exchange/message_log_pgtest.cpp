// The message log on PostgreSQL: concurrent appends through the group commit, two logs (and two
// processes) sharing one database, tampering, archives and lookups, and concurrent migrations.
// message_log_test.cpp covers the same ground on SQLite. Needs a server: ULUS_TEST_PG_URL
// (scripts/pg-throwaway prints one); without it the tests are skipped, unless ULUS_REQUIRE_PG=1
// says they must run.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "log_entries_testing.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/exchange/batch_signer.hpp"
#include "ulus/exchange/message_log.hpp"
#include "ulus/store/database.hpp"
#include "ulus/store/migration.hpp"
#include "ulus/store/testing/postgres_schema.hpp"

namespace ulus::exchange {
namespace {

constexpr const char* kSchemaPrefix = "ulus_khur_log_";
constexpr const char* kClient = testing::kLogClient;

using store::testing::PostgresSchema;

std::unique_ptr<store::Database> OpenDb(const std::string& url, size_t max_connections = 8) {
  store::DatabaseOptions options;
  options.url = url;
  options.max_connections = max_connections;
  auto db = store::Database::Open(options);
  if (!db.ok()) {
    ADD_FAILURE() << db.error().ToString();
    return nullptr;
  }
  return std::move(db).value();
}

using testing::InsertMark;
using testing::MakeEntry;
using testing::MakePair;
using testing::NewKey;

class MessageLogPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto schema = PostgresSchema::Make(kSchemaPrefix);
    if (!schema.ok() && schema.error().code == ErrorCode::kFailedPrecondition) {
      GTEST_SKIP() << schema.error().message;
    }
    ASSERT_TRUE(schema.ok()) << schema.error().ToString();
    schema_ = std::move(schema).value();
    db_ = OpenDb(schema_->url());
    ASSERT_NE(db_, nullptr);
    auto log = MessageLog::Open(*db_);
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    log_ = std::move(log).value();
    ASSERT_TRUE(keys_.Add(key_.Public()).ok());
    dir_ = (std::filesystem::temp_directory_path() / "ulus-khur-log-pg-XXXXXX").string();
    ASSERT_NE(mkdtemp(dir_.data()), nullptr);
  }

  void TearDown() override {
    log_.reset();
    db_.reset();
    schema_.reset();
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  void AppendN(int n) {
    for (int i = 1; i <= n; ++i) {
      auto rec = log_->Append(MakeEntry(signer_, "xr-" + std::to_string(i)));
      ASSERT_TRUE(rec.ok()) << rec.error().ToString();
      ASSERT_EQ(rec->seq, i);
    }
  }

  // Runs one statement that must change exactly `rows` rows.
  void Exec(const std::string& sql, int64_t rows = 1) {
    auto conn = db_->Acquire();
    ASSERT_TRUE(conn.ok()) << conn.error().ToString();
    auto changed = (*conn)->Execute(sql);
    ASSERT_TRUE(changed.ok()) << changed.error().ToString() << " in " << sql;
    ASSERT_EQ(*changed, rows) << sql;
  }

  int64_t Count(const std::string& sql) {
    auto conn = db_->Acquire();
    if (!conn.ok()) {
      ADD_FAILURE() << conn.error().ToString();
      return -1;
    }
    auto n = (*conn)->QueryInt(sql);
    if (!n.ok()) {
      ADD_FAILURE() << n.error().ToString() << " in " << sql;
      return -1;
    }
    return *n;
  }

  void CreateMarkTable() {
    auto conn = db_->Acquire();
    ASSERT_TRUE(conn.ok()) << conn.error().ToString();
    ASSERT_TRUE(
        (*conn)->ExecuteScript("CREATE TABLE khur_test_mark (x_road_id TEXT PRIMARY KEY)").ok());
  }

  LogVerification VerifyOrDie(MessageLog& log) {
    auto v = log.Verify(&keys_);
    EXPECT_TRUE(v.ok()) << v.error().ToString();
    return v.ok() ? *v : LogVerification{};
  }
  LogVerification VerifyOrDie() { return VerifyOrDie(*log_); }

  std::unique_ptr<PostgresSchema> schema_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<MessageLog> log_;
  crypto::SigningKey key_ = NewKey();
  BatchSigner signer_{key_};
  crypto::JwkSet keys_;
  std::string dir_;
};

TEST_F(MessageLogPgTest, RunsOnPostgresInItsOwnSchema) {
  EXPECT_EQ(db_->backend(), store::Backend::kPostgres);
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  auto schema = (*conn)->QueryOne("SELECT current_schema()");
  ASSERT_TRUE(schema.ok()) << schema.error().ToString();
  EXPECT_EQ(schema->Text(0).rfind(kSchemaPrefix, 0), 0u) << schema->Text(0);
  const store::Value name[] = {schema->Text(0)};
  auto tables = (*conn)->QueryInt(
      "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1 AND "
      "table_name LIKE 'exchange_log%'",
      name);
  ASSERT_TRUE(tables.ok()) << tables.error().ToString();
  EXPECT_EQ(*tables, 3);
  auto version = store::SchemaVersion(*db_, "exchange_log");
  ASSERT_TRUE(version.ok()) << version.error().ToString();
  EXPECT_EQ(*version, 2);
}

// Eight threads, half appending single records and half request/response pairs with a side
// effect in the same transaction: one chain, no gaps, and every pair's side effect committed.
TEST_F(MessageLogPgTest, ConcurrentSingleAndPairAppendsFormOneChain) {
  CreateMarkTable();
  constexpr int kThreads = 8;
  constexpr int kSingles = 100;  // per single-appending thread
  constexpr int kPairs = 50;     // per pair-appending thread
  std::mutex mu;
  std::set<int64_t> seqs;  // guarded by mu
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      if (t % 2 == 0) {
        for (int i = 0; i < kSingles; ++i) {
          auto rec = log_->Append(
              MakeEntry(signer_, "single-" + std::to_string(t) + "-" + std::to_string(i)));
          ASSERT_TRUE(rec.ok()) << rec.error().ToString();
          std::lock_guard lock(mu);
          EXPECT_TRUE(seqs.insert(rec->seq).second) << "seq " << rec->seq << " given twice";
        }
        return;
      }
      for (int i = 0; i < kPairs; ++i) {
        const std::string x_road_id = "pair-" + std::to_string(t) + "-" + std::to_string(i);
        auto recs = log_->Append(MakePair(signer_, x_road_id), InsertMark(x_road_id));
        ASSERT_TRUE(recs.ok()) << recs.error().ToString();
        ASSERT_EQ(recs->size(), 2u);
        // A pair is consecutive in the chain: nothing of another thread comes between.
        EXPECT_EQ((*recs)[1].seq, (*recs)[0].seq + 1);
        EXPECT_EQ((*recs)[1].prev_hash, (*recs)[0].hash);
        std::lock_guard lock(mu);
        for (const auto& rec : *recs) {
          EXPECT_TRUE(seqs.insert(rec.seq).second) << "seq " << rec.seq << " given twice";
        }
      }
    });
  }
  for (auto& th : threads) th.join();

  constexpr int64_t kTotal = (kThreads / 2) * kSingles + (kThreads / 2) * kPairs * 2;
  ASSERT_EQ(static_cast<int64_t>(seqs.size()), kTotal);
  EXPECT_EQ(*seqs.begin(), 1);
  EXPECT_EQ(*seqs.rbegin(), kTotal);
  const auto v = VerifyOrDie();
  EXPECT_TRUE(v.ok) << v.bad_seq << ": " << v.reason;
  EXPECT_EQ(v.count, kTotal);
  EXPECT_EQ(v.first_seq, 1);
  EXPECT_EQ(v.last_seq, kTotal);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM exchange_log_record"), kTotal);
  EXPECT_EQ(Count("SELECT seq FROM exchange_log_head WHERE id = 1"), kTotal);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM khur_test_mark"), (kThreads / 2) * kPairs);

  const auto stats = log_->commit_stats();
  EXPECT_EQ(stats.items, static_cast<uint64_t>((kThreads / 2) * (kSingles + kPairs)));
  EXPECT_LT(stats.batches, stats.items) << "appends did not share commits";
}

// A pair whose side effect fails (a duplicate key, which aborts the PostgreSQL transaction) is
// not logged at all, and the appends around it in the same batch still form a gap-free chain.
TEST_F(MessageLogPgTest, FailedSideEffectLeavesNoRecordsAndNoGap) {
  CreateMarkTable();
  Exec("INSERT INTO khur_test_mark (x_road_id) VALUES ('taken')");
  constexpr int kThreads = 4;
  constexpr int kPairs = 40;
  constexpr int kEveryFailing = 5;
  std::atomic<int> logged{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPairs; ++i) {
        const std::string x_road_id = "xr-" + std::to_string(t) + "-" + std::to_string(i);
        const bool fail = i % kEveryFailing == 0;
        auto recs =
            log_->Append(MakePair(signer_, x_road_id), InsertMark(fail ? "taken" : x_road_id));
        if (fail) {
          ASSERT_FALSE(recs.ok()) << x_road_id << " was logged although its side effect failed";
          EXPECT_EQ(recs.error().code, ErrorCode::kAlreadyExists) << recs.error().ToString();
          ++refused;
        } else {
          ASSERT_TRUE(recs.ok()) << recs.error().ToString();
          ++logged;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(refused.load(), kThreads * kPairs / kEveryFailing);

  const auto v = VerifyOrDie();
  EXPECT_TRUE(v.ok) << v.bad_seq << ": " << v.reason;
  EXPECT_EQ(v.count, 2 * logged.load());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM exchange_log_record "
                  "WHERE CAST(split_part(x_road_id, '-', 3) AS INTEGER) % " +
                  std::to_string(kEveryFailing) + " = 0"),
            0);
  auto missing = log_->FindByXRoadId(kClient, "xr-1-5");
  ASSERT_TRUE(missing.ok()) << missing.error().ToString();
  EXPECT_FALSE(missing->has_value());
  auto found = log_->FindByXRoadId(kClient, "xr-1-6");
  ASSERT_TRUE(found.ok()) << found.error().ToString();
  EXPECT_TRUE(found->has_value());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM khur_test_mark"), 1 + logged.load());
}

// Asynchronous and blocking pair appends mixed, some with a side effect that fails (a duplicate
// key, which aborts the PostgreSQL transaction and so reruns the batch with savepoints): the
// failed ones log nothing, the rest form one gap-free chain with every pair consecutive.
TEST_F(MessageLogPgTest, AsyncAndBlockingAppendsFormOneChain) {
  CreateMarkTable();
  Exec("INSERT INTO khur_test_mark (x_road_id) VALUES ('taken')");
  constexpr int kAsyncThreads = 4;
  constexpr int kSyncThreads = 2;
  constexpr int kPairs = 50;  // per thread
  constexpr int kEveryFailing = 10;
  std::mutex mu;
  std::condition_variable cv;
  int async_finished = 0;  // guarded by mu
  std::set<int64_t> seqs;  // guarded by mu
  std::atomic<int> logged{0};
  std::atomic<int> refused{0};
  std::atomic<int> failures{0};
  // Called with the outcome of every append, blocking or not.
  auto take = [&](bool fail, const Result<std::vector<LogRecord>>& recs) {
    if (fail) {
      if (!recs.ok() && recs.error().code == ErrorCode::kAlreadyExists) {
        ++refused;
      } else {
        ++failures;
      }
      return;
    }
    if (!recs.ok() || recs->size() != 2 || (*recs)[1].seq != (*recs)[0].seq + 1 ||
        (*recs)[1].prev_hash != (*recs)[0].hash) {
      ++failures;
      return;
    }
    ++logged;
    std::lock_guard lock(mu);
    for (const auto& rec : *recs) {
      if (!seqs.insert(rec.seq).second) ++failures;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kAsyncThreads + kSyncThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPairs; ++i) {
        const std::string x_road_id = "xr-" + std::to_string(t) + "-" + std::to_string(i);
        const bool fail = i % kEveryFailing == 0;
        auto mark = InsertMark(fail ? "taken" : x_road_id);
        if (t >= kAsyncThreads) {
          take(fail, log_->Append(MakePair(signer_, x_road_id), mark));
          continue;
        }
        log_->AppendAsync(MakePair(signer_, x_road_id), std::move(mark),
                          [&, fail](Result<std::vector<LogRecord>> recs) {
                            take(fail, recs);
                            std::lock_guard lock(mu);
                            ++async_finished;
                            cv.notify_all();
                          });
      }
    });
  }
  for (auto& th : threads) th.join();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60),
                            [&] { return async_finished == kAsyncThreads * kPairs; }));
  }

  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(refused.load(), (kAsyncThreads + kSyncThreads) * kPairs / kEveryFailing);
  const int64_t total = 2 * static_cast<int64_t>(logged.load());
  ASSERT_EQ(static_cast<int64_t>(seqs.size()), total);
  EXPECT_EQ(*seqs.begin(), 1);
  EXPECT_EQ(*seqs.rbegin(), total);
  const auto v = VerifyOrDie();
  EXPECT_TRUE(v.ok) << v.bad_seq << ": " << v.reason;
  EXPECT_EQ(v.count, total);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM khur_test_mark"), 1 + logged.load());
}

// Two logs on one database, each with its own pool and group commit (two nodes' worth of
// writers, as two processes would be): the head row orders them into one chain.
TEST_F(MessageLogPgTest, TwoLogsOnOneDatabaseKeepOneChain) {
  auto other_db = OpenDb(schema_->url());
  ASSERT_NE(other_db, nullptr);
  auto other = MessageLog::Open(*other_db);
  ASSERT_TRUE(other.ok()) << other.error().ToString();
  MessageLog* logs[] = {log_.get(), other->get()};

  constexpr int kThreads = 8;
  constexpr int kRounds = 40;  // per thread: a single and a pair each round
  std::mutex mu;
  std::set<int64_t> seqs;  // guarded by mu
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      MessageLog& log = *logs[t % 2];
      for (int i = 0; i < kRounds; ++i) {
        const std::string x_road_id = "xr-" + std::to_string(t) + "-" + std::to_string(i);
        auto single = log.Append(MakeEntry(signer_, x_road_id + "-single"));
        ASSERT_TRUE(single.ok()) << single.error().ToString();
        auto pair = log.Append(MakePair(signer_, x_road_id));
        ASSERT_TRUE(pair.ok()) << pair.error().ToString();
        EXPECT_EQ((*pair)[1].seq, (*pair)[0].seq + 1);
        std::lock_guard lock(mu);
        EXPECT_TRUE(seqs.insert(single->seq).second);
        for (const auto& rec : *pair) EXPECT_TRUE(seqs.insert(rec.seq).second);
      }
    });
  }
  for (auto& th : threads) th.join();

  constexpr int64_t kTotal = kThreads * kRounds * 3;
  ASSERT_EQ(static_cast<int64_t>(seqs.size()), kTotal);
  EXPECT_EQ(*seqs.rbegin(), kTotal);
  for (MessageLog* log : logs) {
    const auto v = VerifyOrDie(*log);
    EXPECT_TRUE(v.ok) << v.bad_seq << ": " << v.reason;
    EXPECT_EQ(v.count, kTotal);
  }
  // Each log finds what the other wrote.
  auto found = (*other)->FindByXRoadId(kClient, "xr-0-7");
  ASSERT_TRUE(found.ok()) << found.error().ToString();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->entry.kind, MessageKind::kResponse);
}

// Real processes: each child opens its own pool and log after fork and appends from threads; the
// parent then finds one valid chain holding every acknowledged record.
TEST_F(MessageLogPgTest, TwoProcessesAppendingKeepOneChain) {
  constexpr int kChildren = 2;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 40;
  std::vector<pid_t> children;
  for (int c = 0; c < kChildren; ++c) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Only what is made after fork is used, and _exit skips destructors, so the parent's
      // PostgreSQL sessions (shared sockets) are left alone.
      store::DatabaseOptions options;
      options.url = schema_->url();
      auto db = store::Database::Open(options);
      if (!db.ok()) _exit(2);
      auto log = MessageLog::Open(**db);
      if (!log.ok()) _exit(3);
      BatchSigner signer(key_);
      std::atomic<bool> failed{false};
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          for (int i = 0; i < kPerThread; ++i) {
            const std::string x_road_id =
                "p" + std::to_string(c) + "-" + std::to_string(t) + "-" + std::to_string(i);
            const bool ok = i % 2 == 0 ? (*log)->Append(MakeEntry(signer, x_road_id)).ok()
                                       : (*log)->Append(MakePair(signer, x_road_id)).ok();
            if (!ok) failed = true;
          }
        });
      }
      for (auto& th : threads) th.join();
      _exit(failed ? 4 : 0);
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "child " << pid << " ended with " << status;
    EXPECT_EQ(WEXITSTATUS(status), 0) << "child " << pid << " failed to append";
  }
  constexpr int64_t kTotal = kChildren * kThreads * (kPerThread / 2) * 3;
  const auto v = VerifyOrDie();
  EXPECT_TRUE(v.ok) << v.bad_seq << ": " << v.reason;
  EXPECT_EQ(v.count, kTotal);
  EXPECT_EQ(Count("SELECT COUNT(DISTINCT x_road_id) FROM exchange_log_record"),
            kChildren * kThreads * kPerThread);
}

TEST_F(MessageLogPgTest, ChangedBodyDigestByteIsFoundAtItsSeq) {
  AppendN(20);
  ASSERT_TRUE(VerifyOrDie().ok);
  // One bit of one byte of record 12's body digest.
  Exec(
      "UPDATE exchange_log_record SET body_digest = set_byte(body_digest, 5, "
      "get_byte(body_digest, 5) # 1) WHERE seq = 12");
  const auto v = VerifyOrDie();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.bad_seq, 12);
  EXPECT_EQ(v.problem, LogProblem::kHashMismatch) << v.reason;
  EXPECT_EQ(v.count, 11);  // the records before it were good
  // Without keys the chain alone still catches it.
  auto chain_only = log_->Verify(nullptr);
  ASSERT_TRUE(chain_only.ok());
  EXPECT_FALSE(chain_only->ok);
  EXPECT_EQ(chain_only->bad_seq, 12);
}

TEST_F(MessageLogPgTest, ChangedTextColumnIsFoundAtItsSeq) {
  AppendN(10);
  Exec("UPDATE exchange_log_record SET subject = 'someone else' WHERE seq = 7");
  const auto v = VerifyOrDie();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.bad_seq, 7);
  EXPECT_EQ(v.problem, LogProblem::kHashMismatch);
}

TEST_F(MessageLogPgTest, DeletedLastRowIsFound) {
  AppendN(20);
  Exec("DELETE FROM exchange_log_record WHERE seq = 20");
  const auto v = VerifyOrDie();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.bad_seq, 20);
  EXPECT_EQ(v.problem, LogProblem::kMissingRecord) << v.reason;
  EXPECT_EQ(v.count, 19);
}

TEST_F(MessageLogPgTest, DeletedMiddleRowIsFound) {
  AppendN(20);
  Exec("DELETE FROM exchange_log_record WHERE seq = 10");
  const auto v = VerifyOrDie();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.bad_seq, 10);
  EXPECT_EQ(v.problem, LogProblem::kMissingRecord) << v.reason;
}

TEST_F(MessageLogPgTest, RolledBackHeadIsFound) {
  AppendN(20);
  // Deleting the last row and moving the head back with it: the head's hash no longer matches.
  Exec("DELETE FROM exchange_log_record WHERE seq = 20");
  Exec("UPDATE exchange_log_head SET seq = 19 WHERE id = 1");
  const auto v = VerifyOrDie();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.bad_seq, 19);
  EXPECT_EQ(v.problem, LogProblem::kHashMismatch) << v.reason;
}

TEST_F(MessageLogPgTest, ArchiveKeepsTheChain) {
  AppendN(30);
  const std::string first = dir_ + "/archive-1.jsonl";
  auto a1 = log_->Archive(12, first);
  ASSERT_TRUE(a1.ok()) << a1.error().ToString();
  EXPECT_EQ(a1->count, 12);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM exchange_log_record"), 18);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(log_->Append(MakeEntry(signer_, "late-" + std::to_string(i))).ok());
  }
  const std::string second = dir_ + "/archive-2.jsonl";
  auto a2 = log_->Archive(25, second);
  ASSERT_TRUE(a2.ok()) << a2.error().ToString();
  EXPECT_EQ(a2->first_seq, 13);
  EXPECT_EQ(a2->count, 13);

  const auto v = VerifyOrDie();
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.first_seq, 26);
  EXPECT_EQ(v.count, 10);
  EXPECT_EQ(v.last_seq, 35);

  auto f1 = VerifyArchive(first, crypto::Sha256Digest{}, &keys_);
  ASSERT_TRUE(f1.ok()) << f1.error().ToString();
  EXPECT_TRUE(f1->ok) << f1->reason;
  EXPECT_EQ(f1->first_seq, 1);
  EXPECT_EQ(f1->last_seq, 12);
  EXPECT_EQ(f1->last_hash, a1->last_hash);
  auto f2 = VerifyArchive(second, f1->last_hash, &keys_);
  ASSERT_TRUE(f2.ok()) << f2.error().ToString();
  EXPECT_TRUE(f2->ok) << f2->reason;
  EXPECT_EQ(f2->first_seq, 13);
  EXPECT_EQ(f2->last_seq, 25);
  // The second archive follows the first and nothing else.
  auto wrong = VerifyArchive(second, crypto::Sha256Digest{}, &keys_);
  ASSERT_TRUE(wrong.ok());
  EXPECT_FALSE(wrong->ok);
  EXPECT_EQ(wrong->bad_seq, 13);
  EXPECT_EQ(wrong->problem, LogProblem::kBrokenLink);

  // The store remembers each file's SHA-256 (a BYTEA round trip).
  for (const auto& [path, last_seq] :
       std::vector<std::pair<std::string, int64_t>>{{first, 12}, {second, 25}}) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    auto digest = log_->ArchiveFileDigest(last_seq);
    ASSERT_TRUE(digest.ok()) << digest.error().ToString();
    EXPECT_EQ(*digest, crypto::Sha256(content.str())) << path;
  }
  EXPECT_FALSE(log_->ArchiveFileDigest(13).ok());

  EXPECT_FALSE(log_->Archive(25, dir_ + "/again.jsonl").ok());
  EXPECT_FALSE(log_->Archive(40, dir_ + "/beyond.jsonl").ok());
  EXPECT_FALSE(log_->Archive(30, first).ok());
}

// Archiving while other threads append: the archive ends where it was asked to and the records
// appended meanwhile link on to it.
TEST_F(MessageLogPgTest, ArchiveWhileAppending) {
  AppendN(50);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto rec = log_->Append(
            MakeEntry(signer_, "during-" + std::to_string(t) + "-" + std::to_string(i)));
        ASSERT_TRUE(rec.ok()) << rec.error().ToString();
      }
    });
  }
  const std::string path = dir_ + "/archive.jsonl";
  auto archived = log_->Archive(40, path);
  for (auto& th : threads) th.join();
  ASSERT_TRUE(archived.ok()) << archived.error().ToString();
  EXPECT_EQ(archived->count, 40);

  const auto v = VerifyOrDie();
  EXPECT_TRUE(v.ok) << v.bad_seq << ": " << v.reason;
  EXPECT_EQ(v.first_seq, 41);
  EXPECT_EQ(v.count, 50 + kThreads * kPerThread - 40);
  auto file = VerifyArchive(path, crypto::Sha256Digest{}, &keys_);
  ASSERT_TRUE(file.ok()) << file.error().ToString();
  EXPECT_TRUE(file->ok) << file->reason;
  EXPECT_EQ(file->last_seq, 40);
}

TEST_F(MessageLogPgTest, FindsTheLoggedResponseByXRoadId) {
  auto pair = log_->Append(MakePair(signer_, "xr-1"));
  ASSERT_TRUE(pair.ok()) << pair.error().ToString();
  auto found = log_->FindByXRoadId(kClient, "xr-1");
  ASSERT_TRUE(found.ok()) << found.error().ToString();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->seq, (*pair)[1].seq);
  EXPECT_EQ((*found)->hash, (*pair)[1].hash);
  EXPECT_EQ((*found)->prev_hash, (*pair)[0].hash);
  EXPECT_EQ((*found)->entry.body_digest, (*pair)[1].entry.body_digest);
  EXPECT_EQ((*found)->entry.signature, (*pair)[1].entry.signature);
  EXPECT_EQ(ToUnixMicros((*found)->at), ToUnixMicros((*pair)[1].at));

  // The newest response wins when an X-Road-Id was answered twice.
  auto again = log_->Append(MakeEntry(signer_, "xr-1", MessageKind::kResponse));
  ASSERT_TRUE(again.ok());
  found = log_->FindByXRoadId(kClient, "xr-1");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->seq, again->seq);

  // A request alone is not an answer; another client's X-Road-Id is not ours.
  ASSERT_TRUE(log_->Append(MakeEntry(signer_, "xr-2", MessageKind::kRequest)).ok());
  auto request_only = log_->FindByXRoadId(kClient, "xr-2");
  ASSERT_TRUE(request_only.ok());
  EXPECT_FALSE(request_only->has_value());
  auto other_client = log_->FindByXRoadId("MN/GOV/OTHER/app", "xr-1");
  ASSERT_TRUE(other_client.ok());
  EXPECT_FALSE(other_client->has_value());
}

// Several instances start on a fresh schema at once (a rolling restart of several nodes): the
// advisory locks let exactly one apply each step and the others find it done.
TEST_F(MessageLogPgTest, ConcurrentMigrationsOnAFreshSchema) {
  auto fresh = PostgresSchema::Make(kSchemaPrefix);
  ASSERT_TRUE(fresh.ok()) << fresh.error().ToString();
  constexpr int kInstances = 6;  // each with its own pool
  constexpr int kSharing = 4;    // threads opening logs on one shared pool
  auto shared_db = OpenDb((*fresh)->url());
  ASSERT_NE(shared_db, nullptr);
  std::vector<std::unique_ptr<store::Database>> dbs(kInstances);
  for (auto& db : dbs) {
    db = OpenDb((*fresh)->url(), 2);
    ASSERT_NE(db, nullptr);
  }
  std::vector<std::unique_ptr<MessageLog>> logs(kInstances + kSharing);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kInstances + kSharing; ++i) {
    threads.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      store::Database& db = i < kInstances ? *dbs[static_cast<size_t>(i)] : *shared_db;
      auto log = MessageLog::Open(db);
      ASSERT_TRUE(log.ok()) << "instance " << i << ": " << log.error().ToString();
      logs[static_cast<size_t>(i)] = std::move(log).value();
    });
  }
  go = true;
  for (auto& th : threads) th.join();

  auto conn = shared_db->Acquire();
  ASSERT_TRUE(conn.ok());
  auto steps =
      (*conn)->QueryInt("SELECT COUNT(*) FROM schema_migration WHERE component = 'exchange_log'");
  ASSERT_TRUE(steps.ok()) << steps.error().ToString();
  EXPECT_EQ(*steps, 2) << "each step applied once";
  auto heads = (*conn)->QueryInt("SELECT COUNT(*) FROM exchange_log_head");
  ASSERT_TRUE(heads.ok()) << heads.error().ToString();
  EXPECT_EQ(*heads, 1) << "the head row was inserted more than once";

  // Every instance appends to the one chain.
  for (size_t i = 0; i < logs.size(); ++i) {
    ASSERT_NE(logs[i], nullptr);
    auto rec = logs[i]->Append(MakeEntry(signer_, "after-" + std::to_string(i)));
    ASSERT_TRUE(rec.ok()) << rec.error().ToString();
    EXPECT_EQ(rec->seq, static_cast<int64_t>(i) + 1);
  }
  const auto v = VerifyOrDie(*logs.front());
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.count, static_cast<int64_t>(logs.size()));
}

}  // namespace
}  // namespace ulus::exchange
