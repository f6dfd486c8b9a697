#include "ulus/crypto/jose.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"

namespace ulus::crypto {
namespace {

using nlohmann::json;
using std::chrono::seconds;

// 2030-01-01T00:00:00Z, the "now" of these tests.
constexpr int64_t kNow = 1893456000;

TimePoint At(int64_t unix_seconds) {
  return TimePoint(seconds(unix_seconds));
}

std::string Encode(std::string_view text) {
  return Base64UrlEncode(AsBytes(text));
}

// A token assembled by hand, so tests can sign headers and claims SignJwt would never write.
std::string HandMade(std::string_view header, std::string_view claims, const Signer& key) {
  const std::string input = Encode(header) + "." + Encode(claims);
  const auto sig = key.Sign(AsBytes(input));
  EXPECT_TRUE(sig.ok());
  return input + "." + Base64UrlEncode(sig.value());
}

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto alg : {SignatureAlg::kEs256, SignatureAlg::kRs256, SignatureAlg::kEdDsa}) {
      auto key = SigningKey::Generate(alg);
      ASSERT_TRUE(key.ok());
      ASSERT_TRUE(keys_.Add(key->Public()).ok());
      signers_.push_back(std::move(key).value());
    }
    policy_.issuer = "https://dan.ulus.example";
    policy_.audience = "registry";
  }

  const SigningKey& Es256() const { return signers_[0]; }
  const SigningKey& Rs256() const { return signers_[1]; }

  json Claims() const {
    return {{"iss", "https://dan.ulus.example"},
            {"aud", "registry"},
            {"sub", "citizen-1"},
            {"iat", kNow},
            {"exp", kNow + 300}};
  }

  Result<VerifiedJwt> Verify(std::string_view token) const {
    return VerifyJwt(token, keys_, policy_, clock_);
  }

  // The error message of a rejected token, or "" when it was accepted.
  std::string Rejection(std::string_view token) const {
    const auto r = Verify(token);
    if (r.ok()) return "";
    EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated) << r.error().message;
    return r.error().message;
  }

  std::vector<SigningKey> signers_;
  JwkSet keys_;
  JwtPolicy policy_;
  ManualClock clock_{At(kNow)};
};

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

TEST_F(JwtTest, RoundTripsForEveryAlgorithm) {
  for (const auto& signer : signers_) {
    SCOPED_TRACE(std::string(AlgName(signer.Alg())));
    const auto token = SignJwt(nullptr, Claims(), signer);
    ASSERT_TRUE(token.ok()) << token.error().message;
    const auto verified = Verify(*token);
    ASSERT_TRUE(verified.ok()) << verified.error().message;
    EXPECT_EQ(verified->claims["sub"], "citizen-1");
    EXPECT_EQ(verified->header["typ"], "JWT");
    EXPECT_EQ(verified->header["alg"], AlgName(signer.Alg()));
    EXPECT_EQ(verified->kid, signer.Kid());
    EXPECT_EQ(verified->alg, signer.Alg());
  }
}

TEST_F(JwtTest, SignJwtKeepsExtraHeadersAndRefusesConflicts) {
  const auto token = SignJwt({{"typ", "at+jwt"}}, Claims(), Es256());
  ASSERT_TRUE(token.ok());
  policy_.type = "application/AT+JWT";
  const auto verified = Verify(*token);
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(verified->header["typ"], "at+jwt");
  policy_.type = "JWT";
  EXPECT_TRUE(Contains(Rejection(*token), "token type"));

  EXPECT_FALSE(SignJwt({{"alg", "RS256"}}, Claims(), Es256()).ok());
  EXPECT_FALSE(SignJwt({{"kid", "other"}}, Claims(), Es256()).ok());
  EXPECT_FALSE(SignJwt({{"crit", {"exp"}}}, Claims(), Es256()).ok());
  EXPECT_FALSE(SignJwt(nullptr, json::array(), Es256()).ok());
  EXPECT_FALSE(SignJwt(nullptr, {{"name", "\xff\xfe"}}, Es256()).ok());  // not UTF-8
}

