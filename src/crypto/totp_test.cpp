#include "ulus/crypto/totp.hpp"

#include <gtest/gtest.h>

#include <set>

#include "ulus/crypto/encoding.hpp"

namespace ulus::crypto {
namespace {

using std::chrono::seconds;

TimePoint At(int64_t unix_seconds) {
  return TimePoint(seconds(unix_seconds));
}

constexpr std::string_view kSecret20 = "12345678901234567890";
constexpr std::string_view kSecret32 = "12345678901234567890123456789012";
constexpr std::string_view kSecret64 =
    "1234567890123456789012345678901234567890123456789012345678901234";

TEST(Hotp, Rfc4226AppendixD) {
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (uint64_t counter = 0; counter < 10; ++counter) {
    EXPECT_EQ(Hotp(AsBytes(kSecret20), counter), expected[counter]) << counter;
  }
}

TEST(Totp, Rfc6238AppendixB) {
  struct Vector {
    int64_t time;
    const char* sha1;
    const char* sha256;
    const char* sha512;
  };
  const Vector vectors[] = {
      {59, "94287082", "46119246", "90693936"},
      {1111111109, "07081804", "68084774", "25091201"},
      {1111111111, "14050471", "67062674", "99943326"},
      {1234567890, "89005924", "91819424", "93441116"},
      {2000000000, "69279037", "90698825", "38618901"},
  };
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.time);
    EXPECT_EQ(Totp(AsBytes(kSecret20), At(v.time), {OtpHash::kSha1, 8}), v.sha1);
    EXPECT_EQ(Totp(AsBytes(kSecret32), At(v.time), {OtpHash::kSha256, 8}), v.sha256);
    EXPECT_EQ(Totp(AsBytes(kSecret64), At(v.time), {OtpHash::kSha512, 8}), v.sha512);
  }
  // The RFC's last vector, year 2603, is past what system_clock's nanoseconds hold (2262), so
  // it is checked through its step: 20000000000 / 30.
  constexpr uint64_t kStep = 666666666;
  EXPECT_EQ(Hotp(AsBytes(kSecret20), kStep, 8, OtpHash::kSha1), "65353130");
  EXPECT_EQ(Hotp(AsBytes(kSecret32), kStep, 8, OtpHash::kSha256), "77737706");
  EXPECT_EQ(Hotp(AsBytes(kSecret64), kStep, 8, OtpHash::kSha512), "47863826");
}

TEST(Totp, VerifyAcceptsTheWindowAndReturnsTheStep) {
  const auto secret = AsBytes(kSecret20);
  const TimePoint now = At(1111111111);
  const uint64_t step = TotpStep(now, seconds(30));
  EXPECT_EQ(step, 37037037U);
  for (const int64_t offset : {-30, 0, 30}) {
    const std::string code = Totp(secret, now + seconds(offset));
    const auto matched = VerifyTotp(secret, code, now, std::nullopt);
    ASSERT_TRUE(matched.ok()) << offset;
    EXPECT_EQ(*matched, static_cast<uint64_t>(static_cast<int64_t>(step) + offset / 30));
  }
  for (const int64_t offset : {-90, -60, 60, 90}) {
    const std::string code = Totp(secret, now + seconds(offset));
    if (code == Totp(secret, now)) continue;  // a chance collision of six digits
    EXPECT_FALSE(VerifyTotp(secret, code, now, std::nullopt).ok()) << offset;
  }
}

TEST(Totp, RefusesReuseOfAStep) {
  const auto secret = AsBytes(kSecret20);
  const TimePoint now = At(2000000000);
  const std::string code = Totp(secret, now);
  const auto first = VerifyTotp(secret, code, now, std::nullopt);
  ASSERT_TRUE(first.ok());
  const auto replay = VerifyTotp(secret, code, now + seconds(5), *first);
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(replay.error().message.find("already used"), std::string::npos);
  // The previous step's code is refused too once a later one was used.
  const std::string older = Totp(secret, now - seconds(30));
  EXPECT_FALSE(VerifyTotp(secret, older, now, *first).ok());
  // The next step's code is fine.
  const std::string next = Totp(secret, now + seconds(30));
  EXPECT_TRUE(VerifyTotp(secret, next, now + seconds(30), *first).ok());
}

