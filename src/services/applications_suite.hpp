#pragma once

// Applications against a real store, written once and run on each backend:
// applications_test.cpp (SQLite) and applications_pgtest.cpp (PostgreSQL). Include it in exactly
// one file of a test binary, which defines MakeSuiteDatabase. Registry data comes from an
// in-memory exchange that answers as Khur's client interface would and records every read; the
// real Khur path is checked end to end by tests/services.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/crypto/sealed.hpp"
#include "ulus/documents/documents.hpp"
#include "ulus/identity/keystore.hpp"
#include "ulus/services/applications.hpp"
#include "ulus/store/database.hpp"

namespace ulus::services::test {

using nlohmann::json;
using std::chrono::days;
using std::chrono::sys_days;

struct SuiteDatabase {
  std::string url;
  std::shared_ptr<void> keep;
};
// kFailedPrecondition: the backend is not configured here, and the test is skipped.
Result<SuiteDatabase> MakeSuiteDatabase();

constexpr char kAdult[] = "УБ85010112";
constexpr char kOther[] = "УБ90020233";
constexpr char kMinor[] = "УБ15030344";
constexpr char kNoAddress[] = "УБ80040455";

// Registry data as Khur would serve it: records by registry, looked up by one field.
class FakeExchange final : public DataExchange {
 public:
  Result<Pulled> Pull(const PullRequest& request) override {
    std::function<void()> hook;
    {
      std::lock_guard lock(mutex_);
      hook = std::exchange(on_pull_, nullptr);
    }
    if (hook) hook();  // something else happens while the registries are read
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
    if (down_) return Error::Unavailable("the node did not answer");
    Pulled out;
    out.x_road_id = "xr-" + std::to_string(requests_.size());
    for (const auto& record : records_[request.registry->name]) {
      if (record.value(request.field, json()) == json(request.value)) out.records.push_back(record);
    }
    return out;
  }
  void Add(const std::string& registry, json record) {
    std::lock_guard lock(mutex_);
    records_[registry].push_back(std::move(record));
  }
  void SetDown(bool down) {
    std::lock_guard lock(mutex_);
    down_ = down;
  }
  std::vector<PullRequest> Requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  void OnNextPull(std::function<void()> hook) {
    std::lock_guard lock(mutex_);
    on_pull_ = std::move(hook);
  }
  void ClearRequests() {
    std::lock_guard lock(mutex_);
    requests_.clear();
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::vector<json>> records_;
  std::vector<PullRequest> requests_;
  bool down_ = false;
  std::function<void()> on_pull_;
};

inline std::vector<RegistrySource> Registries() {
  RegistrySource person{.name = "person",
                        .provider = "MN/GOV/GASR/civil-registry",
                        .subject_field = "id",
                        .refs = {{"address", "address"}},
                        .field_types = {{"id", "string"},
                                        {"family_name", "string"},
                                        {"given_name", "string"},
                                        {"sex", "string"},
                                        {"birth_date", "date"},
                                        {"citizenship", "string"},
                                        {"address", "string"}}};
  RegistrySource address{.name = "address",
                         .provider = "MN/GOV/GASR/civil-registry",
                         .field_types = {{"id", "string"},
                                         {"street", "string"},
                                         {"locality", "string"},
                                         {"region", "string"},
                                         {"since", "date"}}};
  RegistrySource vehicle{
      .name = "vehicle",
      .provider = "MN/GOV/TDC/vehicle-registry",
      .subject_field = "owner",
      .field_types = {
          {"id", "string"}, {"owner", "string"}, {"plate", "string"}, {"make", "string"}}};
  RegistrySource health{.name = "health",
                        .provider = "MN/GOV/HDC/health-registry",
                        .subject_field = "person",
                        .field_types = {{"id", "string"}, {"person", "string"}},
                        .consent_required = true};
  return {person, address, vehicle, health};
}

inline Translations En(std::string text) {
  return {{"en", std::move(text)}};
}

inline std::vector<ServiceDefinition> Services() {
  ServiceDefinition address{.id = "address-reference",
                            .agency = "GASR",
                            .title = En("Reference of registered address"),
                            .data = {"person", "address"},
                            .document = "address-reference",
                            .claims = {{"national_id", "person.id"},
                                       {"family_name", "person.family_name"},
                                       {"given_name", "person.given_name"},
                                       {"birth_date", "person.birth_date"},
                                       {"address", "{address.street}, {address.locality}"},
                                       {"region", "address.region"},
                                       {"registered_since", "address.since"}}};
  address.applicants = Applicants::kAdult;
  ServiceDefinition vehicles{.id = "vehicle-reference",
                             .agency = "TDC",
                             .title = En("Vehicles"),
                             .data = {"person", "vehicle"},
                             .document = "vehicle-reference",
                             .optional_data = {"vehicle"},
                             .claims = {{"national_id", "person.id"},
                                        {"family_name", "person.family_name"},
                                        {"given_name", "person.given_name"},
                                        {"vehicle_count", "count:vehicle"},
                                        {"vehicles", "{vehicle.plate} {vehicle.make}"}}};
  ServiceDefinition criminal{.id = "criminal-record-reference",
                             .agency = "POLICE",
                             .title = En("Criminal record"),
                             .data = {"person"},
                             .workflow = WorkflowKind::kReview,
                             .deadline_days = 5,
                             .document = "criminal-record-reference",
                             .form = {{.name = "purpose", .label = En("For whom")}},
                             .claims = {{"national_id", "person.id"},
                                        {"family_name", "person.family_name"},
                                        {"given_name", "person.given_name"},
                                        {"birth_date", "person.birth_date"},
                                        {"has_record", "officer"},
                                        {"details", "officer"},
                                        {"checked_on", "application.date"}}};
  ServiceDefinition health{.id = "health-summary",
                           .agency = "GASR",
                           .title = En("Personal reference with health data"),
                           .data = {"person", "health"},
                           .document = "personal-reference",
                           .claims = {{"national_id", "person.id"},
                                      {"family_name", "person.family_name"},
                                      {"given_name", "person.given_name"},
                                      {"sex", "person.sex"},
                                      {"birth_date", "person.birth_date"},
                                      {"citizenship", "person.citizenship"}}};
  return {address, vehicles, criminal, health};
}

class ApplicationsTest : public ::testing::Test {
 protected:
  // Monday 21 December 2026; Friday the 25th is a day off in this test's calendar.
  static TimePoint Start() {
    return sys_days(std::chrono::year_month_day(std::chrono::year(2026), std::chrono::December,
                                                std::chrono::day(21))) +
           std::chrono::hours(3);
  }
  static sys_days Day(unsigned month_day) {
    return sys_days(std::chrono::year_month_day(std::chrono::year(2026), std::chrono::December,
                                                std::chrono::day(month_day)));
  }

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
    auto templates =
        documents::LoadTemplates(std::filesystem::path(ULUS_PACKS_DIR) / "mn" / "documents");
    ASSERT_TRUE(templates.ok()) << templates.error().ToString();
    std::vector<documents::IssuingAgency> agencies;
    for (const auto& t : *templates) {
      const bool listed = std::any_of(agencies.begin(), agencies.end(),
                                      [&](const auto& a) { return a.code == t.agency; });
      if (!listed) agencies.push_back({t.agency, {{"en", t.agency}}});
    }
    auto docs = documents::DocumentService::Open(
        *db_, *keys_, std::move(*templates), agencies,
        {.origin = "https://ulus.test", .country = "mn", .languages = {"mn", "en"}}, clock_);
    ASSERT_TRUE(docs.ok()) << docs.error().ToString();
    documents_ = std::move(*docs);
    auto catalogue = Catalogue::Build(Services(), {}, {"GASR", "TDC", "POLICE"});
    ASSERT_TRUE(catalogue.ok()) << catalogue.error().ToString();
    catalogue_ = std::move(*catalogue);