TEST_F(JwtTest, TamperedPartsFail) {
  const auto token = SignJwt(nullptr, Claims(), Es256());
  ASSERT_TRUE(token.ok());
  const size_t dot1 = token->find('.');
  const size_t dot2 = token->find('.', dot1 + 1);
  const std::string header = token->substr(0, dot1);
  const std::string signature = token->substr(dot2 + 1);

  json claims = Claims();
  claims["sub"] = "citizen-2";
  const std::string forged_claims = header + "." + Encode(claims.dump()) + "." + signature;
  EXPECT_EQ(Rejection(forged_claims), "token signature is invalid");

  const std::string forged_header =
      Encode(json{{"alg", "ES256"}, {"kid", Es256().Kid()}, {"typ", "at+jwt"}}.dump()) +
      token->substr(dot1);
  EXPECT_EQ(Rejection(forged_header), "token signature is invalid");

  std::string flipped = *token;
  flipped[dot2 + 5] = flipped[dot2 + 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Rejection(flipped), "token signature is invalid");

  EXPECT_TRUE(Contains(Rejection(token->substr(0, dot2 + 1)), "signature is invalid"));
}

TEST_F(JwtTest, AlgNoneFails) {
  const std::string header = json{{"alg", "none"}, {"kid", Es256().Kid()}}.dump();
  const std::string token = Encode(header) + "." + Encode(Claims().dump()) + ".";
  EXPECT_TRUE(Contains(Rejection(token), "token algorithm is not allowed"));
  const std::string no_kid = Encode(R"({"alg":"none"})") + "." + Encode(Claims().dump()) + ".";
  EXPECT_TRUE(Contains(Rejection(no_kid), "token algorithm is not allowed"));
}

// The classic key confusion: an attacker "signs" HS256 with the RSA public key as the HMAC
// secret, hoping the verifier feeds its RSA key to HMAC.
TEST_F(JwtTest, Hs256WithThePublicKeyAsSecretFails) {
  const std::string pem = Rs256().Public().ToPem();
  const std::string jwk = Rs256().PublicJwk().dump();
  for (const std::string& secret : {pem, jwk}) {
    const std::string input =
        Encode(json{{"alg", "HS256"}, {"kid", Rs256().Kid()}, {"typ", "JWT"}}.dump()) + "." +
        Encode(Claims().dump());
    const auto mac = HmacSha256(AsBytes(secret), input);
    EXPECT_TRUE(
        Contains(Rejection(input + "." + Base64UrlEncode(mac)), "token algorithm is not allowed"));
  }
}

TEST_F(JwtTest, AlgorithmMustMatchTheKeyAndThePolicy) {
  // An RS256 signature presented as ES256 under the RSA key's kid.
  const std::string header = json{{"alg", "ES256"}, {"kid", Rs256().Kid()}}.dump();
  EXPECT_TRUE(
      Contains(Rejection(HandMade(header, Claims().dump(), Rs256())), "does not match the key"));
  policy_.algorithms = {SignatureAlg::kEs256};
  const auto rs = SignJwt(nullptr, Claims(), Rs256());
  ASSERT_TRUE(rs.ok());
  EXPECT_TRUE(Contains(Rejection(*rs), "token algorithm is not allowed"));
}

TEST_F(JwtTest, UnknownOrMissingKidFails) {
  auto stranger = SigningKey::Generate(SignatureAlg::kEs256);
  ASSERT_TRUE(stranger.ok());
  const auto token = SignJwt(nullptr, Claims(), *stranger);
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(Contains(Rejection(*token), "token key is unknown"));

  // A known kid on a token signed by another key is a bad signature, not a pass.
  const std::string header = json{{"alg", "ES256"}, {"kid", Es256().Kid()}}.dump();
  EXPECT_EQ(Rejection(HandMade(header, Claims().dump(), *stranger)), "token signature is invalid");

  EXPECT_TRUE(
      Contains(Rejection(HandMade(R"({"alg":"ES256"})", Claims().dump(), Es256())), "no \"kid\""));
}

