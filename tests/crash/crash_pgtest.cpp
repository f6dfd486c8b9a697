#include <unistd.h>

#include <cstdlib>

#include "crash_harness.hpp"

namespace ulus::crash {
namespace {

TEST(CrashTest, PostgresLosesNoAcknowledgedWriteWhenKilled) {
  const char* base = std::getenv("ULUS_TEST_PG_URL");
  if (base == nullptr || *base == '\0') {
    if (std::getenv("ULUS_REQUIRE_PG") != nullptr) FAIL() << "ULUS_TEST_PG_URL is not set";
    GTEST_SKIP() << "ULUS_TEST_PG_URL is not set, so the PostgreSQL crash test is skipped; start "
                    "a server with scripts/pg-throwaway start DIR PORT and export the URL";
  }
  // A schema of its own, made the search path of the writer's connections through the URL.
  store::DatabaseOptions options;
  options.url = base;
  options.max_connections = 1;
  auto admin = store::Database::Open(options);
  ASSERT_TRUE(admin.ok()) << admin.error().ToString();
  const std::string schema = "ulus_crash_" + std::to_string(getpid());
  {
    auto conn = (*admin)->Acquire();
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(
        (*conn)
            ->ExecuteScript("DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema)
            .ok());
  }
  const std::string url = std::string(base) +
                          (std::string(base).find('?') == std::string::npos ? "?" : "&") +
                          "options=-csearch_path%3D" + schema;
  RunCrashRounds(url);
  auto conn = (*admin)->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_TRUE((*conn)->ExecuteScript("DROP SCHEMA " + schema + " CASCADE").ok());
}

}  // namespace
}  // namespace ulus::crash
