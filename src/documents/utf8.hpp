#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ulus::documents {

// Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), shared by
// the DCC codec and the ICAO transliteration.

// The next code point of `text` from `pos` (advanced past it), or nothing for a byte that does
// not start a well-formed UTF-8 sequence (then `pos` moves one byte on).
inline std::optional<char32_t> NextCodePoint(std::string_view text, size_t& pos) {
  const auto lead = static_cast<uint8_t>(text[pos++]);
  if (lead < 0x80) return lead;
  size_t extra = 0;
  char32_t c = 0;
  char32_t smallest = 0;  // anything below is an overlong form
  if ((lead & 0xE0) == 0xC0) {
    extra = 1;
    c = lead & 0x1Fu;
    smallest = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    extra = 2;
    c = lead & 0x0Fu;
    smallest = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    extra = 3;
    c = lead & 0x07u;
    smallest = 0x10000;
  } else {
    return std::nullopt;
  }
  if (text.size() - pos < extra) return std::nullopt;
  for (size_t i = 0; i < extra; ++i) {
    const auto b = static_cast<uint8_t>(text[pos + i]);
    if ((b & 0xC0) != 0x80) return std::nullopt;
    c = (c << 6) | (b & 0x3Fu);
  }
  if (c < smallest || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return std::nullopt;
  pos += extra;
  return c;
}

// True when every byte of `text` belongs to a well-formed UTF-8 sequence.
inline bool IsUtf8(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    if (!NextCodePoint(text, pos)) return false;
  }
  return true;
}

}  // namespace ulus::documents
