#include "ulus/documents/verifier.hpp"

#include <gtest/gtest.h>

#include <map>

#include "ulus/core/id.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/documents/credential.hpp"
#include "ulus/documents/dcc.hpp"

namespace ulus::documents {
namespace {

using nlohmann::json;
using std::chrono::hours;

constexpr auto kDay = hours(24);

// One agency, its key on a trust list signed by an anchor, and a revocation map.
class VerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    now_ = Clock::System().Now();
    agency_key_ = std::make_unique<crypto::SigningKey>(
        crypto::SigningKey::Generate(crypto::SignatureAlg::kEs256).value());
    anchor_ = std::make_unique<crypto::SigningKey>(
        crypto::SigningKey::Generate(crypto::SignatureAlg::kEs256).value());
    trust_.issuer = "https://ulus.test";
    trust_.issued_at = now_;
    trust_.expires_at = now_ + kDay;
    trust_.issuers.push_back(
        {.agency = "GASR",
         .name = "General Authority for State Registration",
         .uri = "https://ulus.test/documents/agencies/GASR",
         .keys = {{.key = agency_key_->Public(),
                   .dcc_kid = crypto::Base64Encode(DccKeyId(agency_key_->Public())),
                   .valid_from = now_ - 30 * kDay,
                   .valid_until = std::nullopt}}});
  }

  Credential Sample() const {
    Credential c;
    c.id = NewUuidV7();
    c.issuer = "https://ulus.test/documents/agencies/GASR";
    c.holder = "urn:ulus:mn:person:УБ99010112";
    c.type = "UlusAddressReference";
    c.name = "Оршин суугаа хаягийн тодорхойлолт";
    c.issued_at = now_ - hours(1);
    c.expires_at = now_ + 90 * kDay;
    c.subject = {{"family_name", "Батболд"}, {"address", "Улаанбаатар, Сүхбаатар дүүрэг"}};
    c.status_url = "https://ulus.test/documents/v1/status/" + c.id;
    return c;
  }

  std::string Sign(const Credential& c, const crypto::Signer& key) const {
    auto jwt = SignCredential(c, key);
    EXPECT_TRUE(jwt.ok()) << jwt.error().message;
    return *jwt;
  }

  Verification Check(std::string_view text, CredentialFetch fetch = {}) {
    Verifier verifier(
        trust_,
        [this](std::string_view id) -> Result<std::optional<Revocation>> {
          const auto it = revoked_.find(std::string(id));
          if (it == revoked_.end()) return std::optional<Revocation>();
          return std::optional<Revocation>(Revocation{std::string(id), it->second, now_});
        },
        std::move(fetch));
    auto result = verifier.Verify(text, now_);
    EXPECT_TRUE(result.ok()) << result.error().message;
    return result.ok() ? *result : Verification{};
  }

  TimePoint now_;
  std::unique_ptr<crypto::SigningKey> agency_key_;
  std::unique_ptr<crypto::SigningKey> anchor_;
  TrustList trust_;
  std::map<std::string, std::string> revoked_;
};

TEST_F(VerifierTest, GenuineCredentialShowsItsFields) {
  const auto c = Sample();
  const auto v = Check(Sign(c, *agency_key_));
  EXPECT_EQ(v.verdict, Verdict::kGenuine) << v.reason;
  EXPECT_EQ(v.format, "vc-jwt");
  EXPECT_EQ(v.document_id, c.id);
  EXPECT_EQ(v.agency, "GASR");
  EXPECT_EQ(v.name, c.name);
  EXPECT_EQ(v.disclosed["family_name"], "Батболд");
  EXPECT_EQ(v.disclosed["holder"], c.holder);
  EXPECT_EQ(v.ToJson()["verdict"], "genuine");
}

TEST_F(VerifierTest, EveryChangedCharacterIsCaught) {
  const std::string jwt = Sign(Sample(), *agency_key_);
  for (size_t i = 0; i < jwt.size(); ++i) {
    if (jwt[i] == '.') continue;
    std::string changed = jwt;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    const auto v = Check(changed);
    EXPECT_EQ(v.verdict, Verdict::kForged) << "position " << i;
  }
}

