#pragma once

// The central authority's database behaviour, written once and instantiated per backend:
// authority_test.cpp (SQLite, plus the HTTP and enrollment tests) and authority_pgtest.cpp
// (PostgreSQL). Include it in exactly one file of a test binary.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/crypto/keys.hpp"
#include "ulus/exchange/authority.hpp"
#include "ulus/exchange/certificates.hpp"
#include "ulus/exchange/global_config.hpp"
#include "ulus/store/database.hpp"

namespace ulus::exchange::test {

using nlohmann::json;
using namespace std::chrono_literals;

// A fresh, empty database for one test, removed when destroyed.
class TestDatabase {
 public:
  virtual ~TestDatabase() = default;
  [[nodiscard]] virtual const std::string& url() const = 0;
};

// kFailedPrecondition means the backend is not configured here: the test is skipped.
using TestDatabaseMaker = Result<std::unique_ptr<TestDatabase>> (*)(const std::string& dir);

struct AuthorityBackend {
  std::string name;
  TestDatabaseMaker make = nullptr;
};

inline void PrintTo(const AuthorityBackend& backend, std::ostream* os) {
  *os << backend.name;
}
inline std::string BackendName(const ::testing::TestParamInfo<AuthorityBackend>& param) {
  return param.param.name;
}

inline std::string MakeTempDir() {
  std::string dir = (std::filesystem::temp_directory_path() / "ulus-authority-XXXXXX").string();
  EXPECT_NE(::mkdtemp(dir.data()), nullptr);
  return dir;
}

inline ClientId Sub(const std::string& text) {
  auto id = ClientId::Parse(text);
  EXPECT_TRUE(id.ok()) << text;
  return *id;
}

inline const ClientId& Gasr() {
  static const ClientId id = Sub("MN/GOV/GASR/civil-registry");
  return id;
}
inline const ClientId& Gosi() {
  static const ClientId id = Sub("MN/GOV/GOSI/social-insurance");
  return id;
}
inline const ClientId& Mddic() {
  static const ClientId id = Sub("MN/GOV/MDDIC/platform");
  return id;
}

// A small country pack: three agencies, whose nodes have not registered (no addresses).
inline PackExchange SmallPack() {
  PackExchange pack;
  pack.instance = "MN";
  pack.agencies = {
      {"GASR", "GOV", "GASR", "civil-registry", "State Registration", "", {}, {}},
      {"GOSI", "GOV", "GOSI", "social-insurance", "Social Insurance", "", {}, {}},
      {"MDDIC", "GOV", "MDDIC", "platform", "e-Mongolia", "", {}, {}},
  };
  pack.registries = {
      {"person", "GASR", true, true},
      {"social_insurance", "GOSI", true, true},
  };
  pack.rules = {
      {"MN/GOV/GOSI/social-insurance", "person", AccessMode::kRead},
      {"MN/GOV/MDDIC/platform", "*", AccessMode::kRead},
  };
  return pack;
}

inline std::unique_ptr<crypto::SigningKey> NewEs256Key() {
  auto key = crypto::SigningKey::Generate(crypto::SignatureAlg::kEs256);
  EXPECT_TRUE(key.ok());
  return std::make_unique<crypto::SigningKey>(std::move(key).value());
}

// What a node makes to register: its TLS key and request, and its message-signing key.
struct NodeMaterial {
  NodeKeyAndCsr tls;
  std::unique_ptr<crypto::SigningKey> signing;
};

inline NodeMaterial NewNode(const ClientId& subsystem) {
  auto tls = MakeNodeKeyAndCsr(subsystem);
  EXPECT_TRUE(tls.ok());
  return {std::move(tls).value(), NewEs256Key()};
}

inline RegistrationRequest RequestFor(const std::string& token, const NodeMaterial& node,
                                      const std::string& address = "https://127.0.0.1:8443") {
  RegistrationRequest r;
  r.token = token;
  r.csr_pem = node.tls.csr_pem;
  r.address = address;
  r.signing_jwk = node.signing->PublicJwk();
  return r;
}

class AuthorityStoreTest : public ::testing::TestWithParam<AuthorityBackend> {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    auto made = GetParam().make(dir_);
    if (!made.ok() && made.error().code == ErrorCode::kFailedPrecondition) {
      GTEST_SKIP() << made.error().message;
    }
    ASSERT_TRUE(made.ok()) << made.error().ToString();
    test_db_ = std::move(made).value();
    store::DatabaseOptions options;
    options.url = test_db_->url();
    options.max_connections = 8;
    auto db = store::Database::Open(options);
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(db).value();
    signer_ = NewEs256Key();
    auto ca = CertificateAuthority::OpenOrCreate(dir_ + "/ca", "MN", clock_);
    ASSERT_TRUE(ca.ok()) << ca.error().ToString();
    ca_ = std::move(ca).value();
    authority_ = OpenAuthority();
  }

