#include "ulus/exchange/global_config.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/jose.hpp"
#include "ulus/crypto/keys.hpp"

namespace ulus::exchange {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::seconds;

constexpr int64_t kIssued = 1'800'000'000;  // 2027-01-15
const std::string kFingerprint(64, 'a');

TimePoint At(int64_t unix_seconds) {
  return TimePoint(seconds(unix_seconds));
}

ClientId Sub(const std::string& text) {
  auto id = ClientId::Parse(text);
  EXPECT_TRUE(id.ok()) << text;
  return *id;
}

ServiceId Svc(const std::string& text) {
  auto id = ServiceId::Parse(text);
  EXPECT_TRUE(id.ok()) << text;
  return *id;
}

// A small pack like packs/mn: three agencies, one of which (GASR) has two subsystems.
PackExchange SmallPack() {
  PackExchange pack;
  pack.instance = "MN";
  pack.agencies = {
      {"GASR",
       "GOV",
       "GASR",
       "civil-registry",
       "State Registration",
       "https://gasr.example:8443",
       {kFingerprint}},
      {"GASR-ARCHIVE",
       "GOV",
       "GASR",
       "archive",
       "State Registration",
       "https://gasr.example:8444",
       {}},
      {"GOSI", "GOV", "GOSI", "social-insurance", "Social Insurance", "https://gosi.example", {}},
      {"MDDIC", "GOV", "MDDIC", "platform", "e-Mongolia", "https://mddic.example/khur", {}},
  };
  pack.registries = {
      {"person", "GASR", true, true},
      {"address", "GASR", false, true},
      {"social_insurance", "GOSI", true, true},
  };
  pack.rules = {
      {"MN/GOV/GASR/civil-registry", "person", AccessMode::kWrite},
      {"MN/GOV/GASR/civil-registry", "address", AccessMode::kWrite},
      {"MN/GOV/GOSI/social-insurance", "person", AccessMode::kRead},
      {"MN/GOV/GOSI/social-insurance", "social_insurance", AccessMode::kWrite},
      {"MN/GOV/MDDIC/platform", "*", AccessMode::kRead},
      {"MN/GOV/MDDIC/platform", "person", AccessMode::kRead},  // repeated: merges
  };
  return pack;
}

GlobalConfig SmallConfig(const std::string& kid, TimePoint issued = At(kIssued),
                         TimePoint expires = At(kIssued) + hours(24)) {
  auto config = BuildGlobalConfig(SmallPack(), kid, issued, expires);
  EXPECT_TRUE(config.ok()) << config.error().ToString();
  return std::move(config).value();
}

TEST(GlobalConfigBuilder, PublishesEveryRegistryAsAServiceOfItsAgency) {
  const auto config = SmallConfig("k1");
  const auto& c = config.content();
  ASSERT_EQ(c.members.size(), 3u);  // GASR's two subsystems share one member
  EXPECT_EQ(c.members[0].id.ToString(), "MN/GOV/GASR");
  ASSERT_EQ(c.subsystems.size(), 4u);
  ASSERT_EQ(c.services.size(), 3u);
  EXPECT_EQ(c.services[0].id.ToString(), "MN/GOV/GASR/civil-registry/person");
  EXPECT_EQ(c.services[2].id.ToString(), "MN/GOV/GOSI/social-insurance/social-insurance");

  const auto* person = config.FindService(Svc("MN/GOV/GASR/civil-registry/person"));
  ASSERT_NE(person, nullptr);
  EXPECT_TRUE(person->consent_required);
  EXPECT_TRUE(person->subject_required);
  const auto* address = config.FindService(Svc("MN/GOV/GASR/civil-registry/address"));
  ASSERT_NE(address, nullptr);
  EXPECT_FALSE(address->consent_required);
  EXPECT_EQ(config.FindService(Svc("MN/GOV/GASR/civil-registry/vehicle")), nullptr);
  EXPECT_EQ(config.FindService(Svc("MN/GOV/GASR/archive/person")), nullptr);

  // 2 (GASR) + 2 (GOSI) + 3 (platform's "*", the repeated person rule merged)
  EXPECT_EQ(c.access_rights.size(), 7u);
  const auto* node = config.NodeOf(Sub("MN/GOV/GASR/civil-registry"));
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(node->address, "https://gasr.example:8443");
  EXPECT_EQ(node->tls_sha256, std::vector<std::string>{kFingerprint});
  EXPECT_EQ(config.NodeOf(Sub("MN/GOV/GASR/nothing")), nullptr);
}

TEST(GlobalConfigBuilder, WritesUnderscoresOfRegistryCodesAsHyphens) {
  EXPECT_EQ(ServiceCodeForRegistry("household_member"), "household-member");
  EXPECT_EQ(ServiceCodeForRegistry("person"), "person");
  auto pack = SmallPack();
  pack.registries.push_back({"bad code", "GOSI", false, false});
  auto config = BuildGlobalConfig(pack, "k1", At(kIssued), At(kIssued) + hours(1));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().field.rfind("registries[3]", 0), 0u) << config.error().field;
}

