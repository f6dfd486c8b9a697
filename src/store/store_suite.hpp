#pragma once

#include <cstdlib>

// The store's test suite, written once and instantiated per backend: store_test.cpp (SQLite) and
// store_pgtest.cpp (PostgreSQL). Include it in exactly one file of a test binary.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/store/database.hpp"
#include "ulus/store/migration.hpp"
#include "ulus/store/outbox.hpp"

namespace ulus::store::test {

using std::chrono::milliseconds;

// A fresh, empty database for one test, removed when destroyed.
class TestDatabase {
 public:
  virtual ~TestDatabase() = default;
  [[nodiscard]] virtual const std::string& url() const = 0;
};

// Makes a TestDatabase. kFailedPrecondition means the backend is not configured here and the
// test is skipped with the error's message.
using TestDatabaseMaker = Result<std::unique_ptr<TestDatabase>> (*)();

struct StoreBackend {
  std::string name;
  TestDatabaseMaker make = nullptr;
};

inline void PrintTo(const StoreBackend& backend, std::ostream* os) {
  *os << backend.name;
}

// Names instantiated tests after the backend: StoreTest.Commit/sqlite.
inline std::string BackendName(const ::testing::TestParamInfo<StoreBackend>& param) {
  return param.param.name;
}

class StoreTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override {
    auto made = GetParam().make();
    if (!made.ok() && made.error().code == ErrorCode::kFailedPrecondition) {
      // The test command sets ULUS_REQUIRE_PG so that a missing server fails instead of skipping.
      if (std::getenv("ULUS_REQUIRE_PG") != nullptr) FAIL() << made.error().message;
      GTEST_SKIP() << made.error().message;
    }
    ASSERT_TRUE(made.ok()) << made.error().ToString();
    test_db_ = std::move(made).value();
    db_ = Open();
    ASSERT_NE(db_, nullptr);
  }

  std::unique_ptr<Database> Open(size_t max_connections = 8,
                                 milliseconds acquire_timeout = milliseconds(5000)) {
    DatabaseOptions options;
    options.url = test_db_->url();
    options.max_connections = max_connections;
    options.acquire_timeout = acquire_timeout;
    auto db = Database::Open(options);
    EXPECT_TRUE(db.ok()) << db.error().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  }

  [[nodiscard]] bool postgres() const { return db_->backend() == Backend::kPostgres; }
  [[nodiscard]] std::string BlobType() const { return postgres() ? "BYTEA" : "BLOB"; }

  // Runs one statement on a pooled connection; the test fails on error.
  void Exec(std::string_view sql, const std::vector<Value>& params = {}) {
    auto conn = db_->Acquire();
    ASSERT_TRUE(conn.ok()) << conn.error().ToString();
    auto done = (*conn)->Execute(sql, params);
    ASSERT_TRUE(done.ok()) << done.error().ToString() << " in " << sql;
  }

  void Script(std::string_view sql) {
    auto conn = db_->Acquire();
    ASSERT_TRUE(conn.ok()) << conn.error().ToString();
    auto done = (*conn)->ExecuteScript(sql);
    ASSERT_TRUE(done.ok()) << done.error().ToString() << " in " << sql;
  }

  int64_t QueryInt(std::string_view sql, const std::vector<Value>& params = {}) {
    auto conn = db_->Acquire();
    if (!conn.ok()) {
      ADD_FAILURE() << conn.error().ToString();
      return -1;
    }
    auto n = (*conn)->QueryInt(sql, params);
    if (!n.ok()) {
      ADD_FAILURE() << n.error().ToString() << " in " << sql;
      return -1;
    }
    return *n;
  }

  Error ExecError(std::string_view sql, const std::vector<Value>& params = {}) {
    auto conn = db_->Acquire();
    if (!conn.ok()) return conn.error();
    auto done = (*conn)->Execute(sql, params);
    if (done.ok()) {
      ADD_FAILURE() << "expected an error from " << sql;
      return Error::Internal("no error");
    }
    return done.error();
  }

  // Declared first so it is destroyed last, after every Database that uses it.
  std::unique_ptr<TestDatabase> test_db_;
  std::unique_ptr<Database> db_;
};

