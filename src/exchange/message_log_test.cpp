#include "ulus/exchange/message_log.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "log_entries_testing.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/exchange/batch_signer.hpp"
#include "ulus/store/testing/countdown.hpp"

namespace ulus::exchange {
namespace {

std::string MakeTempDir() {
  std::string dir = (std::filesystem::temp_directory_path() / "ulus-khur-log-XXXXXX").string();
  EXPECT_NE(mkdtemp(dir.data()), nullptr);
  return dir;
}

std::unique_ptr<store::Database> OpenDb(const std::string& dir) {
  store::DatabaseOptions options;
  options.url = "sqlite:" + dir + "/log.db";
  auto db = store::Database::Open(options);
  EXPECT_TRUE(db.ok()) << db.error().ToString();
  return std::move(db).value();
}

using testing::InsertMark;
using testing::NewKey;

// Entry n of a test: X-Road-Id "xr-n".
LogEntry MakeEntry(BatchSigner& signer, int n, MessageKind kind = MessageKind::kRequest) {
  return testing::MakeEntry(signer, "xr-" + std::to_string(n), kind);
}

std::vector<LogEntry> MakePair(BatchSigner& signer, int n) {
  return testing::MakePair(signer, "xr-" + std::to_string(n));
}

class MessageLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    db_ = OpenDb(dir_);
    auto log = MessageLog::Open(*db_);
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    log_ = std::move(log).value();
    ASSERT_TRUE(keys_.Add(key_.Public()).ok());
  }
  void TearDown() override {
    log_.reset();
    db_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  void AppendN(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(log_->Append(MakeEntry(signer_, i)).ok());
    }
  }

  void Exec(const std::string& sql) {
    auto conn = db_->Acquire();
    ASSERT_TRUE(conn.ok());
    auto changed = (*conn)->Execute(sql);
    ASSERT_TRUE(changed.ok()) << changed.error().ToString();
    ASSERT_EQ(*changed, 1);
  }

  LogVerification VerifyOrDie() {
    auto v = log_->Verify(&keys_);
    EXPECT_TRUE(v.ok());
    return *v;
  }

  std::string dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<MessageLog> log_;
  crypto::SigningKey key_ = NewKey();
  BatchSigner signer_{key_};
  crypto::JwkSet keys_;
};

TEST_F(MessageLogTest, ConcurrentAppendsFormOneChainAndShareCommits) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<int64_t> seqs;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto rec = log_->Append(MakeEntry(signer_, t * kPerThread + i));
        ASSERT_TRUE(rec.ok()) << rec.error().ToString();
        std::lock_guard lock(mu);
        seqs.insert(rec->seq);
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  constexpr int64_t kTotal = kThreads * kPerThread;
  ASSERT_EQ(static_cast<int64_t>(seqs.size()), kTotal);
  EXPECT_EQ(*seqs.begin(), 1);
  EXPECT_EQ(*seqs.rbegin(), kTotal);
  auto v = VerifyOrDie();
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.count, kTotal);
  const auto stats = log_->commit_stats();
  EXPECT_EQ(stats.items, static_cast<uint64_t>(kTotal));
  EXPECT_LT(stats.batches, stats.items) << "appends did not share commits";
}

using store::testing::Countdown;

