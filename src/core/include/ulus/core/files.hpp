#pragma once

#include <filesystem>
#include <string_view>

#include "ulus/core/result.hpp"

namespace ulus {

// Writes `text` to `path` readable by its owner only (0600) and atomically: a temporary file is
// created with that mode, written, fsynced and renamed over `path`, so a reader never sees half a
// file and nobody else ever sees the secrets in it. Creates the parent directory if needed; the
// directory is fsynced after the rename so the new name survives a crash too.
Status WritePrivateFile(const std::filesystem::path& path, std::string_view text);

}  // namespace ulus
