#include "ulus/crypto/sealed.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ulus/crypto/encoding.hpp"

namespace ulus::crypto {
namespace {

SigningKey NewKey(SignatureAlg alg = SignatureAlg::kEs256) {
  auto key = SigningKey::Generate(alg);
  EXPECT_TRUE(key.ok());
  return std::move(key).value();
}

TEST(SealedKey, RoundTripsForEveryAlgorithm) {
  const MasterKey master = MasterKey::Generate();
  for (const auto alg : {SignatureAlg::kEs256, SignatureAlg::kRs256, SignatureAlg::kEdDsa}) {
    SCOPED_TRACE(std::string(AlgName(alg)));
    const SigningKey key = NewKey(alg);
    const auto sealed = SealPrivateKey(key, master, "citizen/42");
    ASSERT_TRUE(sealed.ok()) << sealed.error().message;
    auto opened = UnsealPrivateKey(*sealed, master, key.Kid(), "citizen/42");
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    EXPECT_EQ(opened->Kid(), key.Kid());
    const auto sig = opened->Sign(AsBytes("signed after unsealing"));
    ASSERT_TRUE(sig.ok());
    EXPECT_TRUE(key.Public().Verify(alg, AsBytes("signed after unsealing"), *sig).ok());
    // Two seals of one key differ (fresh nonce each time).
    EXPECT_NE(*sealed, SealPrivateKey(key, master, "citizen/42").value());
  }
}

TEST(SealedKey, WrongMasterKeyFails) {
  const MasterKey master = MasterKey::Generate();
  const MasterKey other = MasterKey::Generate();
  const SigningKey key = NewKey();
  const auto sealed = SealPrivateKey(key, master);
  ASSERT_TRUE(sealed.ok());
  const auto opened = UnsealPrivateKey(*sealed, other, key.Kid());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kFailedPrecondition);
}

TEST(SealedKey, BlobsCannotMoveBetweenKeyIdsOrOwners) {
  const MasterKey master = MasterKey::Generate();
  const SigningKey a = NewKey();
  const SigningKey b = NewKey();
  const auto sealed_a = SealPrivateKey(a, master, "officer/7");
  ASSERT_TRUE(sealed_a.ok());
  // Copied onto b's row: b's kid is the associated data, so it does not open.
  EXPECT_FALSE(UnsealPrivateKey(*sealed_a, master, b.Kid(), "officer/7").ok());
  // Copied to another owner's row with the same kid.
  EXPECT_FALSE(UnsealPrivateKey(*sealed_a, master, a.Kid(), "officer/8").ok());
  EXPECT_FALSE(UnsealPrivateKey(*sealed_a, master, a.Kid()).ok());
  EXPECT_TRUE(UnsealPrivateKey(*sealed_a, master, a.Kid(), "officer/7").ok());
}

TEST(SealedKey, AnyFlippedByteFails) {
  const MasterKey master = MasterKey::Generate();
  const SigningKey key = NewKey(SignatureAlg::kEdDsa);
  const auto sealed = SealPrivateKey(key, master);
  ASSERT_TRUE(sealed.ok());
  const auto blob = Base64UrlDecode(*sealed);
  ASSERT_TRUE(blob.has_value());
  for (size_t i = 0; i < blob->size(); ++i) {
    auto changed = *blob;
    changed[i] ^= 0x40;
    const auto opened = UnsealPrivateKey(Base64UrlEncode(changed), master, key.Kid());
    EXPECT_FALSE(opened.ok()) << "byte " << i;
  }
  EXPECT_FALSE(UnsealPrivateKey(sealed->substr(0, 20), master, key.Kid()).ok());
  EXPECT_FALSE(UnsealPrivateKey("not base64!", master, key.Kid()).ok());
}

TEST(SealedSecret, RoundTripsAndIsSeparatedFromPrivateKeys) {
  const MasterKey master = MasterKey::Generate();
  const std::vector<uint8_t> secret = {1, 2, 3, 4, 5};
  const std::string sealed = master.Seal(secret, "totp/citizen/42").value();
  const auto opened = master.Open(sealed, "totp/citizen/42");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, secret);
  EXPECT_FALSE(master.Open(sealed, "totp/citizen/43").ok());
  EXPECT_EQ(master.Seal(std::vector<uint8_t>(size_t{65} * 1024), "big").error().code,
            ErrorCode::kTooLarge);