TEST_F(JwtTest, CritHeaderFails) {
  const std::string header =
      json{{"alg", "ES256"}, {"kid", Es256().Kid()}, {"crit", {"b64"}}, {"b64", false}}.dump();
  EXPECT_TRUE(Contains(Rejection(HandMade(header, Claims().dump(), Es256())), "crit"));
}

TEST_F(JwtTest, TimeClaimsAreCheckedWithLeeway) {
  const auto token = SignJwt(nullptr, Claims(), Es256());
  ASSERT_TRUE(token.ok());
  clock_.Set(At(kNow + 300 + 59));  // within the 60 s leeway
  EXPECT_EQ(Rejection(*token), "");
  clock_.Set(At(kNow + 300 + 60));
  EXPECT_EQ(Rejection(*token), "token has expired");
  policy_.leeway = seconds(0);
  clock_.Set(At(kNow + 300));
  EXPECT_EQ(Rejection(*token), "token has expired");

  json future = Claims();
  future["nbf"] = kNow + 120;
  const auto not_yet = SignJwt(nullptr, future, Es256());
  ASSERT_TRUE(not_yet.ok());
  clock_.Set(At(kNow));
  EXPECT_TRUE(Contains(Rejection(*not_yet), "token is not yet valid"));
  clock_.Set(At(kNow + 120));
  EXPECT_EQ(Rejection(*not_yet), "");

  json issued_later = Claims();
  issued_later["iat"] = kNow + 3600;
  clock_.Set(At(kNow));
  EXPECT_TRUE(
      Contains(Rejection(*SignJwt(nullptr, issued_later, Es256())), "issued in the future"));

  json no_exp = Claims();
  no_exp.erase("exp");
  const auto forever = SignJwt(nullptr, no_exp, Es256());
  ASSERT_TRUE(forever.ok());
  EXPECT_TRUE(Contains(Rejection(*forever), "no expiry"));
  policy_.require_exp = false;
  EXPECT_EQ(Rejection(*forever), "");

  json text_exp = Claims();
  text_exp["exp"] = "tomorrow";
  EXPECT_TRUE(Contains(Rejection(*SignJwt(nullptr, text_exp, Es256())), "malformed"));
}

TEST_F(JwtTest, IssuerAndAudienceAreChecked) {
  json claims = Claims();
  claims["iss"] = "https://evil.example";
  EXPECT_TRUE(Contains(Rejection(*SignJwt(nullptr, claims, Es256())), "token issuer"));
  claims.erase("iss");
  EXPECT_TRUE(Contains(Rejection(*SignJwt(nullptr, claims, Es256())), "token issuer"));

  claims = Claims();
  claims["aud"] = "tax";
  EXPECT_TRUE(Contains(Rejection(*SignJwt(nullptr, claims, Es256())), "token audience"));
  claims["aud"] = json::array({"tax", "registry"});
  EXPECT_EQ(Rejection(*SignJwt(nullptr, claims, Es256())), "");
  claims["aud"] = json::array({"tax", "health"});
  EXPECT_TRUE(Contains(Rejection(*SignJwt(nullptr, claims, Es256())), "token audience"));
  claims.erase("aud");
  EXPECT_TRUE(Contains(Rejection(*SignJwt(nullptr, claims, Es256())), "token audience"));

  policy_.issuer.reset();
  policy_.audience.reset();
  EXPECT_EQ(Rejection(*SignJwt(nullptr, claims, Es256())), "");
}