// Threads appending request/response pairs asynchronously and others blocking, each pair with a
// side effect in the same transaction: one chain, no gaps, every pair consecutive.
TEST_F(MessageLogTest, AsyncAndBlockingAppendsFormOneChain) {
  {
    auto conn = db_->Acquire();
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(
        (*conn)->ExecuteScript("CREATE TABLE khur_test_mark (x_road_id TEXT PRIMARY KEY)").ok());
  }
  constexpr int kAsyncThreads = 4;
  constexpr int kSyncThreads = 2;
  constexpr int kPairs = 100;  // per thread
  constexpr int kAsyncPairs = kAsyncThreads * kPairs;
  std::mutex mu;
  std::set<int64_t> seqs;  // guarded by mu
  std::atomic<int> failures{0};
  Countdown finished;
  auto take = [&](const std::vector<LogRecord>& recs) {
    // A pair is consecutive in the chain: nothing of another append comes between.
    if (recs.size() != 2 || recs[1].seq != recs[0].seq + 1 || recs[1].prev_hash != recs[0].hash) {
      ++failures;
    }
    std::lock_guard lock(mu);
    for (const auto& rec : recs) {
      if (!seqs.insert(rec.seq).second) ++failures;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kAsyncThreads + kSyncThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPairs; ++i) {
        const int n = t * kPairs + i;
        const std::string x_road_id = "xr-" + std::to_string(n);
        if (t >= kAsyncThreads) {
          auto recs = log_->Append(MakePair(signer_, n), InsertMark(x_road_id));
          if (!recs.ok()) {
            ++failures;
            continue;
          }
          take(*recs);
          continue;
        }
        log_->AppendAsync(MakePair(signer_, n), InsertMark(x_road_id),
                          [&](Result<std::vector<LogRecord>> recs) {
                            if (recs.ok()) {
                              take(*recs);
                            } else {
                              ++failures;
                            }
                            finished.Add();
                          });
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(finished.WaitFor(kAsyncPairs));

  EXPECT_EQ(failures.load(), 0);
  constexpr int64_t kTotal = (kAsyncThreads + kSyncThreads) * kPairs * 2;
  ASSERT_EQ(static_cast<int64_t>(seqs.size()), kTotal);
  EXPECT_EQ(*seqs.begin(), 1);
  EXPECT_EQ(*seqs.rbegin(), kTotal);
  auto v = VerifyOrDie();
  EXPECT_TRUE(v.ok) << v.bad_seq << ": " << v.reason;
  EXPECT_EQ(v.count, kTotal);
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(*(*conn)->QueryInt("SELECT COUNT(*) FROM khur_test_mark"),
            (kAsyncThreads + kSyncThreads) * kPairs);
  const auto stats = log_->commit_stats();
  EXPECT_EQ(stats.items, static_cast<uint64_t>((kAsyncThreads + kSyncThreads) * kPairs));
  EXPECT_LT(stats.batches, stats.items) << "appends did not share commits";
}

// An async append whose side effect fails logs nothing, and the chain goes on without a gap.
TEST_F(MessageLogTest, AsyncAppendWithAFailingSideEffectLogsNothing) {
  AppendN(3);
  std::optional<Result<std::vector<LogRecord>>> failed;
  log_->AppendAsync(
      MakePair(signer_, 10),
      [](store::Connection&) -> Status { return Error::InvalidArgument("refused on purpose"); },
      [&](Result<std::vector<LogRecord>> recs) { failed = std::move(recs); });
  // Nobody else was appending, so the caller committed it before AppendAsync returned.
  ASSERT_TRUE(failed.has_value());
  ASSERT_FALSE(failed->ok());
  EXPECT_EQ(failed->error().code, ErrorCode::kInvalidArgument);

  std::optional<Result<std::vector<LogRecord>>> logged;
  log_->AppendAsync(MakePair(signer_, 11), {},
                    [&](Result<std::vector<LogRecord>> recs) { logged = std::move(recs); });
  ASSERT_TRUE(logged.has_value());
  ASSERT_TRUE(logged->ok()) << logged->error().ToString();
  ASSERT_EQ((*logged)->size(), 2U);
  EXPECT_EQ((**logged)[0].seq, 4);
  EXPECT_EQ((**logged)[1].seq, 5);
  EXPECT_EQ((**logged)[0].entry.x_road_id, "xr-11");
  auto v = VerifyOrDie();
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.count, 5);
}

// Appends queued while a batch commits share the next one, and with it one reading and one
// writing of the chain's head. One that fails inside that batch takes no place in the chain.
TEST_F(MessageLogTest, AFailingAppendInASharedBatchLeavesNoGap) {
  using Logged = std::optional<Result<std::vector<LogRecord>>>;
  Logged first;
  Logged second;
  Logged refused;
  Logged third;
  auto keep = [](Logged& slot) {
    return [&slot](Result<std::vector<LogRecord>> recs) { slot = std::move(recs); };
  };
  log_->AppendAsync(MakePair(signer_, 1), {}, [&](Result<std::vector<LogRecord>> recs) {
    first = std::move(recs);
    // Called by the leader after its batch: these three queue behind it and form the next one.
    log_->AppendAsync(MakePair(signer_, 2), {}, keep(second));
    log_->AppendAsync(
        MakePair(signer_, 3),
        [](store::Connection&) -> Status { return Error::InvalidArgument("refused on purpose"); },
        keep(refused));
    log_->AppendAsync(MakePair(signer_, 4), {}, keep(third));
  });
  ASSERT_TRUE(first && second && refused && third);
  EXPECT_EQ(log_->commit_stats().batches, 2U);
  ASSERT_TRUE(first->ok() && second->ok() && third->ok());
  ASSERT_FALSE(refused->ok());
  EXPECT_EQ(refused->error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ((**first)[1].seq, 2);
  EXPECT_EQ((**second)[0].seq, 3);
  EXPECT_EQ((**third)[0].seq, 5);
  EXPECT_EQ((**third)[0].prev_hash, (**second)[1].hash);
  auto after = log_->Append(MakeEntry(signer_, 5));
  ASSERT_TRUE(after.ok()) << after.error().ToString();
  EXPECT_EQ(after->seq, 7);
  EXPECT_EQ(after->prev_hash, (**third)[1].hash);
  auto v = VerifyOrDie();
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.count, 7);
}

TEST_F(MessageLogTest, ChangedColumnIsFoundAtItsSeq) {
  AppendN(20);
  ASSERT_TRUE(VerifyOrDie().ok);
  Exec("UPDATE exchange_log_record SET subject = 'someone else' WHERE seq = 7");
  auto v = VerifyOrDie();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.bad_seq, 7);
  EXPECT_EQ(v.problem, LogProblem::kHashMismatch);
}

