#pragma once

// The documents part's behaviour against a real store, written once and run on each backend:
// documents_service_test.cpp (SQLite) and documents_service_pgtest.cpp (PostgreSQL). Include it
// in exactly one file of a test binary, which defines MakeSuiteDatabase.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/crypto/sealed.hpp"
#include "ulus/documents/credential.hpp"
#include "ulus/documents/dcc.hpp"
#include "ulus/documents/documents.hpp"
#include "ulus/identity/keystore.hpp"
#include "ulus/store/database.hpp"

namespace ulus::documents::test {

using nlohmann::json;
using std::chrono::hours;

// A fresh database for one test: its URL, and whatever must live as long as it.
struct SuiteDatabase {
  std::string url;
  std::shared_ptr<void> keep;
};
// kFailedPrecondition: the backend is not configured here, and the test is skipped.
Result<SuiteDatabase> MakeSuiteDatabase();

inline json AddressClaims(std::string_view national_id = "УБ90010112") {
  return {{"national_id", national_id},
          {"family_name", "Батболд"},
          {"given_name", "Өлзий-Орших"},
          {"birth_date", "1990-01-01"},
          {"address", "Улаанбаатар, Сүхбаатар дүүрэг, 1-р хороо"},
          {"region", "Улаанбаатар"},
          {"registered_since", "2015-06-01"}};
}

inline json VaccinationClaims() {
  return {{"national_id", "УБ90010112"},
          {"family_name", "Батболд"},
          {"given_name", "Өлзий"},
          {"birth_date", "1990-01-01"},
          {"vaccine", "COVID-19"},
          {"disease", "840539006"},
          {"vaccine_type", "1119349007"},
          {"product", "EU/1/20/1528"},
          {"manufacturer", "ORG-100030215"},
          {"dose", 2},
          {"total_doses", 2},
          {"date", "2021-09-01"}};
}

class DocumentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = MakeSuiteDatabase();
    if (!made.ok() && made.error().code == ErrorCode::kFailedPrecondition) {
      GTEST_SKIP() << made.error().message;
    }
    ASSERT_TRUE(made.ok()) << made.error().ToString();
    database_ = std::move(*made);
    store::DatabaseOptions options;
    options.url = database_.url;
    options.max_connections = 8;
    auto db = store::Database::Open(options);
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(*db);
    auto master = crypto::MasterKey::FromBytes(std::vector<uint8_t>(crypto::MasterKey::kSize, 7));
    ASSERT_TRUE(master.ok());
    auto keys = identity::KeyStore::Open(*db_, std::move(*master), {}, clock_);
    ASSERT_TRUE(keys.ok()) << keys.error().ToString();
    keys_ = std::move(*keys);
    auto templates = LoadTemplates(std::filesystem::path(ULUS_PACKS_DIR) / "mn" / "documents");
    ASSERT_TRUE(templates.ok()) << templates.error().ToString();
    DocumentsOptions options_d{
        .origin = "https://ulus.test", .country = "mn", .languages = {"mn", "en"}};
    std::vector<IssuingAgency> agencies = {
        {"GASR", {{"en", "General Authority for State Registration"}, {"mn", "УБЕГ"}}}};
    for (const auto& t : *templates) {  // the pack's other issuing agencies, named by code
      const bool listed = std::any_of(agencies.begin(), agencies.end(),
                                      [&](const IssuingAgency& a) { return a.code == t.agency; });
      if (!listed) agencies.push_back({t.agency, {{"en", t.agency}}});
    }
    auto service =
        DocumentService::Open(*db_, *keys_, std::move(*templates), agencies, options_d, clock_);
    ASSERT_TRUE(service.ok()) << service.error().ToString();
    service_ = std::move(*service);
  }

  IssuedDocument IssueAddress(std::string_view holder = "УБ90010112") {
    IssueRequest request{
        .template_id = "address-reference",
        .holder = std::string(holder),
        .claims = AddressClaims(holder),
        .sources = json::array({{{"registry", "address"}, {"record", "AD-1"}, {"version", 3}}})};
    auto issued = service_->Issue(request, gasr_);
    EXPECT_TRUE(issued.ok()) << issued.error().ToString();
    return issued.ok() ? *issued : IssuedDocument{};
  }

  Verification Verify(std::string_view text) {
    auto v = service_->Verify(text, "api", "127.0.0.1");
    EXPECT_TRUE(v.ok()) << v.error().ToString();
    return v.ok() ? *v : Verification{};
  }

  int64_t Count(std::string_view table) {
    auto conn = db_->Acquire();
    EXPECT_TRUE(conn.ok());
    auto n = (*conn)->QueryInt("SELECT COUNT(*) FROM " + std::string(table));
    EXPECT_TRUE(n.ok());
    return n.ok() ? *n : -1;
  }

  ManualClock clock_{std::chrono::sys_days{std::chrono::year{2026} / 11 / 2} + hours(9)};
  SuiteDatabase database_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<identity::KeyStore> keys_;
  std::unique_ptr<DocumentService> service_;
  const Actor gasr_{.agency = "GASR", .who = "client:demo-backend"};
  const Actor gosi_{.agency = "GOSI", .who = "client:gosi-backend"};
};

