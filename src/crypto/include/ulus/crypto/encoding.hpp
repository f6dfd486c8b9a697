#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ulus::crypto {

std::string HexEncode(std::span<const uint8_t> bytes);
std::optional<std::vector<uint8_t>> HexDecode(std::string_view hex);

// Base64url without padding (RFC 4648 §5), the form JOSE uses.
std::string Base64UrlEncode(std::span<const uint8_t> bytes);
std::optional<std::vector<uint8_t>> Base64UrlDecode(std::string_view text);
// Standard base64 with padding (RFC 4648 §4), as PEM and the EU DCC's key ids use.
std::string Base64Encode(std::span<const uint8_t> bytes);

// Base32 (RFC 4648 §6), the form TOTP secrets take in otpauth URIs and authenticator apps.
// Encode pads with '=' unless told not to (otpauth URIs leave padding out). Decode takes upper or
// lower case, with or without padding, and refuses anything else, including non-zero leftover
// bits.
std::string Base32Encode(std::span<const uint8_t> bytes, bool pad = true);
std::optional<std::vector<uint8_t>> Base32Decode(std::string_view text);

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};  // NOLINT
}

}  // namespace ulus::crypto
