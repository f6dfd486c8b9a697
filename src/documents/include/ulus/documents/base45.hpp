#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ulus::documents {

// Base45 (RFC 9285): the alphanumeric-mode QR alphabet, used by the EU DCC.
std::string Base45Encode(std::span<const uint8_t> bytes);
// Nothing when `text` has a character outside the alphabet, a dangling single character, or a
// triple or pair whose value does not fit its bytes.
std::optional<std::vector<uint8_t>> Base45Decode(std::string_view text);

}  // namespace ulus::documents
