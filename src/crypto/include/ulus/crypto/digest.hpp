#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ulus::crypto {

using Sha256Digest = std::array<uint8_t, 32>;

// SHA-256 of `data` (OpenSSL). Thread-safe.
Sha256Digest Sha256(std::span<const uint8_t> data);
Sha256Digest Sha256(std::string_view data);

// HMAC-SHA-256 of `data` under `key`.
Sha256Digest HmacSha256(std::span<const uint8_t> key, std::string_view data);

// Equality that takes the same time whatever the contents: for comparing secrets and MACs.
bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b);

}  // namespace ulus::crypto