TEST_F(JwtTest, MalformedTokensFail) {
  const auto token = SignJwt(nullptr, Claims(), Es256());
  ASSERT_TRUE(token.ok());
  for (const std::string& bad :
       {std::string(""), std::string("abc"), std::string("a.b"), *token + ".x", *token + "=",
        "=" + *token, std::string(".."), *token + " "}) {
    EXPECT_TRUE(Contains(Rejection(bad), "token is malformed")) << bad;
  }
  const std::string claims = Claims().dump();
  const std::string kid = Es256().Kid();
  // A header that is JSON but not an object, or not JSON at all.
  EXPECT_TRUE(Contains(Rejection(HandMade(R"(["ES256"])", claims, Es256())), "not a JSON object"));
  EXPECT_TRUE(Contains(Rejection(HandMade("{alg:ES256}", claims, Es256())), "not a JSON object"));
  // Duplicate members: two parsers could disagree on which "alg" or "sub" counts.
  const std::string dup_header = R"({"alg":"ES256","kid":")" + kid + R"(","alg":"RS256"})";
  EXPECT_TRUE(Contains(Rejection(HandMade(dup_header, claims, Es256())), "malformed"));
  const std::string header = R"({"alg":"ES256","kid":")" + kid + R"("})";
  const std::string dup_claims = R"({"sub":"a","exp":4102444800,"sub":"b"})";
  EXPECT_TRUE(Contains(Rejection(HandMade(header, dup_claims, Es256())), "malformed"));
  const std::string nested_dup = R"({"exp":4102444800,"x":{"a":1,"a":2}})";
  EXPECT_TRUE(Contains(Rejection(HandMade(header, nested_dup, Es256())), "malformed"));
  EXPECT_TRUE(Contains(Rejection(HandMade(header, "[1,2]", Es256())), "claims"));

  policy_.max_token_bytes = 64;
  EXPECT_TRUE(Contains(Rejection(*token), "too long"));
}

TEST_F(JwtTest, RotatedKeysBothVerify) {
  auto next = SigningKey::Generate(SignatureAlg::kEs256);
  ASSERT_TRUE(next.ok());
  auto rotated = JwkSet::FromJson(keys_.ToJson());
  ASSERT_TRUE(rotated.ok());
  ASSERT_TRUE(rotated->Add(next->Public()).ok());
  EXPECT_EQ(rotated->Add(next->Public()).error().code, ErrorCode::kAlreadyExists);
  for (const Signer* signer :
       {static_cast<const Signer*>(&Es256()), static_cast<const Signer*>(&next.value())}) {
    const auto token = SignJwt(nullptr, Claims(), *signer);
    ASSERT_TRUE(token.ok());
    EXPECT_TRUE(VerifyJwt(*token, *rotated, policy_, clock_).ok());
  }
}

TEST(JwkSet, SkipsForeignKeysAndRefusesBrokenOnes) {
  auto key = SigningKey::Generate(SignatureAlg::kEdDsa);
  ASSERT_TRUE(key.ok());
  const json jwks = {
      {"keys",
       {key->PublicJwk(),
        {{"kty", "oct"}, {"k", "c2VjcmV0"}, {"kid", "hmac"}},
        {{"kty", "EC"}, {"crv", "P-384"}, {"x", "AA"}, {"y", "AA"}, {"kid", "p384"}},
        {{"kty", "RSA"}, {"use", "enc"}, {"n", "AQAB"}, {"e", "AQAB"}, {"kid", "enc"}}}}};
  auto set = JwkSet::FromJson(jwks);
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->Size(), 1U);
  EXPECT_TRUE(set->Resolve(key->Kid()).ok());
  EXPECT_EQ(set->Resolve("hmac").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(set->ToJson()["keys"][0], key->PublicJwk());

  json broken = jwks;
  broken["keys"][0]["x"] = "not*base64";
  EXPECT_FALSE(JwkSet::FromJson(broken).ok());
  json twice = {{"keys", {key->PublicJwk(), key->PublicJwk()}}};
  EXPECT_FALSE(JwkSet::FromJson(twice).ok());
  EXPECT_FALSE(JwkSet::FromJson(json::array()).ok());
  // Members of the wrong JSON type are skipped or refused, never thrown.
  const json odd = {{"keys", {{{"kty", 1}, {"crv", {1, 2}}}, {{"kty", "EC"}, {"crv", 2}}}}};
  auto odd_set = JwkSet::FromJson(odd);
  ASSERT_TRUE(odd_set.ok());
  EXPECT_EQ(odd_set->Size(), 0U);
}

