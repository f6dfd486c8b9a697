// A security server's store on PostgreSQL: Node::Open migrates "exchange_node" (khur_reply,
// khur_data_usage) and "exchange_log", again and again and from several instances at once, and
// the data tracker reads back what the provider side writes with its log. No listener is started.
// Needs a server: ULUS_TEST_PG_URL (scripts/pg-throwaway prints one); without it the tests are
// skipped, unless ULUS_REQUIRE_PG=1 says they must run.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ulus/crypto/keys.hpp"
#include "ulus/exchange/message_log.hpp"
#include "ulus/exchange/node.hpp"
#include "ulus/store/database.hpp"
#include "ulus/store/migration.hpp"
#include "ulus/store/testing/postgres_schema.hpp"

namespace ulus::exchange {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSchemaPrefix = "ulus_khur_node_";
constexpr const char* kSubject = "УБ90041212";
constexpr const char* kReader = "MN/GOV/TAX/tax-system";

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

crypto::SigningKey NewKey() {
  auto key = crypto::SigningKey::Generate(crypto::SignatureAlg::kEs256);
  EXPECT_TRUE(key.ok());
  return std::move(key).value();
}

NodeOptions Options() {
  NodeOptions options;
  auto subsystem = ClientId::Parse("MN/GOV/GASR/civil-registry");
  EXPECT_TRUE(subsystem.ok());
  if (subsystem.ok()) options.subsystem = *subsystem;
  return options;
}

// What the provider side logs for one answered request: the pair of log entries.
std::vector<LogEntry> Exchange(const std::string& x_road_id) {
  std::vector<LogEntry> entries(2);
  entries[0].kind = MessageKind::kRequest;
  entries[1].kind = MessageKind::kResponse;
  for (auto& e : entries) {
    e.x_road_id = x_road_id;
    e.client = kReader;
    e.service = "MN/GOV/GASR/civil-registry/person";
    e.user_id = "EE12345";
    e.subject = kSubject;
    e.purpose = "tax return";
    e.body_digest = crypto::Sha256(x_road_id);
  }
  return entries;
}

// The rows Node's provider side writes in the log's transaction, with the same SQL.
store::GroupCommit::Work ReplyAndUsage(std::string x_road_id, int64_t at_ms, std::string subject) {
  return [x_road_id = std::move(x_road_id), at_ms,
          subject = std::move(subject)](store::Connection& conn) -> Status {
    const std::string body = "{\"name\":\"Бат\"}";
    const store::Value reply[] = {std::string(kReader),
                                  x_road_id,
                                  at_ms,
                                  "fingerprint-" + x_road_id,
                                  int64_t{200},
                                  std::string("application/json"),
                                  std::string("[[\"x-road-id\",\"" + x_road_id + "\"]]"),
                                  store::Blob{std::vector<uint8_t>(body.begin(), body.end())}};
    ULUS_TRY(
        conn.Execute("INSERT INTO khur_reply (client, x_road_id, at, fingerprint, status, "
                     "content_type, headers, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                     reply));
    const store::Value usage[] = {at_ms,
                                  subject,
                                  std::string(kReader),
                                  std::string("EE12345"),
                                  std::string("MN/GOV/GASR/civil-registry/person"),
                                  std::string("GET"),
                                  "/person/" + subject + "?fields=name",
                                  std::string("tax return"),
                                  x_road_id,
                                  int64_t{200}};
    ULUS_TRY(conn.Execute(
        "INSERT INTO khur_data_usage (at, subject, client, user_id, service, method, path, "
        "purpose, x_road_id, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        usage));
    return Ok();
  };
}

class NodeStorePgTest : public ::testing::Test {
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
  }

  void TearDown() override {
    db_.reset();
    schema_.reset();
  }

  std::unique_ptr<Node> OpenNode(store::Database& db) {
    auto node = Node::Open(Options(), db, signer_, authority_.Public());
    if (!node.ok()) {
      ADD_FAILURE() << node.error().ToString();
      return nullptr;
    }
    return std::move(node).value();
  }

  int64_t Count(const std::string& sql, std::span<const store::Value> params = {}) {
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

  void ExpectSchemaOnce() {
    const std::pair<const char*, int> newest[] = {{"exchange_node", 1}, {"exchange_log", 2}};
    for (const auto& [component, version_now] : newest) {
      auto version = store::SchemaVersion(*db_, component);
      ASSERT_TRUE(version.ok()) << version.error().ToString();
      EXPECT_EQ(*version, version_now) << component;
    }
    // Each step of each component recorded once.
    EXPECT_EQ(Count("SELECT COUNT(*) FROM schema_migration WHERE component LIKE 'exchange%'"), 3);
    const store::Value schema[] = {schema_->name()};
    EXPECT_EQ(Count("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1 AND "
                    "table_name IN ('khur_reply', 'khur_data_usage')",
                    schema),
              2);
    EXPECT_EQ(Count("SELECT COUNT(*) FROM exchange_log_head"), 1);
  }

  std::unique_ptr<PostgresSchema> schema_;
  std::unique_ptr<store::Database> db_;
  crypto::SigningKey signer_ = NewKey();
  crypto::SigningKey authority_ = NewKey();
};

TEST_F(NodeStorePgTest, OpensTwiceOnTheSameDatabase) {
  ASSERT_EQ(db_->backend(), store::Backend::kPostgres);
  {
    auto node = OpenNode(*db_);
    ASSERT_NE(node, nullptr);
    auto usage = node->DataUsage(kSubject, 0, 10);
    ASSERT_TRUE(usage.ok()) << usage.error().ToString();
    EXPECT_TRUE(usage->empty());
  }
  ExpectSchemaOnce();
  // A restart finds every step applied and opens as before.
  auto again = OpenNode(*db_);
  ASSERT_NE(again, nullptr);
  ExpectSchemaOnce();
  auto usage = again->DataUsage(kSubject, 0, 10);
  ASSERT_TRUE(usage.ok()) << usage.error().ToString();
  EXPECT_TRUE(usage->empty());
  auto v = again->log().Verify();
  ASSERT_TRUE(v.ok()) << v.error().ToString();
  EXPECT_TRUE(v->ok);
  EXPECT_EQ(v->count, 0);
}

// Nodes starting at once on a fresh schema, each with its own pool, as separate processes would.
TEST_F(NodeStorePgTest, OpensConcurrentlyOnAFreshSchema) {
  constexpr int kInstances = 6;
  std::vector<std::unique_ptr<store::Database>> dbs(kInstances);
  for (auto& db : dbs) {
    db = OpenDb(schema_->url(), 2);
    ASSERT_NE(db, nullptr);
  }
  std::vector<std::unique_ptr<Node>> nodes(kInstances);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < dbs.size(); ++i) {
    threads.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      nodes[i] = OpenNode(*dbs[i]);
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  for (const auto& node : nodes) ASSERT_NE(node, nullptr);
  ExpectSchemaOnce();
  for (const auto& node : nodes) {
    auto usage = node->DataUsage(kSubject, 0, 10);
    ASSERT_TRUE(usage.ok()) << usage.error().ToString();
    EXPECT_TRUE(usage->empty());
  }
  nodes.clear();
}

// What the provider side commits with its log (a kept reply, a data-usage row) reads back
// through DataUsage on PostgreSQL: newest first, paged, ids from the BIGSERIAL.
TEST_F(NodeStorePgTest, DataUsageReadsWhatTheLogCommitted) {
  auto node = OpenNode(*db_);
  ASSERT_NE(node, nullptr);
  const int64_t now_ms = ToUnixMicros(Clock::System().Now()) / 1000;
  constexpr int kExchanges = 5;
  for (int i = 0; i < kExchanges; ++i) {
    const std::string x_road_id = "xr-" + std::to_string(i);
    auto logged =
        node->log().Append(Exchange(x_road_id), ReplyAndUsage(x_road_id, now_ms + i, kSubject));
    ASSERT_TRUE(logged.ok()) << logged.error().ToString();
  }
  auto other =
      node->log().Append(Exchange("xr-other"), ReplyAndUsage("xr-other", now_ms, "someone"));
  ASSERT_TRUE(other.ok()) << other.error().ToString();

  auto page = node->DataUsage(kSubject, 0, 3);
  ASSERT_TRUE(page.ok()) << page.error().ToString();
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].x_road_id, "xr-4");
  EXPECT_EQ((*page)[2].x_road_id, "xr-2");
  EXPECT_GT((*page)[0].id, (*page)[1].id);
  EXPECT_EQ((*page)[0].subject, kSubject);
  EXPECT_EQ((*page)[0].client, kReader);
  EXPECT_EQ((*page)[0].user_id, "EE12345");
  EXPECT_EQ((*page)[0].method, "GET");
  EXPECT_EQ((*page)[0].path, std::string("/person/") + kSubject + "?fields=name");
  EXPECT_EQ((*page)[0].purpose, "tax return");
  EXPECT_EQ((*page)[0].status, 200);
  EXPECT_EQ(ToUnixMicros((*page)[0].at), (now_ms + kExchanges - 1) * 1000);

  auto rest = node->DataUsage(kSubject, page->back().id, 10);
  ASSERT_TRUE(rest.ok()) << rest.error().ToString();
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].x_road_id, "xr-1");
  EXPECT_EQ((*rest)[1].x_road_id, "xr-0");

  // The kept reply's bytes survive the BYTEA round trip.
  {
    auto conn = db_->Acquire();
    ASSERT_TRUE(conn.ok());
    const store::Value client[] = {std::string(kReader)};
    auto row = (*conn)->QueryOne(
        "SELECT status, body FROM khur_reply WHERE client = $1 AND x_road_id = 'xr-3'", client);
    ASSERT_TRUE(row.ok()) << row.error().ToString();
    EXPECT_EQ(row->Int(0), 200);
    const auto& bytes = row->Bytes(1).bytes;
    EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "{\"name\":\"Бат\"}");
  }
  auto v = node->log().Verify();
  ASSERT_TRUE(v.ok()) << v.error().ToString();
  EXPECT_TRUE(v->ok) << v->reason;
  EXPECT_EQ(v->count, 2 * (kExchanges + 1));
}

// Reopening forgets kept replies older than the retention, and only those.
TEST_F(NodeStorePgTest, ReopenPrunesOldReplies) {
  const int64_t now_ms = ToUnixMicros(Clock::System().Now()) / 1000;
  {
    auto node = OpenNode(*db_);
    ASSERT_NE(node, nullptr);
    const int64_t old_ms =
        now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(48h).count();
    ASSERT_TRUE(
        node->log().Append(Exchange("xr-old"), ReplyAndUsage("xr-old", old_ms, kSubject)).ok());
    ASSERT_TRUE(
        node->log().Append(Exchange("xr-new"), ReplyAndUsage("xr-new", now_ms, kSubject)).ok());
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM khur_reply"), 2);
  auto node = OpenNode(*db_);
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM khur_reply WHERE x_road_id = 'xr-new'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM khur_reply"), 1);
  // The data tracker keeps both: it is the citizen's record, not a retry cache.
  auto usage = node->DataUsage(kSubject, 0, 10);
  ASSERT_TRUE(usage.ok()) << usage.error().ToString();
  EXPECT_EQ(usage->size(), 2u);
}

}  // namespace
}  // namespace ulus::exchange
