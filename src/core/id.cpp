#include "ulus/core/id.hpp"

#include <sys/random.h>

#include <array>
#include <cstdint>
#include <cstdio>

#include "ulus/core/assert.hpp"

namespace ulus {

std::string NewUuidV7(const Clock& clock) {
  std::array<uint8_t, 16> b{};
  // getrandom blocks only before the kernel's pool is seeded at boot; a short read is a bug.
  const auto got = getrandom(b.data() + 6, 10, 0);
  ULUS_ASSERT(got == 10);
  const auto ms = static_cast<uint64_t>(ToUnixMicros(clock.Now()) / 1000);
  for (int i = 0; i < 6; ++i) {
    b[static_cast<size_t>(i)] = static_cast<uint8_t>(ms >> (8 * (5 - i)));
  }
  b[6] = static_cast<uint8_t>((b[6] & 0x0F) | 0x70);  // version 7
  b[8] = static_cast<uint8_t>((b[8] & 0x3F) | 0x80);  // RFC 9562 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0F]);
  }
  return out;
}

bool IsUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
      continue;
    }
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) return false;
  }
  return true;
}

}  // namespace ulus
