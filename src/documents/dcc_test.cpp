#include "ulus/documents/dcc.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/random.hpp"
#include "ulus/documents/base45.hpp"
#include "ulus/documents/transliteration.hpp"

namespace ulus::documents {
namespace {

using crypto::SignatureAlg;
using crypto::SigningKey;
using nlohmann::json;
using Bytes = std::vector<uint8_t>;

// A CBOR writer of the test's own, independent of libcbor, to build codes the encoder never
// would: other tags, other algorithms, missing claims, trailing bytes.
Bytes Head(uint8_t major, uint64_t argument) {
  Bytes out;
  const auto initial = static_cast<uint8_t>(major << 5);
  if (argument < 24) {
    out.push_back(static_cast<uint8_t>(initial | argument));
    return out;
  }
  // Additional information 24..27: the argument follows in 1, 2, 4 or 8 bytes.
  uint8_t info = 27;
  if (argument <= 0xFF) {
    info = 24;
  } else if (argument <= 0xFFFF) {
    info = 25;
  } else if (argument <= 0xFFFFFFFF) {
    info = 26;
  }
  const int width = 1 << (info - 24);
  out.push_back(static_cast<uint8_t>(initial | info));
  for (int i = width - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(argument >> (8 * i)));
  return out;
}

Bytes Int(int64_t v) {
  return v >= 0 ? Head(0, static_cast<uint64_t>(v)) : Head(1, static_cast<uint64_t>(-(v + 1)));
}

Bytes Bstr(const Bytes& bytes) {
  Bytes out = Head(2, bytes.size());
  out.insert(out.end(), bytes.begin(), bytes.end());
  return out;
}

Bytes Tstr(std::string_view text) {
  Bytes out = Head(3, text.size());
  out.insert(out.end(), text.begin(), text.end());
  return out;
}

Bytes Array(const std::vector<Bytes>& items) {
  Bytes out = Head(4, items.size());
  for (const auto& item : items) out.insert(out.end(), item.begin(), item.end());
  return out;
}

Bytes Map(const std::vector<std::pair<Bytes, Bytes>>& pairs) {
  Bytes out = Head(5, pairs.size());
  for (const auto& [key, value] : pairs) {
    out.insert(out.end(), key.begin(), key.end());
    out.insert(out.end(), value.begin(), value.end());
  }
  return out;
}

Bytes Tag(uint64_t tag, const Bytes& item) {
  Bytes out = Head(6, tag);
  out.insert(out.end(), item.begin(), item.end());
  return out;
}

Bytes Concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Bytes Zlib(const Bytes& data) {
  uLongf size = compressBound(data.size());
  Bytes out(size);
  EXPECT_EQ(compress2(out.data(), &size, data.data(), data.size(), Z_BEST_COMPRESSION), Z_OK);
  out.resize(size);
  return out;
}

Bytes Unzlib(const Bytes& data) {
  uLongf size = 1 << 20;
  Bytes out(size);
  EXPECT_EQ(uncompress(out.data(), &size, data.data(), data.size()), Z_OK);
  out.resize(size);
  return out;
}

std::string Hc1Of(const Bytes& cose, bool compress = true) {
  return "HC1:" + Base45Encode(compress ? Zlib(cose) : cose);
}

// The COSE_Sign1 inside an HC1 code, for tests that tamper with it.
Bytes CoseOf(std::string_view hc1) {
  const auto decoded = Base45Decode(hc1.substr(4));
  EXPECT_TRUE(decoded.has_value());
  return decoded ? Unzlib(*decoded) : Bytes{};
}

constexpr int64_t kIat = 1'767'225'600;  // 2026-01-01T00:00:00Z
constexpr int64_t kExp = 1'798'761'600;  // 2027-01-01T00:00:00Z

TimePoint At(int64_t seconds) {
  return TimePoint(std::chrono::seconds(seconds));
}

json SampleHcert() {
  return json::parse(R"({
    "ver": "1.3.0",
    "nam": {"fn": "Өлзий-Орших", "fnt": "OLZII<ORSHIKH", "gn": "Батболд", "gnt": "BATBOLD"},
    "dob": "1990-04-12",
    "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
           "dn": 2, "sd": 2, "dt": "2025-11-02", "co": "MN", "is": "Ministry of Health",
           "ci": "URN:UVCI:01:MN:7F3A9C#K"}]
  })");
}

DccClaims SampleClaims() {
  return {"MN", At(kIat), At(kExp), SampleHcert()};
}

// The test's own hcert in CBOR, the same content as a two-member subset of SampleHcert.
Bytes SampleHcertCbor() {
  return Map({{Tstr("ver"), Tstr("1.3.0")}, {Tstr("dob"), Tstr("1990-04-12")}});
}

