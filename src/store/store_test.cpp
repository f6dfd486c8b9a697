#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "store_suite.hpp"

namespace ulus::store::test {
namespace {

// A database file in a fresh temporary directory, removed with it.
class SqliteTestDatabase final : public TestDatabase {
 public:
  explicit SqliteTestDatabase(std::string dir)
      : dir_(std::move(dir)), url_("sqlite:" + dir_ + "/test.db") {}
  ~SqliteTestDatabase() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  [[nodiscard]] const std::string& url() const override { return url_; }

 private:
  std::string dir_;
  std::string url_;
};

Result<std::unique_ptr<TestDatabase>> MakeSqlite() {
  std::string pattern = (std::filesystem::temp_directory_path() / "ulus-store-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return Error::Internal("mkdtemp failed");
  return std::unique_ptr<TestDatabase>(std::make_unique<SqliteTestDatabase>(pattern));
}

const StoreBackend kSqlite{"sqlite", &MakeSqlite};

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreTest, ::testing::Values(kSqlite), BackendName);
INSTANTIATE_TEST_SUITE_P(Sqlite, OutboxTest, ::testing::Values(kSqlite), BackendName);

// What follows is particular to SQLite.

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = MakeSqlite();
    ASSERT_TRUE(made.ok());
    test_db_ = std::move(made).value();
  }

  std::unique_ptr<Database> Open(milliseconds busy_timeout = milliseconds(5000)) {
    DatabaseOptions options;
    options.url = test_db_->url();
    options.busy_timeout = busy_timeout;
    auto db = Database::Open(options);
    EXPECT_TRUE(db.ok()) << db.error().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  }

  std::unique_ptr<TestDatabase> test_db_;
};

TEST_F(SqliteTest, ConnectionsAreDurableAndCheckForeignKeys) {
  auto db = Open();
  ASSERT_NE(db, nullptr);
  auto conn = db->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ((*conn)->QueryOne("PRAGMA journal_mode")->Text(0), "wal");
  EXPECT_EQ(*(*conn)->QueryInt("PRAGMA synchronous"), 2);  // FULL
  EXPECT_EQ(*(*conn)->QueryInt("PRAGMA foreign_keys"), 1);
  EXPECT_EQ((*conn)->backend(), Backend::kSqlite);
}

TEST_F(SqliteTest, MemoryDatabaseIsOneSharedConnection) {
  DatabaseOptions options;
  options.url = "sqlite::memory:";
  options.acquire_timeout = milliseconds(50);
  auto db = Database::Open(options);
  ASSERT_TRUE(db.ok()) << db.error().ToString();
  {
    auto conn = (*db)->Acquire();
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(
        (*conn)->ExecuteScript("CREATE TABLE t (x BIGINT); INSERT INTO t VALUES (7);").ok());
    auto second = (*db)->Acquire();
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
  }
  auto conn = (*db)->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(*(*conn)->QueryInt("SELECT x FROM t"), 7);
}

TEST_F(SqliteTest, BadUrlsAreRefusedClearly) {
  for (const char* url : {"mysql://root@localhost/db", "sqlite:", "", "ulus.db"}) {
    DatabaseOptions options;
    options.url = url;
    auto db = Database::Open(options);
    ASSERT_FALSE(db.ok()) << url;
    EXPECT_EQ(db.error().code, ErrorCode::kInvalidArgument) << url;
  }
  DatabaseOptions options;
  options.url = "sqlite:/nonexistent-dir-for-ulus/sub/test.db";
  auto db = Database::Open(options);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(db.error().message.find("nonexistent-dir-for-ulus"), std::string::npos);
}

TEST_F(SqliteTest, OneStatementPerExecute) {
  auto db = Open();
  ASSERT_NE(db, nullptr);
  auto conn = db->Acquire();
  ASSERT_TRUE(conn.ok());
  auto two = (*conn)->Execute("CREATE TABLE a (x INTEGER); CREATE TABLE b (x INTEGER)");
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE((*conn)->Execute("CREATE TABLE a (x INTEGER); -- a comment").ok());
  auto empty = (*conn)->Execute("  ");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(SqliteTest, ManyDistinctStatementsCycleThroughTheCache) {
  auto db = Open();
  ASSERT_NE(db, nullptr);
  auto conn = db->Acquire();
  ASSERT_TRUE(conn.ok());
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 600; ++i) {
      auto n = (*conn)->QueryInt("SELECT " + std::to_string(i));
      ASSERT_TRUE(n.ok());
      ASSERT_EQ(*n, i);
    }
  }
}

TEST_F(SqliteTest, BusyFileIsUnavailableAndRetriedByInTransaction) {
  auto holder = Open();
  auto other = Open(milliseconds(20));
  ASSERT_NE(holder, nullptr);
  ASSERT_NE(other, nullptr);
  {
    auto conn = holder->Acquire();
    ASSERT_TRUE((*conn)->Execute("CREATE TABLE t (x INTEGER)").ok());
  }
  auto lock = holder->Acquire();
  ASSERT_TRUE(lock.ok());
  ASSERT_TRUE((*lock)->Begin().ok());

  auto blocked = other->Acquire();
  ASSERT_TRUE(blocked.ok());
  Status busy = (*blocked)->Begin();
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().code, ErrorCode::kUnavailable) << busy.error().ToString();
  EXPECT_FALSE((*blocked)->InTransaction());
  blocked = other->Acquire();  // hand it back

  // Released while InTransaction is retrying: the retry gets through.
  std::thread releaser([&] {
    std::this_thread::sleep_for(milliseconds(60));
    ASSERT_TRUE((*lock)->Commit().ok());
  });
  int calls = 0;
  Status written = other->InTransaction([&](Connection& tx) -> Status {
    ++calls;
    ULUS_TRY(tx.Execute("INSERT INTO t (x) VALUES (1)"));
    return Ok();
  });
  releaser.join();
  EXPECT_TRUE(written.ok()) << written.error().ToString();
  EXPECT_EQ(calls, 1);  // only BEGIN failed, so the work ran once
}

}  // namespace
}  // namespace ulus::store::test