TEST_F(MessageLogTest, ChangedBodyDigestIsFound) {
  AppendN(20);
  Exec("UPDATE exchange_log_record SET body_digest = X'" + std::string(64, 'a') +
       "' WHERE seq = 12");
  auto v = VerifyOrDie();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.bad_seq, 12);
}

TEST_F(MessageLogTest, ChangedHashIsFound) {
  AppendN(20);
  Exec("UPDATE exchange_log_record SET hash = X'" + std::string(64, 'b') + "' WHERE seq = 3");
  auto v = VerifyOrDie();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.bad_seq, 3);
}

TEST_F(MessageLogTest, RehashedRecordBreaksTheNextLink) {
  AppendN(10);
  // A forger who recomputes the changed record's hash still breaks the link after it.
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  auto row = (*conn)->QueryOne(
      "SELECT seq, at, kind, x_road_id, client, service, user_id, subject, purpose, body_digest, "
      "signature, prev_hash, hash FROM exchange_log_record WHERE seq = 4");
  ASSERT_TRUE(row.ok());
  LogRecord r;
  r.seq = 4;
  r.at = FromUnixMicros(row->Int(1));
  r.entry = MakeEntry(signer_, 3);
  r.entry.subject = "forged";
  std::copy(row->Bytes(11).bytes.begin(), row->Bytes(11).bytes.end(), r.prev_hash.begin());
  const auto forged = RecordHash(r.prev_hash, r);
  const store::Value params[] = {r.entry.signature, store::Blob{{forged.begin(), forged.end()}}};
  ASSERT_TRUE((*conn)
                  ->Execute("UPDATE exchange_log_record SET subject = 'forged', signature = $1, "
                            "hash = $2 WHERE seq = 4",
                            params)
                  .ok());
  auto v = VerifyOrDie();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.bad_seq, 5);
  EXPECT_EQ(v.problem, LogProblem::kBrokenLink);
}

TEST_F(MessageLogTest, BadSignatureIsFound) {
  AppendN(5);
  auto other = NewKey();
  BatchSigner other_signer(other);
  auto e = MakeEntry(other_signer, 99);
  ASSERT_TRUE(log_->Append(e).ok());
  auto v = VerifyOrDie();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.bad_seq, 6);
  EXPECT_EQ(v.problem, LogProblem::kBadSignature);
  // Without keys only the chain is checked.
  auto chain_only = log_->Verify(nullptr);
  ASSERT_TRUE(chain_only.ok());
  EXPECT_TRUE(chain_only->ok);
}

TEST_F(MessageLogTest, DeletedRowsAreFound) {
  AppendN(20);
  Exec("DELETE FROM exchange_log_record WHERE seq = 10");
  auto v = VerifyOrDie();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.bad_seq, 10);
  EXPECT_EQ(v.problem, LogProblem::kMissingRecord);
}

TEST_F(MessageLogTest, DeletedTailIsFound) {
  AppendN(20);
  Exec("DELETE FROM exchange_log_record WHERE seq = 20");
  auto v = VerifyOrDie();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.bad_seq, 20);
}

TEST_F(MessageLogTest, ArchiveKeepsTheChain) {
  AppendN(30);
  const std::string first = dir_ + "/archive-1.jsonl";
  auto a1 = log_->Archive(12, first);
  ASSERT_TRUE(a1.ok()) << a1.error().ToString();
  EXPECT_EQ(a1->count, 12);
  AppendN(5);
  const std::string second = dir_ + "/archive-2.jsonl";
  auto a2 = log_->Archive(25, second);
  ASSERT_TRUE(a2.ok()) << a2.error().ToString();

  auto v = VerifyOrDie();
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.first_seq, 26);
  EXPECT_EQ(v.count, 10);

  auto f1 = VerifyArchive(first, crypto::Sha256Digest{}, &keys_);
  ASSERT_TRUE(f1.ok());
  EXPECT_TRUE(f1->ok) << f1->reason;
  EXPECT_EQ(f1->last_seq, 12);
  auto f2 = VerifyArchive(second, f1->last_hash, &keys_);
  ASSERT_TRUE(f2.ok());
  EXPECT_TRUE(f2->ok) << f2->reason;
  EXPECT_EQ(f2->first_seq, 13);
  // The second archive does not follow anything but the first.
  auto wrong = VerifyArchive(second, crypto::Sha256Digest{}, &keys_);
  ASSERT_TRUE(wrong.ok());
  EXPECT_FALSE(wrong->ok);
  EXPECT_EQ(wrong->bad_seq, 13);

  // The store remembers each file's SHA-256.
  std::ifstream in(second, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  auto digest = log_->ArchiveFileDigest(25);
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(*digest, crypto::Sha256(ss.str()));

  EXPECT_FALSE(log_->Archive(25, dir_ + "/again.jsonl").ok());
  EXPECT_FALSE(log_->Archive(40, dir_ + "/beyond.jsonl").ok());
  EXPECT_FALSE(log_->Archive(30, first).ok());
}