TEST_F(DocumentsTest, IssuedDocumentIsRecordedAndVerifiesAsGenuine) {
  const auto d = IssueAddress();
  EXPECT_EQ(d.agency, "GASR");
  EXPECT_EQ(d.template_version, "1");
  ASSERT_TRUE(d.expires_at.has_value());
  EXPECT_EQ(*d.expires_at - d.issued_at, std::chrono::days(30));
  auto found = service_->Find(d.id);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->credential, d.credential);
  EXPECT_EQ((*found)->issued_by, "client:demo-backend");
  EXPECT_EQ((*found)->sources[0]["record"], "AD-1");
  const auto v = Verify(d.credential);
  EXPECT_EQ(v.verdict, Verdict::kGenuine) << v.reason;
  EXPECT_EQ(v.document_id, d.id);
  EXPECT_EQ(v.agency, "GASR");
  EXPECT_EQ(v.disclosed["given_name"], "Өлзий-Орших");
}

TEST_F(DocumentsTest, WrongAgencyOrBadClaimsIssueNothing) {
  IssueRequest request{
      .template_id = "address-reference", .holder = "УБ90010112", .claims = AddressClaims()};
  EXPECT_EQ(service_->Issue(request, gosi_).error().code, ErrorCode::kPermissionDenied);
  auto missing = request;
  missing.claims.erase("address");
  EXPECT_EQ(service_->Issue(missing, gasr_).error().field, "claims.address");
  auto unknown = request;
  unknown.claims["favourite_colour"] = "blue";
  EXPECT_EQ(service_->Issue(unknown, gasr_).error().code, ErrorCode::kInvalidArgument);
  auto bad_date = request;
  bad_date.claims["birth_date"] = "1990-02-30";
  EXPECT_EQ(service_->Issue(bad_date, gasr_).error().field, "claims.birth_date");
  auto someone_else = request;
  someone_else.holder = "УБ00000000";  // the claims name УБ90010112
  EXPECT_EQ(service_->Issue(someone_else, gasr_).error().field, "holder");
  auto no_template = request;
  no_template.template_id = "nothing";
  EXPECT_FALSE(service_->Issue(no_template, gasr_).ok());
  EXPECT_EQ(Count("doc_document"), 0);
}

TEST_F(DocumentsTest, RevocationIsSeenAtOnceAndListed) {
  const auto d = IssueAddress();
  // Another agency cannot revoke it, and learns nothing of it.
  EXPECT_EQ(service_->Revoke(d.id, "not ours", gosi_).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->Revoke(d.id, "", gasr_).error().code, ErrorCode::kInvalidArgument);
  ASSERT_TRUE(service_->Revoke(d.id, "address changed", gasr_).ok());
  EXPECT_EQ(service_->Revoke(d.id, "again", gasr_).error().code, ErrorCode::kConflict);
  const auto v = Verify(d.credential);
  EXPECT_EQ(v.verdict, Verdict::kRevoked);
  EXPECT_NE(v.reason.find("address changed"), std::string::npos);

  auto anchor = service_->TrustAnchor();
  ASSERT_TRUE(anchor.ok());
  auto jws = service_->RevocationListJws();
  ASSERT_TRUE(jws.ok());
  auto list = VerifyRevocationList(*jws, *anchor, clock_.Now());
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  ASSERT_NE(list->Find(d.id), nullptr);
  EXPECT_EQ(list->Find(d.id)->reason, "address changed");
}

TEST_F(DocumentsTest, ExpiredAfterItsValidity) {
  const auto d = IssueAddress();
  clock_.Advance(std::chrono::days(31));
  EXPECT_EQ(Verify(d.credential).verdict, Verdict::kExpired);
  EXPECT_EQ(service_->Disclose(d.id, "УБ90010112", {"given_name"}, {}).error().code,
            ErrorCode::kFailedPrecondition);
}