  void TearDown() override {
    authority_.reset();
    db_.reset();
    test_db_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Authority> OpenAuthority() {
    auto authority = Authority::Open(*db_, *signer_, *ca_, SmallPack(), clock_, options_);
    EXPECT_TRUE(authority.ok()) << authority.error().ToString();
    return authority.ok() ? std::move(authority).value() : nullptr;
  }

  std::string Token(const ClientId& subsystem) {
    auto token = authority_->IssueRegistrationToken(subsystem);
    EXPECT_TRUE(token.ok()) << token.error().ToString();
    return token.ok() ? *token : std::string();
  }

  Result<GlobalConfig> Verify(const std::string& jws) {
    return VerifyGlobalConfig(jws, signer_->Public(), clock_);
  }

  int64_t Count(const std::string& table) {
    auto conn = db_->Acquire();
    EXPECT_TRUE(conn.ok());
    auto n = (*conn)->QueryInt("SELECT COUNT(*) FROM " + table);
    EXPECT_TRUE(n.ok());
    return n.ok() ? *n : -1;
  }

  ManualClock clock_{
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now())};
  AuthorityOptions options_;
  std::string dir_;
  std::unique_ptr<TestDatabase> test_db_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<crypto::SigningKey> signer_;
  std::unique_ptr<CertificateAuthority> ca_;
  std::unique_ptr<Authority> authority_;
};

TEST_P(AuthorityStoreTest, TokensNameTheAuthorityKeyAndAreStoredOnlyAsHashes) {
  const auto token = Token(Gasr());
  const auto parsed = ParseRegistrationToken(token);
  ASSERT_TRUE(parsed.ok()) << token;
  EXPECT_EQ(token.rfind("khur1.", 0), 0U);
  EXPECT_EQ(parsed->authority_thumbprint, signer_->Public().Thumbprint());
  EXPECT_EQ(parsed->secret.size(), 43U);  // 32 bytes in base64url

  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  auto rows = (*conn)->Query("SELECT token_sha256, subsystem FROM exchange_authority_token");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1U);
  EXPECT_EQ((*rows)[0].Text(1), Gasr().ToString());
  EXPECT_EQ((*rows)[0].Text(0).find(parsed->secret), std::string::npos);
  EXPECT_EQ((*rows)[0].Text(0).size(), 64U);

  const auto unknown = authority_->IssueRegistrationToken(Sub("MN/GOV/NOBODY/x"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().field, "subsystem");
  EXPECT_FALSE(authority_->IssueRegistrationToken(Sub("MN/GOV/GASR")).ok());
  EXPECT_FALSE(authority_->IssueRegistrationToken(Sub("KZ/GOV/GASR/civil-registry")).ok());
}