TEST_F(MessageLogTest, ChangedArchiveByteIsFound) {
  AppendN(10);
  const std::string path = dir_ + "/archive.jsonl";
  ASSERT_TRUE(log_->Archive(10, path).ok());
  std::string content;
  {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    content = ss.str();
  }
  // A different hex digit in record 4's body digest: still well-formed, so the hash catches it.
  size_t line_start = 0;
  for (int line = 1; line < 4; ++line) {
    line_start = content.find('\n', line_start) + 1;
  }
  const size_t at = content.find("\"body_digest\":\"", line_start) + 15;
  std::string changed = content;
  changed[at] = changed[at] == '0' ? '1' : '0';
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << changed;
  }
  auto v = VerifyArchive(path, crypto::Sha256Digest{}, &keys_);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->bad_seq, 4);

  // Any single byte changed anywhere fails the file.
  for (size_t i = 0; i < content.size(); i += 97) {
    changed = content;
    changed[i] = static_cast<char>(changed[i] ^ 0x01);
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << changed;
    }
    auto w = VerifyArchive(path, crypto::Sha256Digest{}, &keys_);
    ASSERT_TRUE(w.ok());
    EXPECT_FALSE(w->ok) << "byte " << i;
  }
}

TEST_F(MessageLogTest, FindsTheLoggedResponseByXRoadId) {
  ASSERT_TRUE(log_->Append(MakeEntry(signer_, 1, MessageKind::kRequest)).ok());
  auto response = log_->Append(MakeEntry(signer_, 1, MessageKind::kResponse));
  ASSERT_TRUE(response.ok());
  auto found = log_->FindByXRoadId("MN/GOV/CLIENT/app", "xr-1");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->seq, response->seq);
  EXPECT_EQ((*found)->hash, response->hash);
  auto missing = log_->FindByXRoadId("MN/GOV/OTHER/app", "xr-1");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

// A child appends from several threads and reports every acknowledged seq on a pipe; the parent
// kills it with SIGKILL and checks that each reported seq survived and the chain still verifies.
TEST(MessageLogCrashTest, AcknowledgedAppendsSurviveSigkill) {
  const std::string dir = MakeTempDir();
  auto key = NewKey();  // made before fork, so the child signs with it too
  crypto::JwkSet keys;
  ASSERT_TRUE(keys.Add(key.Public()).ok());
  std::set<int64_t> acked;
  for (int round = 0; round < 3; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      auto db = OpenDb(dir);
      auto log = MessageLog::Open(*db);
      if (!log.ok()) {
        _exit(2);
      }
      BatchSigner signer(key);
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
          for (int i = 0;; ++i) {
            auto rec = (*log)->Append(MakeEntry(signer, t * 1000000 + i));
            if (!rec.ok()) {
              _exit(3);
            }
            const std::string line = std::to_string(rec->seq) + "\n";
            if (write(fds[1], line.data(), line.size()) < 0) {
              _exit(4);
            }
          }
        });
      }
      for (auto& th : threads) {
        th.join();
      }
      _exit(0);
    }
    close(fds[1]);
    std::string received;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    char buf[4096];
    while (std::count(received.begin(), received.end(), '\n') < 300 &&
           std::chrono::steady_clock::now() < deadline) {
      const ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) {
        break;
      }
      received.append(buf, static_cast<size_t>(n));
    }
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status)) << "child exited early with " << status;
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) {
      received.append(buf, static_cast<size_t>(n));
    }
    close(fds[0]);
    std::istringstream lines(received.substr(0, received.rfind('\n') + 1));
    for (std::string line; std::getline(lines, line);) {
      acked.insert(std::stoll(line));
    }
    ASSERT_FALSE(acked.empty());

    auto db = OpenDb(dir);
    auto log = MessageLog::Open(*db);
    ASSERT_TRUE(log.ok());
    auto v = (*log)->Verify(&keys);
    ASSERT_TRUE(v.ok());
    EXPECT_TRUE(v->ok) << v->reason;
    // The chain is contiguous from 1, so every seq up to count is present.
    EXPECT_GE(v->count, *acked.rbegin()) << "round " << round;
    EXPECT_EQ(v->first_seq, 1);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace
}  // namespace ulus::exchange