Bytes Cwt(const Bytes& hcert = SampleHcertCbor()) {
  return Map({{Int(1), Tstr("MN")},
              {Int(4), Int(kExp)},
              {Int(6), Int(kIat)},
              {Int(-260), Map({{Int(1), hcert}})}});
}

Bytes SigStructure(const Bytes& protected_header, const Bytes& payload) {
  return Array({Tstr("Signature1"), Bstr(protected_header), Bstr({}), Bstr(payload)});
}

// Keys made once for the whole program: generating them is the slow part.
const SigningKey& Key() {
  static const SigningKey key = SigningKey::Generate(SignatureAlg::kEs256).value();
  return key;
}
const SigningKey& OtherKey() {
  static const SigningKey key = SigningKey::Generate(SignatureAlg::kEs256).value();
  return key;
}

class DccTest : public ::testing::Test {
 protected:
  static Bytes Es256Header() {
    return Map({{Int(1), Int(-7)}, {Int(4), Bstr(DccKeyId(Key().Public()))}});
  }

  // A COSE_Sign1 written and signed here, without the code under test.
  static Bytes SignedCose(const Bytes& protected_header, const Bytes& unprotected,
                          const Bytes& payload, std::optional<uint64_t> tag = 18) {
    const auto signature = Key().Sign(SigStructure(protected_header, payload));
    EXPECT_TRUE(signature.ok());
    const Bytes array =
        Array({Bstr(protected_header), unprotected, Bstr(payload), Bstr(signature.value())});
    return tag ? Tag(*tag, array) : array;
  }
  static Bytes GoodCose() { return SignedCose(Es256Header(), Map({}), Cwt()); }

  static std::string Encode(const DccClaims& claims = SampleClaims()) {
    auto hc1 = EncodeHc1(claims, Key());
    EXPECT_TRUE(hc1.ok()) << hc1.error().ToString();
    return hc1.ok() ? hc1.value() : std::string();
  }

  // The parse must fail with kInvalidArgument and a message naming `layer`.
  static void ExpectRefused(std::string_view hc1, std::string_view layer) {
    const auto parsed = ParseHc1(hc1);
    ASSERT_FALSE(parsed.ok()) << "accepted a code with a bad " << layer;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find(layer), std::string::npos) << parsed.error().message;
  }

  // Either refused, or parsed but not verified with the genuine key, or (zlib and Base45 leave a
  // few bits unused) decoded to exactly what was signed.
  static void ExpectNoForgery(std::string_view hc1, const ParsedHc1& genuine) {
    const auto parsed = ParseHc1(hc1);
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument) << hc1;
      return;
    }
    if (!VerifyHc1(*parsed, Key().Public()).ok()) return;
    EXPECT_EQ(parsed->signed_bytes, genuine.signed_bytes) << hc1;
    EXPECT_EQ(parsed->signature, genuine.signature) << hc1;
    EXPECT_EQ(parsed->kid, genuine.kid) << hc1;
    EXPECT_EQ(parsed->claims.hcert, genuine.claims.hcert) << hc1;
  }
};

TEST_F(DccTest, RoundTrips) {
  const std::string hc1 = Encode();
  ASSERT_TRUE(hc1.starts_with("HC1:"));
  const auto parsed = ParseHc1(hc1);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->alg, -7);
  EXPECT_EQ(parsed->kid, DccKeyId(Key().Public()));
  EXPECT_EQ(parsed->claims.issuer_country, "MN");
  EXPECT_EQ(parsed->claims.issued_at, At(kIat));
  EXPECT_EQ(parsed->claims.expires_at, At(kExp));
  EXPECT_EQ(parsed->claims.hcert, SampleHcert());
  EXPECT_EQ(parsed->signature.size(), 64U);
  EXPECT_TRUE(VerifyHc1(*parsed, Key().Public()).ok());
}

TEST_F(DccTest, KidIsTheFirstEightBytesOfTheSpkiHash) {
  const Bytes kid = DccKeyId(Key().Public());
  EXPECT_EQ(kid.size(), 8U);
  EXPECT_NE(kid, DccKeyId(OtherKey().Public()));
  // The same key read back from its PEM has the same kid.
  const auto reread = crypto::PublicKey::FromPem(Key().Public().ToPem());
  ASSERT_TRUE(reread.ok());
  EXPECT_EQ(DccKeyId(*reread), kid);
}