TEST_P(StoreTest, ValuesRoundTripWithTheirTypes) {
  Script("CREATE TABLE kinds (id BIGINT PRIMARY KEY, i BIGINT, r DOUBLE PRECISION, s TEXT, b " +
         BlobType() + ")");
  const std::vector<std::vector<Value>> rows = {
      {int64_t{1}, std::numeric_limits<int64_t>::min(), -1e300, std::string(),
       Blob{{0, 1, 0, 255, 0}}},
      {int64_t{2}, std::numeric_limits<int64_t>::max(), 5e-324, std::string("Ulus"), Blob{}},
      {int64_t{3}, int64_t{0}, 3.141592653589793,
       std::string("Улус — Кириллица ✓ 🙂 Өө Үү"), Blob{{0}}},
      {int64_t{4}, std::monostate{}, std::monostate{}, std::monostate{}, std::monostate{}},
      {int64_t{5}, int64_t{-1}, 0.1, std::string("line\nbreak 'quote' \"dq\" \\ $1"),
       Blob{{0xde, 0xad, 0xbe, 0xef}}},
  };
  for (const auto& row : rows) {
    Exec("INSERT INTO kinds (id, i, r, s, b) VALUES ($1, $2, $3, $4, $5)", row);
  }
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  auto got = (*conn)->Query("SELECT id, i, r, s, b FROM kinds ORDER BY id");
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  ASSERT_EQ(got->size(), rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    ASSERT_EQ((*got)[r].size(), 5u);
    for (size_t c = 0; c < 5; ++c) {
      EXPECT_EQ((*got)[r].At(c), rows[r][c]) << "row " << r << " column " << c;
    }
  }
  const Row& first = (*got)[0];
  EXPECT_EQ(first.Int(1), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(first.Real(2), -1e300);
  EXPECT_EQ(first.Text(3), "");
  EXPECT_EQ(first.Bytes(4).bytes.size(), 5u);
  EXPECT_TRUE((*got)[3].IsNull(1));
  EXPECT_EQ((*got)[3].OptionalInt(1), std::nullopt);
  EXPECT_EQ((*got)[2].OptionalText(3), "Улус — Кириллица ✓ 🙂 Өө Үү");

  // A bound value comes back as itself, whatever the backend.
  for (const Value& v : rows[2]) {
    const Value params[] = {v};
    auto echoed = (*conn)->QueryOne("SELECT $1", params);
    ASSERT_TRUE(echoed.ok()) << echoed.error().ToString();
    EXPECT_EQ(echoed->At(0), v);
  }
  const Value text_param[] = {std::string("Өө")};
  auto found = (*conn)->QueryInt("SELECT id FROM kinds WHERE s LIKE '%' || $1 || '%'", text_param);
  ASSERT_TRUE(found.ok()) << found.error().ToString();
  EXPECT_EQ(*found, 3);  // the Cyrillic row
}

TEST_P(StoreTest, ExecuteReportsChangedRows) {
  Script("CREATE TABLE item (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)");
  for (int64_t i = 1; i <= 5; ++i) Exec("INSERT INTO item (id, n) VALUES ($1, 0)", {i});
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  const Value params[] = {int64_t{3}};
  auto changed = (*conn)->Execute("UPDATE item SET n = n + 1 WHERE id <= $1", params);
  ASSERT_TRUE(changed.ok()) << changed.error().ToString();
  EXPECT_EQ(*changed, 3);
  const Value missing[] = {int64_t{99}};
  auto none = (*conn)->QueryOne("SELECT n FROM item WHERE id = $1", missing);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
}

TEST_P(StoreTest, ParameterMistakesAreInvalidArguments) {
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  const Value one[] = {int64_t{1}};
  const Value two[] = {int64_t{1}, int64_t{2}};
  auto too_few = (*conn)->Query("SELECT $1 + $2", one);
  ASSERT_FALSE(too_few.ok());
  EXPECT_EQ(too_few.error().code, ErrorCode::kInvalidArgument) << too_few.error().ToString();
  auto too_many = (*conn)->Query("SELECT $1", two);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().code, ErrorCode::kInvalidArgument) << too_many.error().ToString();
  auto none = (*conn)->Query("SELECT $1");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kInvalidArgument) << none.error().ToString();
  // The connection is still good afterwards.
  auto fine = (*conn)->QueryInt("SELECT $1 + $2", two);
  ASSERT_TRUE(fine.ok()) << fine.error().ToString();
  EXPECT_EQ(*fine, 3);
  auto bad_sql = (*conn)->Query("SELEC nonsense");
  ASSERT_FALSE(bad_sql.ok());
  EXPECT_EQ(bad_sql.error().code, ErrorCode::kInternal);
  EXPECT_FALSE(bad_sql.error().message.empty());
}