TEST(Totp, RefusesMalformedCodes) {
  const auto secret = AsBytes(kSecret20);
  for (const std::string code : {"", "12345", "1234567", "12345a", " 123456", "12 456"}) {
    const auto r = VerifyTotp(secret, code, At(59), std::nullopt);
    ASSERT_FALSE(r.ok()) << code;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(Totp, NewSecretsAreTwentyRandomBytes) {
  const auto a = NewTotpSecret();
  EXPECT_EQ(a.size(), 20U);
  EXPECT_NE(a, NewTotpSecret());
}

TEST(Base32, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "MY======"},
      {"fo", "MZXQ===="},
      {"foo", "MZXW6==="},
      {"foob", "MZXW6YQ="},
      {"fooba", "MZXW6YTB"},
      {"foobar", "MZXW6YTBOI======"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base32Encode(AsBytes(plain)), encoded);
    const auto decoded = Base32Decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(std::string(decoded->begin(), decoded->end()), plain);
  }
  EXPECT_EQ(Base32Encode(AsBytes("foobar"), /*pad=*/false), "MZXW6YTBOI");
  EXPECT_EQ(Base32Decode("mzxw6ytboi").value(), Base32Decode("MZXW6YTBOI======").value());
  EXPECT_EQ(Base32Encode(AsBytes(kSecret20), false), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

TEST(Base32, RejectsJunk) {
  for (const char* bad :
       {"MY=", "M=Y=====", "MZXW1===", "MZXW6YT", "MZX", "MY======MY======", "MZ======", "ab cd"}) {
    EXPECT_FALSE(Base32Decode(bad).has_value()) << bad;
  }
}

TEST(OtpauthUri, BuildsTheKeyUriFormat) {
  const auto uri = OtpauthUri("Ulus Dan", "citizen@ulus.example", AsBytes(kSecret20));
  ASSERT_TRUE(uri.ok());
  EXPECT_EQ(*uri,
            "otpauth://totp/Ulus%20Dan:citizen%40ulus.example"
            "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Ulus%20Dan&algorithm=SHA1&digits=6"
            "&period=30");
}

TEST(OtpauthUri, PercentEncodesUtf8AndRefusesColons) {
  const auto uri =
      OtpauthUri("Дан", "Бат-Эрдэнэ", AsBytes(kSecret20), {OtpHash::kSha256, 8, seconds(60)});
  ASSERT_TRUE(uri.ok());
  EXPECT_TRUE(
      uri->starts_with("otpauth://totp/%D0%94%D0%B0%D0%BD:"
                       "%D0%91%D0%B0%D1%82-%D0%AD%D1%80%D0%B4%D1%8D%D0%BD%D1%8D?"))
      << *uri;
  EXPECT_TRUE(uri->ends_with("&issuer=%D0%94%D0%B0%D0%BD&algorithm=SHA256&digits=8&period=60"));
  EXPECT_FALSE(OtpauthUri("Ulus:Dan", "a", AsBytes(kSecret20)).ok());
  EXPECT_FALSE(OtpauthUri("Ulus", "a:b", AsBytes(kSecret20)).ok());
  EXPECT_FALSE(OtpauthUri("", "a", AsBytes(kSecret20)).ok());
  EXPECT_FALSE(OtpauthUri("Ulus", "\xc3\x28", AsBytes(kSecret20)).ok());      // bad UTF-8
  EXPECT_FALSE(OtpauthUri("Ulus", "\xc0\xaf", AsBytes(kSecret20)).ok());      // overlong '/'
  EXPECT_FALSE(OtpauthUri("Ulus", "\xed\xa0\x80", AsBytes(kSecret20)).ok());  // surrogate
  EXPECT_FALSE(OtpauthUri("Ulus", "a", {}).ok());
}

TEST(RecoveryCodes, AreUniqueUnambiguousAndHashStably) {
  const auto codes = NewRecoveryCodes();
  ASSERT_EQ(codes.size(), kRecoveryCodeCount);
  std::set<std::string> seen;
  for (const auto& code : codes) {
    ASSERT_EQ(code.size(), 14U) << code;  // XXXX-XXXX-XXXX
    EXPECT_EQ(code[4], '-');
    EXPECT_EQ(code[9], '-');
    EXPECT_EQ(code.find_first_of("01OIlo"), std::string::npos) << code;
    seen.insert(code);
  }
  EXPECT_EQ(seen.size(), codes.size());

  const std::string stored = HashRecoveryCode(codes[0], "citizen-42");
  EXPECT_EQ(stored.size(), 64U);
  EXPECT_EQ(stored.find(codes[0].substr(0, 4)), std::string::npos);
  std::string typed = codes[0];
  for (auto& c : typed) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  typed.erase(4, 1);
  typed.insert(4, " ");
  EXPECT_TRUE(RecoveryCodeMatches(typed, "citizen-42", stored));
  EXPECT_FALSE(RecoveryCodeMatches(codes[1], "citizen-42", stored));
  EXPECT_FALSE(RecoveryCodeMatches(codes[0], "citizen-43", stored));
  EXPECT_NE(HashRecoveryCode(codes[0], "citizen-43"), stored);
}

}  // namespace
}  // namespace ulus::crypto
