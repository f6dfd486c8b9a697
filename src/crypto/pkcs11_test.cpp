// PKCS#11 against SoftHSM2: a throw-away token in a temporary directory. Skips when SoftHSM2 is
// not installed, unless ULUS_REQUIRE_SOFTHSM is set (scripts/test sets it), then fails.
#include "ulus/crypto/pkcs11.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/jose.hpp"

namespace ulus::crypto {
namespace {

constexpr const char* kModule = "/usr/lib/softhsm/libsofthsm2.so";
constexpr const char* kTokenLabel = "ulus-test";
constexpr const char* kPin = "1234";

class Pkcs11Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(kModule)) return;
    std::string tmpl = (std::filesystem::temp_directory_path() / "ulus-softhsm-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    suite_dir = tmpl;
    std::filesystem::create_directory(suite_dir / "tokens");
    const auto conf = suite_dir / "softhsm2.conf";
    std::ofstream(conf) << "directories.tokendir = " << (suite_dir / "tokens").string()
                        << "\nobjectstore.backend = file\nlog.level = ERROR\n";
    // SoftHSM reads its configuration when the module is initialised, so set it first.
    ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
    const std::string init = std::string("softhsm2-util --init-token --free --label ") +
                             kTokenLabel + " --pin " + kPin + " --so-pin 5678 >'" +
                             (suite_dir / "init.log").string() + "' 2>&1";
    token_ready = std::system(init.c_str()) == 0;
  }

  static void TearDownTestSuite() {
    if (!suite_dir.empty()) std::filesystem::remove_all(suite_dir);
  }

  void SetUp() override {
    if (!std::filesystem::exists(kModule)) {
      if (std::getenv("ULUS_REQUIRE_SOFTHSM") != nullptr) {
        FAIL() << kModule
               << " is missing and ULUS_REQUIRE_SOFTHSM is set: apt-get install softhsm2";
      }
      GTEST_SKIP() << "SoftHSM2 is not installed (" << kModule
                   << " missing); apt-get install softhsm2 to run the PKCS#11 tests";
    }
    ASSERT_TRUE(token_ready) << "softhsm2-util --init-token failed; see "
                             << (suite_dir / "init.log");
  }

  static Pkcs11Token Open() {
    auto token = Pkcs11Token::Open(kModule, kTokenLabel, kPin);
    EXPECT_TRUE(token.ok()) << token.error().message;
    return std::move(token).value();
  }

  static inline std::filesystem::path suite_dir;
  static inline bool token_ready = false;
};

TEST_F(Pkcs11Test, GeneratesAKeyAndSignsJwtsOthersCanVerify) {
  const Pkcs11Token token = Open();
  auto signer = token.GenerateKey("agency-tax-2030");
  ASSERT_TRUE(signer.ok()) << signer.error().message;
  const Signer& key = **signer;
  EXPECT_EQ(key.Alg(), SignatureAlg::kEs256);
  const nlohmann::json jwk = key.PublicJwk();
  EXPECT_EQ(jwk["kty"], "EC");
  EXPECT_EQ(jwk["crv"], "P-256");
  EXPECT_FALSE(jwk.contains("d"));

  const auto sig = key.Sign(AsBytes("payload"));
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_EQ(sig->size(), 64U);  // JOSE r||s
  EXPECT_TRUE(key.Public().Verify(SignatureAlg::kEs256, AsBytes("payload"), *sig).ok());

  // A verifier that only has the published JWK.
  const auto jwt = SignJwt(nullptr, {{"iss", "tax"}, {"exp", 4102444800}}, key);
  ASSERT_TRUE(jwt.ok()) << jwt.error().message;
  auto jwks = JwkSet::FromJson({{"keys", {jwk}}});
  ASSERT_TRUE(jwks.ok());
  const auto verified = VerifyJwt(*jwt, *jwks, JwtPolicy{});
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(verified->claims["iss"], "tax");

  EXPECT_EQ(token.GenerateKey("agency-tax-2030").error().code, ErrorCode::kAlreadyExists);
}

TEST_F(Pkcs11Test, KeysPersistAcrossSessions) {
  std::string kid;
  {
    const Pkcs11Token token = Open();
    auto signer = token.FindOrGenerateKey("platform-2030");
    ASSERT_TRUE(signer.ok()) << signer.error().message;
    kid = (*signer)->Kid();
    auto again = token.FindOrGenerateKey("platform-2030");
    ASSERT_TRUE(again.ok());
    EXPECT_EQ((*again)->Kid(), kid);
  }
  const Pkcs11Token reopened = Open();
  auto found = reopened.FindKey("platform-2030");
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ((*found)->Kid(), kid);
  const auto sig = (*found)->Sign(AsBytes("after reopening"));
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(
      (*found)->Public().Verify(SignatureAlg::kEs256, AsBytes("after reopening"), *sig).ok());
  EXPECT_EQ(reopened.FindKey("no-such-key").error().code, ErrorCode::kNotFound);
}

TEST_F(Pkcs11Test, SignerOutlivesItsTokenObject) {
  std::unique_ptr<Signer> signer;
  {
    const Pkcs11Token token = Open();
    auto made = token.FindOrGenerateKey("long-lived");
    ASSERT_TRUE(made.ok());
    signer = std::move(made).value();
  }
  const auto sig = signer->Sign(AsBytes("x"));
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_TRUE(signer->Public().Verify(SignatureAlg::kEs256, AsBytes("x"), *sig).ok());
}

TEST_F(Pkcs11Test, SignsFromManyThreads) {
  const Pkcs11Token token = Open();
  auto signer = token.FindOrGenerateKey("threads");
  ASSERT_TRUE(signer.ok());
  const Signer& key = **signer;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const std::string msg = std::to_string(t) + "/" + std::to_string(i);
        const auto sig = key.Sign(AsBytes(msg));
        if (sig.ok() && key.Public().Verify(SignatureAlg::kEs256, AsBytes(msg), *sig).ok()) ++good;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(good.load(), 100);
}

TEST_F(Pkcs11Test, WrongPinUnknownTokenAndBadModuleFail) {
  const auto wrong_pin = Pkcs11Token::Open(kModule, kTokenLabel, "0000");
  ASSERT_FALSE(wrong_pin.ok());
  EXPECT_EQ(wrong_pin.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(wrong_pin.error().message.find("0000"), std::string::npos);

  const auto unknown = Pkcs11Token::Open(kModule, "no-such-token", kPin);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);

  const auto no_module = Pkcs11Token::Open("/nonexistent/libpkcs11.so", kTokenLabel, kPin);
  ASSERT_FALSE(no_module.ok());
  EXPECT_EQ(no_module.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace ulus::crypto
