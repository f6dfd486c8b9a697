#include "ulus/store/testing/temporary_sqlite.hpp"

#include <stdlib.h>

#include <system_error>

namespace ulus::store::testing {

Result<std::unique_ptr<TemporarySqlite>> TemporarySqlite::Make(std::string_view prefix) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / (std::string(prefix) + "XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) return Error::Internal("cannot make a temporary folder");
  std::filesystem::path folder(pattern);
  std::string url = "sqlite:" + (folder / "platform.db").string();
  return std::unique_ptr<TemporarySqlite>(new TemporarySqlite(std::move(folder), std::move(url)));
}

TemporarySqlite::~TemporarySqlite() {
  std::error_code ignored;
  std::filesystem::remove_all(folder_, ignored);
}

}  // namespace ulus::store::testing