TEST_F(VerifierTest, UnknownKeyIsForged) {
  auto stranger = crypto::SigningKey::Generate(crypto::SignatureAlg::kEs256).value();
  const auto v = Check(Sign(Sample(), stranger));
  EXPECT_EQ(v.verdict, Verdict::kForged);
  EXPECT_NE(v.reason.find("not on the trust list"), std::string::npos) << v.reason;
}

TEST_F(VerifierTest, SignedAfterTheKeyWasRetiredIsForged) {
  trust_.issuers[0].keys[0].valid_until = now_ - 2 * hours(1);
  const auto v = Check(Sign(Sample(), *agency_key_));  // issued an hour ago
  EXPECT_EQ(v.verdict, Verdict::kForged);
  EXPECT_NE(v.reason.find("not valid"), std::string::npos) << v.reason;
  // A document signed while the key was current still verifies after its retirement.
  auto older = Sample();
  older.issued_at = now_ - 3 * hours(1);
  EXPECT_EQ(Check(Sign(older, *agency_key_)).verdict, Verdict::kGenuine);
}

TEST_F(VerifierTest, SignedBeforeTheKeyExistedIsForged) {
  auto c = Sample();
  c.issued_at = now_ - 31 * kDay;
  EXPECT_EQ(Check(Sign(c, *agency_key_)).verdict, Verdict::kForged);
}

TEST_F(VerifierTest, ClaimingAnotherIssuerIsForged) {
  auto c = Sample();
  c.issuer = "https://ulus.test/documents/agencies/POLICE";
  EXPECT_EQ(Check(Sign(c, *agency_key_)).verdict, Verdict::kForged);
}

TEST_F(VerifierTest, ExpiredAndRevoked) {
  auto c = Sample();
  c.expires_at = now_ - hours(1);
  const auto expired = Check(Sign(c, *agency_key_));
  EXPECT_EQ(expired.verdict, Verdict::kExpired);

  const auto d = Sample();
  revoked_[d.id] = "issued in error";
  const auto revoked = Check(Sign(d, *agency_key_));
  EXPECT_EQ(revoked.verdict, Verdict::kRevoked);
  EXPECT_NE(revoked.reason.find("issued in error"), std::string::npos);
}

TEST_F(VerifierTest, DisclosureShowsOnlyItsFieldsAndFollowsItsDocument) {
  const auto parent = Sample();
  Credential view = parent;
  view.id = NewUuidV7();
  view.type = std::string(kDisclosureType);
  view.holder = "urn:ulus:mn:disclosure:" + view.id;
  view.parent = parent.id;
  view.subject = {{"age_over_18", true}};
  const std::string jwt = Sign(view, *agency_key_);
  auto v = Check(jwt);
  EXPECT_EQ(v.verdict, Verdict::kGenuine) << v.reason;
  EXPECT_TRUE(v.disclosure);
  EXPECT_EQ(v.document_id, parent.id);
  EXPECT_EQ(v.disclosed, (json{{"age_over_18", true}}));
  revoked_[parent.id] = "superseded";
  EXPECT_EQ(Check(jwt).verdict, Verdict::kRevoked);
}

TEST_F(VerifierTest, HealthCertificateVerifiesAndEveryChangeIsCaught) {
  const std::string id = NewUuidV7();
  DccClaims claims{.issuer_country = "MN",
                   .issued_at = now_ - hours(1),
                   .expires_at = now_ + 365 * kDay,
                   .hcert = {{"ver", "1.3.0"},
                             {"nam", {{"fn", "Батболд"}, {"fnt", "BATBOLD"}}},
                             {"dob", "1990-01-01"},
                             {"v", {{{"tg", "840539006"}, {"ci", UvciForDocument("mn", id)}}}}}};
  auto hc1 = EncodeHc1(claims, *agency_key_);
  ASSERT_TRUE(hc1.ok()) << hc1.error().message;
  auto v = Check(*hc1);
  EXPECT_EQ(v.verdict, Verdict::kGenuine) << v.reason;
  EXPECT_EQ(v.format, "dcc");
  EXPECT_EQ(v.document_id, id);
  EXPECT_EQ(v.disclosed["nam"]["fnt"], "BATBOLD");
  for (size_t i = 4; i < hc1->size(); ++i) {
    std::string changed = *hc1;
    changed[i] = changed[i] == '0' ? '1' : '0';
    EXPECT_EQ(Check(changed).verdict, Verdict::kForged) << "position " << i;
  }
  revoked_[id] = "recalled batch";
  EXPECT_EQ(Check(*hc1).verdict, Verdict::kRevoked);
}

