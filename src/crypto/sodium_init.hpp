#pragma once

#include <sodium.h>

#include "ulus/core/assert.hpp"

namespace ulus::crypto::detail {

// libsodium must be initialised once before use; sodium_init is thread-safe and idempotent, and
// it fails only when the system has no usable randomness, after which nothing safe can follow.
inline void EnsureSodium() {
  static const bool ready = sodium_init() >= 0;
  ULUS_ASSERT(ready);
}

}  // namespace ulus::crypto::detail
