#include "ulus/crypto/password.hpp"

#include <gtest/gtest.h>

namespace ulus::crypto {
namespace {

// Cheap enough for many test cases; the default cost is exercised once below.
constexpr Argon2idCost kTestCost{1, size_t{64} * 1024};

TEST(Password, HashVerifiesTheRightPasswordOnly) {
  auto hasher = PasswordHasher::Create(kTestCost);
  ASSERT_TRUE(hasher.ok());
  const auto hash = hasher->Hash("correct horse battery staple");
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(hash->starts_with("$argon2id$v=19$m=64,t=1,p=1$")) << *hash;
  EXPECT_EQ(hash->find("correct"), std::string::npos);
  EXPECT_TRUE(hasher->Verify(*hash, "correct horse battery staple").value());
  EXPECT_FALSE(hasher->Verify(*hash, "correct horse battery stapl").value());
  EXPECT_FALSE(hasher->Verify(*hash, "").value());
  // Salted: the same password hashes differently each time.
  EXPECT_NE(*hash, hasher->Hash("correct horse battery staple").value());
}

TEST(Password, UnicodeAndEmptyPasswords) {
  auto hasher = PasswordHasher::Create(kTestCost);
  ASSERT_TRUE(hasher.ok());
  const std::string mongolian = "Улаанбаатар-2030";
  const auto hash = hasher->Hash(mongolian);
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(hasher->Verify(*hash, mongolian).value());
  EXPECT_FALSE(hasher->Verify(*hash, "улаанбаатар-2030").value());
  const auto empty = hasher->Hash("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(hasher->Verify(*empty, "").value());
}

TEST(Password, NeedsRehashWhenTheCostChanges) {
  auto cheap = PasswordHasher::Create(kTestCost);
  auto dearer = PasswordHasher::Create({2, size_t{128} * 1024});
  ASSERT_TRUE(cheap.ok() && dearer.ok());
  const auto hash = cheap->Hash("pw").value();
  EXPECT_FALSE(cheap->NeedsRehash(hash));
  EXPECT_TRUE(dearer->NeedsRehash(hash));
  // Verification still works across costs: the parameters travel in the hash.
  EXPECT_TRUE(dearer->Verify(hash, "pw").value());
  EXPECT_TRUE(cheap->NeedsRehash("$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"));
  EXPECT_TRUE(cheap->NeedsRehash("$2b$12$bcrypt-from-an-older-system"));
}

TEST(Password, RefusesBadInput) {
  EXPECT_FALSE(PasswordHasher::Create({0, size_t{64} * 1024}).ok());
  EXPECT_FALSE(PasswordHasher::Create({1, 1024}).ok());
  const PasswordHasher hasher;
  EXPECT_FALSE(hasher.Verify("plain text", "pw").ok());
  EXPECT_FALSE(hasher.Verify(std::string(300, '$'), "pw").ok());
  const std::string huge(PasswordHasher::kMaxPasswordBytes + 1, 'x');
  EXPECT_FALSE(hasher.Hash(huge).ok());
}

TEST(Password, DefaultCostHashes) {
  const PasswordHasher hasher;
  EXPECT_EQ(hasher.Cost().mem_limit_bytes, kDefaultArgon2idCost.mem_limit_bytes);
  const auto hash = hasher.Hash("Dan-login-2030");
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(hash->starts_with("$argon2id$v=19$m=65536,t=2,p=1$")) << *hash;
  EXPECT_TRUE(hasher.Verify(*hash, "Dan-login-2030").value());
  EXPECT_FALSE(hasher.NeedsRehash(*hash));
}

}  // namespace
}  // namespace ulus::crypto
