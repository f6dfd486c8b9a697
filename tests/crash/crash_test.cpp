#include <stdlib.h>

#include <filesystem>

#include "crash_harness.hpp"

namespace ulus::crash {
namespace {

TEST(CrashTest, SqliteLosesNoAcknowledgedWriteWhenKilled) {
  std::string dir = (std::filesystem::temp_directory_path() / "ulus-crash-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  RunCrashRounds("sqlite:" + dir + "/crash.db");
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace
}  // namespace ulus::crash
