#include "ulus/store/group_commit.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ulus::store {
namespace {

namespace fs = std::filesystem;

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

}  // namespace
}  // namespace ulus::store