    AddPerson(kAdult, "1985-01-01", "AD-1");
    AddPerson(kOther, "1990-02-02", "AD-2");
    AddPerson(kMinor, "2015-03-03", "AD-1");
    AddPerson(kNoAddress, "1980-04-04", "");
    exchange_.Add("address", {{"id", "AD-1"},
                              {"street", "Энхтайваны өргөн чөлөө 5"},
                              {"locality", "Улаанбаатар"},
                              {"region", "11"},
                              {"since", "2015-06-01"}});
    exchange_.Add("address", {{"id", "AD-2"},
                              {"street", "Сөүлийн гудамж 2"},
                              {"locality", "Улаанбаатар"},
                              {"region", "11"},
                              {"since", "2019-09-09"}});
    exchange_.Add("vehicle",
                  {{"id", "V-1"}, {"owner", kAdult}, {"plate", "1234УБА"}, {"make", "Toyota"}});
    exchange_.Add("vehicle",
                  {{"id", "V-2"}, {"owner", kAdult}, {"plate", "5678УНА"}, {"make", "Hyundai"}});
    exchange_.Add("health", {{"id", "H-1"}, {"person", kAdult}});
    Open();
  }

  void Open(ApplicationsOptions options = {}) {
    service_.reset();
    DeskMessaging desk{.phone_of = [](std::string_view national_id) -> Result<std::string> {
                         if (national_id == kNoAddress) {
                           return Error{ErrorCode::kFailedPrecondition, "no phone", "nationalId"};
                         }
                         return std::string("+97699112233");
                       },
                       .send_sms = [this](std::string_view phone, std::string_view text) -> Status {
                         std::lock_guard lock(sms_mutex_);
                         sms_.emplace_back(std::string(phone), std::string(text));
                         return Ok();
                       }};
    auto service = ApplicationService::Open(*db_, *catalogue_, *documents_, exchange_, Registries(),
                                            WorkingDays({6, 7}, {Day(25)}), std::move(desk),
                                            std::move(options), clock_);
    ASSERT_TRUE(service.ok()) << service.error().ToString();
    service_ = std::move(*service);
  }

  void AddPerson(const std::string& id, const std::string& birth, const std::string& address) {
    json person = {{"id", id},   {"family_name", "Батын"}, {"given_name", "Сараа"},
                   {"sex", "F"}, {"birth_date", birth},    {"citizenship", "MN"}};
    if (!address.empty()) person["address"] = address;
    exchange_.Add("person", person);
  }

