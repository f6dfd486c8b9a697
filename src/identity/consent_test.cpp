#include "ulus/identity/consent.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "ulus/crypto/encoding.hpp"
#include "ulus/http/problem.hpp"

namespace ulus::identity {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::days;

constexpr auto kStart = std::chrono::sys_days{std::chrono::year{2030} / 3 / 14};
constexpr const char* kIssuer = "https://dan.example.mn";
constexpr const char* kAlice = "УБ90041212";
constexpr const char* kAliceAccount = "0190f1a2-0000-7000-8000-00000000a11c";
constexpr const char* kBob = "УБ85010155";
constexpr const char* kBobAccount = "0190f1a2-0000-7000-8000-000000000b0b";

DataAgreement TaxRefund() {
  DataAgreement a;
  a.controller = "TAX";
  a.purpose = "tax-refund";
  a.lawful_basis = "consent";
  a.data_use = "data_using_service";
  a.dpia = "https://tax.example.mn/dpia/refund";
  a.attributes = {{"person.birth_date", "personal", "civil"}, {"income.total", "", ""}};
  a.period_days = 30;
  return a;
}

class ConsentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ulus-consent-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    store::DatabaseOptions options;
    options.url = "sqlite:" + (dir_ / "dan.db").string();
    auto db = store::Database::Open(options);
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(db).value();
    auto keys = KeyStore::Open(*db_, crypto::MasterKey::Generate(), {}, clock_);
    ASSERT_TRUE(keys.ok()) << keys.error().ToString();
    keys_ = std::move(keys).value();
    auto service = ConsentService::Open(*db_, *keys_, kIssuer, clock_);
    ASSERT_TRUE(service.ok()) << service.error().ToString();
    service_ = std::move(service).value();
    auto made = service_->CreateAgreement(TaxRefund(), "MN/GOV/TAX/refunds");
    ASSERT_TRUE(made.ok()) << made.error().ToString();
    agreement_ = *made;
  }

  void TearDown() override {
    service_.reset();
    keys_.reset();
    db_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  GrantedConsent GrantAlice() {
    auto granted = service_->Grant(kAlice, kAliceAccount, agreement_.id);
    EXPECT_TRUE(granted.ok()) << granted.error().ToString();
    return granted.ok() ? *granted : GrantedConsent{};
  }

  ConsentCheck AliceForTax() const {
    return {.subject = kAlice, .agreement_id = agreement_.id, .purpose = "", .agency = "TAX"};
  }

  fs::path dir_;
  ManualClock clock_{kStart};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<KeyStore> keys_;
  std::unique_ptr<ConsentService> service_;
  DataAgreement agreement_;
};

TEST_F(ConsentTest, AgreementIsStoredWithARevision) {
  auto read = service_->Agreement(agreement_.id);
  ASSERT_TRUE(read.ok()) << read.error().ToString();
  EXPECT_EQ(read->purpose, "tax-refund");
  EXPECT_EQ(read->controller, "TAX");
  EXPECT_EQ(read->attributes, agreement_.attributes);
  EXPECT_EQ(read->period_days, 30);
  EXPECT_EQ(read->revision.schema_name, "DataAgreement");
  EXPECT_EQ(read->revision.object_id, agreement_.id);
  EXPECT_EQ(read->revision.hash.size(), 64U);
  EXPECT_EQ(read->revision.authorized_by_other, "MN/GOV/TAX/refunds");

  auto bad = TaxRefund();
  bad.lawful_basis = "because";
  EXPECT_EQ(service_->CreateAgreement(bad, "x").error().field, "lawfulBasis");
  bad = TaxRefund();
  bad.attributes.clear();
  EXPECT_EQ(service_->CreateAgreement(bad, "x").error().field, "dataAttributes");

  auto other = TaxRefund();
  other.controller = "POLICE";
  ASSERT_TRUE(service_->CreateAgreement(other, "x").ok());
  EXPECT_EQ(service_->Agreements("TAX", 0, 10)->size(), 1U);
  EXPECT_EQ(service_->Agreements("", 0, 10)->size(), 2U);
  EXPECT_EQ(service_->Agreements("", 1, 10)->size(), 1U);
}

