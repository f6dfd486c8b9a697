#include <stdlib.h>

#include <filesystem>

#include "dan_suite.hpp"

namespace ulus::identity::test {
namespace {

// A database file in a fresh temporary directory, removed with it.
class SqliteTestDatabase final : public TestDatabase {
 public:
  explicit SqliteTestDatabase(std::string dir)
      : dir_(std::move(dir)), url_("sqlite:" + dir_ + "/dan.db") {}
  ~SqliteTestDatabase() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  [[nodiscard]] const std::string& url() const override { return url_; }

 private:
  std::string dir_;
  std::string url_;
};

Result<std::unique_ptr<TestDatabase>> MakeSqlite() {
  std::string pattern = (std::filesystem::temp_directory_path() / "ulus-dan-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return Error::Internal("mkdtemp failed");
  return std::unique_ptr<TestDatabase>(std::make_unique<SqliteTestDatabase>(pattern));
}

const DanBackend kSqlite{"sqlite", &MakeSqlite};

INSTANTIATE_TEST_SUITE_P(Sqlite, DanStoreTest, ::testing::Values(kSqlite), BackendName);

}  // namespace
}  // namespace ulus::identity::test
