#include "ulus/store/testing/postgres_schema.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>

namespace ulus::store::testing {
namespace {

constexpr const char* kUrlVariable = "ULUS_TEST_PG_URL";
constexpr const char* kRequireVariable = "ULUS_REQUIRE_PG";

}  // namespace

Result<std::unique_ptr<PostgresSchema>> PostgresSchema::Make(std::string_view prefix) {
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
  DatabaseOptions options;
  options.url = base;
  options.max_connections = 1;
  ULUS_ASSIGN_OR_RETURN(auto admin, Database::Open(options));
  static std::atomic<int> made{0};
  std::random_device random;
  const std::string schema = std::string(prefix) + std::to_string(getpid()) + "_" +
                             std::to_string(made++) + "_" + std::to_string(random() % 1000000);
  {
    ULUS_ASSIGN_OR_RETURN(auto conn, admin->Acquire());
    ULUS_TRY(conn->ExecuteScript("CREATE SCHEMA " + schema));
  }
  const std::string url = base + (base.find('?') == std::string::npos ? "?" : "&") +
                          "options=-csearch_path%3D" + schema;
  return std::unique_ptr<PostgresSchema>(new PostgresSchema(std::move(admin), schema, url));
}

PostgresSchema::~PostgresSchema() {
  auto conn = admin_->Acquire();
  if (conn.ok()) (void)(*conn)->ExecuteScript("DROP SCHEMA " + schema_ + " CASCADE");
}

}  // namespace ulus::store::testing