TEST_F(ConsentTest, GrantedTokenVerifies) {
  const auto granted = GrantAlice();
  const ConsentRecord& r = granted.record;
  EXPECT_EQ(r.state, ConsentState::kGiven);
  EXPECT_TRUE(r.opt_in);
  EXPECT_EQ(r.individual_id, kAlice);
  EXPECT_EQ(r.agreement_revision_hash, agreement_.revision.hash);
  EXPECT_EQ(r.expires, clock_.Now() + days(30));
  EXPECT_EQ(r.revision.authorized_by_individual, kAlice);

  auto verified = service_->Verify(granted.token, AliceForTax());
  ASSERT_TRUE(verified.ok()) << verified.error().ToString();
  EXPECT_EQ(verified->record.id, r.id);
  EXPECT_EQ(verified->claims["jti"], r.id);
  EXPECT_EQ(verified->claims["iss"], kIssuer);
  EXPECT_EQ(verified->claims["purpose"], "tax-refund");
  EXPECT_EQ(verified->claims["controller"], "TAX");
  EXPECT_EQ(verified->claims["attributes"], json({"person.birth_date", "income.total"}));

  // By purpose instead of agreement id.
  ConsentCheck by_purpose{
      .subject = kAlice, .agreement_id = "", .purpose = "tax-refund", .agency = "TAX"};
  EXPECT_TRUE(service_->Verify(granted.token, by_purpose).ok());
  // A case under the purpose (an application) is covered; a purpose that merely starts alike
  // is not.
  by_purpose.purpose = "tax-refund/2026-0042";
  EXPECT_TRUE(service_->Verify(granted.token, by_purpose).ok());
  by_purpose.purpose = "tax-refunds";
  EXPECT_EQ(service_->Verify(granted.token, by_purpose).error().code, ErrorCode::kPermissionDenied);

  // The header says what the token is and which key signed it.
  const auto dot = granted.token.find('.');
  const auto header = crypto::Base64UrlDecode(granted.token.substr(0, dot));
  ASSERT_TRUE(header.has_value());
  const json h = json::parse(std::string(header->begin(), header->end()));
  EXPECT_EQ(h["typ"], "consent+jwt");
  EXPECT_EQ(h["alg"], "ES256");
  auto jwks = service_->Jwks();
  ASSERT_TRUE(jwks.ok());
  EXPECT_TRUE(jwks->Resolve(h["kid"].get<std::string>()).ok());
}

TEST_F(ConsentTest, WithdrawnConsentNoLongerVerifies) {
  const auto granted = GrantAlice();
  // Bob cannot withdraw Alice's consent, nor learn that it exists.
  EXPECT_EQ(service_->Withdraw(granted.record.id, kBob).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(service_->Verify(granted.token, AliceForTax()).ok());

  clock_.Advance(std::chrono::hours(1));
  auto withdrawn = service_->Withdraw(granted.record.id, kAlice);
  ASSERT_TRUE(withdrawn.ok()) << withdrawn.error().ToString();
  EXPECT_EQ(withdrawn->state, ConsentState::kWithdrawn);
  EXPECT_FALSE(withdrawn->opt_in);
  EXPECT_EQ(withdrawn->withdrawn, clock_.Now());
  EXPECT_EQ(withdrawn->revision.predecessor_hash, granted.record.revision.hash);

  auto verified = service_->Verify(granted.token, AliceForTax());
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(verified.error().message.find("withdrawn"), std::string::npos)
      << verified.error().message;

  // Withdrawing again changes nothing.
  auto again = service_->Withdraw(granted.record.id, kAlice);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->revision.id, withdrawn->revision.id);

  // Consent given anew is a new record; the old token stays dead.
  const auto regranted = GrantAlice();
  EXPECT_NE(regranted.record.id, granted.record.id);
  EXPECT_TRUE(service_->Verify(regranted.token, AliceForTax()).ok());
  EXPECT_FALSE(service_->Verify(granted.token, AliceForTax()).ok());
  auto records = service_->Records(kAlice, 0, 10);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 2U);
  EXPECT_EQ(records->front().id, regranted.record.id);
}

TEST_F(ConsentTest, ExpiredConsentFails) {
  auto granted = service_->Grant(kAlice, kAliceAccount, agreement_.id, 7);
  ASSERT_TRUE(granted.ok()) << granted.error().ToString();
  EXPECT_EQ(granted->record.expires, clock_.Now() + days(7));
  clock_.Advance(days(7) + std::chrono::minutes(2));
  auto verified = service_->Verify(granted->token, AliceForTax());
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(verified.error().message.find("expired"), std::string::npos);

  // A new grant replaces the expired record.
  const auto renewed = GrantAlice();
  EXPECT_NE(renewed.record.id, granted->record.id);
  EXPECT_EQ(service_->Record(granted->record.id)->state, ConsentState::kExpired);
  EXPECT_TRUE(service_->Verify(renewed.token, AliceForTax()).ok());
}