TEST_F(DccTest, SignsTheCoseSigStructure) {
  // The Sig_structure the parser rebuilds is byte for byte the one this test writes itself.
  const std::string hc1 = Encode();
  const auto parsed = ParseHc1(hc1);
  ASSERT_TRUE(parsed.ok());
  const Bytes cose = CoseOf(hc1);
  ASSERT_GE(cose.size(), 2U);
  EXPECT_EQ(cose[0], 0xD2);  // tag 18
  EXPECT_EQ(cose[1], 0x84);  // an array of four
  const Bytes protected_header = Map({{Int(1), Int(-7)}, {Int(4), Bstr(parsed->kid)}});
  const Bytes prefix = Concat(Concat(Head(4, 4), Tstr("Signature1")), Bstr(protected_header));
  ASSERT_GE(parsed->signed_bytes.size(), prefix.size());
  EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), parsed->signed_bytes.begin()));
}

TEST_F(DccTest, RoundTripsEveryJsonKindTheHcertMayHold) {
  DccClaims claims = SampleClaims();
  claims.hcert = json::parse(R"({
    "a": [1, -1, 0, 23, 24, 255, 256, 65535, 65536, 4294967295, 4294967296,
          -24, -25, -256, -257, -4294967296, -4294967297, 9223372036854775807,
          -9223372036854775808, 18446744073709551615],
    "b": [true, false, 0.5, -1.25e300, 1.0],
    "c": {"empty": {}, "list": [], "text": "", "mn": "Монгол Улс", "kk": "Қазақстан", "lo": "ລາວ"}
  })");
  claims.issued_at = At(-86'400);
  const auto parsed = ParseHc1(Encode(claims));
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->claims.hcert, claims.hcert);
  EXPECT_EQ(parsed->claims.issued_at, At(-86'400));
}

TEST_F(DccTest, EncodeTruncatesTimesToWholeSeconds) {
  DccClaims claims = SampleClaims();
  claims.issued_at = At(kIat) + std::chrono::milliseconds(999);
  const auto parsed = ParseHc1(Encode(claims));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->claims.issued_at, At(kIat));
}

