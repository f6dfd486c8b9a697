#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "ulus/core/result.hpp"

namespace ulus::store::testing {

// For tests against SQLite: a database file in a temporary folder of its own, removed with
// everything in it when this object goes. The file is made by whoever opens url() first.
class TemporarySqlite {
 public:
  // `prefix` names the folder's owner ("ulus-portal-"); mkdtemp's random part follows.
  static Result<std::unique_ptr<TemporarySqlite>> Make(std::string_view prefix);
  ~TemporarySqlite();
  TemporarySqlite(const TemporarySqlite&) = delete;
  TemporarySqlite& operator=(const TemporarySqlite&) = delete;

  // "sqlite:" and the database file's path, for store::Database::Open.
  [[nodiscard]] const std::string& url() const { return url_; }
  [[nodiscard]] const std::filesystem::path& folder() const { return folder_; }

 private:
  TemporarySqlite(std::filesystem::path folder, std::string url)
      : folder_(std::move(folder)), url_(std::move(url)) {}

  std::filesystem::path folder_;
  std::string url_;
};

}  // namespace ulus::store::testing
