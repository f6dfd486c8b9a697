#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ulus::crypto {

// Cryptographically secure random bytes from the operating system. Thread-safe.
std::vector<uint8_t> RandomBytes(size_t n);

// A random token of `bytes` bytes of entropy, base64url-encoded: for codes, session ids, nonces.
std::string RandomToken(size_t bytes = 32);

}  // namespace ulus::crypto