TEST_F(DccTest, EncodeRefusesOtherAlgorithmsAndHcertsCborCannotCarry) {
  for (const auto alg : {SignatureAlg::kEdDsa, SignatureAlg::kRs256}) {
    const auto signer = SigningKey::Generate(alg);
    ASSERT_TRUE(signer.ok());
    const auto hc1 = EncodeHc1(SampleClaims(), *signer);
    ASSERT_FALSE(hc1.ok());
    EXPECT_EQ(hc1.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(hc1.error().message.find("ES256"), std::string::npos);
  }
  for (const auto& hcert :
       {json(nullptr), json::array(), json("text"), json{{"dob", nullptr}},
        json{{"v", {1, nullptr}}}, json{{"b", json::binary({1, 2})}}, json{{"s", "\xC3"}}}) {
    DccClaims claims = SampleClaims();
    claims.hcert = hcert;
    const auto hc1 = EncodeHc1(claims, Key());
    ASSERT_FALSE(hc1.ok()) << hcert.dump(-1, ' ', false, json::error_handler_t::replace);
    EXPECT_EQ(hc1.error().code, ErrorCode::kInvalidArgument);
  }
  DccClaims claims = SampleClaims();
  claims.hcert["big"] = std::string(70'000, 'x');
  const auto too_large = EncodeHc1(claims, Key());
  ASSERT_FALSE(too_large.ok());
  EXPECT_EQ(too_large.error().code, ErrorCode::kTooLarge);
}

TEST_F(DccTest, WrongKeyFailsVerification) {
  const auto parsed = ParseHc1(Encode());
  ASSERT_TRUE(parsed.ok());
  const auto status = VerifyHc1(*parsed, OtherKey().Public());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kUnauthenticated);

  const auto ed25519 = SigningKey::Generate(SignatureAlg::kEdDsa);
  ASSERT_TRUE(ed25519.ok());
  const auto mismatched = VerifyHc1(*parsed, ed25519->Public());
  ASSERT_FALSE(mismatched.ok());
  EXPECT_EQ(mismatched.error().code, ErrorCode::kUnauthenticated);

  ParsedHc1 other_alg = *parsed;
  other_alg.alg = -35;
  EXPECT_FALSE(VerifyHc1(other_alg, Key().Public()).ok());
}

TEST_F(DccTest, EveryChangedCharacterIsRefusedOrFailsVerification) {
  constexpr std::string_view kAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  const std::string hc1 = Encode();
  const auto genuine = ParseHc1(hc1);
  ASSERT_TRUE(genuine.ok());
  for (size_t i = 0; i < hc1.size(); ++i) {
    for (const size_t shift : {size_t{1}, size_t{17}}) {
      std::string tampered = hc1;
      const size_t at = kAlphabet.find(hc1[i]);
      tampered[i] = at == std::string_view::npos ? 'X' : kAlphabet[(at + shift) % kAlphabet.size()];
      ExpectNoForgery(tampered, *genuine);
    }
  }
  for (size_t n = 0; n < hc1.size(); ++n) {
    EXPECT_FALSE(ParseHc1(std::string_view(hc1).substr(0, n)).ok()) << n;
  }
}

TEST_F(DccTest, EveryChangedCoseByteIsRefusedOrFailsVerification) {
  const Bytes cose = CoseOf(Encode());
  const auto genuine = ParseHc1(Hc1Of(cose));
  ASSERT_TRUE(genuine.ok());
  for (size_t i = 0; i < cose.size(); ++i) {
    Bytes tampered = cose;
    tampered[i] ^= 0x01;
    ExpectNoForgery(Hc1Of(tampered), *genuine);
  }
}

TEST_F(DccTest, RefusesAMissingOrWrongPrefix) {
  const std::string hc1 = Encode();
  ExpectRefused(hc1.substr(4), "HC1:");
  ExpectRefused("hc1:" + hc1.substr(4), "HC1:");
  ExpectRefused("HC2:" + hc1.substr(4), "HC1:");
  ExpectRefused(" " + hc1, "HC1:");
  ExpectRefused("", "HC1:");
}

TEST_F(DccTest, RefusesBadBase45) {
  const std::string hc1 = Encode();
  ExpectRefused(hc1 + "A", "Base45");
  ExpectRefused("HC1:bb8", "Base45");
  ExpectRefused("HC1:GGW", "Base45");
  ExpectRefused(hc1.substr(0, 10) + "#" + hc1.substr(11), "Base45");
}

TEST_F(DccTest, RefusesBadZlib) {
  const Bytes compressed = Zlib(GoodCose());
  Bytes corrupt = compressed;
  corrupt[compressed.size() / 2] ^= 0xFF;
  const auto parsed = ParseHc1("HC1:" + Base45Encode(corrupt));
  EXPECT_FALSE(parsed.ok() && VerifyHc1(*parsed, Key().Public()).ok());

  ExpectRefused("HC1:" + Base45Encode(Bytes(compressed.begin(), compressed.end() - 3)), "zlib");
  ExpectRefused("HC1:" + Base45Encode(Concat(compressed, {0x00})), "zlib");
  ExpectRefused("HC1:" + Base45Encode(Bytes{0x78, 0xDA, 0xFF, 0xFF, 0xFF, 0xFF}), "zlib");
  Bytes bad_checksum = compressed;
  bad_checksum.back() ^= 0x01;
  ExpectRefused("HC1:" + Base45Encode(bad_checksum), "zlib");
}

TEST_F(DccTest, RefusesAZipBomb) {
  // 1 MiB of zeros in a valid COSE byte string squeezes into about a kilobyte.
  const Bytes bomb = Zlib(Concat(Head(2, 1 << 20), Bytes(1 << 20, 0)));
  ASSERT_LT(bomb.size(), 4096U);
  ExpectRefused("HC1:" + Base45Encode(bomb), "64 KiB");
  ExpectRefused("HC1:" + Base45Encode(bomb), "zlib");
}

TEST_F(DccTest, AcceptsUncompressedAndUntaggedCoseSign1) {
  const Bytes cose = GoodCose();
  for (const std::string& hc1 :
       {Hc1Of(cose), Hc1Of(cose, false),
        Hc1Of(SignedCose(Es256Header(), Map({}), Cwt(), std::nullopt)),
        Hc1Of(SignedCose(Es256Header(), Map({}), Cwt(), std::nullopt), false)}) {
    const auto parsed = ParseHc1(hc1);
    ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
    EXPECT_EQ(parsed->claims.hcert, json::parse(R"({"ver": "1.3.0", "dob": "1990-04-12"})"));
    EXPECT_EQ(parsed->signed_bytes, SigStructure(Es256Header(), Cwt()));
    EXPECT_TRUE(VerifyHc1(*parsed, Key().Public()).ok());
  }
}

TEST_F(DccTest, AcceptsTheKidInTheUnprotectedHeader) {
  const Bytes kid = DccKeyId(Key().Public());
  const auto parsed =
      ParseHc1(Hc1Of(SignedCose(Map({{Int(1), Int(-7)}}), Map({{Int(4), Bstr(kid)}}), Cwt())));
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->kid, kid);
  EXPECT_TRUE(VerifyHc1(*parsed, Key().Public()).ok());
}

