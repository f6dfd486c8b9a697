// KeyStore with a PKCS#11 token (SoftHSM2, a throw-away token in a temporary directory). Skips
// when SoftHSM2 is not installed, unless ULUS_REQUIRE_SOFTHSM is set, then fails.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "ulus/identity/keystore.hpp"

namespace ulus::identity {
namespace {

namespace fs = std::filesystem;
using crypto::SignatureAlg;

constexpr const char* kModule = "/usr/lib/softhsm/libsofthsm2.so";
constexpr const char* kTokenLabel = "ulus-keys-test";
constexpr const char* kPin = "4321";

const KeyOwner kTax{KeyOwnerKind::kAgency, "TAX"};

class KeyStorePkcs11Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(kModule)) return;
    std::string tmpl = (fs::temp_directory_path() / "ulus-keys-softhsm-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    suite_dir = tmpl;
    fs::create_directory(suite_dir / "tokens");
    const auto conf = suite_dir / "softhsm2.conf";
    std::ofstream(conf) << "directories.tokendir = " << (suite_dir / "tokens").string()
                        << "\nobjectstore.backend = file\nlog.level = ERROR\n";
    // SoftHSM reads its configuration when the module is initialised, so set it first.
    ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
    const std::string init = std::string("softhsm2-util --init-token --free --label ") +
                             kTokenLabel + " --pin " + kPin + " --so-pin 8765 >'" +
                             (suite_dir / "init.log").string() + "' 2>&1";
    token_ready = std::system(init.c_str()) == 0;
  }

  static void TearDownTestSuite() {
    if (!suite_dir.empty()) fs::remove_all(suite_dir);
  }

  void SetUp() override {
    if (!fs::exists(kModule)) {
      if (std::getenv("ULUS_REQUIRE_SOFTHSM") != nullptr) {
        FAIL() << kModule
               << " is missing and ULUS_REQUIRE_SOFTHSM is set: apt-get install softhsm2";
      }
      GTEST_SKIP() << "SoftHSM2 is not installed (" << kModule
                   << " missing); apt-get install softhsm2 to run the PKCS#11 tests";
    }
    ASSERT_TRUE(token_ready) << "softhsm2-util --init-token failed; see "
                             << (suite_dir / "init.log");
    const std::string db_file =
        (suite_dir /
         (std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".db"))
            .string();
    store::DatabaseOptions options;
    options.url = "sqlite:" + db_file;
    auto db = store::Database::Open(options);
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(db).value();
  }

  std::unique_ptr<KeyStore> OpenStore() {
    KeyStoreOptions options;
    options.pkcs11 = Pkcs11Options{kModule, kTokenLabel, kPin};
    auto ks = KeyStore::Open(*db_, crypto::MasterKey::Generate(), options);
    EXPECT_TRUE(ks.ok()) << ks.error().ToString();
    return ks.ok() ? std::move(ks).value() : nullptr;
  }

  std::pair<int64_t, bool> RowOf(const std::string& kid) {
    auto conn = db_->Acquire();
    EXPECT_TRUE(conn.ok());
    const store::Value params[] = {kid};
    auto row = (*conn)->QueryOne(
        "SELECT in_token, sealed_private IS NULL, token_label FROM dan_key WHERE kid = $1", params);
    EXPECT_TRUE(row.ok());
    if (!row.ok()) return {-1, false};
    return {row->Int(0), row->Int(1) != 0};
  }

  static inline fs::path suite_dir;
  static inline bool token_ready = false;
  std::unique_ptr<store::Database> db_;
};

TEST_F(KeyStorePkcs11Test, AgencyKeyLivesInTheTokenAndSurvivesReopening) {
  std::string kid;
  std::string token;
  {
    auto keys = OpenStore();
    ASSERT_NE(keys, nullptr);
    auto signer = keys->Signer(kTax, SignatureAlg::kEs256);
    ASSERT_TRUE(signer.ok()) << signer.error().ToString();
    kid = (*signer)->Kid();
    EXPECT_EQ(RowOf(kid), std::make_pair(int64_t{1}, true));
    auto info = keys->Find(kid);
    ASSERT_TRUE(info.ok());
    EXPECT_TRUE(info->in_token);
    auto jwt = crypto::SignJwt(nullptr, {{"iss", "TAX"}, {"exp", 4102444800}}, **signer);
    ASSERT_TRUE(jwt.ok()) << jwt.error().ToString();
    token = *jwt;
  }
  // A restart: another master key even, since nothing of this key is sealed under it.
  auto keys = OpenStore();
  ASSERT_NE(keys, nullptr);
  auto signer = keys->Signer(kTax, SignatureAlg::kEs256);
  ASSERT_TRUE(signer.ok()) << signer.error().ToString();
  EXPECT_EQ((*signer)->Kid(), kid);
  auto jwks = keys->Jwks(kTax);
  ASSERT_TRUE(jwks.ok());
  EXPECT_TRUE(crypto::VerifyJwt(token, *jwks, crypto::JwtPolicy{}).ok());
  auto again = crypto::SignJwt(nullptr, {{"iss", "TAX"}, {"exp", 4102444800}}, **signer);
  ASSERT_TRUE(again.ok());
  auto verified = crypto::VerifyJwt(*again, *jwks, crypto::JwtPolicy{});
  ASSERT_TRUE(verified.ok()) << verified.error().ToString();
  EXPECT_EQ(verified->kid, kid);
}

TEST_F(KeyStorePkcs11Test, RotationMakesANewTokenKey) {
  auto keys = OpenStore();
  ASSERT_NE(keys, nullptr);
  auto first = keys->Signer(kTax, SignatureAlg::kEs256);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  auto rotated = keys->Rotate(kTax, SignatureAlg::kEs256, std::chrono::hours(1));
  ASSERT_TRUE(rotated.ok()) << rotated.error().ToString();
  EXPECT_NE(rotated->kid, (*first)->Kid());
  EXPECT_TRUE(rotated->in_token);
  auto published = keys->Keys(kTax);
  ASSERT_TRUE(published.ok());
  EXPECT_EQ(published->size(), 2U);
}

TEST_F(KeyStorePkcs11Test, PersonKeysAndOtherAlgorithmsAreSealed) {
  auto keys = OpenStore();
  ASSERT_NE(keys, nullptr);
  auto person = keys->Signer({KeyOwnerKind::kPerson, "someone"}, SignatureAlg::kEs256);
  ASSERT_TRUE(person.ok()) << person.error().ToString();
  EXPECT_EQ(RowOf((*person)->Kid()), std::make_pair(int64_t{0}, false));
  // The token makes P-256 keys only; an RS256 platform key is sealed instead.
  auto rsa = keys->Signer({KeyOwnerKind::kPlatform, "oidc"}, SignatureAlg::kRs256);
  ASSERT_TRUE(rsa.ok()) << rsa.error().ToString();
  EXPECT_EQ(RowOf((*rsa)->Kid()), std::make_pair(int64_t{0}, false));
}

TEST_F(KeyStorePkcs11Test, WrongPinFailsToOpen) {
  KeyStoreOptions options;
  options.pkcs11 = Pkcs11Options{kModule, kTokenLabel, "0000"};
  auto ks = KeyStore::Open(*db_, crypto::MasterKey::Generate(), options);
  ASSERT_FALSE(ks.ok());
  EXPECT_EQ(ks.error().code, ErrorCode::kUnauthenticated);
}

}  // namespace
}  // namespace ulus::identity
