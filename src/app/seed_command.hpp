#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "ulus/core/result.hpp"

namespace ulus::app {

// What `ulus seed` (and `ulus up` on an empty data directory) loads, and where.
struct SeedCommandOptions {
  std::filesystem::path packs_dir;
  std::string pack = "mn";
  size_t people = 100'000;
  uint64_t seed = 1;
  size_t validate_every = 1;  // see registry::SeedOptions
  std::filesystem::path data_dir = "data";
  std::string database_url;  // empty: SQLite files under data_dir/agencies
};

// Seeds a synthetic country into empty stores, showing progress on stderr (a bar on a terminal,
// a line every 10% otherwise) and a summary on stdout.
Status RunSeed(const SeedCommandOptions& options);

// For `ulus up`: seeds unless the stores already hold a country. Returns true when it seeded;
// refuses stores that hold records but no finished seeding run.
Result<bool> SeedIfEmpty(const SeedCommandOptions& options);

}  // namespace ulus::app