TEST_P(AuthorityStoreTest, RegistrationListsTheNodeInTheSignedConfiguration) {
  const auto before = Verify(*authority_->SignedConfig());
  ASSERT_TRUE(before.ok()) << before.error().ToString();
  ASSERT_NE(before->NodeOf(Gasr()), nullptr);
  EXPECT_EQ(before->NodeOf(Gasr())->address, kUnregisteredNodeAddress);
  EXPECT_TRUE(before->NodeOf(Gasr())->tls_sha256.empty());
  EXPECT_EQ(before->content().ca_certificates, std::vector<std::string>{ca_->CertificatePem()});

  const auto node = NewNode(Gasr());
  auto request = RequestFor(Token(Gasr()), node, "https://gasr.example.mn:8443/khur");
  request.hosts = {"10.1.2.3"};
  auto registration = authority_->Register(request);
  ASSERT_TRUE(registration.ok()) << registration.error().ToString();
  EXPECT_EQ(registration->subsystem, Gasr());
  EXPECT_EQ(registration->ca_pem, ca_->CertificatePem());
  EXPECT_EQ(registration->authority_jwk, signer_->PublicJwk());
  EXPECT_EQ(registration->certificate.subject, "CN=MN/GOV/GASR/civil-registry,O=GASR");
  EXPECT_TRUE(VerifyNodeCertificate(registration->certificate_pem, node.tls.key_pem,
                                    {ca_->CertificatePem()}, clock_)
                  .ok());

  const auto config = Verify(registration->config_jws);
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->NodeOf(Gasr())->address, "https://gasr.example.mn:8443/khur");
  EXPECT_TRUE(config->NodePresents(Gasr(), registration->certificate.sha256));
  EXPECT_NE(config->SigningKey(Gasr(), node.signing->Kid()), nullptr);
  EXPECT_EQ(config->NodeOf(Gosi())->address, kUnregisteredNodeAddress);
  // The published configuration is the one the registration answered with.
  EXPECT_EQ(*authority_->SignedConfig(), registration->config_jws);
  EXPECT_GT(config->issued(), before->issued());
  EXPECT_EQ(config->expires() - config->issued(), options_.config_validity);

  EXPECT_EQ(Count("exchange_authority_node"), 1);
  EXPECT_EQ(Count("exchange_authority_certificate"), 1);
}

