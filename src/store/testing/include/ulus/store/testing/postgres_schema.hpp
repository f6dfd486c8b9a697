#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ulus/core/result.hpp"
#include "ulus/store/database.hpp"

namespace ulus::store::testing {

// For tests against a real PostgreSQL server: a schema of its own in the server named by
// ULUS_TEST_PG_URL (scripts/pg-throwaway prints one), made the search path of every pooled
// connection through the URL's "options", and dropped with everything in it when this object
// goes. Make() answers kFailedPrecondition when no server is configured (the test skips), and
// kInternal when ULUS_REQUIRE_PG=1 says the tests must run (skipping would hide that they did not).
class PostgresSchema {
 public:
  // `prefix` names the schema's owner ("ulus_dan_"); a process id, a counter and a random part
  // follow, so parallel test processes never meet.
  static Result<std::unique_ptr<PostgresSchema>> Make(std::string_view prefix);
  ~PostgresSchema();
  PostgresSchema(const PostgresSchema&) = delete;
  PostgresSchema& operator=(const PostgresSchema&) = delete;

  // The server's URL with this schema as the search path.
  [[nodiscard]] const std::string& url() const { return url_; }
  [[nodiscard]] const std::string& name() const { return schema_; }

 private:
  PostgresSchema(std::unique_ptr<Database> admin, std::string schema, std::string url)
      : admin_(std::move(admin)), schema_(std::move(schema)), url_(std::move(url)) {}

  std::unique_ptr<Database> admin_;
  std::string schema_;
  std::string url_;
};

}  // namespace ulus::store::testing
