#include "ulus/identity/keystore.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ulus/crypto/encoding.hpp"

namespace ulus::identity {
namespace {

namespace fs = std::filesystem;
using crypto::SignatureAlg;
using std::chrono::hours;
using std::chrono::seconds;

constexpr auto kStart = std::chrono::sys_days{std::chrono::year{2030} / 3 / 14};

crypto::MasterKey Master(uint8_t fill) {
  auto key = crypto::MasterKey::FromBytes(std::vector<uint8_t>(crypto::MasterKey::kSize, fill));
  EXPECT_TRUE(key.ok());
  return std::move(key).value();
}

const KeyOwner kOidc{KeyOwnerKind::kPlatform, "oidc"};
const KeyOwner kAlice{KeyOwnerKind::kPerson, "0190f1a2-0000-7000-8000-00000000a11c"};
const KeyOwner kBob{KeyOwnerKind::kPerson, "0190f1a2-0000-7000-8000-000000000b0b"};

class KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ulus-keystore-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    store::DatabaseOptions options;
    options.url = "sqlite:" + (dir_ / "dan.db").string();
    auto db = store::Database::Open(options);
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(db).value();
    keys_ = OpenStore(1);
    ASSERT_NE(keys_, nullptr);
  }

  void TearDown() override {
    keys_.reset();
    db_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::unique_ptr<KeyStore> OpenStore(uint8_t master_fill) {
    auto ks = KeyStore::Open(*db_, Master(master_fill), {}, clock_);
    EXPECT_TRUE(ks.ok()) << ks.error().ToString();
    return ks.ok() ? std::move(ks).value() : nullptr;
  }

  std::string Kid(const KeyOwner& owner, SignatureAlg alg = SignatureAlg::kEs256) {
    auto signer = keys_->Signer(owner, alg);
    EXPECT_TRUE(signer.ok()) << signer.error().ToString();
    return signer.ok() ? (*signer)->Kid() : "";
  }

  std::vector<std::string> PublishedKids(const KeyOwner& owner) {
    auto keys = keys_->Keys(owner);
    EXPECT_TRUE(keys.ok()) << keys.error().ToString();
    std::vector<std::string> kids;
    if (keys.ok()) {
      for (const auto& k : *keys) kids.push_back(k.kid);
    }
    return kids;
  }

  int64_t RowCount(std::string_view where = "1 = 1") {
    auto conn = db_->Acquire();
    EXPECT_TRUE(conn.ok());
    auto n = (*conn)->QueryInt("SELECT COUNT(*) FROM dan_key WHERE " + std::string(where));
    EXPECT_TRUE(n.ok());
    return n.ok() ? *n : -1;
  }

  fs::path dir_;
  ManualClock clock_{kStart};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<KeyStore> keys_;
};

TEST_F(KeyStoreTest, GeneratesOnFirstUseAndReusesTheKey) {
  EXPECT_EQ(keys_->CurrentSigner(kOidc, SignatureAlg::kEs256).error().code, ErrorCode::kNotFound);
  const std::string kid = Kid(kOidc);
  EXPECT_EQ(Kid(kOidc), kid);
  EXPECT_NE(Kid(kOidc, SignatureAlg::kRs256), kid);  // one key per algorithm
  EXPECT_EQ(RowCount(), 2);

  auto current = keys_->CurrentSigner(kOidc, SignatureAlg::kEs256);
  ASSERT_TRUE(current.ok());
  EXPECT_EQ((*current)->Kid(), kid);

  auto info = keys_->Find(kid);
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(info->owner, kOidc);
  EXPECT_EQ(info->alg, SignatureAlg::kEs256);
  EXPECT_EQ(info->state, KeyState::kCurrent);
  EXPECT_FALSE(info->in_token);
  EXPECT_EQ(info->created, clock_.Now());
  EXPECT_FALSE(info->public_jwk.contains("d"));

  // Another instance (a restart) unseals the same key from the database.
  keys_ = OpenStore(1);
  EXPECT_EQ(Kid(kOidc), kid);
  EXPECT_EQ(keys_->Find("no-such-kid").error().code, ErrorCode::kNotFound);
}

TEST_F(KeyStoreTest, SignaturesVerifyAgainstThePublishedJwks) {
  for (const auto alg : {SignatureAlg::kEs256, SignatureAlg::kRs256, SignatureAlg::kEdDsa}) {
    auto signer = keys_->Signer(kOidc, alg);
    ASSERT_TRUE(signer.ok()) << signer.error().ToString();
    const nlohmann::json claims{{"iss", "https://dan.example"}, {"sub", "x"}, {"exp", 4102444800}};
    auto jwt = crypto::SignJwt(nullptr, claims, **signer);
    ASSERT_TRUE(jwt.ok()) << jwt.error().ToString();
    auto jwks = keys_->Jwks(kOidc);
    ASSERT_TRUE(jwks.ok()) << jwks.error().ToString();
    auto verified = crypto::VerifyJwt(*jwt, *jwks, crypto::JwtPolicy{}, clock_);
    ASSERT_TRUE(verified.ok()) << crypto::AlgName(alg) << ": " << verified.error().ToString();
    EXPECT_EQ(verified->kid, (*signer)->Kid());
    // Another owner's keys do not vouch for it.
    auto others = keys_->Jwks(kAlice);
    ASSERT_TRUE(others.ok());
    EXPECT_FALSE(crypto::VerifyJwt(*jwt, *others, crypto::JwtPolicy{}, clock_).ok());
  }
  auto jwks = keys_->Jwks(kOidc);
  ASSERT_TRUE(jwks.ok());
  EXPECT_EQ(jwks->Size(), 3U);
  const auto published = jwks->ToJson();
  for (const auto& jwk : published["keys"]) EXPECT_FALSE(jwk.contains("d"));
}

TEST_F(KeyStoreTest, RotationKeepsTheOldKeyPublishedUntilItExpires) {
  const std::string old_kid = Kid(kOidc);
  auto old_signer = keys_->Signer(kOidc, SignatureAlg::kEs256);
  ASSERT_TRUE(old_signer.ok());
  auto old_token = crypto::SignJwt(nullptr, {{"exp", 4102444800}}, **old_signer);
  ASSERT_TRUE(old_token.ok());

  clock_.Advance(seconds(10));
  auto rotated = keys_->Rotate(kOidc, SignatureAlg::kEs256, hours(1));
  ASSERT_TRUE(rotated.ok()) << rotated.error().ToString();
  EXPECT_NE(rotated->kid, old_kid);
  EXPECT_EQ(rotated->state, KeyState::kCurrent);
  EXPECT_EQ(Kid(kOidc), rotated->kid);
  EXPECT_EQ(PublishedKids(kOidc), (std::vector<std::string>{rotated->kid, old_kid}));

  auto old_info = keys_->Find(old_kid);
  ASSERT_TRUE(old_info.ok());
  EXPECT_EQ(old_info->state, KeyState::kRetired);
  EXPECT_EQ(old_info->retired, clock_.Now());
  EXPECT_EQ(old_info->publish_until, clock_.Now() + hours(1));

  // What the old key signed still verifies while it is published.
  auto jwks = keys_->Jwks(kOidc);
  ASSERT_TRUE(jwks.ok());
  EXPECT_TRUE(crypto::VerifyJwt(*old_token, *jwks, crypto::JwtPolicy{}, clock_).ok());

  clock_.Advance(hours(1));
  EXPECT_EQ(PublishedKids(kOidc), std::vector<std::string>{rotated->kid});
  jwks = keys_->Jwks(kOidc);
  ASSERT_TRUE(jwks.ok());
  EXPECT_EQ(crypto::VerifyJwt(*old_token, *jwks, crypto::JwtPolicy{}, clock_).error().code,
            ErrorCode::kUnauthenticated);
  // Still on record for audit.
  EXPECT_EQ(keys_->Find(old_kid)->state, KeyState::kRetired);
}

TEST_F(KeyStoreTest, RotatingWithoutAKeyMakesOne) {
  auto rotated = keys_->Rotate(kAlice, SignatureAlg::kEdDsa, hours(1));
  ASSERT_TRUE(rotated.ok()) << rotated.error().ToString();
  EXPECT_EQ(Kid(kAlice, SignatureAlg::kEdDsa), rotated->kid);
  EXPECT_EQ(RowCount(), 1);
  EXPECT_EQ(keys_->Rotate(kAlice, SignatureAlg::kEdDsa, seconds(-1)).error().code,
            ErrorCode::kInvalidArgument);
}

TEST_F(KeyStoreTest, RevokeWithdrawsAKeyAtOnce) {
  const std::string kid = Kid(kAlice);
  auto signer = keys_->Signer(kAlice, SignatureAlg::kEs256);
  ASSERT_TRUE(signer.ok());
  auto token = crypto::SignJwt(nullptr, {{"exp", 4102444800}}, **signer);
  ASSERT_TRUE(token.ok());

  // Only the owner's own key can be revoked through the owner.
  EXPECT_EQ(keys_->Revoke(kBob, kid).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(keys_->Revoke(kAlice, kid).ok());
  EXPECT_TRUE(PublishedKids(kAlice).empty());
  auto jwks = keys_->Jwks(kAlice);
  ASSERT_TRUE(jwks.ok());
  EXPECT_FALSE(crypto::VerifyJwt(*token, *jwks, crypto::JwtPolicy{}, clock_).ok());
  EXPECT_EQ(keys_->Find(kid)->state, KeyState::kRevoked);
  EXPECT_EQ(keys_->CurrentSigner(kAlice, SignatureAlg::kEs256).error().code, ErrorCode::kNotFound);

  // The next use makes a new key.
  const std::string next = Kid(kAlice);
  EXPECT_NE(next, kid);
  EXPECT_EQ(PublishedKids(kAlice), std::vector<std::string>{next});

  // A retired key can be revoked too, ending its publication early.
  auto rotated = keys_->Rotate(kAlice, SignatureAlg::kEs256, hours(24));
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(PublishedKids(kAlice).size(), 2U);
  ASSERT_TRUE(keys_->Revoke(kAlice, next).ok());
  EXPECT_EQ(PublishedKids(kAlice), std::vector<std::string>{rotated->kid});
  EXPECT_EQ(keys_->Revoke(kAlice, "no-such-kid").error().code, ErrorCode::kNotFound);
}

TEST_F(KeyStoreTest, SealedKeyHoldsNoKeyMaterialInClear) {
  auto signer = keys_->Signer(kAlice, SignatureAlg::kEs256);
  ASSERT_TRUE(signer.ok());
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  const store::Value params[] = {(*signer)->Kid()};
  auto row = (*conn)->QueryOne(
      "SELECT sealed_private, public_jwk, in_token FROM dan_key WHERE kid = $1", params);
  ASSERT_TRUE(row.ok()) << row.error().ToString();
  const std::string sealed = row->Text(0);
  EXPECT_EQ(row->Int(2), 0);
  EXPECT_EQ(sealed.find("PRIVATE"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(row->Text(1)).count("d"), 0U);

  // A PKCS#8 P-256 key in clear would hold the curve's OID and the public point; the sealed
  // bytes hold neither.
  auto bytes = crypto::Base64UrlDecode(sealed);
  ASSERT_TRUE(bytes.has_value());
  const std::vector<uint8_t> p256_oid{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
  auto x = crypto::Base64UrlDecode((*signer)->PublicJwk()["x"].get<std::string>());
  ASSERT_TRUE(x.has_value());
  for (const auto& needle : {p256_oid, *x}) {
    EXPECT_EQ(std::search(bytes->begin(), bytes->end(), needle.begin(), needle.end()),
              bytes->end());
  }
}

TEST_F(KeyStoreTest, SealedKeyDoesNotOpenForAnotherOwner) {
  const std::string alice_kid = Kid(kAlice);
  const std::string bob_kid = Kid(kBob);
  {
    auto conn = db_->Acquire();
    ASSERT_TRUE(conn.ok());
    // Alice's sealed key copied onto Bob's row.
    const store::Value copy[] = {alice_kid, bob_kid};
    ASSERT_TRUE((*conn)
                    ->Execute("UPDATE dan_key SET sealed_private = (SELECT sealed_private FROM "
                              "dan_key WHERE kid = $1) WHERE kid = $2",
                              copy)
                    .ok());
  }
  keys_ = OpenStore(1);  // nothing cached
  auto bob = keys_->Signer(kBob, SignatureAlg::kEs256);
  ASSERT_FALSE(bob.ok());
  EXPECT_EQ(bob.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(bob.error().message.find(bob_kid), std::string::npos);
  EXPECT_EQ(RowCount(), 2);  // a key that does not open is not replaced behind anyone's back

  // Alice's whole row handed to Carol: same kid and blob, another owner.
  {
    auto conn = db_->Acquire();
    ASSERT_TRUE(conn.ok());
    const store::Value move[] = {alice_kid};
    ASSERT_TRUE(
        (*conn)->Execute("UPDATE dan_key SET owner_id = 'carol' WHERE kid = $1", move).ok());
  }
  auto carol = keys_->Signer({KeyOwnerKind::kPerson, "carol"}, SignatureAlg::kEs256);
  ASSERT_FALSE(carol.ok());
  EXPECT_EQ(carol.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(KeyStoreTest, WrongMasterKeyIsRefused) {
  const std::string kid = Kid(kOidc);
  auto other = OpenStore(2);
  ASSERT_NE(other, nullptr);
  auto signer = other->Signer(kOidc, SignatureAlg::kEs256);
  ASSERT_FALSE(signer.ok());
  EXPECT_EQ(signer.error().code, ErrorCode::kFailedPrecondition);
  // Public information needs no master key.
  auto keys = other->Keys(kOidc);
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1U);
  EXPECT_EQ(keys->front().kid, kid);
  EXPECT_EQ(RowCount(), 1);
}

TEST_F(KeyStoreTest, ConcurrentFirstUseMakesOneKey) {
  // Two instances on one database stand for two processes; four threads each.
  auto second = OpenStore(1);
  ASSERT_NE(second, nullptr);
  constexpr int kThreads = 8;
  std::vector<std::string> kids(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      KeyStore& ks = i % 2 == 0 ? *keys_ : *second;
      auto signer = ks.Signer(kOidc, SignatureAlg::kEs256);
      if (signer.ok()) kids[static_cast<size_t>(i)] = (*signer)->Kid();
    });
  }
  for (auto& t : threads) t.join();
  const std::set<std::string> distinct(kids.begin(), kids.end());
  ASSERT_EQ(distinct.size(), 1U);
  EXPECT_FALSE(distinct.begin()->empty());
  EXPECT_EQ(RowCount(), 1);
}

TEST_F(KeyStoreTest, RefusesMalformedOwners) {
  EXPECT_EQ(keys_->Signer({KeyOwnerKind::kAgency, ""}, SignatureAlg::kEs256).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(keys_->Keys({KeyOwnerKind::kAgency, std::string("a\nb")}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(keys_->Keys({KeyOwnerKind::kAgency, std::string(201, 'a')}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(KeyOwnerKindName(KeyOwnerKind::kAgency), "agency");
}

}  // namespace
}  // namespace ulus::identity
