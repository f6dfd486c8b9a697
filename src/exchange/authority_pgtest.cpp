// The central authority's database behaviour on PostgreSQL (the shared suite). Needs a server:
// ULUS_TEST_PG_URL (scripts/pg-throwaway prints one); without it the tests are skipped, unless
// ULUS_REQUIRE_PG=1 says they must run.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>

#include "authority_suite.hpp"

namespace ulus::exchange::test {
namespace {

constexpr const char* kUrlVariable = "ULUS_TEST_PG_URL";
constexpr const char* kRequireVariable = "ULUS_REQUIRE_PG";
constexpr const char* kSchemaPrefix = "ulus_authority_";

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

Result<std::unique_ptr<TestDatabase>> MakePostgres(const std::string& /*dir*/) {
  const char* base_env = std::getenv(kUrlVariable);
  const std::string base = base_env != nullptr ? base_env : "";
  if (base.empty()) {
    const char* require = std::getenv(kRequireVariable);
    if (require != nullptr && std::string(require) == "1") {
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

INSTANTIATE_TEST_SUITE_P(Postgres, AuthorityStoreTest,
                         ::testing::Values(AuthorityBackend{"postgres", &MakePostgres}),
                         BackendName);

}  // namespace
}  // namespace ulus::exchange::test