  static Actor Citizen(std::string national_id, std::string account) {
    return {.account = std::move(account), .national_id = std::move(national_id)};
  }
  static Actor Officer(std::string agency, std::string account = "officer-1",
                       std::string national_id = "УБ70010199") {
    return {.account = std::move(account),
            .national_id = std::move(national_id),
            .officer_of = {std::move(agency)}};
  }

  Application Apply(const std::string& service, const Actor& who, json form = json::object(),
                    std::string key = {}) {
    auto a = service_->Submit(
        {.service = service, .form = std::move(form), .idempotency_key = std::move(key)}, who);
    EXPECT_TRUE(a.ok()) << a.error().ToString();
    return a.ok() ? *a : Application{};
  }

  Application Do(const Application& a, std::string action, const Actor& who,
                 std::string comment = {}, json claims = json::object()) {
    auto done = service_->Act(
        a.id,
        {.name = std::move(action), .comment = std::move(comment), .claims = std::move(claims)},
        who);
    EXPECT_TRUE(done.ok()) << done.error().ToString();
    return done.ok() ? *done : a;
  }

  int64_t Count(std::string_view sql) {
    auto conn = db_->Acquire();
    EXPECT_TRUE(conn.ok());
    auto n = (*conn)->QueryInt(sql);
    EXPECT_TRUE(n.ok()) << n.error().ToString();
    return n.ok() ? *n : -1;
  }

  std::string LastCode() {
    std::lock_guard lock(sms_mutex_);
    if (sms_.empty()) return {};
    const auto& text = sms_.back().second;
    const auto colon = text.find("code: ");
    return colon == std::string::npos ? std::string() : text.substr(colon + 6, 6);
  }

  json Claims(const std::string& document_id) {
    auto found = documents_->Find(document_id);
    EXPECT_TRUE(found.ok() && found->has_value());
    if (!found.ok() || !found->has_value()) return {};
    auto verified = documents_->Verify((*found)->credential, "api", "127.0.0.1");
    EXPECT_TRUE(verified.ok() && verified->verdict == documents::Verdict::kGenuine);
    return verified.ok() ? verified->disclosed : json();
  }

  SuiteDatabase database_;
  ManualClock clock_{Start()};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<identity::KeyStore> keys_;
  std::unique_ptr<documents::DocumentService> documents_;
  std::unique_ptr<Catalogue> catalogue_;
  FakeExchange exchange_;
  std::unique_ptr<ApplicationService> service_;
  std::mutex sms_mutex_;
  std::vector<std::pair<std::string, std::string>> sms_;
  const Actor citizen_ = Citizen(kAdult, "acct-adult");
  const Actor other_ = Citizen(kOther, "acct-other");
};

TEST_F(ApplicationsTest, AutomaticServiceFinishesInOneRequestWithASignedDocument) {
  const auto a = Apply("address-reference", citizen_);
  ASSERT_EQ(a.state, ApplicationState::kCompleted) << a.reason;
  ASSERT_FALSE(a.document.empty());
  const json claims = Claims(a.document);
  EXPECT_EQ(claims.value("national_id", ""), kAdult);
  EXPECT_EQ(claims.value("address", ""), "Энхтайваны өргөн чөлөө 5, Улаанбаатар");
  EXPECT_EQ(claims.value("registered_since", ""), "2015-06-01");
  // Each read names the applicant as subject and the application as purpose, as the citizen.
  const auto reads = exchange_.Requests();
  ASSERT_EQ(reads.size(), 2u);
  EXPECT_EQ(reads[0].registry->name, "person");
  EXPECT_EQ(reads[1].registry->name, "address");
  EXPECT_EQ(reads[1].value, "AD-1");  // found through person.address
  for (const auto& r : reads) {
    EXPECT_EQ(r.subject, kAdult);
    EXPECT_EQ(r.purpose, "services:address-reference/" + a.id);
    EXPECT_EQ(r.user_id, "citizen");
    EXPECT_TRUE(r.consent_token.empty());
  }
  ASSERT_EQ(a.sources.size(), 2u);
  EXPECT_EQ(a.sources[1]["record"], "AD-1");
  // The document records where its claims came from.
  auto document = documents_->Find(a.document);
  ASSERT_TRUE(document.ok() && document->has_value());
  EXPECT_EQ((*document)->sources, a.sources);
  EXPECT_EQ((*document)->issued_by, "service:address-reference");
  // The applicant's inbox got both changes.
  auto notices = service_->Notices(citizen_, false, 10, 0);
  ASSERT_TRUE(notices.ok());
  ASSERT_EQ(notices->size(), 2u);
  EXPECT_EQ((*notices)[0].kind, "complete");
  EXPECT_EQ((*notices)[1].kind, "submit");
}

TEST_F(ApplicationsTest, SeveralRecordsAreListedAndCounted) {
  const auto a = Apply("vehicle-reference", citizen_);
  ASSERT_EQ(a.state, ApplicationState::kCompleted) << a.reason;
  const json claims = Claims(a.document);
  EXPECT_EQ(claims.value("vehicle_count", -1), 2);
  EXPECT_EQ(claims.value("vehicles", ""), "1234УБА Toyota; 5678УНА Hyundai");
  // An optional registry with nothing about the person still gives a document.
  const auto none = Apply("vehicle-reference", other_);
  ASSERT_EQ(none.state, ApplicationState::kCompleted) << none.reason;
  EXPECT_EQ(Claims(none.document).value("vehicle_count", -1), 0);
  EXPECT_FALSE(Claims(none.document).contains("vehicles"));
}

TEST_F(ApplicationsTest, RegistriesThatSayNoRejectWithTheReason) {
  const auto no_address = Apply("address-reference", Citizen(kNoAddress, "acct-4"));
  EXPECT_EQ(no_address.state, ApplicationState::kRejected);
  EXPECT_NE(no_address.reason.find("address"), std::string::npos) << no_address.reason;
  EXPECT_TRUE(no_address.document.empty());
  const auto minor = Apply("address-reference", Citizen(kMinor, "acct-3"));
  EXPECT_EQ(minor.state, ApplicationState::kRejected);
  EXPECT_NE(minor.reason.find("adults"), std::string::npos) << minor.reason;
  EXPECT_EQ(Count("SELECT COUNT(*) FROM doc_document"), 0);
}

TEST_F(ApplicationsTest, BadSubmissionsStoreNothing) {
  EXPECT_EQ(service_->Submit({.service = "no-such"}, citizen_).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->Submit({.service = "criminal-record-reference"}, citizen_).error().code,
            ErrorCode::kInvalidArgument);  // the form's required entry
  EXPECT_EQ(service_
                ->Submit({.service = "criminal-record-reference",
                          .form = {{"purpose", "bank"}, {"extra", 1}}},
                         citizen_)
                .error()
                .code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(
      service_->Submit({.service = "criminal-record-reference", .form = {{"purpose", 5}}}, citizen_)
          .error()
          .code,
      ErrorCode::kInvalidArgument);
  EXPECT_EQ(
      service_->Submit({.service = "address-reference"}, Actor{.account = "client:x"}).error().code,
      ErrorCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM svc_application"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM svc_notice"), 0);
}

TEST_F(ApplicationsTest, ARetryWithTheSameKeyGetsTheFirstApplication) {
  const auto first = Apply("address-reference", citizen_, json::object(), "key-1");
  const auto again = Apply("address-reference", citizen_, json::object(), "key-1");
  EXPECT_EQ(first.id, again.id);
  EXPECT_EQ(again.document, first.document);
  auto other =
      service_->Submit({.service = "vehicle-reference", .idempotency_key = "key-1"}, citizen_);
  EXPECT_EQ(other.error().code, ErrorCode::kConflict);
  // Keys are the applicant's own: another person's key-1 is theirs.
  const auto theirs = Apply("address-reference", other_, json::object(), "key-1");
  EXPECT_NE(theirs.id, first.id);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM svc_application"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM doc_document"), 2);
}