TEST_P(StoreTest, ConstraintViolationsMapToErrorCodes) {
  Script(
      "CREATE TABLE person (id BIGINT PRIMARY KEY, email TEXT NOT NULL UNIQUE,"
      " age BIGINT CHECK (age >= 0), parent BIGINT REFERENCES person (id))");
  Exec("INSERT INTO person (id, email, age) VALUES (1, 'a@example.kz', 30)");

  Error dup_key = ExecError("INSERT INTO person (id, email) VALUES (1, 'b@example.kz')");
  EXPECT_EQ(dup_key.code, ErrorCode::kAlreadyExists) << dup_key.ToString();
  Error dup_unique = ExecError("INSERT INTO person (id, email) VALUES (2, 'a@example.kz')");
  EXPECT_EQ(dup_unique.code, ErrorCode::kAlreadyExists) << dup_unique.ToString();
  EXPECT_NE(dup_unique.message.find("email"), std::string::npos) << dup_unique.message;
  Error not_null =
      ExecError("INSERT INTO person (id, email) VALUES ($1, $2)", {int64_t{3}, std::monostate{}});
  EXPECT_EQ(not_null.code, ErrorCode::kInvalidArgument) << not_null.ToString();
  Error check = ExecError("INSERT INTO person (id, email, age) VALUES (4, 'c@example.kz', -1)");
  EXPECT_EQ(check.code, ErrorCode::kInvalidArgument) << check.ToString();
  Error foreign = ExecError("INSERT INTO person (id, email, parent) VALUES (5, 'd@kz', 999)");
  EXPECT_EQ(foreign.code, ErrorCode::kInvalidArgument) << foreign.ToString();
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM person"), 1);
}

TEST_P(StoreTest, CommitKeepsAndRollbackDiscards) {
  Script("CREATE TABLE note (id BIGINT PRIMARY KEY, body TEXT NOT NULL)");
  auto writer = db_->Acquire();
  ASSERT_TRUE(writer.ok());
  Connection& w = **writer;
  EXPECT_FALSE(w.InTransaction());
  EXPECT_EQ(w.Commit().error().code, ErrorCode::kFailedPrecondition);

  ASSERT_TRUE(w.Begin().ok());
  EXPECT_TRUE(w.InTransaction());
  EXPECT_EQ(w.Begin().error().code, ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(w.Execute("INSERT INTO note (id, body) VALUES (1, 'kept')").ok());
  // Not visible to others before commit.
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM note"), 0);
  ASSERT_TRUE(w.Commit().ok());
  EXPECT_FALSE(w.InTransaction());
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM note"), 1);

  ASSERT_TRUE(w.Begin().ok());
  ASSERT_TRUE(w.Execute("INSERT INTO note (id, body) VALUES (2, 'discarded')").ok());
  ASSERT_TRUE(w.Execute("UPDATE note SET body = 'changed' WHERE id = 1").ok());
  ASSERT_TRUE(w.Rollback().ok());
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM note"), 1);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM note WHERE body = 'kept'"), 1);

  // A connection handed back inside a transaction is rolled back, and comes back clean.
  ASSERT_TRUE(w.Begin().ok());
  ASSERT_TRUE(w.Execute("INSERT INTO note (id, body) VALUES (3, 'abandoned')").ok());
  *writer = db_->Acquire().value();  // hands the old connection back to the pool
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM note"), 1);
}