TEST_P(AuthorityStoreTest, ATokenWorksOnceAndEveryBadTokenGetsTheSameAnswer) {
  const auto token = Token(Gasr());
  ASSERT_TRUE(authority_->Register(RequestFor(token, NewNode(Gasr()))).ok());
  const auto used = authority_->Register(RequestFor(token, NewNode(Gasr())));
  ASSERT_FALSE(used.ok());
  EXPECT_EQ(used.error().code, ErrorCode::kUnauthenticated);

  auto tampered = Token(Gosi());
  tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
  const auto wrong = authority_->Register(RequestFor(tampered, NewNode(Gosi())));
  const auto garbage = authority_->Register(RequestFor("hello", NewNode(Gosi())));
  const auto huge = authority_->Register(RequestFor(std::string(100'000, 'x'), NewNode(Gosi())));

  const auto expiring = Token(Mddic());
  clock_.Advance(options_.token_ttl + 1s);
  const auto expired = authority_->Register(RequestFor(expiring, NewNode(Mddic())));

  for (const auto* r : {&wrong, &garbage, &huge, &expired}) {
    ASSERT_FALSE(r->ok());
    EXPECT_EQ(r->error().code, ErrorCode::kUnauthenticated);
    EXPECT_EQ(r->error().message, used.error().message);
    EXPECT_EQ(r->error().field, used.error().field);
  }
  EXPECT_EQ(Count("exchange_authority_node"), 1);
}

TEST_P(AuthorityStoreTest, ANewTokenWithdrawsTheOlderOnes) {
  const auto first = Token(Gasr());
  const auto second = Token(Gasr());
  const auto other = Token(Gosi());  // another subsystem's token is untouched
  const auto withdrawn = authority_->Register(RequestFor(first, NewNode(Gasr())));
  ASSERT_FALSE(withdrawn.ok());
  EXPECT_EQ(withdrawn.error().code, ErrorCode::kUnauthenticated);
  EXPECT_TRUE(authority_->Register(RequestFor(second, NewNode(Gasr()))).ok());
  EXPECT_TRUE(authority_->Register(RequestFor(other, NewNode(Gosi()))).ok());
}

TEST_P(AuthorityStoreTest, AFailedRegistrationWritesNothingAndKeepsTheToken) {
  const auto token = Token(Gasr());
  const auto rows_before = Count("exchange_authority_token");
  auto bad_csr = RequestFor(token, NewNode(Gasr()));
  bad_csr.csr_pem = ca_->CertificatePem();
  const auto refused = authority_->Register(bad_csr);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(refused.error().field, "csr");

  auto wrong_subsystem = RequestFor(token, NewNode(Gasr()));
  wrong_subsystem.subsystem = Gosi();
  const auto denied = authority_->Register(wrong_subsystem);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, ErrorCode::kPermissionDenied);

  EXPECT_EQ(Count("exchange_authority_node"), 0);
  EXPECT_EQ(Count("exchange_authority_certificate"), 0);
  EXPECT_EQ(Count("exchange_authority_signing_key"), 0);
  EXPECT_EQ(Count("exchange_authority_token"), rows_before);

  auto good = RequestFor(token, NewNode(Gasr()));
  good.subsystem = Gasr();
  const auto registered = authority_->Register(good);
  EXPECT_TRUE(registered.ok()) << registered.error().ToString();
}

TEST_P(AuthorityStoreTest, ChecksTheAddressAndTheSigningKey) {
  const auto token = Token(Gasr());
  const auto node = NewNode(Gasr());
  for (const std::string address :
       {"http://gasr.example", "https://", "https://user@gasr.example", "https://gasr.example?x=1",
        "https://gasr example", "https://gasr.example:99999", "https://:8443", "ftp://x"}) {
    const auto r = authority_->Register(RequestFor(token, node, address));
    ASSERT_FALSE(r.ok()) << address;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << address;
    EXPECT_EQ(r.error().field, "address") << address;
  }
  const auto expect_bad_jwk = [&](const json& jwk, const std::string& why) {
    auto request = RequestFor(token, node);
    request.signing_jwk = jwk;
    const auto r = authority_->Register(request);
    ASSERT_FALSE(r.ok()) << why;
    EXPECT_EQ(r.error().field, "signing_jwk") << why;
  };
  auto without_kid = node.signing->PublicJwk();
  without_kid.erase("kid");
  expect_bad_jwk(without_kid, "no kid");
  auto with_private = node.signing->PublicJwk();
  with_private["d"] = "AAAA";
  expect_bad_jwk(with_private, "private member");
  auto rsa = crypto::SigningKey::Generate(crypto::SignatureAlg::kRs256);
  ASSERT_TRUE(rsa.ok());
  expect_bad_jwk(rsa->PublicJwk(), "RSA");
  auto ed = crypto::SigningKey::Generate(crypto::SignatureAlg::kEdDsa);
  ASSERT_TRUE(ed.ok());
  expect_bad_jwk(ed->PublicJwk(), "EdDSA");
  expect_bad_jwk("a string", "not an object");
  // None of that spent the token.
  EXPECT_TRUE(authority_->Register(RequestFor(token, node)).ok());
}

TEST_P(AuthorityStoreTest, ReRegistrationReplacesTheCertificateAndKeepsTwoSigningKeys) {
  std::vector<NodeMaterial> nodes;
  std::vector<Registration> registrations;
  for (int i = 0; i < 3; ++i) {
    nodes.push_back(NewNode(Gasr()));
    auto r = authority_->Register(RequestFor(Token(Gasr()), nodes.back()));
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    registrations.push_back(std::move(r).value());
  }
  const auto config = Verify(*authority_->SignedConfig());
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->NodeOf(Gasr())->tls_sha256,
            std::vector<std::string>{registrations[2].certificate.sha256});
  EXPECT_FALSE(config->NodePresents(Gasr(), registrations[1].certificate.sha256));
  EXPECT_EQ(config->SigningKey(Gasr(), nodes[0].signing->Kid()), nullptr);
  EXPECT_NE(config->SigningKey(Gasr(), nodes[1].signing->Kid()), nullptr);
  EXPECT_NE(config->SigningKey(Gasr(), nodes[2].signing->Kid()), nullptr);
  EXPECT_EQ(config->NodeOf(Gasr())->signing_keys.size(), Authority::kKeptSigningKeys);
  // Newest first.
  EXPECT_EQ(config->NodeOf(Gasr())->signing_keys[0]["kid"], nodes[2].signing->Kid());
  // Every certificate ever issued is on record.
  EXPECT_EQ(Count("exchange_authority_certificate"), 3);

  // Registering the same signing key again keeps it once.
  auto again = RequestFor(Token(Gasr()), NewNode(Gasr()));
  again.signing_jwk = nodes[2].signing->PublicJwk();
  ASSERT_TRUE(authority_->Register(again).ok());
  const auto after = Verify(*authority_->SignedConfig());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->NodeOf(Gasr())->signing_keys.size(), 2U);
  EXPECT_NE(after->SigningKey(Gasr(), nodes[1].signing->Kid()), nullptr);
}