TEST_F(ApplicationsTest, UnreachableRegistriesLeaveItSubmittedUntilResumed) {
  exchange_.SetDown(true);
  const auto waiting = Apply("address-reference", citizen_);
  EXPECT_EQ(waiting.state, ApplicationState::kSubmitted);
  // A crash after the document was issued but before the application recorded it: resuming
  // finds that document instead of issuing a second one.
  exchange_.SetDown(false);
  const auto crashed = Apply("vehicle-reference", citizen_);
  ASSERT_EQ(crashed.state, ApplicationState::kCompleted);
  {
    auto conn = db_->Acquire();
    ASSERT_TRUE(conn.ok());
    const store::Value params[] = {crashed.id};
    ASSERT_TRUE((*conn)
                    ->Execute("UPDATE svc_application SET state = 'submitted', document = '', "
                              "version = 1 WHERE id = $1",
                              params)
                    .ok());
  }
  // While running, applications are left to their own requests for two minutes...
  EXPECT_EQ(service_->ResumePending().value(), 0u);
  clock_.Advance(std::chrono::minutes(3));
  EXPECT_EQ(service_->ResumePending().value(), 2u);
  // ... and at start none can be running.
  exchange_.SetDown(true);
  const auto later = Apply("address-reference", other_);
  ASSERT_EQ(later.state, ApplicationState::kSubmitted);
  exchange_.SetDown(false);
  Open();  // as after a restart
  auto resumed = service_->ResumePending(true);
  ASSERT_TRUE(resumed.ok()) << resumed.error().ToString();
  EXPECT_EQ(*resumed, 1u);
  auto done = service_->Get(waiting.id, citizen_);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state, ApplicationState::kCompleted);
  auto again = service_->Get(crashed.id, citizen_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->document, crashed.document);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM doc_document"), 3);
  // Nothing is left to do.
  EXPECT_EQ(service_->ResumePending().value(), 0u);
}