TEST_P(StoreTest, InTransactionCommitsOrRollsBackWithoutRetryingTheCallersErrors) {
  Script("CREATE TABLE account (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)");
  Exec("INSERT INTO account (id, balance) VALUES (1, 100)");

  auto ok = db_->InTransaction<int64_t>([](Connection& tx) -> Result<int64_t> {
    ULUS_TRY(tx.Execute("UPDATE account SET balance = balance - 30 WHERE id = 1"));
    return tx.QueryInt("SELECT balance FROM account WHERE id = 1");
  });
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(*ok, 70);

  // The application's own kConflict and kUnavailable are returned as they are, not retried.
  for (const ErrorCode code : {ErrorCode::kConflict, ErrorCode::kUnavailable}) {
    int calls = 0;
    Status failed = db_->InTransaction([&](Connection& tx) -> Status {
      ++calls;
      ULUS_TRY(tx.Execute("UPDATE account SET balance = 0 WHERE id = 1"));
      ULUS_TRY(tx.Execute("INSERT INTO account (id, balance) VALUES (2, 5)"));
      return Error{code, "the application refused", {}};
    });
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.error().code, code);
    EXPECT_EQ(failed.error().message, "the application refused");
    EXPECT_EQ(calls, 1);
  }
  EXPECT_EQ(QueryInt("SELECT balance FROM account WHERE id = 1"), 70);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM account"), 1);

  // A constraint violation inside rolls back everything before it, and is not retried either.
  int calls = 0;
  Status duplicate = db_->InTransaction([&](Connection& tx) -> Status {
    ++calls;
    ULUS_TRY(tx.Execute("UPDATE account SET balance = 0 WHERE id = 1"));
    ULUS_TRY(tx.Execute("INSERT INTO account (id, balance) VALUES (1, 1)"));
    return Ok();
  });
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(QueryInt("SELECT balance FROM account WHERE id = 1"), 70);
}

