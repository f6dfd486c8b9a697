#include <gtest/gtest.h>

#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/random.hpp"

namespace ulus::crypto {
namespace {

TEST(Digest, Sha256MatchesFips180Vector) {
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, HmacSha256MatchesRfc4231Case2) {
  EXPECT_EQ(HexEncode(HmacSha256(AsBytes("Jefe"), "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Encoding, Base64UrlRoundTripsAndRejectsJunk) {
  for (const std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    const auto enc = Base64UrlEncode(AsBytes(s));
    const auto dec = Base64UrlDecode(enc);
    ASSERT_TRUE(dec.has_value()) << enc;
    EXPECT_EQ(std::string(dec->begin(), dec->end()), s);
  }
  EXPECT_EQ(Base64UrlEncode(AsBytes("foobar")), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlEncode(AsBytes("\xfb\xff")), "-_8");
  EXPECT_FALSE(Base64UrlDecode("Zm9v+mFy").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zm9vY").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zh").has_value());  // non-zero leftover bits
}

TEST(Encoding, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(AsBytes("")), "");
  EXPECT_EQ(Base64Encode(AsBytes("f")), "Zg==");
  EXPECT_EQ(Base64Encode(AsBytes("fo")), "Zm8=");
  EXPECT_EQ(Base64Encode(AsBytes("foobar")), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(AsBytes("\xfb\xff")), "+/8=");
}

TEST(Encoding, HexRejectsOddAndNonHex) {
  EXPECT_FALSE(HexDecode("abc").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
  EXPECT_EQ(HexDecode("00ff")->at(1), 0xff);
}

TEST(Random, TokensDiffer) {
  EXPECT_NE(RandomToken(), RandomToken());
  EXPECT_EQ(RandomToken(32).size(), 43U);
  EXPECT_TRUE(ConstantTimeEquals(RandomBytes(0), RandomBytes(0)));
}

}  // namespace
}  // namespace ulus::crypto