TEST(GlobalConfigBuilder, ReadAndWriteRulesMergeIntoOneWriteRight) {
  auto pack = SmallPack();
  pack.rules.push_back({"MN/GOV/MDDIC/platform", "address", AccessMode::kWrite});
  auto config = BuildGlobalConfig(pack, "k1", At(kIssued), At(kIssued) + hours(1));
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_TRUE(
      config->MayWrite(Sub("MN/GOV/MDDIC/platform"), Svc("MN/GOV/GASR/civil-registry/address")));
  EXPECT_FALSE(
      config->MayWrite(Sub("MN/GOV/MDDIC/platform"), Svc("MN/GOV/GASR/civil-registry/person")));
}

TEST(GlobalConfigBuilder, RefusesUnknownAgencyRegistryAndClient) {
  auto pack = SmallPack();
  pack.registries.push_back({"vehicle", "TDC", false, false});
  auto config = BuildGlobalConfig(pack, "k1", At(kIssued), At(kIssued) + hours(1));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().field.rfind("registries[3]", 0), 0u);
  EXPECT_NE(config.error().message.find("TDC"), std::string::npos);

  pack = SmallPack();
  pack.rules.push_back({"MN/GOV/GOSI/social-insurance", "vehicle", AccessMode::kRead});
  config = BuildGlobalConfig(pack, "k1", At(kIssued), At(kIssued) + hours(1));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().field, "rules[6].registry");

  pack = SmallPack();
  pack.rules.push_back({"MN/GOV/TDC/vehicle-registry", "person", AccessMode::kRead});
  config = BuildGlobalConfig(pack, "k1", At(kIssued), At(kIssued) + hours(1));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().field, "access_rights[7].client");
}

TEST(GlobalConfig, MayCallOnlyWhatARightNames) {
  const auto config = SmallConfig("k1");
  const auto person = Svc("MN/GOV/GASR/civil-registry/person");
  EXPECT_TRUE(config.MayCall(Sub("MN/GOV/GOSI/social-insurance"), person));
  EXPECT_FALSE(config.MayWrite(Sub("MN/GOV/GOSI/social-insurance"), person));
  EXPECT_TRUE(config.MayCall(Sub("MN/GOV/MDDIC/platform"), person));
  EXPECT_TRUE(config.MayCall(Sub("MN/GOV/GASR/civil-registry"), person));
  // Another subsystem of the same member has no right by kinship.
  EXPECT_FALSE(config.MayCall(Sub("MN/GOV/GASR/archive"), person));
  // The member itself, without a subsystem, is not the subsystem.
  EXPECT_FALSE(config.MayCall(Sub("MN/GOV/GASR"), person));
  EXPECT_FALSE(config.MayCall(Sub("MN/GOV/GASR/civil-registry"),
                              Svc("MN/GOV/GOSI/social-insurance/social-insurance")));
  EXPECT_FALSE(config.MayCall(Sub("EE/GOV/GOSI/social-insurance"), person));
  // A service with a version is another service.
  EXPECT_FALSE(config.MayCall(Sub("MN/GOV/GOSI/social-insurance"),
                              Svc("MN/GOV/GASR/civil-registry/person/v1")));
}

TEST(GlobalConfig, JsonRoundTrip) {
  const auto config = SmallConfig("k1");
  const json doc = config.ToJson();
  EXPECT_EQ(doc["issued"], "2027-01-15T08:00:00.000Z");
  auto back = GlobalConfig::FromJson(doc);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->ToJson(), doc);
  EXPECT_EQ(back->issued(), config.issued());
  EXPECT_EQ(back->expires(), config.expires());
  EXPECT_TRUE(
      back->MayCall(Sub("MN/GOV/GOSI/social-insurance"), Svc("MN/GOV/GASR/civil-registry/person")));

  json extended = doc;
  extended["future_member"] = {{"anything", 1}};
  EXPECT_TRUE(GlobalConfig::FromJson(extended).ok()) << "unknown members are ignored";
}