TEST_P(StoreTest, ConcurrentWritersLoseNoUpdate) {
  Script("CREATE TABLE counter (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)");
  Exec("INSERT INTO counter (id, n) VALUES (1, 0)");
  constexpr int kThreads = 4;
  constexpr int kIncrements = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        Status done = db_->InTransaction([](Connection& tx) -> Status {
          ULUS_TRY(tx.Execute("UPDATE counter SET n = n + 1 WHERE id = 1"));
          return Ok();
        });
        if (!done.ok()) {
          ++failures;
          ADD_FAILURE() << done.error().ToString();
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(QueryInt("SELECT n FROM counter WHERE id = 1"), kThreads * kIncrements);
}

TEST_P(StoreTest, ExhaustedPoolTimesOutWithUnavailable) {
  auto db = Open(2, milliseconds(150));
  ASSERT_NE(db, nullptr);
  auto a = db->Acquire();
  auto b = db->Acquire();
  ASSERT_TRUE(a.ok() && b.ok());
  const auto start = std::chrono::steady_clock::now();
  auto c = db->Acquire();
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(c.error().message.find("150 ms"), std::string::npos) << c.error().message;
  EXPECT_GE(waited, milliseconds(140));

  // A waiter gets the connection as soon as one comes back.
  std::thread returner([&] {
    std::this_thread::sleep_for(milliseconds(30));
    PooledConnection released = std::move(*a);
  });
  auto d = db->Acquire();
  returner.join();
  ASSERT_TRUE(d.ok()) << d.error().ToString();
  EXPECT_TRUE((*d)->QueryInt("SELECT 1").ok());
}

std::vector<Migration> ThreeSteps() {
  return {
      {.version = 1,
       .name = "create place",
       .sql = "CREATE TABLE place (id BIGINT PRIMARY KEY, name TEXT NOT NULL)",
       .postgres = {}},
      {.version = 2,
       .name = "seed capital",
       .sql = "INSERT INTO place (id, name) VALUES (1, 'Astana')",
       .postgres = {}},
      {.version = 3,
       .name = "add population",
       .sql = "ALTER TABLE place ADD COLUMN population BIGINT;"
              "UPDATE place SET population = 1350000 WHERE id = 1;",
       .postgres = {}},
  };
}

TEST_P(StoreTest, MigrationsApplyOnceAndAreIdempotent) {
  auto version = SchemaVersion(*db_, "geo");
  ASSERT_TRUE(version.ok()) << version.error().ToString();
  EXPECT_EQ(*version, 0);

  ASSERT_TRUE(Migrate(*db_, "geo", ThreeSteps()).ok());
  EXPECT_EQ(*SchemaVersion(*db_, "geo"), 3);
  ASSERT_TRUE(Migrate(*db_, "geo", ThreeSteps()).ok());
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM place"), 1);
  EXPECT_EQ(QueryInt("SELECT population FROM place WHERE id = 1"), 1350000);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM schema_migration WHERE component = 'geo'"), 3);
  EXPECT_EQ(*SchemaVersion(*db_, "other"), 0);
}

TEST_P(StoreTest, MigrationsResumeAfterAFailedStep) {
  auto steps = ThreeSteps();
  steps[2].sql = "ALTER TABLE place ADD COLUMN population BIGINT; THIS IS NOT SQL;";
  Status failed = Migrate(*db_, "geo", steps);
  ASSERT_FALSE(failed.ok());
  // Steps 1 and 2 stay; step 3 left nothing behind, not even its first statement.
  EXPECT_EQ(*SchemaVersion(*db_, "geo"), 2);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM place"), 1);

  ASSERT_TRUE(Migrate(*db_, "geo", ThreeSteps()).ok());
  EXPECT_EQ(*SchemaVersion(*db_, "geo"), 3);
  EXPECT_EQ(QueryInt("SELECT population FROM place WHERE id = 1"), 1350000);

  // Growing the list later applies only the new step.
  auto more = ThreeSteps();
  more.push_back({.version = 4,
                  .name = "second city",
                  .sql = "INSERT INTO place (id, name) VALUES (2, 'Almaty')",
                  .postgres = {}});
  ASSERT_TRUE(Migrate(*db_, "geo", more).ok());
  EXPECT_EQ(*SchemaVersion(*db_, "geo"), 4);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM place"), 2);
}

TEST_P(StoreTest, MigrationsRefuseANewerSchemaAndBadNumbering) {
  ASSERT_TRUE(Migrate(*db_, "geo", ThreeSteps()).ok());
  auto older = ThreeSteps();
  older.pop_back();
  Status refused = Migrate(*db_, "geo", older);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(refused.error().message.find("version 3"), std::string::npos)
      << refused.error().message;

  auto misnumbered = ThreeSteps();
  misnumbered[1].version = 5;
  EXPECT_FALSE(Migrate(*db_, "geo", misnumbered).ok());
}

TEST_P(StoreTest, MigrationsRunConcurrentlyFromSeveralProcesses) {
  // Separate Database objects stand for separate processes: they share nothing but the data.
  constexpr int kMigrators = 4;
  std::vector<std::unique_ptr<Database>> dbs;
  for (int i = 0; i < kMigrators; ++i) dbs.push_back(Open(2));
  std::vector<Status> results(kMigrators);
  std::vector<std::thread> threads;
  for (int i = 0; i < kMigrators; ++i) {
    threads.emplace_back([&, i] {
      results[static_cast<size_t>(i)] = Migrate(*dbs[static_cast<size_t>(i)], "geo", ThreeSteps());
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) {
    EXPECT_TRUE(result.ok()) << result.error().ToString();
  }
  EXPECT_EQ(*SchemaVersion(*db_, "geo"), 3);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM schema_migration WHERE component = 'geo'"), 3);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM place"), 1);
}

class OutboxTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    Status migrated = Migrate(*db_, "outbox", Outbox::Migrations());
    ASSERT_TRUE(migrated.ok()) << migrated.error().ToString();
    outbox_ = std::make_unique<Outbox>(*db_, clock_);
  }

  Result<int64_t> AppendOne(const std::string& topic, const std::string& key) {
    return db_->InTransaction<int64_t>([&](Connection& tx) -> Result<int64_t> {
      return outbox_->Append(tx, topic, key, R"({"key":")" + key + R"("})");
    });
  }

  ManualClock clock_{FromUnixMicros(1'767'225'600'000'000)};  // 2026-01-01T00:00:00Z
  std::unique_ptr<Outbox> outbox_;
};

TEST_P(OutboxTest, RolledBackAppendLeavesNoEvent) {
  Status rolled_back = db_->InTransaction([&](Connection& tx) -> Status {
    ULUS_TRY(outbox_->Append(tx, "registry.person.created", "1", "{}"));
    return Error::InvalidArgument("changed my mind");
  });
  ASSERT_FALSE(rolled_back.ok());
  auto events = outbox_->Poll("auditor", 10);
  ASSERT_TRUE(events.ok()) << events.error().ToString();
  EXPECT_TRUE(events->empty());

  // The rolled-back position is handed out again, so positions have no holes.
  auto position = AppendOne("registry.person.created", "2");
  ASSERT_TRUE(position.ok()) << position.error().ToString();
  EXPECT_EQ(*position, 1);

  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  auto outside = outbox_->Append(**conn, "t", "k", "{}");
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.error().code, ErrorCode::kFailedPrecondition);
}