TEST_F(ApplicationsTest, ReviewRunsOnWorkingDayDeadlinesAndIssuesWhatTheOfficerApproves) {
  const Actor police = Officer("POLICE");
  auto a = Apply("criminal-record-reference", citizen_, {{"purpose", "employer"}});
  ASSERT_EQ(a.state, ApplicationState::kSubmitted);
  // Five working days from Monday the 21st, Friday the 25th off: due Tuesday the 29th; taking
  // it up is due the next working day.
  EXPECT_EQ(a.due, Day(29));
  EXPECT_EQ(a.state_due, Day(22));
  EXPECT_TRUE(exchange_.Requests().empty());  // nothing is read before an officer works on it

  auto inbox = service_->Inbox({.agency = "POLICE"}, police);
  ASSERT_TRUE(inbox.ok());
  ASSERT_EQ(inbox->size(), 1u);
  a = Do(a, "take", police);
  EXPECT_EQ(a.state, ApplicationState::kInReview);
  EXPECT_EQ(a.assignee, "officer-1");
  EXPECT_EQ(a.state_due, Day(29));

  a = Do(a, "request_information", police, "Which employer asks for it?");
  EXPECT_EQ(a.state, ApplicationState::kInformationRequested);
  EXPECT_EQ(a.state_due, Day(21) + days(15));  // ten working days, the 25th and weekends off
  // The applicant answers three working days later (Tue, Wed, Thu): the agency's deadline
  // moves by as much.
  clock_.Advance(days(3));
  auto answered = service_->Act(
      a.id, {.name = "respond", .comment = "Khan Bank", .form = {{"purpose", "Khan Bank"}}},
      citizen_);
  ASSERT_TRUE(answered.ok()) << answered.error().ToString();
  a = *answered;
  EXPECT_EQ(a.state, ApplicationState::kInReview);
  EXPECT_EQ(a.form["purpose"], "Khan Bank");
  EXPECT_EQ(a.due, Day(29) + days(3));  // Wednesday 30, Thursday 31, Friday 1 January

  // Approval needs the fields only the officer can give; without them nothing changes.
  auto incomplete = service_->Act(a.id, {.name = "approve"}, police);
  EXPECT_EQ(incomplete.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->Get(a.id, citizen_)->state, ApplicationState::kInReview);
  auto wrong_type =
      service_->Act(a.id, {.name = "approve", .claims = {{"has_record", "no"}}}, police);
  EXPECT_EQ(wrong_type.error().code, ErrorCode::kInvalidArgument);

  exchange_.ClearRequests();
  a = Do(a, "approve", police, "checked", {{"has_record", false}});
  ASSERT_EQ(a.state, ApplicationState::kCompleted);
  const json claims = Claims(a.document);
  EXPECT_EQ(claims["has_record"], false);
  EXPECT_EQ(claims["checked_on"], "2026-12-24");
  const auto reads = exchange_.Requests();
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].user_id, "officer-1");
  auto document = documents_->Find(a.document);
  EXPECT_EQ((*document)->issued_by, "officer:officer-1");

  auto history = service_->History(a.id, citizen_);
  ASSERT_TRUE(history.ok());
  std::vector<std::string> actions;
  for (const auto& e : *history) actions.push_back(e.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"submit", "take", "request_information", "respond",
                                               "approve"}));
  EXPECT_EQ((*history)[2].comment, "Which employer asks for it?");
  EXPECT_EQ(service_->Notices(citizen_, true, 50, 0)->size(), 5u);
  ASSERT_TRUE(
      service_->MarkNoticesRead(citizen_, service_->Notices(citizen_, false, 1, 0)->front().id)
          .ok());
  EXPECT_TRUE(service_->Notices(citizen_, true, 50, 0)->empty());
}

TEST_F(ApplicationsTest, DaysCountInTheCountrysCivilTime) {
  // 21:00 UTC on Monday the 21st is already Tuesday morning in Ulaanbaatar (UTC+8).
  Open({.utc_offset = std::chrono::hours(8)});
  clock_.Advance(std::chrono::hours(18));
  const auto a = Apply("criminal-record-reference", citizen_, {{"purpose", "a"}});
  EXPECT_EQ(a.state_since, Day(22));
  EXPECT_EQ(a.state_due, Day(23));
  EXPECT_EQ(a.due, Day(30));  // five working days from Tuesday, the 25th and a weekend off
}

TEST_F(ApplicationsTest, NoValidDocumentStandsForAnApplicationThatMovedOnMeanwhile) {
  const Actor police = Officer("POLICE");
  auto a = Apply("criminal-record-reference", citizen_, {{"purpose", "a"}});
  a = Do(a, "take", police);
  // The applicant withdraws while the officer's approval reads the registries.
  exchange_.OnNextPull(
      [&] { EXPECT_TRUE(service_->Act(a.id, {.name = "withdraw"}, citizen_).ok()); });
  auto approved =
      service_->Act(a.id, {.name = "approve", .claims = {{"has_record", false}}}, police);
  EXPECT_EQ(approved.error().code, ErrorCode::kConflict);
  auto now = service_->Get(a.id, citizen_);
  EXPECT_EQ(now->state, ApplicationState::kWithdrawn);
  EXPECT_TRUE(now->document.empty());
  // The document signed meanwhile is revoked: it verifies as revoked, not genuine.
  auto docs = documents_->ForHolder(kAdult, 10, 0);
  ASSERT_TRUE(docs.ok());
  ASSERT_EQ(docs->size(), 1u);
  EXPECT_TRUE((*docs)[0].revocation.has_value());
  auto verified = documents_->Verify((*docs)[0].credential, "api", "127.0.0.1");
  EXPECT_EQ(verified->verdict, documents::Verdict::kRevoked);
}