TEST_F(DccTest, RefusesMalformedCbor) {
  const Bytes cose = GoodCose();
  ExpectRefused(Hc1Of(Bytes(cose.begin(), cose.end() - 1)), "COSE_Sign1");
  ExpectRefused(Hc1Of(Bytes(cose.begin(), cose.end() - 1), false), "COSE_Sign1");
  ExpectRefused(Hc1Of(Concat(cose, {0x00})), "trailing bytes");
  ExpectRefused(Hc1Of(Concat(cose, {0x00}), false), "trailing bytes");
  ExpectRefused(Hc1Of({0xFF}), "COSE_Sign1");
  ExpectRefused(Hc1Of({}), "COSE_Sign1");
  ExpectRefused(Hc1Of({0x1C}), "COSE_Sign1");  // reserved additional information
  // An array claiming 2^64-1 elements, and one nested far too deep.
  ExpectRefused(Hc1Of({0x9B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}), "COSE_Sign1");
  ExpectRefused(Hc1Of(Concat(Bytes(5000, 0x81), {0x00})), "COSE_Sign1");
  ExpectRefused(Hc1Of(Concat(Bytes(5000, 0x9F), Bytes(5000, 0xFF))), "COSE_Sign1");
}

TEST_F(DccTest, RefusesWhatIsNotACoseSign1) {
  const Bytes header = Es256Header();
  const Bytes payload = Cwt();
  const Bytes sig(64, 0x11);
  ExpectRefused(Hc1Of(Tag(98, Array({Bstr(header), Map({}), Bstr(payload), Bstr(sig)}))), "not 18");
  ExpectRefused(Hc1Of(Tag(61, Tag(18, Array({Bstr(header), Map({}), Bstr(payload), Bstr(sig)})))),
                "not 18");
  ExpectRefused(Hc1Of(Tag(18, Array({Bstr(header), Map({}), Bstr(payload)}))), "four");
  ExpectRefused(Hc1Of(Tag(18, Array({Bstr(header), Map({}), Bstr(payload), Bstr(sig), Bstr(sig)}))),
                "four");
  ExpectRefused(Hc1Of(Tag(18, Map({{Int(1), Bstr(header)}}))), "four");
  ExpectRefused(Hc1Of(Tag(18, Array({header, Map({}), Bstr(payload), Bstr(sig)}))),
                "protected header");
  ExpectRefused(Hc1Of(Tag(18, Array({Bstr(header), Map({}), payload, Bstr(sig)}))), "payload");
  ExpectRefused(Hc1Of(Tag(18, Array({Bstr(header), Map({}), Bstr(payload), Tstr("sig")}))),
                "signature");
  ExpectRefused(Hc1Of(Tag(18, Array({Bstr(header), Map({}), Bstr(payload), Bstr(Bytes(63, 1))}))),
                "64 bytes");
  ExpectRefused(Hc1Of(Tag(18, Array({Bstr(header), Array({}), Bstr(payload), Bstr(sig)}))),
                "unprotected header");
}

TEST_F(DccTest, RefusesHeadersOtherThanEs256WithAKid) {
  const Bytes kid = DccKeyId(Key().Public());
  const Bytes empty = Map({});
  // ES384, PS256 and EdDSA.
  for (const int64_t alg : {-35, -37, -8}) {
    ExpectRefused(Hc1Of(SignedCose(Map({{Int(1), Int(alg)}, {Int(4), Bstr(kid)}}), empty, Cwt())),
                  "ES256");
  }
  ExpectRefused(
      Hc1Of(SignedCose(Map({{Int(1), Tstr("ES256")}, {Int(4), Bstr(kid)}}), empty, Cwt())),
      "ES256");
  ExpectRefused(Hc1Of(SignedCose(Map({{Int(4), Bstr(kid)}}), empty, Cwt())), "algorithm");
  ExpectRefused(Hc1Of(SignedCose({}, Map({{Int(1), Int(-7)}, {Int(4), Bstr(kid)}}), Cwt())),
                "not protected");
  ExpectRefused(Hc1Of(SignedCose(Map({{Int(1), Int(-7)}}), empty, Cwt())), "kid");
  ExpectRefused(Hc1Of(SignedCose(Map({{Int(1), Int(-7)}, {Int(4), Tstr("kid")}}), empty, Cwt())),
                "kid");
  ExpectRefused(Hc1Of(SignedCose(Map({{Int(1), Int(-7)}, {Int(4), Bstr({})}}), empty, Cwt())),
                "kid");
  ExpectRefused(Hc1Of(SignedCose(Es256Header(), Map({{Int(4), Bstr(kid)}}), Cwt())), "also");
  ExpectRefused(Hc1Of(SignedCose(Map({{Int(1), Int(-7)}, {Int(1), Int(-7)}, {Int(4), Bstr(kid)}}),
                                 empty, Cwt())),
                "twice");
  ExpectRefused(
      Hc1Of(SignedCose(Map({{Int(1), Int(-7)}, {Int(2), Array({Int(99)})}, {Int(4), Bstr(kid)}}),
                       empty, Cwt())),
      "crit");
  ExpectRefused(Hc1Of(SignedCose(Concat(Es256Header(), {0x00}), empty, Cwt())), "trailing");
  ExpectRefused(Hc1Of(SignedCose(Array({}), empty, Cwt())), "protected header");
}