TEST_P(AuthorityStoreTest, TheConfigurationIsCachedThenReissuedAndNeverRollsBack) {
  ConfigHolder holder(signer_->Public(), clock_);
  const auto first = authority_->SignedConfig();
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(holder.Install(*first).ok());
  clock_.Advance(options_.reissue_after - 1s);
  EXPECT_EQ(*authority_->SignedConfig(), *first);
  clock_.Advance(1s);
  const auto second = authority_->SignedConfig();
  ASSERT_TRUE(second.ok());
  EXPECT_NE(*second, *first);
  ASSERT_TRUE(holder.Install(*second).ok());

  // With the clock standing still, two registrations and a fetch still give three documents
  // with increasing issue times, which a node installs in turn.
  for (const auto& subsystem : {Gasr(), Gosi()}) {
    auto r = authority_->Register(RequestFor(Token(subsystem), NewNode(subsystem)));
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    const auto installed = holder.Install(r->config_jws);
    EXPECT_TRUE(installed.ok()) << installed.error().ToString();
  }
  auto current = holder.Current();
  ASSERT_TRUE(current.ok());
  EXPECT_TRUE((*current)->NodeOf(Gosi())->tls_sha256.size() == 1);

  // A new authority process over the same database publishes the same nodes.
  auto reopened = OpenAuthority();
  const auto fresh = Verify(*reopened->SignedConfig());
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->NodeOf(Gasr())->tls_sha256, (*current)->NodeOf(Gasr())->tls_sha256);
}

// Two authority processes (each with its own lock) over one database, and many nodes racing to
// use one token: the database alone must let exactly one through.
TEST_P(AuthorityStoreTest, ConcurrentRegistrationsSpendATokenOnce) {
  auto second_authority = OpenAuthority();
  ASSERT_NE(second_authority, nullptr);
  const auto token = Token(Gasr());
  constexpr int kThreads = 8;
  std::vector<NodeMaterial> nodes;
  for (int i = 0; i < kThreads; ++i) nodes.push_back(NewNode(Gasr()));
  std::atomic<int> succeeded{0};
  std::atomic<int> refused{0};
  std::atomic<int> other{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    Authority* authority = i % 2 == 0 ? authority_.get() : second_authority.get();
    threads.emplace_back([&, authority, i] {
      while (!go.load()) std::this_thread::yield();
      const auto r = authority->Register(RequestFor(token, nodes[static_cast<size_t>(i)]));
      if (r.ok()) {
        succeeded++;
      } else if (r.error().code == ErrorCode::kUnauthenticated) {
        refused++;
      } else {
        ADD_FAILURE() << r.error().ToString();
        other++;
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(succeeded.load(), 1);
  EXPECT_EQ(refused.load(), kThreads - 1);
  EXPECT_EQ(Count("exchange_authority_certificate"), 1);
  EXPECT_EQ(Count("exchange_authority_signing_key"), 1);
}

// Different subsystems register at once; each gets its row and the configuration lists all.
TEST_P(AuthorityStoreTest, ConcurrentRegistrationsOfManySubsystems) {
  auto second_authority = OpenAuthority();
  ASSERT_NE(second_authority, nullptr);
  const std::vector<ClientId> subsystems = {Gasr(), Gosi(), Mddic()};
  std::vector<std::string> tokens;
  std::vector<NodeMaterial> nodes;
  for (const auto& s : subsystems) {
    tokens.push_back(Token(s));
    nodes.push_back(NewNode(s));
  }
  std::vector<std::thread> threads;
  for (size_t i = 0; i < subsystems.size(); ++i) {
    Authority* authority = i % 2 == 0 ? authority_.get() : second_authority.get();
    threads.emplace_back([&, authority, i] {
      const auto r = authority->Register(RequestFor(tokens[i], nodes[i]));
      EXPECT_TRUE(r.ok()) << r.error().ToString();
    });
  }
  for (auto& t : threads) t.join();
  // Each process caches what it signed; the other's registrations show once that is re-signed.
  clock_.Advance(options_.reissue_after + 1s);
  const auto config = Verify(*authority_->SignedConfig());
  ASSERT_TRUE(config.ok());
  for (size_t i = 0; i < subsystems.size(); ++i) {
    EXPECT_EQ(config->NodeOf(subsystems[i])->tls_sha256.size(), 1U);
    EXPECT_NE(config->SigningKey(subsystems[i], nodes[i].signing->Kid()), nullptr);
  }
}

}  // namespace ulus::exchange::test
