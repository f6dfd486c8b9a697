#include "dan_suite.hpp"
#include "ulus/store/testing/postgres_schema.hpp"

namespace ulus::identity::test {
namespace {

constexpr const char* kSchemaPrefix = "ulus_dan_";

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
  ULUS_ASSIGN_OR_RETURN(auto schema, store::testing::PostgresSchema::Make(kSchemaPrefix));
  return std::unique_ptr<TestDatabase>(std::make_unique<PostgresTestDatabase>(std::move(schema)));
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
