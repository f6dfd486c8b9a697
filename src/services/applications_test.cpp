#include "applications_suite.hpp"
#include "ulus/store/testing/temporary_sqlite.hpp"

namespace ulus::services::test {

// A SQLite file in a fresh temporary folder, removed with the last reference.
Result<SuiteDatabase> MakeSuiteDatabase() {
  ULUS_ASSIGN_OR_RETURN(auto sqlite, store::testing::TemporarySqlite::Make("ulus-applications-"));
  std::shared_ptr<store::testing::TemporarySqlite> shared(std::move(sqlite));
  return SuiteDatabase{.url = shared->url(), .keep = shared};
}

}  // namespace ulus::services::test