TEST_F(DccTest, RefusesAPayloadThatIsNotACwtWithTheClaims) {
  const Bytes header = Es256Header();
  const Bytes empty = Map({});
  const Bytes hcert = Map({{Int(1), SampleHcertCbor()}});
  const auto claims = [&](const std::vector<std::pair<Bytes, Bytes>>& pairs) {
    return Hc1Of(SignedCose(header, empty, Map(pairs)));
  };
  ExpectRefused(Hc1Of(SignedCose(header, empty, Tstr("not a map"))), "CWT");
  ExpectRefused(Hc1Of(SignedCose(header, empty, Array({Cwt()}))), "CWT");
  ExpectRefused(Hc1Of(SignedCose(header, empty, Concat(Cwt(), {0x00}))), "CWT");
  ExpectRefused(Hc1Of(SignedCose(header, empty, {})), "CWT");

  ExpectRefused(claims({{Int(4), Int(kExp)}, {Int(6), Int(kIat)}, {Int(-260), hcert}}), "iss");
  ExpectRefused(claims({{Int(1), Tstr("MN")}, {Int(6), Int(kIat)}, {Int(-260), hcert}}), "exp");
  ExpectRefused(claims({{Int(1), Tstr("MN")}, {Int(4), Int(kExp)}, {Int(-260), hcert}}), "iat");
  ExpectRefused(claims({{Int(1), Tstr("MN")}, {Int(4), Int(kExp)}, {Int(6), Int(kIat)}}), "hcert");

  const Bytes float_iat = {0xFB, 0x41, 0xDA, 0x55, 0x3E, 0xD0, 0x00, 0x00, 0x00};
  ExpectRefused(
      claims({{Int(1), Int(496)}, {Int(4), Int(kExp)}, {Int(6), Int(kIat)}, {Int(-260), hcert}}),
      "iss");
  ExpectRefused(claims({{Int(1), Tstr("MN")},
                        {Int(4), Tstr("2027-01-01")},
                        {Int(6), Int(kIat)},
                        {Int(-260), hcert}}),
                "exp");
  ExpectRefused(
      claims({{Int(1), Tstr("MN")}, {Int(4), Int(kExp)}, {Int(6), float_iat}, {Int(-260), hcert}}),
      "iat");
  ExpectRefused(claims({{Int(1), Tstr("MN")},
                        {Int(4), Head(0, 0xFFFFFFFFFFFFFFFF)},
                        {Int(6), Int(kIat)},
                        {Int(-260), hcert}}),
                "exp");
  ExpectRefused(claims({{Int(1), Tstr("MN")},
                        {Int(4), Int(int64_t{1} << 40)},
                        {Int(6), Int(kIat)},
                        {Int(-260), hcert}}),
                "out of range");
  ExpectRefused(claims({{Int(1), Tstr("MN")},
                        {Int(4), Int(kExp)},
                        {Int(6), Int(kIat)},
                        {Int(-260), SampleHcertCbor()}}),
                "EU DCC");
  ExpectRefused(claims({{Int(1), Tstr("MN")},
                        {Int(4), Int(kExp)},
                        {Int(6), Int(kIat)},
                        {Int(-260), Map({{Int(1), Tstr("{}")}})}}),
                "not a map");
  ExpectRefused(claims({{Int(1), Tstr("MN")},
                        {Int(4), Int(kExp)},
                        {Int(4), Int(kExp + 1)},
                        {Int(6), Int(kIat)},
                        {Int(-260), hcert}}),
                "twice");
  ExpectRefused(claims({{Int(1), Bstr({0x4D, 0x4E})},
                        {Int(4), Int(kExp)},
                        {Int(6), Int(kIat)},
                        {Int(-260), hcert}}),
                "iss");
  ExpectRefused(
      claims(
          {{Int(1), Tstr("\xC3(")}, {Int(4), Int(kExp)}, {Int(6), Int(kIat)}, {Int(-260), hcert}}),
      "UTF-8");
}

