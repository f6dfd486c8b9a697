#include "portal_suite.hpp"
#include "ulus/store/testing/postgres_schema.hpp"

namespace ulus::portal::test {

// A PostgreSQL schema of its own, dropped with the last reference.
Result<SuiteDatabase> MakeSuiteDatabase() {
  ULUS_ASSIGN_OR_RETURN(auto schema, store::testing::PostgresSchema::Make("ulus_portal_"));
  std::shared_ptr<store::testing::PostgresSchema> shared(std::move(schema));
  return SuiteDatabase{.url = shared->url(), .keep = shared};
}

}  // namespace ulus::portal::test
