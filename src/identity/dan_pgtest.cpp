#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>

#include "dan_suite.hpp"

namespace ulus::identity::test {
namespace {

constexpr const char* kUrlVariable = "ULUS_TEST_PG_URL";
constexpr const char* kRequireVariable = "ULUS_REQUIRE_PG";
constexpr const char* kSchemaPrefix = "ulus_dan_";

// A schema of its own in the test server, made the search path of every pooled connection
// through the URL's "options", and dropped with everything in it afterwards.
class PostgresTestDatabase final : public TestDatabase {
 public:
  PostgresTestDatabase(std::unique_ptr<store::Database> admin, std::string schema, std::string url)
      : admin_(std::move(admin)), schema_(std::move(schema)), url_(std::move(url)) {}
  ~PostgresTestDatabase() override {
    auto conn = admin_->Acquire();
    if (conn.ok()) (void)(*conn)->ExecuteScript("DROP SCHEMA " + schema_ + " CASCADE");
  }
  [[nodiscard]] const std::string& url() const override { return url_; }

 private:
  std::unique_ptr<store::Database> admin_;
  std::string schema_;
  std::string url_;
};

Result<std::unique_ptr<TestDatabase>> MakePostgres() {
  const char* base_env = std::getenv(kUrlVariable);
  const std::string base = base_env != nullptr ? base_env : "";
  if (base.empty()) {
    const char* require = std::getenv(kRequireVariable);
    if (require != nullptr && std::string(require) == "1") {
      // Skipping would hide that the PostgreSQL half of the suite never ran.
      return Error::Internal(std::string(kRequireVariable) + "=1 but " + kUrlVariable +
                             " is not set");
    }
    return Error{ErrorCode::kFailedPrecondition,
                 std::string(kUrlVariable) +
                     " is not set, so the PostgreSQL tests are skipped; start a server with "
                     "scripts/pg-throwaway start DIR PORT and export the URL it prints",
                 {}};
  }
  store::DatabaseOptions options;
  options.url = base;
  options.max_connections = 1;
  ULUS_ASSIGN_OR_RETURN(auto admin, store::Database::Open(options));
  static std::atomic<int> made{0};
  std::random_device random;
  const std::string schema = kSchemaPrefix + std::to_string(getpid()) + "_" +
                             std::to_string(made++) + "_" + std::to_string(random() % 1000000);
  {
    ULUS_ASSIGN_OR_RETURN(auto conn, admin->Acquire());
    ULUS_TRY(conn->ExecuteScript("CREATE SCHEMA " + schema));
  }
  const std::string url = base + (base.find('?') == std::string::npos ? "?" : "&") +
                          "options=-csearch_path%3D" + schema;
  return std::unique_ptr<TestDatabase>(
      std::make_unique<PostgresTestDatabase>(std::move(admin), schema, url));
}

const DanBackend kPostgres{"postgres", &MakePostgres};

INSTANTIATE_TEST_SUITE_P(Postgres, DanStoreTest, ::testing::Values(kPostgres), BackendName);

// What follows is particular to PostgreSQL.
using DanPostgresTest = DanStoreTest;
INSTANTIATE_TEST_SUITE_P(Postgres, DanPostgresTest, ::testing::Values(kPostgres), BackendName);

TEST_P(DanPostgresTest, EachTestHasItsOwnSchema) {
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ((*conn)->backend(), store::Backend::kPostgres);
  auto schema = (*conn)->QueryOne("SELECT current_schema()");
  ASSERT_TRUE(schema.ok()) << schema.error().ToString();
  EXPECT_EQ(schema->Text(0).rfind(kSchemaPrefix, 0), 0u) << schema->Text(0);
  // Every Dan table landed there, none in public.
  const store::Value name[] = {schema->Text(0)};
  auto tables = (*conn)->QueryInt(
      "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1 AND "
      "table_name LIKE 'dan%'",
      name);
  ASSERT_TRUE(tables.ok()) << tables.error().ToString();
  EXPECT_EQ(*tables, 21);
}

}  // namespace
}  // namespace ulus::identity::test