TEST_F(DccTest, RefusesAnHcertJsonCannotCarry) {
  const Bytes header = Es256Header();
  for (const Bytes& value :
       {Bytes{0xF6}, Bytes{0xF7}, Bstr({1, 2}), Tag(0, Tstr("2026-01-01T00:00:00Z")),
        Bytes{0xF9, 0x7C, 0x00} /* +infinity */, Map({{Int(1), Tstr("integer key")}}),
        Map({{Tstr("k"), Int(1)}, {Tstr("k"), Int(2)}}), Head(1, 0xFFFFFFFFFFFFFFFF)}) {
    const Bytes hcert = Map({{Tstr("ver"), Tstr("1.3.0")}, {Tstr("x"), value}});
    ExpectRefused(Hc1Of(SignedCose(header, Map({}), Cwt(hcert))), "hcert");
  }
  // A surrogate code point is not UTF-8; libcbor itself refuses it.
  const Bytes surrogate = Map({{Tstr("ver"), Tstr("\xED\xA0\x80")}});
  ExpectRefused(Hc1Of(SignedCose(header, Map({}), Cwt(surrogate))), "UTF-8");
}

TEST_F(DccTest, TamperedContentFailsVerification) {
  const Bytes header = Es256Header();
  const auto signature = Key().Sign(SigStructure(header, Cwt()));
  ASSERT_TRUE(signature.ok());
  const auto cose = [&](const Bytes& protected_header, const Bytes& payload, const Bytes& sig) {
    return Hc1Of(Tag(18, Array({Bstr(protected_header), Map({}), Bstr(payload), Bstr(sig)})));
  };
  // The error code of parsing and verifying, nothing when the code is accepted.
  const auto verify = [&](const std::string& hc1) -> std::optional<ErrorCode> {
    const auto parsed = ParseHc1(hc1);
    EXPECT_TRUE(parsed.ok()) << parsed.error().ToString();
    if (!parsed.ok()) return parsed.error().code;
    const auto status = VerifyHc1(*parsed, Key().Public());
    if (!status.ok()) return status.error().code;
    return std::nullopt;
  };
  EXPECT_EQ(verify(cose(header, Cwt(), *signature)), std::nullopt);

  const Bytes other_hcert = Map({{Tstr("ver"), Tstr("1.3.0")}, {Tstr("dob"), Tstr("1980-04-12")}});
  EXPECT_EQ(verify(cose(header, Cwt(other_hcert), *signature)), ErrorCode::kUnauthenticated);
  const Bytes other_header = Map({{Int(1), Int(-7)}, {Int(4), Bstr(Bytes(8, 0))}});
  EXPECT_EQ(verify(cose(other_header, Cwt(), *signature)), ErrorCode::kUnauthenticated);
  for (const size_t i : {size_t{0}, size_t{31}, size_t{32}, size_t{63}}) {
    Bytes sig = *signature;
    sig[i] ^= 0x80;
    EXPECT_EQ(verify(cose(header, Cwt(), sig)), ErrorCode::kUnauthenticated);
  }
}

