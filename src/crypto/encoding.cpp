#include "ulus/crypto/encoding.hpp"

#include <array>

namespace ulus::crypto {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr std::array<int8_t, 256> MakeB64UrlTable() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(kB64Url[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr auto kB64UrlTable = MakeB64UrlTable();

int Base32Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

}  // namespace

std::string HexEncode(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const uint8_t b : bytes) {
    out.push_back(kHexDigits[b >> 4]);
    out.push_back(kHexDigits[b & 0x0F]);
  }
  return out;
}

std::optional<std::vector<uint8_t>> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::vector<uint8_t> out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexValue(hex[i]);
    const int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<uint8_t>((hi << 4) | lo));
  }
  return out;
}

std::string Base64UrlEncode(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out.push_back(kB64Url[(n >> 18) & 63]);
    out.push_back(kB64Url[(n >> 12) & 63]);
    out.push_back(kB64Url[(n >> 6) & 63]);
    out.push_back(kB64Url[n & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const uint32_t n = uint32_t{bytes[i]} << 16;
    out.push_back(kB64Url[(n >> 18) & 63]);
    out.push_back(kB64Url[(n >> 12) & 63]);
  } else if (rest == 2) {
    const uint32_t n = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8);
    out.push_back(kB64Url[(n >> 18) & 63]);
    out.push_back(kB64Url[(n >> 12) & 63]);
    out.push_back(kB64Url[(n >> 6) & 63]);
  }
  return out;
}

std::optional<std::vector<uint8_t>> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::vector<uint8_t> out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int8_t v = kB64UrlTable[static_cast<uint8_t>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xFF));
    }
  }
  // Leftover bits must be zero, or two encodings would decode to the same bytes.
  if ((acc & ((1U << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string Base64Encode(std::span<const uint8_t> bytes) {
  std::string out = Base64UrlEncode(bytes);
  for (char& c : out) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (out.size() % 4 != 0) out.push_back('=');
  return out;
}

std::string Base32Encode(std::span<const uint8_t> bytes, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 4) / 5 * 8);
  uint32_t acc = 0;
  int bits = 0;
  for (const uint8_t b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(kBase32[(acc >> bits) & 31]);
    }
  }
  if (bits > 0) out.push_back(kBase32[(acc << (5 - bits)) & 31]);
  if (pad) {
    while (out.size() % 8 != 0) out.push_back('=');
  }
  return out;
}

std::optional<std::vector<uint8_t>> Base32Decode(std::string_view text) {
  if (text.find('=') != std::string_view::npos) {
    // Padding only at the end, and only to a whole 8-character group.
    if (text.size() % 8 != 0) return std::nullopt;
    const size_t data_end = text.find('=');
    if (text.find_first_not_of('=', data_end) != std::string_view::npos) return std::nullopt;
    text = text.substr(0, data_end);
  }
  // Lengths that no whole number of bytes encodes to (RFC 4648 §6: 2, 4, 5, 7 or 8 per group).
  const size_t rest = text.size() % 8;
  if (rest == 1 || rest == 3 || rest == 6) return std::nullopt;
  std::vector<uint8_t> out;
  out.reserve(text.size() * 5 / 8);
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = Base32Value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xFF));
    }
  }
  if ((acc & ((1U << bits) - 1)) != 0) return std::nullopt;
  return out;
}

}  // namespace ulus::crypto