// Changes `doc` with `edit` and expects FromJson to refuse it naming `field`.
void ExpectRefused(json doc, const std::function<void(json&)>& edit, const std::string& field,
                   const std::string& words) {
  edit(doc);
  auto config = GlobalConfig::FromJson(doc);
  ASSERT_FALSE(config.ok()) << "expected a refusal at " << field;
  EXPECT_EQ(config.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(config.error().field.rfind(field, 0), 0u)
      << config.error().field << ": " << config.error().message;
  EXPECT_NE(config.error().message.find(words), std::string::npos) << config.error().message;
}

TEST(GlobalConfig, ValidationErrorsNameWhatIsWrong) {
  const json doc = SmallConfig("k1").ToJson();
  ExpectRefused(
      doc, [](json& d) { d.erase("instance"); }, "instance", "must be a string");
  ExpectRefused(
      doc, [](json& d) { d["issued"] = "2027-01-15 08:00:00"; }, "issued", "RFC 3339");
  ExpectRefused(
      doc, [](json& d) { d["expires"] = d["issued"]; }, "expires", "after");
  ExpectRefused(
      doc, [](json& d) { d["members"].push_back(d["members"][0]); }, "members[3].id",
      "listed twice");
  ExpectRefused(
      doc, [](json& d) { d["members"][1]["id"] = "MN/GOV/GOSI/x"; }, "members[1].id",
      "three parts");
  ExpectRefused(
      doc, [](json& d) { d["members"][1]["id"] = "EE/GOV/GOSI"; }, "members[1].id",
      "another instance");
  ExpectRefused(
      doc, [](json& d) { d["subsystems"].push_back(d["subsystems"][1]); }, "subsystems[4].id",
      "listed twice");
  ExpectRefused(
      doc, [](json& d) { d["members"].erase(1); }, "subsystems[2].id", "no listed member");
  ExpectRefused(
      doc, [](json& d) { d["subsystems"][0]["address"] = "http://gasr.example"; },
      "subsystems[0].address", "https");
  ExpectRefused(
      doc, [](json& d) { d["subsystems"][0]["tls_sha256"][0] = "AB:CD"; },
      "subsystems[0].tls_sha256[0]", "64 lowercase hex");
  ExpectRefused(
      doc, [](json& d) { d["services"].push_back(d["services"][0]); }, "services[3].id",
      "listed twice");
  ExpectRefused(
      doc, [](json& d) { d["services"][0]["id"] = "MN/GOV/GASR/nope/person"; }, "services[0].id",
      "no listed subsystem");
  ExpectRefused(
      doc, [](json& d) { d["services"][0]["consent_required"] = "yes"; },
      "services[0].consent_required", "true or false");
  ExpectRefused(
      doc, [](json& d) { d["access_rights"].push_back(d["access_rights"][0]); }, "access_rights[7]",
      "listed twice");
  ExpectRefused(
      doc, [](json& d) { d["access_rights"][0]["service"] = "MN/GOV/GASR/archive/x"; },
      "access_rights[0].service", "not listed");
  ExpectRefused(
      doc, [](json& d) { d["access_rights"][0]["client"] = "MN/GOV/GASR/ghost"; },
      "access_rights[0].client", "no listed subsystem");
  ExpectRefused(
      doc, [](json& d) { d["access_rights"][0]["mode"] = "admin"; }, "access_rights[0].mode",
      "read");
  ExpectRefused(
      doc, [](json& d) { d["access_rights"][0]["client"] = "MN/GOV/A/B/C/D"; },
      "access_rights[0].client", "");
}

class SignedConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = crypto::SigningKey::Generate(crypto::SignatureAlg::kEs256);
    ASSERT_TRUE(key.ok());
    authority_ = std::make_unique<crypto::SigningKey>(std::move(key).value());
    auto other = crypto::SigningKey::Generate(crypto::SignatureAlg::kEs256);
    ASSERT_TRUE(other.ok());
    stranger_ = std::make_unique<crypto::SigningKey>(std::move(other).value());
  }

  std::string Signed(TimePoint issued, TimePoint expires) {
    auto jws = SignGlobalConfig(SmallConfig(authority_->Kid(), issued, expires), *authority_);
    EXPECT_TRUE(jws.ok()) << jws.error().ToString();
    return jws.ok() ? *jws : std::string();
  }

  std::unique_ptr<crypto::SigningKey> authority_;
  std::unique_ptr<crypto::SigningKey> stranger_;
  ManualClock clock_{At(kIssued) + hours(1)};
};