  // A sealed private key does not open as a plain secret, whatever binding is tried, so the
  // generic Open is no back door to key bytes.
  const SigningKey key = NewKey();
  const auto sealed_key = SealPrivateKey(key, master);
  ASSERT_TRUE(sealed_key.ok());
  EXPECT_FALSE(master.Open(*sealed_key, key.Kid()).ok());
  EXPECT_FALSE(master.Open(*sealed_key, "").ok());
  EXPECT_FALSE(UnsealPrivateKey(sealed, master, "totp/citizen/42").ok());
}

TEST(MasterKey, FromBytesWantsThirtyTwo) {
  EXPECT_FALSE(MasterKey::FromBytes(std::vector<uint8_t>(31)).ok());
  EXPECT_TRUE(MasterKey::FromBytes(std::vector<uint8_t>(32, 7)).ok());
}

class MasterKeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ulus-mk-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::filesystem::path& path, std::string_view content, mode_t mode) {
    std::ofstream(path, std::ios::binary) << content;
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  }

  std::filesystem::path dir_;
};

TEST_F(MasterKeyFileTest, CreatesOnceWithOwnerOnlyPermissionsThenLoads) {
  const auto path = dir_ / "master.key";
  EXPECT_EQ(LoadMasterKey(path).error().code, ErrorCode::kNotFound);
  auto created = LoadOrCreateMasterKey(path);
  ASSERT_TRUE(created.ok()) << created.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str().size(), 65U);  // 64 hex digits and a newline
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1);  // no temp left

  auto again = LoadOrCreateMasterKey(path);
  ASSERT_TRUE(again.ok());
  const std::vector<uint8_t> secret = {9, 9, 9};
  EXPECT_EQ(again->Open(created->Seal(secret, "b").value(), "b").value(), secret);
}

TEST_F(MasterKeyFileTest, ReadsRawAndHexAndRefusesLooseFiles) {
  const std::string raw(32, '\x5a');
  Write(dir_ / "raw.key", raw, 0600);
  Write(dir_ / "hex.key", "  " + std::string(64, 'a') + "\n", 0400);
  Write(dir_ / "group.key", raw, 0640);
  Write(dir_ / "world.key", raw, 0604);
  Write(dir_ / "short.key", std::string(63, 'a'), 0600);
  Write(dir_ / "nothex.key", std::string(64, 'g'), 0600);

  auto from_raw = LoadMasterKey(dir_ / "raw.key");
  ASSERT_TRUE(from_raw.ok()) << from_raw.error().message;
  auto same = MasterKey::FromBytes(AsBytes(raw));
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->Open(from_raw->Seal(AsBytes("s"), "").value(), "").ok());

  auto from_hex = LoadMasterKey(dir_ / "hex.key");
  ASSERT_TRUE(from_hex.ok()) << from_hex.error().message;
  auto hex_bytes = MasterKey::FromBytes(std::vector<uint8_t>(32, 0xaa));
  EXPECT_TRUE(hex_bytes->Open(from_hex->Seal(AsBytes("s"), "").value(), "").ok());

  EXPECT_TRUE(LoadMasterKey(dir_ / "group.key").ok());
  const auto world = LoadMasterKey(dir_ / "world.key");
  ASSERT_FALSE(world.ok());
  EXPECT_NE(world.error().message.find("chmod 600"), std::string::npos);
  EXPECT_FALSE(LoadMasterKey(dir_ / "short.key").ok());
  EXPECT_FALSE(LoadMasterKey(dir_ / "nothex.key").ok());
  EXPECT_FALSE(LoadMasterKey(dir_).ok());  // a directory
}

}  // namespace
}  // namespace ulus::crypto
