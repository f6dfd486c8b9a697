#include "ulus/core/assert.hpp"

#include <cstdio>
#include <cstdlib>

namespace ulus::detail {

void AssertFail(const char* expr, std::source_location where) {
  std::fprintf(stderr, "ulus: invariant broken: %s at %s:%u (%s)\n", expr, where.file_name(),
               where.line(), where.function_name());
  std::abort();
}

}  // namespace ulus::detail
