#include "ulus/store/group_commit.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ulus/store/testing/countdown.hpp"

namespace ulus::store {
namespace {

namespace fs = std::filesystem;

using store::testing::Countdown;

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ulus-group-commit-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    db_ = Open();
    ASSERT_NE(db_, nullptr);
    Status made = db_->InTransaction([](Connection& tx) -> Status {
      return tx.ExecuteScript(
          "CREATE TABLE item (id BIGINT PRIMARY KEY, worker BIGINT NOT NULL);"
          "CREATE TABLE counter (id INTEGER PRIMARY KEY, n BIGINT NOT NULL);"
          "INSERT INTO counter (id, n) VALUES (1, 0);");
    });
    ASSERT_TRUE(made.ok()) << made.error().ToString();
  }

  void TearDown() override {
    db_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::unique_ptr<Database> Open() {
    auto db = Database::Open({.url = "sqlite:" + dir_ + "/test.db"});
    EXPECT_TRUE(db.ok()) << db.error().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  }

  static Status Insert(Connection& tx, int64_t id, int64_t worker) {
    const Value params[] = {id, worker};
    ULUS_TRY(tx.Execute("INSERT INTO item (id, worker) VALUES ($1, $2)", params));
    ULUS_TRY(tx.Execute("UPDATE counter SET n = n + 1 WHERE id = 1"));
    return Ok();
  }

  std::string dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(GroupCommitTest, ManyThreadsShareCommitsAndEveryItemIsDurable) {
  constexpr int kThreads = 16;
  constexpr int kEach = 200;
  std::atomic<int> failures{0};
  GroupCommit::Stats stats;
  {
    GroupCommit group(*db_);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          const int64_t id = int64_t{t} * kEach + i;
          Status s = group.Submit([&, id, t](Connection& tx) { return Insert(tx, id, t); });
          if (!s.ok()) ++failures;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    stats = group.stats();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(stats.items, uint64_t{kThreads * kEach});
  // Submitters queue up behind the running batch, so commits are shared.
  EXPECT_LT(stats.batches, stats.items);

  db_.reset();
  auto reopened = Open();
  ASSERT_NE(reopened, nullptr);
  auto conn = reopened->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(*(*conn)->QueryInt("SELECT COUNT(*) FROM item"), kThreads * kEach);
  EXPECT_EQ(*(*conn)->QueryInt("SELECT n FROM counter WHERE id = 1"), kThreads * kEach);
}

TEST_F(GroupCommitTest, FailingItemRollsBackAloneAndGetsItsOwnError) {
  GroupCommit group(*db_);
  constexpr int kThreads = 8;
  constexpr int kEach = 50;
  std::atomic<int> ok{0};
  std::atomic<int> refused{0};
  std::atomic<int> duplicate{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const int64_t id = int64_t{t} * kEach + i;
        Status s;
        if (i % 10 == 3) {
          // Writes, then fails: its writes must vanish, its neighbours' must not.
          s = group.Submit([id](Connection& tx) -> Status {
            ULUS_TRY(Insert(tx, 100000 + id, -1));
            return Error::InvalidArgument("refused on purpose");
          });
          if (!s.ok() && s.error().code == ErrorCode::kInvalidArgument) ++refused;
        } else if (i % 10 == 7) {
          // A database error (the key exists) inside an item.
          s = group.Submit([id](Connection& tx) -> Status {
            ULUS_TRY(Insert(tx, 200000 + id, -2));
            return Insert(tx, 200000 + id, -2);
          });
          if (!s.ok()) ++duplicate;
        } else {
          s = group.Submit([id, t](Connection& tx) { return Insert(tx, id, t); });
          if (s.ok()) ++ok;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), kThreads * kEach * 8 / 10);
  EXPECT_EQ(refused.load(), kThreads * kEach / 10);
  EXPECT_EQ(duplicate.load(), kThreads * kEach / 10);

  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(*(*conn)->QueryInt("SELECT COUNT(*) FROM item"), ok.load());
  EXPECT_EQ(*(*conn)->QueryInt("SELECT COUNT(*) FROM item WHERE worker < 0"), 0);
  EXPECT_EQ(*(*conn)->QueryInt("SELECT n FROM counter WHERE id = 1"), ok.load());
}

TEST_F(GroupCommitTest, AnItemThatThrowsFailsAloneAndTheGroupGoesOn) {
  GroupCommit group(*db_);
  constexpr int kThreads = 6;
  constexpr int kEach = 40;
  std::atomic<int> ok{0};
  std::atomic<int> threw{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const int64_t id = int64_t{t} * kEach + i;
        if (i % 8 == 5) {
          // Writes, then throws (as nlohmann::json does on a string that is not UTF-8).
          const Status s = group.Submit([id](Connection& tx) -> Status {
            ULUS_TRY(Insert(tx, 300000 + id, -3));
            throw std::runtime_error("not UTF-8");
          });
          if (!s.ok() && s.error().code == ErrorCode::kInternal) ++threw;
        } else if (group.Submit([id, t](Connection& tx) { return Insert(tx, id, t); }).ok()) {
          ++ok;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(threw.load(), kThreads * kEach / 8);
  EXPECT_EQ(ok.load(), kThreads * kEach * 7 / 8);
  // Later submissions are not stuck behind the one that threw.
  EXPECT_TRUE(group.Submit([](Connection& tx) { return Insert(tx, 999999, 0); }).ok());
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(*(*conn)->QueryInt("SELECT COUNT(*) FROM item WHERE worker < 0"), 0);
  EXPECT_EQ(*(*conn)->QueryInt("SELECT COUNT(*) FROM item"), ok.load() + 1);
}

TEST_F(GroupCommitTest, ResultsReachTheirOwnSubmitter) {
  GroupCommit group(*db_, {.max_batch = 4});
  std::vector<std::thread> threads;
  std::atomic<int> mismatched{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string mine = std::to_string(t) + ":" + std::to_string(i);
        Status s = group.Submit([&mine](Connection&) -> Status { return Error::NotFound(mine); });
        if (s.ok() || s.error().message != mine) ++mismatched;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatched.load(), 0);
  EXPECT_GE(group.stats().batches, uint64_t{160 / 4});
}

TEST_F(GroupCommitTest, AsyncAndSyncSubmittersMixAndEveryItemCompletesOnce) {
  constexpr int kAsyncThreads = 4;
  constexpr int kAsyncEach = 500;
  constexpr int kSyncThreads = 2;
  constexpr int kSyncEach = 200;
  constexpr int kAsyncTotal = kAsyncThreads * kAsyncEach;
  constexpr int kTotal = kAsyncTotal + kSyncThreads * kSyncEach;
  std::vector<std::atomic<int>> calls(kAsyncTotal);
  std::atomic<int> async_failures{0};
  std::atomic<int> sync_failures{0};
  Countdown finished;
  GroupCommit::Stats stats;
  {
    GroupCommit group(*db_);
    std::vector<std::thread> threads;
    for (int t = 0; t < kAsyncThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kAsyncEach; ++i) {
          const int64_t id = int64_t{t} * kAsyncEach + i;
          group.SubmitAsync([id, t](Connection& tx) { return Insert(tx, id, t); },
                            [&, id](Status s) {
                              // Outside the group's lock: stats() would deadlock inside it.
                              (void)group.stats();
                              ++calls[static_cast<size_t>(id)];
                              if (!s.ok()) ++async_failures;
                              finished.Add();
                            });
        }
      });
    }
    for (int t = 0; t < kSyncThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kSyncEach; ++i) {
          const int64_t id = kAsyncTotal + int64_t{t} * kSyncEach + i;
          if (!group.Submit([id, t](Connection& tx) { return Insert(tx, id, 100 + t); }).ok()) {
            ++sync_failures;
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
    ASSERT_TRUE(finished.WaitFor(kAsyncTotal)) << finished.count() << " of " << kAsyncTotal;
    stats = group.stats();
  }
  EXPECT_EQ(async_failures.load(), 0);
  EXPECT_EQ(sync_failures.load(), 0);
  for (int id = 0; id < kAsyncTotal; ++id) {
    EXPECT_EQ(calls[static_cast<size_t>(id)].load(), 1) << "item " << id;
  }
  EXPECT_EQ(stats.items, uint64_t{kTotal});
  EXPECT_LT(stats.batches, stats.items) << "submissions did not share commits";

  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(*(*conn)->QueryInt("SELECT COUNT(*) FROM item"), kTotal);
  EXPECT_EQ(*(*conn)->QueryInt("SELECT COUNT(DISTINCT id) FROM item"), kTotal);
  EXPECT_EQ(*(*conn)->QueryInt("SELECT n FROM counter WHERE id = 1"), kTotal);
}

TEST_F(GroupCommitTest, AnIdleGroupRunsAnAsyncItemOnTheCallersThread) {
  GroupCommit group(*db_);
  bool called = false;
  std::thread::id called_on;
  group.SubmitAsync([](Connection& tx) { return Insert(tx, 1, 0); },
                    [&](Status s) {
                      EXPECT_TRUE(s.ok()) << s.error().ToString();
                      called = true;
                      called_on = std::this_thread::get_id();
                    });
  // Nobody else was leading, so the caller led until the queue was empty.
  EXPECT_TRUE(called);
  EXPECT_EQ(called_on, std::this_thread::get_id());
  EXPECT_EQ(group.stats().batches, 1U);
}

// While a Submit() caller's work holds the lead, asynchronous items pile up and then share one
// batch; the failing ones roll back alone.
TEST_F(GroupCommitTest, AFailingAsyncItemFailsAlone) {
  constexpr int kItems = 40;
  GroupCommit group(*db_);
  std::mutex mu;
  std::condition_variable cv;
  bool leader_in = false;  // guarded by mu
  bool release = false;    // guarded by mu
  std::thread leader([&] {
    EXPECT_TRUE(group
                    .Submit([&](Connection& tx) -> Status {
                      std::unique_lock lock(mu);
                      leader_in = true;
                      cv.notify_all();
                      cv.wait(lock, [&] { return release; });
                      return Insert(tx, 1000000, 0);
                    })
                    .ok());
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return leader_in; });
  }
  std::vector<std::optional<Status>> results(kItems);
  Countdown finished;
  for (int i = 0; i < kItems; ++i) {
    auto work = (i % 7 == 3) ? GroupCommit::Work([i](Connection& tx) -> Status {
      ULUS_TRY(Insert(tx, 500000 + i, -1));
      return Error::InvalidArgument("refused " + std::to_string(i));
    })
                             : GroupCommit::Work([i](Connection& tx) { return Insert(tx, i, 1); });
    // A leader is active, so this only queues the item.
    group.SubmitAsync(std::move(work), [&, i](Status s) {
      results[static_cast<size_t>(i)] = std::move(s);
      finished.Add();
    });
  }
  EXPECT_EQ(finished.count(), 0);
  {
    std::lock_guard lock(mu);
    release = true;
    cv.notify_all();
  }
  leader.join();
  ASSERT_TRUE(finished.WaitFor(kItems));
  int ok = 0;
  for (int i = 0; i < kItems; ++i) {
    const auto& result = results[static_cast<size_t>(i)];
    ASSERT_TRUE(result.has_value());
    if (i % 7 == 3) {
      ASSERT_FALSE(result->ok());
      EXPECT_EQ(result->error().code, ErrorCode::kInvalidArgument);
      EXPECT_EQ(result->error().message, "refused " + std::to_string(i));
    } else {
      EXPECT_TRUE(result->ok()) << result->error().ToString();
      ++ok;
    }
  }
  // The leader's own item, then everything queued behind it in one batch.
  EXPECT_EQ(group.stats().batches, 2U);
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(*(*conn)->QueryInt("SELECT COUNT(*) FROM item WHERE worker < 0"), 0);
  EXPECT_EQ(*(*conn)->QueryInt("SELECT COUNT(*) FROM item"), ok + 1);
  EXPECT_EQ(*(*conn)->QueryInt("SELECT n FROM counter WHERE id = 1"), ok + 1);
}

TEST_F(GroupCommitTest, ADoneCallbackMaySubmitAgain) {
  constexpr int kChain = 50;
  GroupCommit group(*db_);
  Countdown finished;
  std::atomic<int> failures{0};
  // Each callback submits the next link asynchronously and, on the leader's own thread, a
  // blocking Submit as well, which must not wait for itself.
  std::function<void(int)> submit = [&](int n) {
    group.SubmitAsync(
        [n](Connection& tx) { return Insert(tx, n, 1); },
        [&, n](Status s) {
          if (!s.ok()) ++failures;
          if (!group.Submit([n](Connection& tx) { return Insert(tx, 10000 + n, 2); }).ok()) {
            ++failures;
          }
          if (n + 1 < kChain) submit(n + 1);
          finished.Add();
        });
  };
  std::thread other([&] {
    for (int i = 0; i < 100; ++i) {
      if (!group.Submit([i](Connection& tx) { return Insert(tx, 20000 + i, 3); }).ok()) {
        ++failures;
      }
    }
  });
  submit(0);
  other.join();
  ASSERT_TRUE(finished.WaitFor(kChain));
  EXPECT_EQ(failures.load(), 0);
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(*(*conn)->QueryInt("SELECT COUNT(*) FROM item WHERE worker = 1"), kChain);
  EXPECT_EQ(*(*conn)->QueryInt("SELECT COUNT(*) FROM item WHERE worker = 2"), kChain);
  EXPECT_EQ(*(*conn)->QueryInt("SELECT COUNT(*) FROM item WHERE worker = 3"), 100);
}

TEST_F(GroupCommitTest, ADoneCallbackThatThrowsDoesNotStopTheGroup) {
  GroupCommit group(*db_);
  group.SubmitAsync([](Connection& tx) { return Insert(tx, 1, 0); },
                    [](Status) { throw std::runtime_error("a careless callback"); });
  bool called = false;
  group.SubmitAsync([](Connection& tx) { return Insert(tx, 2, 0); },
                    [&](Status s) { called = s.ok(); });
  EXPECT_TRUE(called);
  EXPECT_TRUE(group.Submit([](Connection& tx) { return Insert(tx, 3, 0); }).ok());
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(*(*conn)->QueryInt("SELECT COUNT(*) FROM item"), 3);
}

TEST_F(GroupCommitTest, DestructorWithNothingPendingReturns) {
  { GroupCommit unused(*db_); }
  bool called = false;
  {
    GroupCommit group(*db_);
    group.SubmitAsync([](Connection& tx) { return Insert(tx, 1, 0); },
                      [&](Status s) { called = s.ok(); });
  }
  EXPECT_TRUE(called);
}

// Shared batch work runs once per batch around its items, inside the same transaction.
TEST_F(GroupCommitTest, OpenAndCloseRunOncePerBatchInItsTransaction) {
  int opened = 0;
  int64_t counted = 0;  // items of the open batch, written to the counter by close_batch
  bool refuse_close = false;
  GroupCommitOptions options;
  options.open_batch = [&](Connection&) -> Status {
    ++opened;
    counted = 0;
    return Ok();
  };
  options.close_batch = [&](Connection& tx) -> Status {
    if (refuse_close) return Error::InvalidArgument("close refused on purpose");
    const Value params[] = {counted};
    ULUS_TRY(tx.Execute("UPDATE counter SET n = n + $1 WHERE id = 1", params));
    return Ok();
  };
  GroupCommit group(*db_, options);
  auto item = [&](int64_t id) {
    return [&, id](Connection& tx) -> Status {
      const Value params[] = {id, int64_t{0}};
      ULUS_TRY(tx.Execute("INSERT INTO item (id, worker) VALUES ($1, $2)", params));
      ++counted;
      return Ok();
    };
  };
  std::vector<Status> results(4, Ok());
  group.SubmitAsync(item(1), [&](Status s) {
    results[0] = std::move(s);
    // Queued while the first batch's answers go out: the next batch takes all three.
    for (int64_t id = 2; id <= 4; ++id) {
      group.SubmitAsync(item(id), [&results, id](Status r) {
        results[static_cast<size_t>(id - 1)] = std::move(r);
      });
    }
  });
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(opened, 2);
  EXPECT_EQ(group.stats().batches, 2U);

  refuse_close = true;
  Status refused = group.Submit(item(5));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(*(*conn)->QueryInt("SELECT n FROM counter WHERE id = 1"), 4);
  EXPECT_EQ(*(*conn)->QueryInt("SELECT COUNT(*) FROM item"), 4) << "a refused batch was kept";
}

// The group commit copies SQLite's write-ahead log back between batches rather than inside a
// commit; the log must still stay bounded (restarting from its beginning) and lose nothing.
TEST_F(GroupCommitTest, TheWriteAheadLogStaysBoundedUnderSteadyWrites) {
  ASSERT_TRUE(db_->InTransaction([](Connection& tx) -> Status {
                   return tx.ExecuteScript(
                       "CREATE TABLE bulky (id BIGINT PRIMARY KEY, body BLOB NOT NULL)");
                 })
                  .ok());
  const fs::path wal = dir_ + "/test.db-wal";
  constexpr int kItems = 800;
  constexpr size_t kBodyBytes = 40 * 1024;  // about ten pages a commit: 8,000 pages in all
  uintmax_t largest_wal = 0;
  {
    GroupCommit group(*db_);
    for (int i = 0; i < kItems; ++i) {
      Status s = Ok();
      group.SubmitAsync(
          [i](Connection& tx) -> Status {
            const Value params[] = {
                int64_t{i}, Blob{std::vector<uint8_t>(kBodyBytes, static_cast<uint8_t>(i))}};
            ULUS_TRY(tx.Execute("INSERT INTO bulky (id, body) VALUES ($1, $2)", params));
            return Ok();
          },
          [&](Status result) { s = std::move(result); });
      ASSERT_TRUE(s.ok()) << s.error().ToString();
      largest_wal = std::max(largest_wal, fs::file_size(wal));
    }
  }
  // A checkpoint is due at 250 pages not yet copied back; a batch adds about ten.
  constexpr uintmax_t kFrame = 4096 + 24;
  EXPECT_LE(largest_wal, 300 * kFrame) << "the log was not restarted between batches";
  EXPECT_GE(largest_wal, 50 * kFrame) << "nothing went through the log";

  db_.reset();
  db_ = Open();
  ASSERT_NE(db_, nullptr);
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(*(*conn)->QueryInt("SELECT COUNT(*) FROM bulky"), kItems);
  EXPECT_EQ(*(*conn)->QueryInt("SELECT SUM(length(body)) FROM bulky"),
            static_cast<int64_t>(kItems * kBodyBytes));
  const Value last[] = {int64_t{kItems - 1}};
  auto body = (*conn)->QueryOne("SELECT body FROM bulky WHERE id = $1", last);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->Bytes(0).bytes.front(), static_cast<uint8_t>(kItems - 1));
}

}  // namespace
}  // namespace ulus::store