TEST_F(DocumentsTest, RotatedKeysKeepOldDocumentsAndRevokedKeysForgeAll) {
  const auto before = IssueAddress();
  clock_.Advance(hours(1));
  // Published in the JWKS for one hour only: documents live longer than a JWKS entry.
  ASSERT_TRUE(keys_
                  ->Rotate({identity::KeyOwnerKind::kAgency, "GASR"}, crypto::SignatureAlg::kEs256,
                           std::chrono::hours(1))
                  .ok());
  clock_.Advance(std::chrono::seconds(2));
  const auto after = IssueAddress();
  EXPECT_NE(before.kid, after.kid);
  clock_.Advance(std::chrono::days(2));
  EXPECT_EQ(Verify(before.credential).verdict, Verdict::kGenuine);
  EXPECT_EQ(Verify(after.credential).verdict, Verdict::kGenuine);

  // The trust list says when the old key stopped signing.
  auto anchor = service_->TrustAnchor();
  clock_.Advance(std::chrono::minutes(2));
  auto list = VerifyTrustList(*service_->TrustListJws(), *anchor, clock_.Now());
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  const auto [issuer, old_key] = list->FindKey(before.kid);
  ASSERT_NE(old_key, nullptr);
  EXPECT_TRUE(old_key->valid_until.has_value());

  // A compromised key is withdrawn: what it signed is no longer trusted.
  ASSERT_TRUE(keys_->Revoke({identity::KeyOwnerKind::kAgency, "GASR"}, before.kid).ok());
  clock_.Advance(std::chrono::minutes(2));
  const auto v = Verify(before.credential);
  EXPECT_EQ(v.verdict, Verdict::kForged);
}

TEST_F(DocumentsTest, DisclosureShowsOnlyWhatTheHolderChose) {
  const auto d = IssueAddress();
  auto view = service_->Disclose(d.id, "УБ90010112", {"given_name"}, {"age_over_18"});
  ASSERT_TRUE(view.ok()) << view.error().ToString();
  const auto v = Verify(view->credential);
  EXPECT_EQ(v.verdict, Verdict::kGenuine) << v.reason;
  EXPECT_TRUE(v.disclosure);
  EXPECT_EQ(v.document_id, d.id);
  EXPECT_EQ(v.disclosed, (json{{"given_name", "Өлзий-Орших"}, {"age_over_18", true}}));
  // The disclosure's JWT carries neither the national ID nor the other fields.
  auto parsed = ParseJws(view->credential);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->payload.dump().find("УБ90010112"), std::string::npos);
  EXPECT_EQ(parsed->payload.dump().find("Сүхбаатар"), std::string::npos);

  // Another person cannot disclose it; unknown fields and predicates are refused.
  EXPECT_EQ(service_->Disclose(d.id, "УБ00000000", {"given_name"}, {}).error().code,
            ErrorCode::kNotFound);
  EXPECT_FALSE(service_->Disclose(d.id, "УБ90010112", {"salary"}, {}).ok());
  EXPECT_FALSE(service_->Disclose(d.id, "УБ90010112", {}, {"rich"}).ok());

  // The holder withdraws it; revoking the document also ends every disclosure.
  auto second = service_->Disclose(d.id, "УБ90010112", {"region"}, {});
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(service_->WithdrawDisclosure(view->id, "УБ90010112").ok());
  EXPECT_EQ(Verify(view->credential).verdict, Verdict::kRevoked);
  EXPECT_EQ(Verify(second->credential).verdict, Verdict::kGenuine);
  ASSERT_TRUE(service_->Revoke(d.id, "moved house", gasr_).ok());
  EXPECT_EQ(Verify(second->credential).verdict, Verdict::kRevoked);
}

TEST_F(DocumentsTest, HolderSeesHowOftenEachDocumentWasVerified) {
  const auto a = IssueAddress();
  const auto b = IssueAddress();
  IssueAddress("УБ00000000");  // someone else's
  for (int i = 0; i < 3; ++i) Verify(a.credential);
  Verify("forged.text.here");
  auto mine = service_->ForHolder("УБ90010112", 10, 0);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 2U);
  for (const auto& d : *mine) EXPECT_EQ(d.verifications, d.id == a.id ? 3 : 0) << d.id;
  auto records = service_->Verifications(a.id, 10);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 3U);
  EXPECT_EQ((*records)[0].channel, "api");
  EXPECT_EQ((*records)[0].remote, "127.0.0.1");
  EXPECT_EQ((*records)[0].verdict, "genuine");
  EXPECT_EQ(Count("doc_verification"), 4);  // the forged one too
  (void)b;
}