TEST_F(ConsentTest, GrantAgainRenewsTheSameRecord) {
  const auto first = GrantAlice();
  clock_.Advance(days(3));
  const auto second = GrantAlice();
  EXPECT_EQ(second.record.id, first.record.id);
  EXPECT_EQ(second.record.expires, clock_.Now() + days(30));
  EXPECT_EQ(second.record.revision.predecessor_hash, first.record.revision.hash);
  // A period longer than the agreement's is cut to it.
  auto longer = service_->Grant(kAlice, kAliceAccount, agreement_.id, 365);
  ASSERT_TRUE(longer.ok());
  EXPECT_EQ(longer->record.expires, clock_.Now() + days(30));
  EXPECT_EQ(service_->Grant(kAlice, kAliceAccount, agreement_.id, 0).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->Grant(kAlice, kAliceAccount, "no-such-agreement").error().code,
            ErrorCode::kNotFound);
}

TEST_F(ConsentTest, TokenForSomethingElseFails) {
  const auto granted = GrantAlice();
  auto check = AliceForTax();
  check.subject = kBob;
  EXPECT_EQ(service_->Verify(granted.token, check).error().code, ErrorCode::kPermissionDenied);
  check = AliceForTax();
  check.agreement_id = "another-agreement";
  EXPECT_EQ(service_->Verify(granted.token, check).error().code, ErrorCode::kPermissionDenied);
  check = AliceForTax();
  check.purpose = "marketing";
  EXPECT_EQ(service_->Verify(granted.token, check).error().code, ErrorCode::kPermissionDenied);
  check = AliceForTax();
  check.agency = "POLICE";
  auto other_agency = service_->Verify(granted.token, check);
  ASSERT_FALSE(other_agency.ok());
  EXPECT_NE(other_agency.error().message.find("another agency"), std::string::npos);
  check = AliceForTax();
  check.agreement_id.clear();
  EXPECT_EQ(service_->Verify(granted.token, check).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(ConsentTest, TamperedOrForeignTokensFail) {
  const auto granted = GrantAlice();
  // Claims changed to another person, signature kept.
  const auto first_dot = granted.token.find('.');
  const auto second_dot = granted.token.find('.', first_dot + 1);
  auto payload =
      crypto::Base64UrlDecode(granted.token.substr(first_dot + 1, second_dot - first_dot - 1));
  ASSERT_TRUE(payload.has_value());
  json claims = json::parse(std::string(payload->begin(), payload->end()));
  claims["sub"] = kBob;
  const std::string forged = granted.token.substr(0, first_dot + 1) +
                             crypto::Base64UrlEncode(crypto::AsBytes(claims.dump())) +
                             granted.token.substr(second_dot);
  auto check = AliceForTax();
  check.subject = kBob;
  auto tampered = service_->Verify(forged, check);
  ASSERT_FALSE(tampered.ok());
  EXPECT_EQ(tampered.error().code, ErrorCode::kUnauthenticated);

  // The same claims signed by a key that is not the consent key.
  auto other_key =
      keys_->Signer({KeyOwnerKind::kPerson, kBobAccount}, crypto::SignatureAlg::kEs256);
  ASSERT_TRUE(other_key.ok());
  auto foreign = crypto::SignJwt({{"typ", "consent+jwt"}}, claims, **other_key);
  ASSERT_TRUE(foreign.ok());
  EXPECT_EQ(service_->Verify(*foreign, check).error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(service_->Verify("not.a.token", AliceForTax()).error().code,
            ErrorCode::kUnauthenticated);
}

TEST_F(ConsentTest, InactiveAgreementTakesNoConsent) {
  auto closed = TaxRefund();
  closed.active = false;
  auto made = service_->CreateAgreement(closed, "x");
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(service_->Grant(kAlice, kAliceAccount, made->id).error().code,
            ErrorCode::kFailedPrecondition);
}

// ---------------------------------------------------------------------------------------------
// Through the routes, with a test authentication: header "Test-Caller" as
// "individual:<national id>:<account>", "agency:<code>:<client>" or "operator:<account>".

Result<ConsentCaller> TestAuth(const http::Request& request) {
  const std::string text(request.Header("Test-Caller"));
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const auto colon = text.find(':', start);
    parts.push_back(text.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  ConsentCaller c;
  if (parts.size() == 3 && parts[0] == "individual") {
    c.kind = ConsentCaller::Kind::kIndividual;
    c.national_id = parts[1];
    c.account_id = parts[2];
  } else if (parts.size() == 3 && parts[0] == "agency") {
    c.kind = ConsentCaller::Kind::kAgency;
    c.agency = parts[1];
    c.client_id = parts[2];
  } else if (parts.size() == 2 && parts[0] == "operator") {
    c.kind = ConsentCaller::Kind::kOperator;
    c.account_id = parts[1];
  } else {
    return Error{ErrorCode::kUnauthenticated, "who are you?", {}};
  }
  return c;
}

const std::string kAliceCaller = std::string("individual:") + kAlice + ":" + kAliceAccount;
const std::string kBobCaller = std::string("individual:") + kBob + ":" + kBobAccount;
const std::string kTaxCaller = "agency:TAX:MN/GOV/TAX/refunds";
const std::string kPoliceCaller = "agency:POLICE:MN/GOV/POLICE/traffic";

class ConsentApiTest : public ConsentTest {
 protected:
  void SetUp() override {
    ConsentTest::SetUp();
    MountConsentApi(router_, *service_, TestAuth);
  }

  struct Answer {
    int status = 0;
    json body;
  };

  Answer Call(http::Method method, const std::string& target, const std::string& caller,
              const json& body = nullptr) {
    http::BeastRequest message(method, target, 11);
    if (!caller.empty()) message.set("Test-Caller", caller);
    if (!body.is_null()) {
      message.set(http::beast_http::field::content_type, "application/json");
      message.body() = body.dump();
      message.prepare_payload();
    }
    http::Request request(std::move(message), "127.0.0.1");
    const auto match = router_.Find(method, request.path());
    Answer a;
    if (match.handler == nullptr) {
      a.status = match.allowed.empty() ? 404 : 405;
      return a;
    }
    request.SetParams(match.params);
    request.SetRoutePattern(match.pattern);
    auto response = (*match.handler)(request);
    if (!response.ok()) {
      a.status = static_cast<int>(http::StatusFor(response.error().code));
      a.body = {{"detail", response.error().message}};
      return a;
    }
    a.status = static_cast<int>(response->status);
    a.body = json::parse(response->body, nullptr, false);
    return a;
  }

  std::string GrantPath() const {
    return "/service/individual/record/data-agreement/" + agreement_.id + "/";
  }

  http::Router router_;
};

TEST_F(ConsentApiTest, AgreementsAreManagedByTheOperatorAndTheController) {
  const json doc{{"dataAgreement",
                  {{"controller", {{"id", "TAX"}}},
                   {"purpose", "audit"},
                   {"lawfulBasis", "public_task"},
                   {"dpia", "none"},
                   {"dataAttributes", {"income.total"}}}}};
  auto made = Call(http::Method::post, "/config/data-agreement/", kTaxCaller, doc);
  ASSERT_EQ(made.status, 200) << made.body.dump();
  EXPECT_EQ(made.body["dataAgreement"]["controller"]["id"], "TAX");
  EXPECT_EQ(made.body["revision"]["schemaName"], "DataAgreement");
  const std::string id = made.body["dataAgreement"]["id"];

  EXPECT_EQ(Call(http::Method::post, "/config/data-agreement/", kPoliceCaller, doc).status, 403);
  EXPECT_EQ(Call(http::Method::post, "/config/data-agreement/", kAliceCaller, doc).status, 403);
  EXPECT_EQ(Call(http::Method::post, "/config/data-agreement/", "operator:op1", doc).status, 200);
  EXPECT_EQ(Call(http::Method::post, "/config/data-agreement/", "", doc).status, 401);

  EXPECT_EQ(Call(http::Method::get, "/config/data-agreement/" + id + "/", kTaxCaller).status, 200);
  EXPECT_EQ(Call(http::Method::get, "/config/data-agreement/" + id + "/", kPoliceCaller).status,
            404);
  auto listed = Call(http::Method::get, "/config/data-agreements/?limit=10", kPoliceCaller);
  ASSERT_EQ(listed.status, 200);
  EXPECT_TRUE(listed.body["dataAgreements"].empty());
  listed = Call(http::Method::get, "/config/data-agreements/", "operator:op1");
  EXPECT_EQ(listed.body["dataAgreements"].size(), 3U);
  EXPECT_EQ(Call(http::Method::get, "/config/data-agreements/?limit=x", "operator:op1").status,
            400);
  // Anyone signed in reads what they are asked to consent to.
  EXPECT_EQ(Call(http::Method::get, "/service/data-agreement/" + id + "/", kAliceCaller).status,
            200);
}

TEST_F(ConsentApiTest, IndividualsSeeOnlyTheirOwnRecords) {
  auto granted = Call(http::Method::post, GrantPath(), kAliceCaller);
  ASSERT_EQ(granted.status, 200) << granted.body.dump();
  const std::string record_id = granted.body["consentRecord"]["id"];
  const std::string token = granted.body["consentToken"];
  EXPECT_EQ(granted.body["consentRecord"]["individualId"], kAlice);
  EXPECT_EQ(granted.body["consentRecord"]["state"], "given");
  EXPECT_EQ(granted.body["revision"]["objectId"], record_id);
  const std::string record_path = "/service/individual/record/consent-record/" + record_id + "/";

  EXPECT_EQ(Call(http::Method::get, record_path, kAliceCaller).status, 200);
  EXPECT_EQ(Call(http::Method::get, GrantPath(), kAliceCaller).status, 200);
  // Bob gets the answer a missing record gets, for reading and for withdrawing.
  auto bob_read = Call(http::Method::get, record_path, kBobCaller);
  auto missing = Call(http::Method::get,
                      "/service/individual/record/consent-record/no-such-record/", kBobCaller);
  EXPECT_EQ(bob_read.status, 404);
  EXPECT_EQ(missing.status, 404);
  const json withdraw{{"consentRecord", {{"optIn", false}}}};
  EXPECT_EQ(Call(http::Method::put, record_path, kBobCaller, withdraw).status, 404);
  EXPECT_EQ(Call(http::Method::get, GrantPath(), kBobCaller).status, 404);
  auto bobs = Call(http::Method::get, "/service/individual/record/", kBobCaller);
  ASSERT_EQ(bobs.status, 200);
  EXPECT_TRUE(bobs.body["consentRecords"].empty());
  // Agencies do not use the individual routes.
  EXPECT_EQ(Call(http::Method::get, record_path, kTaxCaller).status, 403);

  // The controller checks the token; another agency may not even see the record.
  const json verify{
      {"consentToken", token}, {"individualId", kAlice}, {"dataAgreementId", agreement_.id}};
  auto ok = Call(http::Method::post, "/service/verification/consent-token/", kTaxCaller, verify);
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(ok.body["valid"], true);
  EXPECT_EQ(Call(http::Method::post, "/service/verification/consent-token/", kPoliceCaller, verify)
                .status,
            403);
  EXPECT_EQ(
      Call(http::Method::get, "/service/verification/consent-record/" + record_id + "/", kTaxCaller)
          .status,
      200);
  EXPECT_EQ(Call(http::Method::get, "/service/verification/consent-record/" + record_id + "/",
                 kPoliceCaller)
                .status,
            404);

  // Alice withdraws; the token stops working.
  EXPECT_EQ(
      Call(http::Method::put, record_path, kAliceCaller, json{{"consentRecord", {{"optIn", true}}}})
          .status,
      400);
  auto withdrawn = Call(http::Method::put, record_path, kAliceCaller, withdraw);
  ASSERT_EQ(withdrawn.status, 200) << withdrawn.body.dump();
  EXPECT_EQ(withdrawn.body["consentRecord"]["state"], "withdrawn");
  EXPECT_EQ(withdrawn.body["consentRecord"]["optIn"], false);
  auto refused =
      Call(http::Method::post, "/service/verification/consent-token/", kTaxCaller, verify);
  EXPECT_EQ(refused.status, 403);
  EXPECT_NE(refused.body["detail"].get<std::string>().find("withdrawn"), std::string::npos);

  auto mine = Call(http::Method::get, "/service/individual/record/?offset=0&limit=5", kAliceCaller);
  ASSERT_EQ(mine.status, 200);
  ASSERT_EQ(mine.body["consentRecords"].size(), 1U);
  EXPECT_EQ(mine.body["consentRecords"][0]["state"], "withdrawn");

  auto jwks = Call(http::Method::get, "/service/verification/jwks/", "");
  ASSERT_EQ(jwks.status, 200);
  EXPECT_EQ(jwks.body["keys"].size(), 1U);
}

}  // namespace
}  // namespace ulus::identity
