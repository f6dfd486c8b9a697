#include "ulus/crypto/keys.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "ulus/crypto/encoding.hpp"

namespace ulus::crypto {
namespace {

using nlohmann::json;

std::vector<uint8_t> B64(std::string_view text) {
  auto bytes = Base64UrlDecode(text);
  EXPECT_TRUE(bytes.has_value()) << text;
  return bytes.value_or(std::vector<uint8_t>{});
}

// RFC 7515 appendix A.2 and A.3 share this payload; its CRLFs are part of the signed bytes.
constexpr std::string_view kRfc7515Payload =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
    "fQ";

// The RSA key of RFC 7515 appendix A.2.
json Rfc7515RsaJwk() {
  return {{"kty", "RSA"},
          {"n",
           "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-"
           "4qPCJrcS2mJPMEzP1Pt0Bm4"
           "d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-"
           "bSf63kpaSHSXndS5z5re"
           "xMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_"
           "I5IhlJH7aGhyxX"
           "FvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"},
          {"e", "AQAB"}};
}

// The P-256 key of RFC 7515 appendix A.3.
json Rfc7515EcJwk() {
  return {{"kty", "EC"},
          {"crv", "P-256"},
          {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
          {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}};
}

TEST(Keys, SignAndVerifyRoundTripForEveryAlgorithm) {
  for (const auto alg : {SignatureAlg::kEs256, SignatureAlg::kRs256, SignatureAlg::kEdDsa}) {
    SCOPED_TRACE(std::string(AlgName(alg)));
    auto key = SigningKey::Generate(alg);
    ASSERT_TRUE(key.ok()) << key.error().message;
    EXPECT_EQ(key->Alg(), alg);
    const auto sig = key->Sign(AsBytes("hello Ulus"));
    ASSERT_TRUE(sig.ok());
    EXPECT_EQ(sig->size(), alg == SignatureAlg::kRs256 ? 256U : 64U);
    EXPECT_TRUE(key->Public().Verify(alg, AsBytes("hello Ulus"), *sig).ok());
    EXPECT_FALSE(key->Public().Verify(alg, AsBytes("hello Ulus!"), *sig).ok());
    auto bad = *sig;
    bad[bad.size() / 2] ^= 0x01;
    EXPECT_FALSE(key->Public().Verify(alg, AsBytes("hello Ulus"), bad).ok());
  }
}

TEST(Keys, Rsa3072KeysSign) {
  auto key = SigningKey::Generate(SignatureAlg::kRs256, 3072);
  ASSERT_TRUE(key.ok());
  const auto sig = key->Sign(AsBytes("x"));
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(sig->size(), 384U);
  EXPECT_TRUE(key->Public().Verify(SignatureAlg::kRs256, AsBytes("x"), *sig).ok());
  EXPECT_FALSE(SigningKey::Generate(SignatureAlg::kRs256, 1024).ok());
}

TEST(Keys, VerifyRefusesAnAlgorithmThatIsNotTheKeys) {
  auto ec = SigningKey::Generate(SignatureAlg::kEs256);
  ASSERT_TRUE(ec.ok());
  const auto sig = ec->Sign(AsBytes("data"));
  ASSERT_TRUE(sig.ok());
  for (const auto other : {SignatureAlg::kRs256, SignatureAlg::kEdDsa}) {
    const auto st = ec->Public().Verify(other, AsBytes("data"), *sig);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("does not match the key"), std::string::npos);
  }
  // A DER-encoded ECDSA signature is not JOSE's form and is refused.
  EXPECT_FALSE(ec->Public()
                   .Verify(SignatureAlg::kEs256, AsBytes("data"), std::vector<uint8_t>(72, 0x30))
                   .ok());
}

TEST(Keys, PublicJwkHasOnlyPublicMembersAndThumbprintKid) {
  for (const auto alg : {SignatureAlg::kEs256, SignatureAlg::kRs256, SignatureAlg::kEdDsa}) {
    auto key = SigningKey::Generate(alg);
    ASSERT_TRUE(key.ok());
    const json jwk = key->PublicJwk();
    EXPECT_FALSE(jwk.contains("d"));
    EXPECT_FALSE(jwk.contains("p"));
    EXPECT_EQ(jwk["use"], "sig");
    EXPECT_EQ(jwk["alg"], AlgName(alg));
    EXPECT_EQ(jwk["kid"], key->Kid());
    EXPECT_EQ(key->Kid(), key->Public().Thumbprint());
    EXPECT_EQ(key->Kid().size(), 43U);  // base64url of 32 bytes
    auto back = PublicKey::FromJwk(jwk);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->Thumbprint(), key->Kid());
    const auto sig = key->Sign(AsBytes("m"));
    ASSERT_TRUE(sig.ok());
    EXPECT_TRUE(back->Verify(alg, AsBytes("m"), *sig).ok());
  }
}

TEST(Keys, Rfc7638ThumbprintExample) {
  const json jwk = {
      {"kty", "RSA"},
      {"n",
       "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
       "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
       "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
       "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"},
      {"e", "AQAB"},
      {"alg", "RS256"},
      {"kid", "2011-04-29"}};
  auto key = PublicKey::FromJwk(jwk);
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->Thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  EXPECT_EQ(key->Kid(), "2011-04-29");  // a given kid is kept
}

TEST(Keys, VerifiesRfc7515Es256AndRs256Examples) {
  auto ec = PublicKey::FromJwk(Rfc7515EcJwk());
  ASSERT_TRUE(ec.ok()) << ec.error().message;
  const std::string ec_input = "eyJhbGciOiJFUzI1NiJ9." + std::string(kRfc7515Payload);
  const auto ec_sig =
      B64("DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q");
  EXPECT_TRUE(ec->Verify(SignatureAlg::kEs256, AsBytes(ec_input), ec_sig).ok());
  EXPECT_FALSE(ec->Verify(SignatureAlg::kEs256, AsBytes(ec_input + "x"), ec_sig).ok());

  auto rsa = PublicKey::FromJwk(Rfc7515RsaJwk());
  ASSERT_TRUE(rsa.ok()) << rsa.error().message;
  const std::string rsa_input = "eyJhbGciOiJSUzI1NiJ9." + std::string(kRfc7515Payload);
  const auto rsa_sig = B64(
      "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_"
      "O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvk"
      "SjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6"
      "IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw");
  EXPECT_TRUE(rsa->Verify(SignatureAlg::kRs256, AsBytes(rsa_input), rsa_sig).ok());
  EXPECT_FALSE(rsa->Verify(SignatureAlg::kRs256, AsBytes(ec_input), rsa_sig).ok());
}

// RFC 8037 appendix A: Ed25519 is deterministic, so our signature must equal the RFC's.
TEST(Keys, Rfc8037Ed25519Example) {
  const auto seed = B64("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
  ASSERT_EQ(seed.size(), 32U);
  // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410 §7).
  std::vector<uint8_t> der = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                              0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
  der.insert(der.end(), seed.begin(), seed.end());
  std::string b64 = Base64UrlEncode(der);
  for (auto& c : b64) c = c == '-' ? '+' : (c == '_' ? '/' : c);
  while (b64.size() % 4 != 0) b64 += '=';
  const std::string pem = "-----BEGIN PRIVATE KEY-----\n" + b64 + "\n-----END PRIVATE KEY-----\n";
  auto key = SigningKey::FromPem(pem);
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->Alg(), SignatureAlg::kEdDsa);
  EXPECT_EQ(key->PublicJwk()["x"], "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
  EXPECT_EQ(key->Kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  const auto sig = key->Sign(AsBytes("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"));
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(
      Base64UrlEncode(*sig),
      "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
}

TEST(Keys, FromJwkRefusesBadKeys) {
  auto expect_refused = [](const json& jwk, std::string_view why) {
    const auto key = PublicKey::FromJwk(jwk);
    EXPECT_FALSE(key.ok()) << why;
  };
  json with_d = Rfc7515EcJwk();
  with_d["d"] = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
  expect_refused(with_d, "private member");
  json off_curve = Rfc7515EcJwk();
  off_curve["y"] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a1";
  expect_refused(off_curve, "point not on the curve");
  json short_x = Rfc7515EcJwk();
  short_x["x"] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVE";
  expect_refused(short_x, "short coordinate");
  json enc = Rfc7515EcJwk();
  enc["use"] = "enc";
  expect_refused(enc, "encryption key");
  json wrong_alg = Rfc7515EcJwk();
  wrong_alg["alg"] = "RS256";
  expect_refused(wrong_alg, "alg does not fit");
  json p384 = Rfc7515EcJwk();
  p384["crv"] = "P-384";
  expect_refused(p384, "other curve");
  expect_refused(json{{"kty", "oct"}, {"k", "c2VjcmV0"}}, "HMAC key");
  json numeric_crv = Rfc7515EcJwk();
  numeric_crv["crv"] = 256;
  expect_refused(numeric_crv, "crv of the wrong type");
  json numeric_x = Rfc7515EcJwk();
  numeric_x["x"] = 1;
  expect_refused(numeric_x, "x of the wrong type");
  expect_refused(json{{"kty", 3}}, "kty of the wrong type");
  expect_refused(json::array(), "not an object");
  json padded = Rfc7515EcJwk();
  padded["x"] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU=";
  expect_refused(padded, "padding");
}

TEST(Keys, PemRoundTripsAndPrivatePemIsNeverQuoted) {
  auto key = SigningKey::Generate(SignatureAlg::kEs256);
  ASSERT_TRUE(key.ok());
  const std::string pem = key->Public().ToPem();
  EXPECT_NE(pem.find("BEGIN PUBLIC KEY"), std::string::npos);
  auto back = PublicKey::FromPem(pem);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->Thumbprint(), key->Kid());
  // A public key is not a private key, and the error says so without echoing the input.
  const auto not_private = SigningKey::FromPem(pem);
  ASSERT_FALSE(not_private.ok());
  EXPECT_EQ(not_private.error().message.find("BEGIN"), std::string::npos);
  const std::string secretish =
      "-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----\n";
  const auto garbage = SigningKey::FromPem(secretish);
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().message.find("SECRET"), std::string::npos);
}

TEST(Keys, OneKeySignsAndVerifiesFromManyThreads) {
  for (const auto alg : {SignatureAlg::kEs256, SignatureAlg::kEdDsa}) {
    auto key = SigningKey::Generate(alg);
    ASSERT_TRUE(key.ok());
    const PublicKey public_key = key->Public();  // a copy shares the key
    std::atomic<int> good{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 50; ++i) {
          const std::string msg = std::to_string(t) + "/" + std::to_string(i);
          const auto sig = key->Sign(AsBytes(msg));
          if (sig.ok() && public_key.Verify(alg, AsBytes(msg), *sig).ok()) ++good;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(good.load(), 200);
  }
}

TEST(Keys, AlgNamesRoundTrip) {
  for (const auto alg : {SignatureAlg::kEs256, SignatureAlg::kRs256, SignatureAlg::kEdDsa}) {
    EXPECT_EQ(AlgFromName(AlgName(alg)), alg);
  }
  EXPECT_FALSE(AlgFromName("none").has_value());
  EXPECT_FALSE(AlgFromName("HS256").has_value());
  EXPECT_FALSE(AlgFromName("es256").has_value());
}

}  // namespace
}  // namespace ulus::crypto