TEST_F(ApplicationsTest, LateApplicationsAreMarkedAndSortedFirst) {
  const Actor police = Officer("POLICE");
  const auto first = Apply("criminal-record-reference", citizen_, {{"purpose", "a"}});
  clock_.Advance(days(1));
  const auto second = Apply("criminal-record-reference", other_, {{"purpose", "b"}});
  clock_.Advance(days(2));  // Thursday the 24th: both take-up deadlines have passed
  auto inbox = service_->Inbox({.agency = "POLICE"}, police);
  ASSERT_TRUE(inbox.ok());
  ASSERT_EQ(inbox->size(), 2u);
  EXPECT_EQ((*inbox)[0].id, first.id);
  EXPECT_TRUE(service_->Late((*inbox)[0]));
  EXPECT_TRUE(service_->Late((*inbox)[1]));
  Do(first, "reject", police, "no such employer");
  inbox = service_->Inbox({.agency = "POLICE"}, police);
  ASSERT_EQ(inbox->size(), 1u);  // only open ones
  EXPECT_EQ((*inbox)[0].id, second.id);
  auto rejected =
      service_->Inbox({.agency = "POLICE", .state = ApplicationState::kRejected}, police);
  ASSERT_EQ(rejected->size(), 1u);
  EXPECT_FALSE(service_->Late((*rejected)[0]));
}

TEST_F(ApplicationsTest, OnlyTheApplicantAndTheOwningAgencySeeOrAct) {
  const auto a = Apply("criminal-record-reference", citizen_, {{"purpose", "a"}});
  const Actor gasr = Officer("GASR", "officer-2");
  // Another citizen, another agency's officer: as if it did not exist.
  EXPECT_EQ(service_->Get(a.id, other_).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->Get(a.id, gasr).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->History(a.id, other_).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->Act(a.id, {.name = "take"}, gasr).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->Act(a.id, {.name = "withdraw"}, other_).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->Inbox({.agency = "POLICE"}, gasr).error().code, ErrorCode::kPermissionDenied);
  EXPECT_TRUE(service_->Mine(other_, 10, 0)->empty());
  // The applicant cannot do an officer's part, and an officer who applied cannot decide it.
  EXPECT_EQ(service_->Act(a.id, {.name = "take"}, citizen_).error().code,
            ErrorCode::kPermissionDenied);
  const Actor police_applicant = Officer("POLICE", "officer-3", kOther);
  const auto own = Apply("criminal-record-reference", police_applicant, {{"purpose", "x"}});
  EXPECT_EQ(service_->Act(own.id, {.name = "take"}, police_applicant).error().code,
            ErrorCode::kPermissionDenied);
  // ... and their own steps on it are the applicant's.
  ASSERT_TRUE(
      service_->Act(own.id, {.name = "comment", .comment = "moved"}, police_applicant).ok());
  EXPECT_EQ(service_->History(own.id, police_applicant)->back().actor, "citizen:officer-3");
  // An officer cannot answer for the applicant.
  const Actor police = Officer("POLICE");
  Do(a, "take", police);
  Do(*service_->Get(a.id, police), "request_information", police, "?");
  EXPECT_EQ(service_->Act(a.id, {.name = "respond", .comment = "x"}, police).error().code,
            ErrorCode::kPermissionDenied);
}

