#pragma once

#include <string>

#include "ulus/core/clock.hpp"

namespace ulus {

// A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds then random bits, so ids sort by
// creation time and index well. Thread-safe; randomness from the operating system.
std::string NewUuidV7(const Clock& clock = Clock::System());

// True when `text` is a UUID in canonical 8-4-4-4-12 lowercase or uppercase hex form.
bool IsUuid(std::string_view text);

}  // namespace ulus
