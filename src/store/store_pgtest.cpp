#include <unistd.h>

#include <barrier>
#include <cstdlib>
#include <random>

#include "store_suite.hpp"
#include "ulus/store/testing/postgres_schema.hpp"

namespace ulus::store::test {
namespace {

// The suite's database: a PostgreSQL schema of its own, dropped afterwards.
class PostgresTestDatabase final : public TestDatabase {
 public:
  explicit PostgresTestDatabase(std::unique_ptr<store::testing::PostgresSchema> schema)
      : schema_(std::move(schema)) {}
  [[nodiscard]] const std::string& url() const override { return schema_->url(); }

 private:
  std::unique_ptr<store::testing::PostgresSchema> schema_;
};

Result<std::unique_ptr<TestDatabase>> MakePostgres() {
  ULUS_ASSIGN_OR_RETURN(auto schema, store::testing::PostgresSchema::Make("ulus_test_"));
  return std::unique_ptr<TestDatabase>(std::make_unique<PostgresTestDatabase>(std::move(schema)));
}

const StoreBackend kPostgres{"postgres", &MakePostgres};

INSTANTIATE_TEST_SUITE_P(Postgres, StoreTest, ::testing::Values(kPostgres), BackendName);
INSTANTIATE_TEST_SUITE_P(Postgres, OutboxTest, ::testing::Values(kPostgres), BackendName);

// What follows is particular to PostgreSQL.
using PostgresTest = StoreTest;
INSTANTIATE_TEST_SUITE_P(Postgres, PostgresTest, ::testing::Values(kPostgres), BackendName);

TEST_P(PostgresTest, EachTestHasItsOwnSchema) {
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  auto schema = (*conn)->QueryOne("SELECT current_schema()");
  ASSERT_TRUE(schema.ok()) << schema.error().ToString();
  EXPECT_EQ(schema->Text(0).rfind("ulus_test_", 0), 0u) << schema->Text(0);
  EXPECT_EQ((*conn)->backend(), Backend::kPostgres);
}

TEST_P(PostgresTest, DeadlocksAreRetried) {
  Script("CREATE TABLE pair (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)");
  Exec("INSERT INTO pair (id, n) VALUES (1, 0), (2, 0)");
  std::barrier both_hold_one(2);
  std::atomic<int> calls{0};
  auto run = [&](int64_t first, int64_t second) {
    bool waited = false;
    return db_->InTransaction([&](Connection& tx) -> Status {
      ++calls;
      const Value a[] = {first};
      const Value b[] = {second};
      ULUS_TRY(tx.Execute("UPDATE pair SET n = n + 1 WHERE id = $1", a));
      if (!waited) {
        waited = true;
        both_hold_one.arrive_and_wait();
      }
      ULUS_TRY(tx.Execute("UPDATE pair SET n = n + 1 WHERE id = $1", b));
      return Ok();
    });
  };
  Status one;
  Status two;
  std::thread t1([&] { one = run(1, 2); });
  std::thread t2([&] { two = run(2, 1); });
  t1.join();
  t2.join();
  EXPECT_TRUE(one.ok()) << one.error().ToString();
  EXPECT_TRUE(two.ok()) << two.error().ToString();
  EXPECT_EQ(calls.load(), 3);  // the deadlock victim ran again
  EXPECT_EQ(QueryInt("SELECT SUM(n) FROM pair"), 4);
}

TEST_P(PostgresTest, LostConnectionIsUnavailableAndNotReused) {
  auto db = Open(2);
  ASSERT_NE(db, nullptr);
  int64_t victim_pid = 0;
  {
    auto victim = db->Acquire();
    ASSERT_TRUE(victim.ok());
    victim_pid = *(*victim)->QueryInt("SELECT pg_backend_pid()");
    auto killer = db_->Acquire();
    const Value pid[] = {victim_pid};
    ASSERT_TRUE((*killer)->Query("SELECT pg_terminate_backend(CAST($1 AS INTEGER))", pid).ok());
    std::this_thread::sleep_for(milliseconds(100));
    auto after = (*victim)->QueryInt("SELECT 1");
    ASSERT_FALSE(after.ok());
    EXPECT_EQ(after.error().code, ErrorCode::kUnavailable) << after.error().ToString();
  }
  // The broken connection went away on return; what the pool lends now works.
  for (int i = 0; i < 3; ++i) {
    auto conn = db->Acquire();
    ASSERT_TRUE(conn.ok());
    auto pid = (*conn)->QueryInt("SELECT pg_backend_pid()");
    ASSERT_TRUE(pid.ok()) << pid.error().ToString();
    EXPECT_NE(*pid, victim_pid);
  }
}

TEST_P(PostgresTest, StatementTimeoutIsTimeout) {
  auto db = Open(1);
  ASSERT_NE(db, nullptr);
  auto conn = db->Acquire();
  ASSERT_TRUE((*conn)->ExecuteScript("SET statement_timeout = 50").ok());
  auto slow = (*conn)->Query("SELECT pg_sleep(5)");
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().code, ErrorCode::kTimeout) << slow.error().ToString();
}

TEST_P(PostgresTest, CommittingAFailedTransactionIsAnError) {
  Script("CREATE TABLE t (id BIGINT PRIMARY KEY)");
  Exec("INSERT INTO t (id) VALUES (1)");
  // `work` swallows the duplicate and carries on; PostgreSQL has already aborted the
  // transaction, so reporting success would be a lie.
  Status swallowed = db_->InTransaction([](Connection& tx) -> Status {
    (void)tx.Execute("INSERT INTO t (id) VALUES (1)");
    (void)tx.Execute("INSERT INTO t (id) VALUES (2)");
    return Ok();
  });
  EXPECT_FALSE(swallowed.ok());
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM t"), 1);
}

}  // namespace
}  // namespace ulus::store::test