std::vector<std::string> Parts(const std::string& jws) {
  const auto a = jws.find('.');
  const auto b = jws.find('.', a + 1);
  return {jws.substr(0, a), jws.substr(a + 1, b - a - 1), jws.substr(b + 1)};
}

json DecodePart(const std::string& part) {
  const auto bytes = crypto::Base64UrlDecode(part);
  EXPECT_TRUE(bytes.has_value());
  return json::parse(std::string(bytes->begin(), bytes->end()));
}

std::string EncodePart(const json& value) {
  return crypto::Base64UrlEncode(crypto::AsBytes(value.dump()));
}

TEST_F(SignedConfigTest, SignThenVerify) {
  const auto jws = Signed(At(kIssued), At(kIssued) + hours(24));
  const auto header = DecodePart(Parts(jws)[0]);
  EXPECT_EQ(header["typ"], "khur-conf+jwt");
  EXPECT_EQ(header["kid"], authority_->Kid());
  const auto claims = DecodePart(Parts(jws)[1]);
  EXPECT_EQ(claims["iat"], kIssued);
  EXPECT_EQ(claims["exp"], kIssued + 24 * 3600);

  auto config = VerifyGlobalConfig(jws, authority_->Public(), clock_);
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->content().authority_kid, authority_->Kid());
  EXPECT_TRUE(config->MayCall(Sub("MN/GOV/MDDIC/platform"),
                              Svc("MN/GOV/GOSI/social-insurance/social-insurance")));
}

TEST_F(SignedConfigTest, SigningRefusesAConfigNamingAnotherKey) {
  auto jws = SignGlobalConfig(SmallConfig("someone-else"), *authority_);
  ASSERT_FALSE(jws.ok());
  EXPECT_EQ(jws.error().field, "authority_kid");
}

TEST_F(SignedConfigTest, RefusesTamperedPayload) {
  const auto jws = Signed(At(kIssued), At(kIssued) + hours(24));
  auto parts = Parts(jws);
  auto claims = DecodePart(parts[1]);
  claims["access_rights"].push_back({{"client", "MN/GOV/GASR/archive"},
                                     {"service", "MN/GOV/GOSI/social-insurance/social-insurance"},
                                     {"mode", "write"}});
  const auto tampered = parts[0] + "." + EncodePart(claims) + "." + parts[2];
  auto config = VerifyGlobalConfig(tampered, authority_->Public(), clock_);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(config.error().message.find("signature"), std::string::npos);
}

TEST_F(SignedConfigTest, RefusesAnotherKey) {
  auto jws = SignGlobalConfig(SmallConfig(stranger_->Kid()), *stranger_);
  ASSERT_TRUE(jws.ok());
  auto config = VerifyGlobalConfig(*jws, authority_->Public(), clock_);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, ErrorCode::kUnauthenticated);

  // The stranger claims the authority's kid: the signature gives it away.
  auto header_kid = SignGlobalConfig(SmallConfig(stranger_->Kid()), *stranger_);
  auto parts = Parts(*header_kid);
  auto header = DecodePart(parts[0]);
  header["kid"] = authority_->Kid();
  auto claims = DecodePart(parts[1]);
  claims["authority_kid"] = authority_->Kid();
  auto input = EncodePart(header) + "." + EncodePart(claims);
  auto signature = stranger_->Sign(crypto::AsBytes(input));
  ASSERT_TRUE(signature.ok());
  const auto forged = input + "." + crypto::Base64UrlEncode(*signature);
  config = VerifyGlobalConfig(forged, authority_->Public(), clock_);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, ErrorCode::kUnauthenticated);
}

TEST_F(SignedConfigTest, RefusesAlgNone) {
  const auto jws = Signed(At(kIssued), At(kIssued) + hours(24));
  auto parts = Parts(jws);
  const json header = {{"alg", "none"}, {"typ", "khur-conf+jwt"}, {"kid", authority_->Kid()}};
  for (const std::string& signature : {std::string(), parts[2]}) {
    const auto unsigned_jws = EncodePart(header) + "." + parts[1] + "." + signature;
    auto config = VerifyGlobalConfig(unsigned_jws, authority_->Public(), clock_);
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.error().code, ErrorCode::kUnauthenticated);
  }
}