TEST_F(DocumentsTest, TheHolderSeesTheAgencysReads) {
  const auto d = IssueAddress();
  ASSERT_TRUE(
      service_->RecordAccess(d.id, "officer:0190f1a2-0000-7000-8000-00000000a11c", "read").ok());
  clock_.Advance(std::chrono::seconds(5));
  ASSERT_TRUE(service_->RecordAccess(d.id, "client:demo-backend", "pdf").ok());
  auto reads = service_->Accesses(d.id, 10);
  ASSERT_TRUE(reads.ok()) << reads.error().ToString();
  ASSERT_EQ(reads->size(), 2U);
  EXPECT_EQ((*reads)[0].who, "client:demo-backend");  // newest first
  EXPECT_EQ((*reads)[0].action, "pdf");
  EXPECT_EQ((*reads)[1].action, "read");
  EXPECT_TRUE(service_->Accesses(IssueAddress().id, 10)->empty());
}

TEST_F(DocumentsTest, VaccinationAlsoComesAsAnEuDcc) {
  // A trust list cached before HDC's first document must not call that document forged.
  EXPECT_EQ(Verify(IssueAddress().credential).verdict, Verdict::kGenuine);
  IssueRequest request{.template_id = "vaccination-certificate",
                       .holder = "УБ90010112",
                       .claims = VaccinationClaims()};
  auto d = service_->Issue(request, {.agency = "HDC", .who = "client:health-backend"});
  ASSERT_TRUE(d.ok()) << d.error().ToString();
  ASSERT_TRUE(d->hc1.starts_with("HC1:"));
  auto parsed = ParseHc1(d->hc1);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->claims.issuer_country, "MN");
  EXPECT_EQ(parsed->claims.hcert["nam"]["fnt"], "BATBOLD");
  EXPECT_EQ(parsed->claims.hcert["v"][0]["dn"], 2);
  EXPECT_EQ(parsed->claims.hcert["v"][0]["co"], "MN");
  const auto v = Verify(d->hc1);
  EXPECT_EQ(v.verdict, Verdict::kGenuine) << v.reason;
  EXPECT_EQ(v.document_id, d->id);
  ASSERT_TRUE(service_->Revoke(d->id, "recalled batch", {.agency = "HDC", .who = "x"}).ok());
  EXPECT_EQ(Verify(d->hc1).verdict, Verdict::kRevoked);
}

TEST_F(DocumentsTest, PdfCarriesTheCredentialInItsCode) {
  const auto d = IssueAddress();
  auto pdf = service_->Pdf(d, "mn");
  ASSERT_TRUE(pdf.ok()) << pdf.error().ToString();
  EXPECT_TRUE(pdf->starts_with("%PDF-"));
  EXPECT_EQ(service_->QrPayload(d), d.credential);
}

TEST_F(DocumentsTest, ARetryWithTheSameIdempotencyKeyGetsTheSameDocument) {
  IssueRequest request{.template_id = "address-reference",
                       .holder = "УБ90010112",
                       .claims = AddressClaims(),
                       .idempotency_key = "gasr-request-42"};
  auto first = service_->Issue(request, gasr_);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_FALSE(first->replayed);
  auto again = service_->Issue(request, gasr_);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->id, first->id);
  EXPECT_EQ(again->credential, first->credential);
  // The same key for another request is a conflict; another agency's keys are its own.
  auto other = request;
  other.claims["address"] = "Дархан";
  EXPECT_EQ(service_->Issue(other, gasr_).error().code, ErrorCode::kConflict);
  EXPECT_EQ(Count("doc_document"), 1);

  // Six retries racing with one key make one document.
  request.idempotency_key = "gasr-request-43";
  std::vector<std::thread> threads;
  std::vector<std::string> ids(6);
  for (size_t t = 0; t < ids.size(); ++t) {
    threads.emplace_back([&, t] {
      auto issued = service_->Issue(request, gasr_);
      if (issued.ok()) ids[t] = issued->id;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_EQ(Count("doc_document"), 2);
}

TEST_F(DocumentsTest, ConcurrentIssuesAreAllRecorded) {
  constexpr int kThreads = 6;
  constexpr int kEach = 20;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        IssueRequest request{
            .template_id = "address-reference", .holder = "УБ90010112", .claims = AddressClaims()};
        if (!service_->Issue(request, gasr_).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Count("doc_document"), kThreads * kEach);
}

}  // namespace ulus::documents::test