TEST_P(OutboxTest, EventsComeInOrderWithTheirContents) {
  ASSERT_TRUE(AppendOne("registry.person.created", "p1").ok());
  clock_.Advance(std::chrono::seconds(1));
  Status two = db_->InTransaction([&](Connection& tx) -> Status {
    ULUS_TRY(outbox_->Append(tx, "registry.person.updated", "p1", "{\"name\":\"Айгерим\"}"));
    ULUS_TRY(outbox_->Append(tx, "registry.person.updated", "p2", "{}"));
    return Ok();
  });
  ASSERT_TRUE(two.ok()) << two.error().ToString();

  auto events = outbox_->Poll("auditor", 10);
  ASSERT_TRUE(events.ok()) << events.error().ToString();
  ASSERT_EQ(events->size(), 3u);
  for (size_t i = 0; i < events->size(); ++i) {
    EXPECT_EQ((*events)[i].position, static_cast<int64_t>(i + 1));
  }
  EXPECT_EQ((*events)[0].topic, "registry.person.created");
  EXPECT_EQ((*events)[0].payload, R"({"key":"p1"})");
  EXPECT_EQ((*events)[0].created_at, FromUnixMicros(1'767'225'600'000'000));
  EXPECT_EQ((*events)[1].key, "p1");
  EXPECT_EQ((*events)[1].payload, "{\"name\":\"Айгерим\"}");
  EXPECT_EQ((*events)[1].created_at, FromUnixMicros(1'767'225'601'000'000));
  EXPECT_EQ((*events)[2].key, "p2");
}

TEST_P(OutboxTest, PollAndAcknowledgeDeliverAtLeastOnce) {
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(AppendOne("topic", std::to_string(i)).ok());
  EXPECT_EQ(*outbox_->ConsumerPosition("mailer"), 0);

  auto first = outbox_->Poll("mailer", 2);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 2u);
  // Not acknowledged (say the consumer crashed): the same events come again.
  auto again = outbox_->Poll("mailer", 2);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 2u);
  EXPECT_EQ((*again)[0].position, 1);
  EXPECT_EQ((*again)[1].position, 2);

  ASSERT_TRUE(outbox_->Acknowledge("mailer", 2).ok());
  EXPECT_EQ(*outbox_->ConsumerPosition("mailer"), 2);
  auto next = outbox_->Poll("mailer", 10);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 3u);
  EXPECT_EQ((*next)[0].position, 3);

  // Acknowledging an older position never moves a consumer back.
  ASSERT_TRUE(outbox_->Acknowledge("mailer", 1).ok());
  EXPECT_EQ(*outbox_->ConsumerPosition("mailer"), 2);
  ASSERT_TRUE(outbox_->Acknowledge("mailer", 5).ok());
  EXPECT_TRUE(outbox_->Poll("mailer", 10)->empty());

  // Consumers are independent.
  EXPECT_EQ(outbox_->Poll("auditor", 10)->size(), 5u);
  EXPECT_TRUE(outbox_->Poll("auditor", 0)->empty());
}

TEST_P(OutboxTest, TopicPrefixSelectsEvents) {
  for (const char* topic :
       {"registry.person.created", "registry.person.updated", "registry.personal",
        "registryx.other", "identity.login", "a%b.c", "a_b.c", "Ұлт.оқиға"}) {
    ASSERT_TRUE(AppendOne(topic, "k").ok());
  }
  auto topics_for = [&](const std::string& prefix) {
    std::vector<std::string> topics;
    auto events = outbox_->Poll("c", 100, prefix);
    EXPECT_TRUE(events.ok()) << events.error().ToString();
    if (events.ok()) {
      for (const auto& e : *events) topics.push_back(e.topic);
    }
    return topics;
  };
  EXPECT_EQ(topics_for("registry.person."),
            (std::vector<std::string>{"registry.person.created", "registry.person.updated"}));
  EXPECT_EQ(topics_for("registry.").size(), 3u);
  EXPECT_EQ(topics_for("a%"), (std::vector<std::string>{"a%b.c"}));
  EXPECT_EQ(topics_for("a_"), (std::vector<std::string>{"a_b.c"}));
  EXPECT_EQ(topics_for("Ұлт."), (std::vector<std::string>{"Ұлт.оқиға"}));
  EXPECT_TRUE(topics_for("nothing").empty());
  EXPECT_EQ(topics_for("").size(), 8u);
}

TEST_P(OutboxTest, ConcurrentAppendersLeaveNoGapAConsumerCouldSkip) {
  Script("CREATE TABLE change (id BIGINT PRIMARY KEY)");
  constexpr int kWriters = 4;
  constexpr int kEach = 100;
  constexpr int64_t kTotal = kWriters * kEach;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      std::minstd_rand rng(static_cast<unsigned>(w + 1));
      for (int i = 0; i < kEach; ++i) {
        const int64_t id = int64_t{w} * kEach + i;
        const auto pause = std::chrono::microseconds(rng() % 300);
        Status done = db_->InTransaction([&](Connection& tx) -> Status {
          const Value params[] = {id};
          ULUS_TRY(tx.Execute("INSERT INTO change (id) VALUES ($1)", params));
          ULUS_TRY(outbox_->Append(tx, "change", std::to_string(id), "{}"));
          // Hold the transaction open a little after taking a position, so commits interleave.
          std::this_thread::sleep_for(pause);
          return Ok();
        });
        if (!done.ok()) {
          ++failures;
          ADD_FAILURE() << done.error().ToString();
        }
      }
    });
  }

  // A consumer that polls while the writers run, remembering only its acknowledged position, the
  // way a real one does. Had a lower position committed after a higher one, it would be skipped.
  std::vector<int64_t> seen;
  std::vector<std::string> keys;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (static_cast<int64_t>(seen.size()) < kTotal &&
         std::chrono::steady_clock::now() < deadline) {
    auto events = outbox_->Poll("watcher", 37);
    ASSERT_TRUE(events.ok()) << events.error().ToString();
    if (events->empty()) {
      if (failures.load() > 0) break;
      std::this_thread::sleep_for(milliseconds(1));
      continue;
    }
    for (const auto& event : *events) {
      if (!seen.empty()) {
        ASSERT_GT(event.position, seen.back()) << "a position went backwards";
      }
      seen.push_back(event.position);
      keys.push_back(event.key);
    }
    ASSERT_TRUE(outbox_->Acknowledge("watcher", seen.back()).ok());
  }
  for (auto& writer : writers) writer.join();
  ASSERT_EQ(failures.load(), 0);

  ASSERT_EQ(static_cast<int64_t>(seen.size()), kTotal) << "the consumer skipped events";
  for (int64_t i = 0; i < kTotal; ++i) ASSERT_EQ(seen[static_cast<size_t>(i)], i + 1);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(std::unique(keys.begin(), keys.end()), keys.end());
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM change"), kTotal);
  EXPECT_EQ(QueryInt("SELECT last_position FROM outbox_head WHERE id = 1"), kTotal);
}

}  // namespace ulus::store::test