TEST_F(SignedConfigTest, RefusesWrongTypeAndMalformedContent) {
  auto claims = SmallConfig(authority_->Kid()).ToJson();
  claims["iat"] = kIssued;
  claims["exp"] = kIssued + 24 * 3600;
  auto wrong_type = crypto::SignJwt({{"typ", "JWT"}}, claims, *authority_);
  ASSERT_TRUE(wrong_type.ok());
  auto config = VerifyGlobalConfig(*wrong_type, authority_->Public(), clock_);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, ErrorCode::kUnauthenticated);

  claims["services"][0]["id"] = "not a service";
  auto malformed = crypto::SignJwt({{"typ", "khur-conf+jwt"}}, claims, *authority_);
  ASSERT_TRUE(malformed.ok());
  config = VerifyGlobalConfig(*malformed, authority_->Public(), clock_);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(config.error().field.rfind("services[0].id", 0), 0u) << config.error().field;

  config = VerifyGlobalConfig("not.a.token", authority_->Public(), clock_);
  ASSERT_FALSE(config.ok());
}

TEST_F(SignedConfigTest, RefusesExpiredConfigAsFailedPrecondition) {
  const auto jws = Signed(At(kIssued), At(kIssued) + hours(2));
  clock_.Set(At(kIssued) + hours(2));
  auto config = VerifyGlobalConfig(jws, authority_->Public(), clock_);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(config.error().message,
            "the global configuration expired at 2027-01-15T10:00:00.000Z; the node refuses "
            "traffic until it fetches a fresh one");
}

TEST_F(SignedConfigTest, RefusesConfigIssuedFarInTheFuture) {
  const auto jws = Signed(At(kIssued) + hours(3), At(kIssued) + hours(24));
  auto config = VerifyGlobalConfig(jws, authority_->Public(), clock_);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(config.error().field, "issued");
}

TEST_F(SignedConfigTest, HolderInstallsRefusesRollbackAndExpires) {
  ConfigHolder holder(authority_->Public(), clock_);
  auto none = holder.Current();
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kFailedPrecondition);

  const auto first = Signed(At(kIssued), At(kIssued) + hours(4));
  const auto second = Signed(At(kIssued) + hours(1), At(kIssued) + hours(6));
  ASSERT_TRUE(holder.Install(first).ok());
  ASSERT_TRUE(holder.Install(first).ok()) << "re-installing the same document is harmless";
  ASSERT_TRUE(holder.Install(second).ok());
  auto current = holder.Current();
  ASSERT_TRUE(current.ok());
  EXPECT_EQ((*current)->issued(), At(kIssued) + hours(1));

  auto rollback = holder.Install(first);
  ASSERT_FALSE(rollback.ok());
  EXPECT_EQ(rollback.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(rollback.error().message.find("never rolls back"), std::string::npos);

  auto forged = holder.Install(Parts(second)[0] + "." + Parts(second)[1] + ".AAAA");
  EXPECT_FALSE(forged.ok());
  current = holder.Current();
  ASSERT_TRUE(current.ok());
  EXPECT_EQ((*current)->issued(), At(kIssued) + hours(1));

  clock_.Set(At(kIssued) + hours(6) - seconds(1));
  EXPECT_TRUE(holder.Current().ok());
  clock_.Advance(seconds(1));
  auto expired = holder.Current();
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(expired.error().message.find("expired at 2027-01-15T14:00:00.000Z"), std::string::npos);
  // An expired document cannot be installed either; a fresh one brings the node back.
  EXPECT_FALSE(holder.Install(second).ok());
  ASSERT_TRUE(holder.Install(Signed(At(kIssued) + hours(6), At(kIssued) + hours(30))).ok());
  EXPECT_TRUE(holder.Current().ok());
}

TEST_F(SignedConfigTest, HolderIsSafeUnderConcurrentInstallAndRead) {
  ConfigHolder holder(authority_->Public(), clock_);
  std::vector<std::string> documents;
  constexpr int kDocuments = 8;
  for (int i = 0; i < kDocuments; ++i) {
    documents.push_back(Signed(At(kIssued) + seconds(i), At(kIssued) + hours(24)));
  }
  ASSERT_TRUE(holder.Install(documents[0]).ok());
  std::thread reader([&] {
    for (int i = 0; i < 2000; ++i) ASSERT_TRUE(holder.Current().ok());
  });
  std::thread writer([&] {
    for (const auto& doc : documents) (void)holder.Install(doc);
  });
  reader.join();
  writer.join();
  EXPECT_EQ((*holder.Current())->issued(), At(kIssued) + seconds(kDocuments - 1));
}

}  // namespace
}  // namespace ulus::exchange
