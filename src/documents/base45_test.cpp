#include "ulus/documents/base45.hpp"

#include <gtest/gtest.h>

#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/random.hpp"

namespace ulus::documents {
namespace {

using crypto::AsBytes;

std::string DecodeToString(std::string_view text) {
  const auto bytes = Base45Decode(text);
  EXPECT_TRUE(bytes.has_value()) << text;
  if (!bytes) return {};
  return {bytes->begin(), bytes->end()};
}

TEST(Base45, EncodesRfc9285Examples) {
  EXPECT_EQ(Base45Encode(AsBytes("AB")), "BB8");
  EXPECT_EQ(Base45Encode(AsBytes("Hello!!")), "%69 VD92EX0");
  EXPECT_EQ(Base45Encode(AsBytes("base-45")), "UJCLQE7W581");
  EXPECT_EQ(Base45Encode(AsBytes("ietf!")), "QED8WEX0");
  EXPECT_EQ(Base45Encode({}), "");
}

TEST(Base45, DecodesRfc9285Examples) {
  EXPECT_EQ(DecodeToString("BB8"), "AB");
  EXPECT_EQ(DecodeToString("%69 VD92EX0"), "Hello!!");
  EXPECT_EQ(DecodeToString("UJCLQE7W581"), "base-45");
  EXPECT_EQ(DecodeToString("QED8WEX0"), "ietf!");
  EXPECT_EQ(DecodeToString(""), "");
}

TEST(Base45, EdgeValuesRoundTrip) {
  // 0xFFFF is "FGW", the largest triple; 0xFF is "U5", the largest pair.
  const std::vector<uint8_t> max_pair{0xFF, 0xFF};
  EXPECT_EQ(Base45Encode(max_pair), "FGW");
  const std::vector<uint8_t> max_single{0xFF};
  EXPECT_EQ(Base45Encode(max_single), "U5");
  const std::vector<uint8_t> zeros{0, 0, 0};
  EXPECT_EQ(Base45Encode(zeros), "00000");
  EXPECT_EQ(Base45Decode("00000"), zeros);
}

TEST(Base45, RandomBytesRoundTrip) {
  for (size_t n = 0; n < 64; ++n) {
    const auto bytes = crypto::RandomBytes(n);
    const auto text = Base45Encode(bytes);
    EXPECT_EQ(text.size(), n / 2 * 3 + n % 2 * 2);
    EXPECT_EQ(Base45Decode(text), bytes) << text;
  }
}

TEST(Base45, RefusesMalformedText) {
  // RFC 9285 §4.2: "GGW" is 65536, one more than two bytes can hold.
  EXPECT_FALSE(Base45Decode("GGW").has_value());
  EXPECT_FALSE(Base45Decode(":::").has_value());
  // A trailing pair above 255.
  EXPECT_FALSE(Base45Decode("V5").has_value());
  EXPECT_FALSE(Base45Decode("BB8::").has_value());
  // A dangling single character.
  EXPECT_FALSE(Base45Decode("B").has_value());
  EXPECT_FALSE(Base45Decode("BB8B").has_value());
  // Characters outside the alphabet, lower case included.
  EXPECT_FALSE(Base45Decode("bb8").has_value());
  EXPECT_FALSE(Base45Decode("BB#").has_value());
  EXPECT_FALSE(Base45Decode("BB8\n").has_value());
  EXPECT_FALSE(Base45Decode(std::string_view("B\0"
                                             "8",
                                             3))
                   .has_value());
  EXPECT_FALSE(Base45Decode("\xC3\x89"
                            "B")
                   .has_value());
}

}  // namespace
}  // namespace ulus::documents
