#include "record_store_suite.hpp"
#include "ulus/store/testing/postgres_schema.hpp"

namespace ulus::registry::test {
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
  ULUS_ASSIGN_OR_RETURN(auto schema, store::testing::PostgresSchema::Make("ulus_records_"));
  return std::unique_ptr<TestDatabase>(std::make_unique<PostgresTestDatabase>(std::move(schema)));
}

const StoreBackend kPostgres{"postgres", &MakePostgres};

INSTANTIATE_TEST_SUITE_P(Postgres, RecordStoreTest, ::testing::Values(kPostgres), BackendName);

}  // namespace
}  // namespace ulus::registry::test