// Tokens made by another implementation: the openssl command line signs, a shell script
// base64url-encodes, and only verification is ours.
class OpenSslCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ulus-jose-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs the script in the temporary directory; true when it exits 0.
  bool Run(const std::string& script) const {
    const auto path = dir_ / "script.sh";
    std::ofstream(path) << "set -eu\ncd '" << dir_.string() << "'\n" << script;
    return std::system(
               ("sh '" + path.string() + "' >'" + (dir_ / "log").string() + "' 2>&1").c_str()) == 0;
  }

  std::string Read(const std::string& name) const {
    std::ifstream in(dir_ / name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::filesystem::path dir_;
};

// A DER ECDSA-Sig-Value (SEQUENCE of two INTEGERs) to JOSE's r||s, parsed here by hand so the
// conversion under test is not the one checking itself.
std::vector<uint8_t> DerToRaw(std::string_view der) {
  std::vector<uint8_t> raw;
  size_t pos = 2;  // SEQUENCE tag and a short length: P-256 signatures are under 128 bytes
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(static_cast<uint8_t>(der[pos]), 0x02);
    size_t len = static_cast<uint8_t>(der[pos + 1]);
    std::string_view value = der.substr(pos + 2, len);
    pos += 2 + len;
    while (value.size() > 32 && value.front() == '\0') value.remove_prefix(1);
    raw.insert(raw.end(), 32 - value.size(), 0);
    raw.insert(raw.end(), value.begin(), value.end());
  }
  return raw;
}

TEST_F(OpenSslCliTest, VerifiesTokensSignedByTheOpensslCommand) {
  struct Case {
    const char* alg;
    const char* genpkey;
    const char* sign;
  };
  const Case cases[] = {
      {"ES256", "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem",
       "openssl dgst -sha256 -sign key.pem -out sig input"},
      {"RS256", "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem",
       "openssl dgst -sha256 -sign key.pem -out sig input"},
      {"EdDSA", "openssl genpkey -algorithm ED25519 -out key.pem",
       "openssl pkeyutl -sign -rawin -inkey key.pem -in input -out sig"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.alg);
    const std::string script =
        std::string(c.genpkey) +
        "\nopenssl pkey -in key.pem -pubout -out pub.pem\n"
        "b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }\n"
        "h=$(printf '%s' '{\"alg\":\"" +
        c.alg +
        "\",\"kid\":\"cli-key\",\"typ\":\"JWT\"}' | b64url)\n"
        "p=$(printf '%s' '{\"iss\":\"openssl\",\"sub\":\"cli\",\"exp\":4102444800}' | b64url)\n"
        "printf '%s.%s' \"$h\" \"$p\" > input\n" +
        c.sign + "\n";
    ASSERT_TRUE(Run(script)) << Read("log");
    auto pub = PublicKey::FromPem(Read("pub.pem"));
    ASSERT_TRUE(pub.ok()) << pub.error().message;
    JwkSet keys;
    ASSERT_TRUE(keys.Add(pub->WithKid("cli-key")).ok());
    const std::string sig = Read("sig");
    const std::vector<uint8_t> jose_sig = std::string_view(c.alg) == "ES256"
                                              ? DerToRaw(sig)
                                              : std::vector<uint8_t>(sig.begin(), sig.end());
    const std::string token = Read("input") + "." + Base64UrlEncode(jose_sig);
    JwtPolicy policy;
    policy.issuer = "openssl";
    const ManualClock clock(At(kNow));
    const auto verified = VerifyJwt(token, keys, policy, clock);
    ASSERT_TRUE(verified.ok()) << verified.error().message;
    EXPECT_EQ(verified->claims["sub"], "cli");
    EXPECT_EQ(AlgName(verified->alg), c.alg);
  }
}

}  // namespace
}  // namespace ulus::crypto