TEST_F(VerifierTest, LocatorFetchesAndChecksTheDigest) {
  const auto c = Sample();
  const std::string jwt = Sign(c, *agency_key_);
  const std::string url = "https://ulus.test/documents/v1/credentials/" + c.id;
  const std::string locator = MakeLocator(url, jwt);
  auto fetch_jwt = [&](std::string_view) -> Result<std::optional<std::string>> {
    return std::optional<std::string>(jwt);
  };
  EXPECT_EQ(Check(locator, fetch_jwt).verdict, Verdict::kGenuine);
  const std::string other = Sign(Sample(), *agency_key_);
  auto fetch_other = [&](std::string_view) -> Result<std::optional<std::string>> {
    return std::optional<std::string>(other);
  };
  EXPECT_EQ(Check(locator, fetch_other).verdict, Verdict::kForged);

  Verifier offline(trust_, [](std::string_view) -> Result<std::optional<Revocation>> {
    return std::optional<Revocation>();
  });
  auto result = offline.Verify(locator, now_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(VerifierTest, GarbageIsForgedNotAnError) {
  for (const std::string text : {"", "hello", "HC1:", "HC1:!!!!", "a.b.c", "eyJ.eyJ.x"}) {
    EXPECT_EQ(Check(text).verdict, Verdict::kForged) << text;
  }
}

TEST_F(VerifierTest, TrustListIsPinnedToItsAnchorAndExpires) {
  auto jws = SignTrustList(trust_, *anchor_);
  ASSERT_TRUE(jws.ok());
  auto read = VerifyTrustList(*jws, anchor_->Public(), now_);
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->issuers.size(), 1U);
  EXPECT_EQ(read->issuers[0].keys[0].key.Thumbprint(), agency_key_->Public().Thumbprint());
  EXPECT_EQ(read->issuers[0].keys[0].dcc_kid, trust_.issuers[0].keys[0].dcc_kid);

  // Signed by the agency's key instead of the anchor.
  auto wrong = SignTrustList(trust_, *agency_key_);
  EXPECT_EQ(VerifyTrustList(*wrong, anchor_->Public(), now_).error().code,
            ErrorCode::kUnauthenticated);
  // One changed character.
  std::string changed = *jws;
  changed[changed.size() / 2] = changed[changed.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(VerifyTrustList(changed, anchor_->Public(), now_).ok());
  // Past its expiry.
  EXPECT_EQ(VerifyTrustList(*jws, anchor_->Public(), now_ + 2 * kDay).error().code,
            ErrorCode::kFailedPrecondition);
  // A revocation list is not a trust list.
  RevocationList revocations{.issuer = "https://ulus.test",
                             .issued_at = now_,
                             .expires_at = now_ + kDay,
                             .revoked = {{.document_id = "b", .reason = "x", .at = now_},
                                         {.document_id = "a", .reason = "y", .at = now_}}};
  auto rjws = SignRevocationList(revocations, *anchor_);
  EXPECT_FALSE(VerifyTrustList(*rjws, anchor_->Public(), now_).ok());
  auto rread = VerifyRevocationList(*rjws, anchor_->Public(), now_);
  ASSERT_TRUE(rread.ok());
  ASSERT_NE(rread->Find("a"), nullptr);
  EXPECT_EQ(rread->Find("a")->reason, "y");
  EXPECT_EQ(rread->Find("c"), nullptr);
}

TEST(Uvci, RoundTripsADocumentId) {
  const std::string id = NewUuidV7();
  const std::string uvci = UvciForDocument("mn", id);
  EXPECT_TRUE(uvci.starts_with("URN:UVCI:01:MN:"));
  EXPECT_EQ(DocumentFromUvci(uvci), id);
  EXPECT_EQ(DocumentFromUvci("URN:UVCI:01:MN:XYZ"), std::nullopt);
}

}  // namespace
}  // namespace ulus::documents