// The Python verifier in tests/documents, written against cbor2 and cryptography rather than
// libcbor and OpenSSL-through-Ulus, checks what a DCC verifier app would.
class DccCheckScriptTest : public DccTest {
 protected:
  void SetUp() override {
    python_ = FindPython();
    if (python_.empty()) GTEST_SKIP() << "no python3 with cbor2 and cryptography is installed";
    dir_ = std::filesystem::path(::testing::TempDir()) / ("ulus_dcc_" + crypto::RandomToken(9));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // The script's exit status for `hc1` checked against `pem`; its stdout lands in `output_`.
  int Check(const std::string& hc1, const std::string& pem) {
    const auto write = [&](const std::string& name, const std::string& text) {
      std::ofstream(dir_ / name, std::ios::binary) << text;
    };
    write("code.txt", hc1);
    write("key.pem", pem);
    const std::string command = python_ + " '" + ULUS_DCC_CHECK_SCRIPT + "' '" +
                                (dir_ / "code.txt").string() + "' '" + (dir_ / "key.pem").string() +
                                "' > '" + (dir_ / "out.json").string() + "'";
    const int status = std::system(command.c_str());
    std::ifstream in(dir_ / "out.json");
    std::stringstream out;
    out << in.rdbuf();
    output_ = out.str();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // The first python3 that has both modules: a pyenv or virtualenv one on the PATH may lack the
  // Debian packages that /usr/bin/python3 has.
  static std::string FindPython() {
    for (const char* candidate : {"python3", "/usr/bin/python3"}) {
      const std::string probe =
          std::string(candidate) + " -c 'import cbor2, cryptography' >/dev/null 2>&1";
      if (std::system(probe.c_str()) == 0) return candidate;
    }
    return {};
  }

  std::string python_;
  std::filesystem::path dir_;
  std::string output_;
};

TEST_F(DccCheckScriptTest, AcceptsAGenuineCode) {
  ASSERT_EQ(Check(Encode(), Key().Public().ToPem()), 0);
  EXPECT_EQ(json::parse(output_), SampleHcert());
}

TEST_F(DccCheckScriptTest, RefusesATamperedCodeAndAWrongKey) {
  const std::string hc1 = Encode();
  EXPECT_EQ(Check(hc1, OtherKey().Public().ToPem()), 1);

  const auto signature = Key().Sign(SigStructure(Es256Header(), Cwt()));
  ASSERT_TRUE(signature.ok());
  const auto cose = [&](const Bytes& payload) {
    return Hc1Of(Tag(18, Array({Bstr(Es256Header()), Map({}), Bstr(payload), Bstr(*signature)})));
  };
  EXPECT_EQ(Check(cose(Cwt()), Key().Public().ToPem()), 0);
  const Bytes other_hcert = Map({{Tstr("ver"), Tstr("1.3.0")}, {Tstr("dob"), Tstr("1980-04-12")}});
  EXPECT_EQ(Check(cose(Cwt(other_hcert)), Key().Public().ToPem()), 1);

  Bytes flipped = CoseOf(hc1);
  flipped[flipped.size() - 5] ^= 0x01;  // inside the signature
  EXPECT_EQ(Check(Hc1Of(flipped), Key().Public().ToPem()), 1);
  EXPECT_EQ(Check(hc1.substr(4), Key().Public().ToPem()), 1);
}

TEST(IcaoName, TransliteratesCyrillicAsIcaoDoc9303) {
  EXPECT_EQ(IcaoName("Батболд"), "BATBOLD");
  EXPECT_EQ(IcaoName("Өлзий-Орших"), "OLZII<ORSHIKH");
  EXPECT_EQ(IcaoName("Қанат"), "KANAT");
  EXPECT_EQ(IcaoName("Щукин Цой"), "SHCHUKIN<TSOI");
  EXPECT_EQ(IcaoName("Подъячев"), "PODIEIACHEV");
  EXPECT_EQ(IcaoName("Игорь Юлия Ёлкин Жанна Эльвира"), "IGOR<IULIIA<ELKIN<ZHANNA<ELVIRA");
  EXPECT_EQ(IcaoName("Мышкин Хасан"), "MYSHKIN<KHASAN");
  EXPECT_EQ(IcaoName("Әлихан Бөкейхан"), "ALIKHAN<BOKEIKHAN");
  EXPECT_EQ(IcaoName("Ғалым Ұлан Үміт Һ Ңң"), "GALYM<ULAN<UMIT<H<NN");
  EXPECT_EQ(IcaoName("ТҮМЭН-ӨЛЗИЙ"), "TUMEN<OLZII");
}

TEST(IcaoName, FoldsLatinAccentsAndSeparators) {
  EXPECT_EQ(IcaoName("José Müller"), "JOSE<MULLER");
  // The DCC specification's own example.
  EXPECT_EQ(IcaoName("d'Arsøns - van Halen"), "DARSONS<VAN<HALEN");
  EXPECT_EQ(IcaoName("François-Joan"), "FRANCOIS<JOAN");
  EXPECT_EQ(IcaoName("Łukasz Żółć"), "LUKASZ<ZOLC");
  EXPECT_EQ(IcaoName("Æsa Strauß Œuvre Þór"), "AESA<STRAUSS<OEUVRE<THOR");
  EXPECT_EQ(IcaoName("Jose\u0301"), "JOSE");  // a combining accent, as NFD writes it
  EXPECT_EQ(IcaoName("  Anna   Maria  "), "ANNA<MARIA");
  EXPECT_EQ(IcaoName("O\u2019Brien"), "OBRIEN");
  EXPECT_EQ(IcaoName("Anna2 \xFF"
                     "Bell"),
            "ANNA<BELL");
  EXPECT_EQ(IcaoName(""), "");
}

TEST(IcaoName, DropsLaoScriptAndStopsAtEightyCharacters) {
  EXPECT_EQ(IcaoName("ສົມສັກ"), "");
  EXPECT_EQ(IcaoName("ສົມສັກ Vongsa"), "VONGSA");
  EXPECT_EQ(IcaoName("Somsak ສົມສັກ"), "SOMSAK");
  EXPECT_EQ(IcaoName(std::string(100, 'a')), std::string(80, 'A'));
  EXPECT_EQ(IcaoName(std::string(79, 'a') + " b"), std::string(79, 'A'));
  EXPECT_EQ(IcaoName(std::string(79, 'a') + "щ").size(), 80U);
}

}  // namespace
}  // namespace ulus::documents
