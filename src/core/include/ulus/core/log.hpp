#pragma once

#include <string_view>

#include "ulus/core/result.hpp"

namespace ulus::log {

enum class Format { kText, kJson };

// Sets up the process-wide logger (spdlog's default logger) at start-up. Levels: trace, debug,
// info, warn, error, off. JSON lines suit log shippers; text suits a terminal. Not thread-safe:
// call once before starting threads.
Status Init(std::string_view level, Format format = Format::kText);

}  // namespace ulus::log