TEST_F(ApplicationsTest, StatesAllowOnlyTheirSteps) {
  const Actor police = Officer("POLICE");
  auto a = Apply("criminal-record-reference", citizen_, {{"purpose", "a"}});
  EXPECT_EQ(service_->Act(a.id, {.name = "approve"}, police).error().code,
            ErrorCode::kFailedPrecondition);  // not taken up
  EXPECT_EQ(service_->Act(a.id, {.name = "respond", .comment = "x"}, citizen_).error().code,
            ErrorCode::kFailedPrecondition);  // nothing was asked
  EXPECT_EQ(service_->Act(a.id, {.name = "reject"}, police).error().code,
            ErrorCode::kInvalidArgument);  // a rejection needs its reason
  EXPECT_EQ(service_->Act(a.id, {.name = "fly"}, police).error().code, ErrorCode::kInvalidArgument);
  // An officer corrects the e-form (GovStack's operator form data); the form's rules still hold
  // and the applicant cannot use this step.
  auto amended =
      service_->Act(a.id, {.name = "amend", .form = {{"purpose", "Golomt Bank"}}}, police);
  ASSERT_TRUE(amended.ok()) << amended.error().ToString();
  EXPECT_EQ(amended->form["purpose"], "Golomt Bank");
  EXPECT_EQ(service_->History(a.id, citizen_)->back().comment, "corrected: purpose");
  EXPECT_EQ(service_->Act(a.id, {.name = "amend", .form = {{"purpose", 7}}}, police).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(
      service_->Act(a.id, {.name = "amend", .form = {{"purpose", "x"}}}, citizen_).error().code,
      ErrorCode::kPermissionDenied);
  a = *amended;
  // A stale view is refused rather than acted on.
  const int64_t seen = a.version;
  a = Do(a, "comment", police, "looking");
  EXPECT_EQ(service_->Act(a.id, {.name = "take", .expected_version = seen}, police).error().code,
            ErrorCode::kConflict);
  a = Do(a, "withdraw", citizen_);
  EXPECT_EQ(a.state, ApplicationState::kWithdrawn);
  for (const char* step : {"take", "approve", "comment"}) {
    EXPECT_EQ(service_->Act(a.id, {.name = step, .comment = "x"}, police).error().code,
              ErrorCode::kFailedPrecondition)
        << step;
  }
  EXPECT_EQ(service_->Act(a.id, {.name = "withdraw"}, citizen_).error().code,
            ErrorCode::kFailedPrecondition);
}

TEST_F(ApplicationsTest, AttachmentsAreCheckedStoredAndShownOnlyToThoseWhoMaySee) {
  const auto a = Apply("criminal-record-reference", citizen_, {{"purpose", "a"}});
  const std::string pdf = "%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";
  // A Cyrillic name keeps every letter; a right-to-left override is neutralised.
  auto named =
      service_->Attach(a.id, "Тодорхойлолт\u202Efdp.exe", "application/pdf", pdf, citizen_);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->name, "Тодорхойлолт_fdp.exe");
  auto stored = service_->Attach(a.id, "../../etc/letter\n.pdf", "application/pdf", pdf, citizen_);
  ASSERT_TRUE(stored.ok()) << stored.error().ToString();
  EXPECT_EQ(stored->name, "letter_.pdf");
  EXPECT_EQ(stored->media_type, "application/pdf");
  const std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
  EXPECT_TRUE(service_->Attach(a.id, "photo.png", "", png, citizen_).ok());
  EXPECT_EQ(service_->Attach(a.id, "x.pdf", "application/pdf", "hello", citizen_).error().code,
            ErrorCode::kUnsupportedMediaType);
  EXPECT_EQ(service_->Attach(a.id, "x.png", "application/pdf", png, citizen_).error().code,
            ErrorCode::kUnsupportedMediaType);  // says one thing, is another
  EXPECT_EQ(service_->Attach(a.id, "x.pdf", "application/pdf", "", citizen_).error().code,
            ErrorCode::kInvalidArgument);
  const std::string big = "%PDF-" + std::string(5 * 1024 * 1024, 'x');
  EXPECT_EQ(service_->Attach(a.id, "big.pdf", "application/pdf", big, citizen_).error().code,
            ErrorCode::kTooLarge);
  EXPECT_EQ(service_->Attach(a.id, "x.pdf", "application/pdf", pdf, other_).error().code,
            ErrorCode::kNotFound);
  auto back = service_->AttachmentBytes(a.id, stored->id, Officer("POLICE"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->second, pdf);
  EXPECT_EQ(service_->AttachmentBytes(a.id, stored->id, other_).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->AttachmentBytes(a.id, stored->id, Officer("GASR")).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(service_->Attachments(a.id, citizen_)->size(), 3u);
  Do(a, "withdraw", citizen_);
  EXPECT_EQ(service_->Attach(a.id, "y.pdf", "application/pdf", pdf, citizen_).error().code,
            ErrorCode::kFailedPrecondition);
}

TEST_F(ApplicationsTest, ADeskFilesForAPresentCitizenOnlyWithTheirCode) {
  Actor desk{.account = "desk-1", .national_id = "УБ60010177", .desk = true};
  EXPECT_EQ(service_->StartDeskFiling(Citizen("УБ60010177", "x"), kAdult, "address-reference")
                .error()
                .code,
            ErrorCode::kPermissionDenied);
  auto challenge = service_->StartDeskFiling(desk, kAdult, "address-reference");
  ASSERT_TRUE(challenge.ok()) << challenge.error().ToString();
  EXPECT_EQ(challenge->masked_phone, "********2233");
  const std::string code = LastCode();
  ASSERT_EQ(code.size(), 6u);
  const Submission submission{.service = "address-reference"};
  const std::string wrong = code == "000000" ? "111111" : "000000";
  EXPECT_EQ(service_->ConfirmDeskFiling(desk, challenge->id, wrong, submission).error().code,
            ErrorCode::kPermissionDenied);
  // Another desk cannot use it; the citizen confirmed this service, not another.
  Actor other_desk{.account = "desk-2", .desk = true};
  EXPECT_EQ(service_->ConfirmDeskFiling(other_desk, challenge->id, code, submission).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(service_->ConfirmDeskFiling(desk, challenge->id, code, {.service = "vehicle-reference"})
                .error()
                .code,
            ErrorCode::kInvalidArgument);
  auto filed = service_->ConfirmDeskFiling(desk, challenge->id, code, submission);
  ASSERT_TRUE(filed.ok()) << filed.error().ToString();
  EXPECT_EQ(filed->applicant, kAdult);
  EXPECT_EQ(filed->filed_by, "desk:desk-1");
  EXPECT_EQ(filed->confirmation, "otp:" + challenge->id);
  EXPECT_EQ(filed->state, ApplicationState::kCompleted);
  EXPECT_EQ(service_->Mine(citizen_, 10, 0)->size(), 1u);
  auto history = service_->History(filed->id, citizen_);
  EXPECT_EQ(history->front().actor, "desk:desk-1");
  // A code works once.
  EXPECT_EQ(service_->ConfirmDeskFiling(desk, challenge->id, code, submission).error().code,
            ErrorCode::kFailedPrecondition);
  // Guessing stops after five tries, and a code expires.
  auto guessed = service_->StartDeskFiling(desk, kAdult, "address-reference");
  const std::string real = LastCode();
  for (int i = 0, tried = 0; tried < 5; ++i) {
    const std::string guess = "99999" + std::to_string(i);
    if (guess == real) continue;
    ++tried;
    EXPECT_EQ(service_->ConfirmDeskFiling(desk, guessed->id, guess, submission).error().code,
              ErrorCode::kPermissionDenied);
  }
  EXPECT_EQ(service_->ConfirmDeskFiling(desk, guessed->id, real, submission).error().code,
            ErrorCode::kRateLimited);
  auto expiring = service_->StartDeskFiling(desk, kAdult, "address-reference");
  clock_.Advance(std::chrono::minutes(6));
  EXPECT_EQ(service_->ConfirmDeskFiling(desk, expiring->id, LastCode(), submission).error().code,
            ErrorCode::kFailedPrecondition);
  // A person gets at most three codes waiting at once.
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(service_->StartDeskFiling(desk, kAdult, "address-reference").ok());
  }
  EXPECT_EQ(service_->StartDeskFiling(desk, kAdult, "address-reference").error().code,
            ErrorCode::kRateLimited);
  // The clerk does not keep the citizen's file: it is the citizen's and the agency's.
  EXPECT_EQ(service_->Get(filed->id, desk).error().code, ErrorCode::kNotFound);
  // Someone the register cannot reach cannot be filed for.
  EXPECT_EQ(service_->StartDeskFiling(desk, kNoAddress, "address-reference").error().code,
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(service_->StartDeskFiling(desk, "УБ60010177", "address-reference").error().code,
            ErrorCode::kInvalidArgument);  // not for oneself
}

TEST_F(ApplicationsTest, ConsentBoundRegistriesAreReadOnlyWithTheConsentToken) {
  auto refused = service_->Submit({.service = "health-summary"}, citizen_);
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(refused.error().message.find("services:health-summary"), std::string::npos);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM svc_application"), 0);
  auto a =
      service_->Submit({.service = "health-summary", .consent_token = "consent.jwt"}, citizen_);
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  EXPECT_EQ(a->state, ApplicationState::kCompleted) << a->reason;
  for (const auto& r : exchange_.Requests()) {
    // Only the registry that needs it gets the token.
    EXPECT_EQ(r.consent_token, r.registry->name == "health" ? "consent.jwt" : "")
        << r.registry->name;
  }
}

TEST_F(ApplicationsTest, ManyApplicantsAtOnceEachGetTheirOwnDocument) {
  constexpr int kThreads = 8;
  constexpr int kEach = 10;
  std::vector<std::thread> threads;
  std::atomic<int> completed{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto a = service_->Submit({.service = "address-reference",
                                   .idempotency_key = std::to_string(t) + "-" + std::to_string(i)},
                                  t % 2 == 0 ? citizen_ : other_);
        if (a.ok() && a->state == ApplicationState::kCompleted) ++completed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(completed.load(), kThreads * kEach);
  EXPECT_EQ(Count("SELECT COUNT(DISTINCT document) FROM svc_application"), kThreads * kEach);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM svc_notice"), 2 * kThreads * kEach);
  EXPECT_EQ(service_->AutomaticStepTimes().count, kThreads * kEach);
}

TEST_F(ApplicationsTest, ServiceDefinitionsAreCheckedAgainstTemplateFormAndRegistries) {
  const auto* t = documents_->FindTemplate("address-reference");
  ASSERT_NE(t, nullptr);
  ServiceDefinition s = Services()[0];
  EXPECT_TRUE(ApplicationService::CheckService(s, t, Registries()).ok());
  auto broken = [&](auto change) {
    ServiceDefinition copy = Services()[0];
    change(copy);
    return ApplicationService::CheckService(copy, t, Registries()).error().message;
  };
  EXPECT_NE(broken([](auto& c) { c.claims.erase("given_name"); }).find("given_name"),
            std::string::npos);
  EXPECT_NE(broken([](auto& c) { c.claims["colour"] = "person.id"; }).find("colour"),
            std::string::npos);
  EXPECT_NE(broken([](auto& c) { c.claims["given_name"] = "person.nickname"; }).find("nickname"),
            std::string::npos);
  EXPECT_NE(broken([](auto& c) { c.claims["given_name"] = "vehicle.plate"; }).find("vehicle"),
            std::string::npos);
  EXPECT_NE(broken([](auto& c) { c.claims["birth_date"] = "person.given_name"; }).find("date"),
            std::string::npos);
  EXPECT_NE(broken([](auto& c) { c.claims["given_name"] = "officer"; }).find("automatic"),
            std::string::npos);
  EXPECT_NE(broken([](auto& c) { c.claims["given_name"] = "form.name"; }).find("form.name"),
            std::string::npos);
  EXPECT_NE(broken([](auto& c) {
              c.data = {"address", "person"};
            }).find("address"),
            std::string::npos);
  EXPECT_NE(broken([](auto& c) { c.claims["address"] = "{address.street"; }).find("'{'"),
            std::string::npos);
}

}  // namespace ulus::services::test
