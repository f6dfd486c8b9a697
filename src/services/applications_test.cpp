#include <stdlib.h>

#include "applications_suite.hpp"

namespace ulus::services::test {

// A SQLite file in a fresh temporary folder, removed with the last reference.
Result<SuiteDatabase> MakeSuiteDatabase() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "ulus-applications-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return Error::Internal("cannot make a temporary folder");
  auto dir = std::shared_ptr<std::filesystem::path>(new std::filesystem::path(pattern),
                                                    [](std::filesystem::path* p) {
                                                      std::error_code ignored;
                                                      std::filesystem::remove_all(*p, ignored);
                                                      delete p;
                                                    });
  return SuiteDatabase{.url = "sqlite:" + (*dir / "platform.db").string(), .keep = dir};
}

}  // namespace ulus::services::test
