#pragma once

#include <source_location>

namespace ulus::detail {
[[noreturn]] void AssertFail(const char* expr, std::source_location where);
}  // namespace ulus::detail

// An invariant of our own code; never use it to check input. Aborts with the location on failure,
// in every build type: a broken invariant in a national register must not run on silently.
#define ULUS_ASSERT(expr)                                                 \
  do {                                                                    \
    if (!(expr)) [[unlikely]] {                                           \
      ::ulus::detail::AssertFail(#expr, std::source_location::current()); \
    }                                                                     \
  } while (false)
