// The central authority's database behaviour on PostgreSQL (the shared suite). Needs a server:
// ULUS_TEST_PG_URL (scripts/pg-throwaway prints one); without it the tests are skipped, unless
// ULUS_REQUIRE_PG=1 says they must run.
#include "authority_suite.hpp"
#include "ulus/store/testing/postgres_schema.hpp"

namespace ulus::exchange::test {
namespace {

constexpr const char* kSchemaPrefix = "ulus_authority_";

// The suite's database: a PostgreSQL schema of its own, dropped afterwards.
class PostgresTestDatabase final : public TestDatabase {
 public:
  explicit PostgresTestDatabase(std::unique_ptr<store::testing::PostgresSchema> schema)
      : schema_(std::move(schema)) {}
  [[nodiscard]] const std::string& url() const override { return schema_->url(); }

 private:
  std::unique_ptr<store::testing::PostgresSchema> schema_;
};

Result<std::unique_ptr<TestDatabase>> MakePostgres(const std::string& /*dir*/) {
  ULUS_ASSIGN_OR_RETURN(auto schema, store::testing::PostgresSchema::Make(kSchemaPrefix));
  return std::unique_ptr<TestDatabase>(std::make_unique<PostgresTestDatabase>(std::move(schema)));
}

INSTANTIATE_TEST_SUITE_P(Postgres, AuthorityStoreTest,
                         ::testing::Values(AuthorityBackend{"postgres", &MakePostgres}),
                         BackendName);

}  // namespace
}  // namespace ulus::exchange::test
