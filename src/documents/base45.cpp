#include "ulus/documents/base45.hpp"

#include <array>

namespace ulus::documents {
namespace {

constexpr std::string_view kAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
constexpr uint32_t kBase = 45;
constexpr uint32_t kMaxPair = 0xFFFF;  // a triple of characters carries two bytes
constexpr uint32_t kMaxSingle = 0xFF;  // a trailing pair of characters carries one byte

constexpr std::array<int8_t, 256> MakeValueTable() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}
constexpr auto kValues = MakeValueTable();

int Value(char c) {
  return kValues[static_cast<uint8_t>(c)];
}

// The value of `digits` read least significant first, or nothing when one is not in the alphabet.
std::optional<uint32_t> DigitsValue(std::string_view digits) {
  uint32_t n = 0;
  uint32_t weight = 1;
  for (const char c : digits) {
    const int v = Value(c);
    if (v < 0) return std::nullopt;
    n += static_cast<uint32_t>(v) * weight;
    weight *= kBase;
  }
  return n;
}

}  // namespace

std::string Base45Encode(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() / 2) * 3 + 2);
  size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) {
    uint32_t n = (uint32_t{bytes[i]} << 8) | bytes[i + 1];
    out.push_back(kAlphabet[n % kBase]);
    n /= kBase;
    out.push_back(kAlphabet[n % kBase]);
    out.push_back(kAlphabet[n / kBase]);
  }
  if (i < bytes.size()) {
    const uint32_t n = bytes[i];
    out.push_back(kAlphabet[n % kBase]);
    out.push_back(kAlphabet[n / kBase]);
  }
  return out;
}

std::optional<std::vector<uint8_t>> Base45Decode(std::string_view text) {
  if (text.size() % 3 == 1) return std::nullopt;
  std::vector<uint8_t> out;
  out.reserve((text.size() / 3) * 2 + 1);
  size_t i = 0;
  for (; i + 2 < text.size(); i += 3) {
    const auto n = DigitsValue(text.substr(i, 3));
    if (!n || *n > kMaxPair) return std::nullopt;
    out.push_back(static_cast<uint8_t>(*n >> 8));
    out.push_back(static_cast<uint8_t>(*n & 0xFF));
  }
  if (i < text.size()) {
    const auto n = DigitsValue(text.substr(i, 2));
    if (!n || *n > kMaxSingle) return std::nullopt;
    out.push_back(static_cast<uint8_t>(*n));
  }
  return out;
}

}  // namespace ulus::documents
