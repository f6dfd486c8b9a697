#pragma once

// Dan's database behaviour, written once and instantiated per backend: dan_test.cpp (SQLite) and
// dan_pgtest.cpp (PostgreSQL). The room tests (accounts_test.cpp, oidc_flow_test.cpp, ...) go
// deeper into each room on SQLite; this suite runs what touches SQL on every backend. Include it
// in exactly one file of a test binary.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/keys.hpp"
#include "ulus/crypto/sealed.hpp"
#include "ulus/crypto/totp.hpp"
#include "ulus/http/form.hpp"
#include "ulus/http/problem.hpp"
#include "ulus/http/router.hpp"
#include "ulus/identity/dan.hpp"
#include "ulus/identity/pages.hpp"
#include "ulus/store/database.hpp"
#include "ulus/store/group_commit.hpp"
#include "ulus/store/migration.hpp"

namespace ulus::identity::test {

namespace fs = std::filesystem;
using http::Method;
using nlohmann::json;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// A fresh, empty database for one test, removed when destroyed.
class TestDatabase {
 public:
  virtual ~TestDatabase() = default;
  [[nodiscard]] virtual const std::string& url() const = 0;
};

// kFailedPrecondition means the backend is not configured here: the test is skipped.
using TestDatabaseMaker = Result<std::unique_ptr<TestDatabase>> (*)();

struct DanBackend {
  std::string name;
  TestDatabaseMaker make = nullptr;
};

inline void PrintTo(const DanBackend& backend, std::ostream* os) {
  *os << backend.name;
}
inline std::string BackendName(const ::testing::TestParamInfo<DanBackend>& param) {
  return param.param.name;
}

// libsodium's minimum, so a password costs microseconds.
inline constexpr crypto::Argon2idCost kCheapCost{1, 8 * 1024};
inline constexpr auto kStart = std::chrono::sys_days{std::chrono::year{2030} / 3 / 14};
inline constexpr const char* kCitizen = "УБ90041212";
inline constexpr const char* kPhone = "+97699112233";
inline constexpr const char* kPassword = "correct horse battery";
inline constexpr const char* kIssuer = "https://dan.example.mn";
inline constexpr const char* kPortalCallback = "https://portal.example.mn/callback";
// A PKCE verifier and its S256 challenge (RFC 7636 appendix B).
inline constexpr const char* kVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
inline constexpr const char* kChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

// The population register, as far as Dan asks it. Filled before use, then only read.
class FakePeople final : public PersonDirectory {
 public:
  Result<std::optional<Person>> Find(std::string_view national_id) const override {
    const auto it = people_.find(std::string(national_id));
    if (it == people_.end()) return std::optional<Person>();
    return std::optional<Person>(it->second);
  }
  void Add(const std::string& id, const std::string& phone) {
    Person p;
    p.national_id = id;
    p.given_name = "Сарангэрэл";
    p.family_name = "Батын";
    p.birth_date = "1990-04-12";
    p.sex = "F";
    p.phone = phone;
    people_[id] = p;
  }

 private:
  std::map<std::string, Person> people_;
};

// What a handler answered, as the test reads it.
struct Answer {
  int status = 0;
  std::string body;
  json json_body;
  std::map<std::string, std::string> headers;
  [[nodiscard]] std::string Header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  [[nodiscard]] std::string Location() const { return Header("Location"); }
};

// The value of query parameter `name` in `url`.
inline std::string QueryParam(const std::string& url, const std::string& name) {
  const auto q = url.find('?');
  if (q == std::string::npos) return "";
  auto form = http::Form::Parse(std::string_view(url).substr(q + 1));
  return form.ok() ? form->Value(name) : "";
}

inline json JwtClaims(const std::string& token) {
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  auto bytes = crypto::Base64UrlDecode(token.substr(first + 1, second - first - 1));
  if (!bytes) return json();
  return json::parse(std::string(bytes->begin(), bytes->end()), nullptr, false);
}

// The six-digit code in a sign-up message.
inline std::string CodeIn(const std::string& text) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("\\b(\\d{6})\\b"))) return {};
  return m[1];
}

inline crypto::MasterKey Master(uint8_t fill) {
  auto key = crypto::MasterKey::FromBytes(std::vector<uint8_t>(crypto::MasterKey::kSize, fill));
  EXPECT_TRUE(key.ok());
  return std::move(key).value();
}

inline DataAgreement TaxRefund() {
  DataAgreement a;
  a.controller = "TAX";
  a.purpose = "tax-refund";
  a.lawful_basis = "consent";
  a.data_use = "data_using_service";
  a.attributes = {{"person.birth_date", "personal", "civil"}, {"income.total", "", ""}};
  a.period_days = 30;
  return a;
}

// Dan's migration components and how many steps each has.
inline std::vector<std::pair<std::string, size_t>> DanComponents() {
  return {{"dan_audit", AuditLog::Migrations().size()},
          {"dan_session", Sessions::Migrations().size()},
          {"dan_message", LocalOutbox::Migrations().size()},
          {"dan_key", KeyStore::Migrations().size()},
          {"dan_accounts", AccountService::Migrations().size()},
          {"dan_oidc", OidcProvider::Migrations().size()},
          {"dan_consent", ConsentService::Migrations().size()}};
}

class DanStoreTest : public ::testing::TestWithParam<DanBackend> {
 protected:
  void SetUp() override {
    auto made = GetParam().make();
    if (!made.ok() && made.error().code == ErrorCode::kFailedPrecondition) {
      GTEST_SKIP() << made.error().message;
    }
    ASSERT_TRUE(made.ok()) << made.error().ToString();
    test_db_ = std::move(made).value();
    db_ = Open(*test_db_);
    ASSERT_NE(db_, nullptr);
    std::string pattern = (fs::temp_directory_path() / "ulus-dan-suite-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    const Status migrated = Dan::Migrate(*db_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().ToString();
    audit_ = std::make_unique<AuditLog>(*db_, clock_);
    sessions_ = std::make_unique<Sessions>(*db_, SessionOptions{}, clock_);
    outbox_ = std::make_unique<LocalOutbox>(*db_, clock_);
    people_.Add(kCitizen, kPhone);
  }

  void TearDown() override {
    router_.reset();
    dan_.reset();
    outbox_.reset();
    sessions_.reset();
    audit_.reset();
    db_.reset();
    if (!dir_.empty()) {
      std::error_code ignored;
      fs::remove_all(dir_, ignored);
    }
  }

  static std::unique_ptr<store::Database> Open(const TestDatabase& test_db,
                                               size_t max_connections = 8) {
    store::DatabaseOptions options;
    options.url = test_db.url();
    options.max_connections = max_connections;
    auto db = store::Database::Open(options);
    EXPECT_TRUE(db.ok()) << db.error().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  }

  int64_t QueryInt(const std::string& sql, const std::vector<store::Value>& params = {}) {
    auto conn = db_->Acquire();
    if (!conn.ok()) {
      ADD_FAILURE() << conn.error().ToString();
      return -1;
    }
    auto n = (*conn)->QueryInt(sql, params);
    if (!n.ok()) {
      ADD_FAILURE() << n.error().ToString() << " in " << sql;
      return -1;
    }
    return *n;
  }

  std::unique_ptr<KeyStore> OpenKeys(uint8_t master_fill = 1) {
    auto keys = KeyStore::Open(*db_, Master(master_fill), {}, clock_);
    EXPECT_TRUE(keys.ok()) << keys.error().ToString();
    return keys.ok() ? std::move(keys).value() : nullptr;
  }

  std::unique_ptr<AccountService> OpenAccounts(const crypto::MasterKey& master) {
    AccountServiceOptions options;
    options.argon2 = kCheapCost;
    auto accounts =
        AccountService::Open(*db_, people_, *outbox_, *audit_, *sessions_, master, options, clock_);
    EXPECT_TRUE(accounts.ok()) << accounts.error().ToString();
    return accounts.ok() ? std::move(accounts).value() : nullptr;
  }

  size_t CountEvents(const std::string& name) {
    auto entries = audit_->List("", name, 1000);
    EXPECT_TRUE(entries.ok()) << entries.error().ToString();
    size_t n = 0;
    if (entries.ok()) {
      for (const auto& e : *entries) n += e.event.event == name ? 1u : 0u;
    }
    return n;
  }

  // Dan assembled over the test database with a confidential "tax" client, mounted on router_.
  // `languages` are the pack's (DanOptions::languages).
  Dan* OpenDan(std::vector<std::string> languages = {}) {
    std::ofstream(dir_ / "clients.yaml") << R"(
clients:
  - client_id: tax
    name: {mn: "Татвар", en: "Tax office"}
    type: confidential
    redirect_uris: [https://tax.example.mn/cb]
    grant_types: [authorization_code, refresh_token, client_credentials]
    scopes: [openid, profile, offline_access]
    agency: TAX
)";
    DanOptions options;
    options.issuer = kIssuer;
    options.data_dir = dir_;
    options.clients_file = dir_ / "clients.yaml";
    options.portal_redirect_uris = {kPortalCallback};
    options.accounts.argon2 = kCheapCost;
    options.languages = std::move(languages);
    auto dan = Dan::Open(*db_, people_, *outbox_, options, clock_);
    EXPECT_TRUE(dan.ok()) << dan.error().ToString();
    if (!dan.ok()) return nullptr;
    dan_ = std::move(dan).value();
    router_ = std::make_unique<http::Router>();
    dan_->Mount(*router_);
    return dan_.get();
  }

  std::string Secret(const std::string& client) {
    std::ifstream in(dir_ / "clients" / (client + ".secret"));
    std::string secret;
    in >> secret;
    return secret;
  }

  // Runs the handler the router picks for the request, as the server would.
  Answer Call(Method method, const std::string& target, const std::string& body = "",
              const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    http::BeastRequest message{method, target, 11};
    for (const auto& [name, value] : headers) message.set(name, value);
    if (!body.empty()) {
      message.set("Content-Type", "application/x-www-form-urlencoded");
      message.body() = body;
    }
    message.prepare_payload();
    http::Request request(std::move(message), "192.0.2.7");
    auto match = router_->Find(method, request.path());
    Answer a;
    if (match.handler == nullptr) return a;
    request.SetParams(match.params);
    request.SetRoutePattern(match.pattern);
    auto result = (*match.handler)(request);
    const http::Response response =
        result.ok() ? std::move(result).value() : http::Problem(result.error(), target);
    a.status = static_cast<int>(response.status);
    a.body = response.body;
    a.json_body = json::parse(response.body, nullptr, false);
    for (const auto& [name, value] : response.headers) a.headers[name] = value;
    return a;
  }

  Answer Post(const std::string& target, const std::string& body) {
    return Call(Method::post, target, body);
  }

  static std::string PortalAuthorizeUrl() {
    return "/oidc/authorize?response_type=code&client_id=ulus-portal&redirect_uri=" +
           http::FormEncode(kPortalCallback) +
           "&scope=openid%20profile%20phone%20national_id&state=st4te&nonce=n0nce&code_challenge=" +
           kChallenge + "&code_challenge_method=S256";
  }

  // The portal's flow for a signed-in browser, through to a code.
  std::string PortalCode(const std::string& cookie) {
    const Answer a = Call(Method::get, PortalAuthorizeUrl(), "", {{"Cookie", cookie}});
    EXPECT_EQ(a.status, 303) << a.body;
    EXPECT_EQ(QueryParam(a.Location(), "state"), "st4te");
    return QueryParam(a.Location(), "code");
  }

  Answer Exchange(const std::string& code) {
    return Post("/oidc/token", "grant_type=authorization_code&code=" + http::FormEncode(code) +
                                   "&redirect_uri=" + http::FormEncode(kPortalCallback) +
                                   "&client_id=ulus-portal&code_verifier=" + kVerifier);
  }

  Answer Refresh(const std::string& token, const std::string& extra = "") {
    return Post("/oidc/token", "grant_type=refresh_token&client_id=ulus-portal&refresh_token=" +
                                   http::FormEncode(token) + extra);
  }

  Answer Introspect(const std::string& token) {
    return Post("/oidc/introspect", "token=" + http::FormEncode(token) +
                                        "&client_id=tax&client_secret=" + Secret("tax"));
  }

  Answer RevokeToken(const std::string& token) {
    return Post("/oidc/revoke", "client_id=ulus-portal&token=" + http::FormEncode(token));
  }

  // Declared first so it is destroyed last, after everything that uses the database.
  std::unique_ptr<TestDatabase> test_db_;
  fs::path dir_;
  ManualClock clock_{kStart};
  std::unique_ptr<store::Database> db_;
  FakePeople people_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Sessions> sessions_;
  std::unique_ptr<LocalOutbox> outbox_;
  std::unique_ptr<Dan> dan_;
  std::unique_ptr<http::Router> router_;
  AttemptContext ctx_{"10.0.0.1", {}};
};

TEST_P(DanStoreTest, MigrateMakesEveryComponentAndRunsAgainHarmlessly) {
  // SetUp migrated once; a second run (a restart) finds nothing to do.
  const Status again = Dan::Migrate(*db_);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  for (const auto& [component, steps] : DanComponents()) {
    auto version = store::SchemaVersion(*db_, component);
    ASSERT_TRUE(version.ok()) << component << ": " << version.error().ToString();
    EXPECT_EQ(static_cast<size_t>(*version), steps) << component;
    EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM schema_migration WHERE component = $1",
                       {store::Value(component)}),
              static_cast<int64_t>(steps))
        << component;
  }
  for (const char* table : {"dan_audit",
                            "dan_session",
                            "dan_message",
                            "dan_key",
                            "dan_account",
                            "dan_recovery_code",
                            "dan_role",
                            "dan_signature_key",
                            "dan_signup",
                            "dan_password_reset",
                            "dan_challenge",
                            "dan_login_throttle",
                            "dan_oidc_client",
                            "dan_auth_request",
                            "dan_auth_code",
                            "dan_refresh_token",
                            "dan_revoked_token",
                            "dan_oidc_consent",
                            "dan_consent_revision",
                            "dan_consent_agreement",
                            "dan_consent_record"}) {
    EXPECT_EQ(QueryInt(std::string("SELECT COUNT(*) FROM ") + table), 0) << table;
  }
}

TEST_P(DanStoreTest, MigrateFromSeveralProcessesAtOnce) {
  // A database of its own, empty, migrated by four "processes" (pools) at the same time.
  auto made = GetParam().make();
  ASSERT_TRUE(made.ok()) << made.error().ToString();
  const auto fresh = std::move(made).value();
  constexpr int kProcesses = 4;
  std::vector<std::unique_ptr<store::Database>> pools;
  for (int i = 0; i < kProcesses; ++i) {
    pools.push_back(Open(*fresh, 2));
    ASSERT_NE(pools.back(), nullptr);
  }
  std::vector<Status> results(kProcesses, Ok());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < pools.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = Dan::Migrate(*pools[i]); });
  }
  for (auto& t : threads) t.join();
  for (const auto& result : results) EXPECT_TRUE(result.ok()) << result.error().ToString();
  auto conn = pools[0]->Acquire();
  ASSERT_TRUE(conn.ok());
  auto steps = (*conn)->QueryInt("SELECT COUNT(*) FROM schema_migration");
  ASSERT_TRUE(steps.ok()) << steps.error().ToString();
  size_t expected = 0;
  for (const auto& component : DanComponents()) expected += component.second;
  EXPECT_EQ(*steps, static_cast<int64_t>(expected));
}

TEST_P(DanStoreTest, SessionsAreFoundElevatedAndEnded) {
  const auto cookie_of = [](const Sessions::Created& created) {
    return created.set_cookie.substr(0, created.set_cookie.find(';'));
  };
  const auto find = [&](const std::string& cookie) {
    http::BeastRequest message{Method::get, "/dan", 11};
    message.set("Cookie", cookie);
    http::Request request(std::move(message), "192.0.2.7");
    auto found = sessions_->FromRequest(request);
    EXPECT_TRUE(found.ok()) << found.error().ToString();
    return found.ok() ? *found : std::optional<Session>();
  };

  auto created = sessions_->Create("account-1", Assurance::kLow, {"pwd"});
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  const std::string cookie = cookie_of(*created);
  auto found = find(cookie);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, created->session.id);
  EXPECT_EQ(found->account_id, "account-1");
  EXPECT_EQ(found->assurance, Assurance::kLow);
  EXPECT_EQ(found->amr, std::vector<std::string>{"pwd"});
  EXPECT_EQ(found->auth_time, clock_.Now());
  EXPECT_EQ(found->csrf, created->session.csrf);
  EXPECT_FALSE(find("dan_session=unknown").has_value());

  clock_.Advance(minutes(2));  // past the touch interval: the idle clock is written back
  ASSERT_TRUE(find(cookie).has_value());
  clock_.Advance(minutes(29));
  ASSERT_TRUE(find(cookie).has_value());  // idle for 29 minutes only, thanks to the touch
  auto elevated = sessions_->Elevate(found->id, Assurance::kSubstantial, {"otp", "pwd"});
  ASSERT_TRUE(elevated.ok()) << elevated.error().ToString();
  EXPECT_EQ(elevated->assurance, Assurance::kSubstantial);
  EXPECT_EQ(elevated->amr, (std::vector<std::string>{"pwd", "otp"}));
  found = find(cookie);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->assurance, Assurance::kSubstantial);
  EXPECT_EQ(found->amr, (std::vector<std::string>{"pwd", "otp"}));
  EXPECT_EQ(found->auth_time, clock_.Now());
  // A lower level does not lower it.
  ASSERT_TRUE(sessions_->Elevate(found->id, Assurance::kLow, {}).ok());
  found = find(cookie);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->assurance, Assurance::kSubstantial);
  EXPECT_EQ(sessions_->Elevate("no-such-session", Assurance::kHigh, {}).error().code,
            ErrorCode::kNotFound);

  // Idle too long: gone, and its row with it.
  clock_.Advance(minutes(31));
  EXPECT_FALSE(find(cookie).has_value());
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM dan_session"), 0);

  auto one = sessions_->Create("account-2", Assurance::kHigh, {"hwk"});
  auto two = sessions_->Create("account-2", Assurance::kLow, {"pwd"});
  auto other = sessions_->Create("account-3", Assurance::kLow, {"pwd"});
  ASSERT_TRUE(one.ok() && two.ok() && other.ok());
  ASSERT_TRUE(sessions_->DestroyAllFor("account-2").ok());
  EXPECT_FALSE(find(cookie_of(*one)).has_value());
  EXPECT_FALSE(find(cookie_of(*two)).has_value());
  ASSERT_TRUE(find(cookie_of(*other)).has_value());
  ASSERT_TRUE(sessions_->Destroy(other->session.id).ok());
  EXPECT_FALSE(find(cookie_of(*other)).has_value());
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM dan_session"), 0);
}

TEST_P(DanStoreTest, AuditLogListsNewestFirstByAccountAndPrefix) {
  ASSERT_TRUE(audit_->Record({.event = "login.failed", .account_id = "a"}).ok());
  clock_.Advance(seconds(1));
  ASSERT_TRUE(audit_
                  ->Record({.event = "login.succeeded",
                            .account_id = "a",
                            .identifier = std::string(64, 'f'),
                            .client_id = "ulus-portal",
                            .remote_address = "192.0.2.7",
                            .detail = {{"acr", "low"}, {"note", "Сайн байна уу ✓"}}})
                  .ok());
  clock_.Advance(seconds(1));
  ASSERT_TRUE(audit_->Record({.event = "oidc.token.issued", .account_id = "b"}).ok());
  ASSERT_TRUE(audit_->Record({.event = "логин.туршилт", .account_id = "b"}).ok());

  auto all = audit_->List("", "", 10);
  ASSERT_TRUE(all.ok()) << all.error().ToString();
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].event.event, "логин.туршилт");
  EXPECT_EQ((*all)[3].event.event, "login.failed");
  EXPECT_GT((*all)[0].id, (*all)[1].id);
  EXPECT_GT((*all)[1].id, (*all)[2].id);

  auto logins = audit_->List("a", "login.", 10);
  ASSERT_TRUE(logins.ok()) << logins.error().ToString();
  ASSERT_EQ(logins->size(), 2u);
  const AuditEntry& success = (*logins)[0];
  EXPECT_EQ(success.event.event, "login.succeeded");
  EXPECT_EQ(success.event.identifier, std::string(64, 'f'));
  EXPECT_EQ(success.event.client_id, "ulus-portal");
  EXPECT_EQ(success.event.remote_address, "192.0.2.7");
  EXPECT_EQ(success.event.detail["note"], "Сайн байна уу ✓");
  EXPECT_EQ(success.at, kStart + seconds(1));

  EXPECT_EQ(audit_->List("b", "login.", 10)->size(), 0u);
  EXPECT_EQ(audit_->List("", "oidc.", 10)->size(), 1u);
  EXPECT_EQ(audit_->List("", "логин.", 10)->size(), 1u);
  auto newest = audit_->List("", "", 1);
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_EQ((*newest)[0].event.event, "логин.туршилт");

  // Recorded inside a transaction that rolls back: it never happened.
  const Status rolled_back = db_->InTransaction([&](store::Connection& tx) -> Status {
    ULUS_TRY(audit_->Record(tx, {.event = "login.failed", .account_id = "c"}));
    return Error::Internal("rolled back on purpose");
  });
  EXPECT_FALSE(rolled_back.ok());
  EXPECT_EQ(audit_->List("c", "", 10)->size(), 0u);
}

TEST_P(DanStoreTest, LocalOutboxKeepsMessagesNewestFirst) {
  ASSERT_TRUE(outbox_->Send({.channel = Channel::kSms, .to = kPhone, .text = "код 123456"}).ok());
  clock_.Advance(seconds(1));
  ASSERT_TRUE(outbox_
                  ->Send({.channel = Channel::kEmail,
                          .to = "bat@example.mn",
                          .subject = "Дан",
                          .text = "Сайн байна уу"})
                  .ok());
  ASSERT_TRUE(outbox_->Send({.channel = Channel::kSms, .to = kPhone, .text = "second"}).ok());
  EXPECT_EQ(outbox_->Send({.channel = Channel::kSms, .to = "", .text = "x"}).error().code,
            ErrorCode::kInvalidArgument);

  auto all = outbox_->List(10);
  ASSERT_TRUE(all.ok()) << all.error().ToString();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].text, "second");
  EXPECT_EQ((*all)[1].channel, Channel::kEmail);
  EXPECT_EQ((*all)[1].subject, "Дан");
  EXPECT_EQ((*all)[1].at, kStart + seconds(1));
  EXPECT_GT((*all)[0].id, (*all)[1].id);

  auto to_phone = outbox_->List(10, kPhone);
  ASSERT_TRUE(to_phone.ok()) << to_phone.error().ToString();
  ASSERT_EQ(to_phone->size(), 2u);
  EXPECT_EQ((*to_phone)[1].text, "код 123456");
  EXPECT_EQ(outbox_->List(1)->size(), 1u);
}

TEST_P(DanStoreTest, KeyStoreMakesOneKeyFromEightThreadsRotatesAndPublishes) {
  // Two instances on one database stand for two processes; four threads each.
  auto first = OpenKeys();
  auto second = OpenKeys();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  const KeyOwner owner{KeyOwnerKind::kPlatform, "oidc"};
  constexpr int kThreads = 8;
  std::vector<std::string> kids(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      KeyStore& keys = i % 2 == 0 ? *first : *second;
      auto signer = keys.Signer(owner, crypto::SignatureAlg::kEs256);
      if (signer.ok()) {
        kids[static_cast<size_t>(i)] = (*signer)->Kid();
      } else {
        ++failures;
        ADD_FAILURE() << signer.error().ToString();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  const std::set<std::string> distinct(kids.begin(), kids.end());
  ASSERT_EQ(distinct.size(), 1u);
  const std::string old_kid = *distinct.begin();
  EXPECT_FALSE(old_kid.empty());
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM dan_key"), 1);

  // Another algorithm is another key of the same owner.
  auto eddsa = first->Signer(owner, crypto::SignatureAlg::kEdDsa);
  ASSERT_TRUE(eddsa.ok()) << eddsa.error().ToString();
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM dan_key"), 2);

  auto rotated = second->Rotate(owner, crypto::SignatureAlg::kEs256, hours(1));
  ASSERT_TRUE(rotated.ok()) << rotated.error().ToString();
  EXPECT_NE(rotated->kid, old_kid);
  EXPECT_EQ(rotated->state, KeyState::kCurrent);
  auto retired = first->Find(old_kid);
  ASSERT_TRUE(retired.ok()) << retired.error().ToString();
  EXPECT_EQ(retired->state, KeyState::kRetired);
  ASSERT_TRUE(retired->publish_until.has_value());
  EXPECT_EQ(*retired->publish_until, kStart + hours(1));
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM dan_key WHERE state = 'current'"), 2);

  // The instance that did not rotate signs with the new key once it reads the store again.
  auto current = first->CurrentSigner(owner, crypto::SignatureAlg::kEs256);
  ASSERT_TRUE(current.ok()) << current.error().ToString();
  EXPECT_EQ((*current)->Kid(), rotated->kid);
  const std::string text = "Улус";
  auto signature = (*current)->Sign(crypto::AsBytes(text));
  ASSERT_TRUE(signature.ok());

  auto jwks = first->Jwks(owner);
  ASSERT_TRUE(jwks.ok()) << jwks.error().ToString();
  EXPECT_EQ(jwks->Size(), 3u);  // ES256 current and retired, EdDSA
  auto published = jwks->Resolve(rotated->kid);
  ASSERT_TRUE(published.ok());
  EXPECT_TRUE(
      published->Verify(crypto::SignatureAlg::kEs256, crypto::AsBytes(text), *signature).ok());
  auto keys = first->Keys(owner);
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 3u);
  EXPECT_EQ(keys->back().kid, old_kid);  // current ones first, the retired one last

  // Past its publication the retired key drops out; a revoked key goes at once.
  clock_.Advance(hours(2));
  EXPECT_EQ(first->Jwks(owner)->Size(), 2u);
  ASSERT_TRUE(first->Revoke(owner, (*eddsa)->Kid()).ok());
  EXPECT_EQ(first->Jwks(owner)->Size(), 1u);
  EXPECT_EQ(first->CurrentSigner(owner, crypto::SignatureAlg::kEdDsa).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(first->Revoke(owner, "no-such-kid").error().code, ErrorCode::kNotFound);
}

TEST_P(DanStoreTest, AccountsSignUpLogInThrottleEnrolTotpAndHoldRoles) {
  const crypto::MasterKey master = Master(2);
  auto accounts = OpenAccounts(master);
  ASSERT_NE(accounts, nullptr);

  // Sign-up: the code goes to the phone on file, through the local outbox.
  ASSERT_TRUE(accounts->StartSignup(" уб90041212 ", ctx_).ok());
  auto messages = outbox_->List(10, kPhone);
  ASSERT_TRUE(messages.ok()) << messages.error().ToString();
  ASSERT_EQ(messages->size(), 1u);
  const std::string code = CodeIn(messages->front().text);
  ASSERT_EQ(code.size(), 6u);
  // Asked again within the minute: paced, nothing sent.
  ASSERT_TRUE(accounts->StartSignup(kCitizen, ctx_).ok());
  EXPECT_EQ(outbox_->List(10, kPhone)->size(), 1u);
  const std::string wrong_code = code == "000000" ? "111111" : "000000";
  EXPECT_EQ(accounts->CompleteSignup(kCitizen, wrong_code, kPassword, ctx_).error().code,
            ErrorCode::kUnauthenticated);
  auto account = accounts->CompleteSignup(kCitizen, code, kPassword, ctx_);
  ASSERT_TRUE(account.ok()) << account.error().ToString();
  EXPECT_EQ(account->national_id, kCitizen);
  EXPECT_FALSE(accounts->CompleteSignup(kCitizen, code, kPassword, ctx_).ok());
  auto found = accounts->FindByNationalId("уб90041212");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id, account->id);
  EXPECT_FALSE((*found)->totp_enabled);
  EXPECT_FALSE((*found)->has_signature_key);
  EXPECT_EQ(CountEvents("account.created"), 1u);

  // Password login.
  auto login = accounts->LoginWithPassword(kCitizen, kPassword, ctx_);
  ASSERT_TRUE(login.ok()) << login.error().ToString();
  EXPECT_EQ(login->assurance, Assurance::kLow);

  // Three free failures, then a wait, then a lock at ten.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(accounts->LoginWithPassword(kCitizen, "wrong password!!", ctx_).error().code,
              ErrorCode::kUnauthenticated)
        << i;
  }
  auto early = accounts->LoginWithPassword(kCitizen, kPassword, ctx_);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, ErrorCode::kRateLimited);
  EXPECT_NE(early.error().message.find("seconds"), std::string::npos);
  for (int i = 3; i < 10; ++i) {
    clock_.Advance(seconds(61));
    EXPECT_EQ(accounts->LoginWithPassword(kCitizen, "wrong password!!", ctx_).error().code,
              ErrorCode::kUnauthenticated)
        << i;
  }
  EXPECT_EQ(CountEvents("login.locked"), 1u);
  clock_.Advance(seconds(61));
  auto locked = accounts->LoginWithPassword(kCitizen, kPassword, ctx_);
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.error().code, ErrorCode::kRateLimited);
  EXPECT_EQ(locked.error().message.find("seconds"), std::string::npos);
  clock_.Advance(minutes(15));
  ASSERT_TRUE(accounts->LoginWithPassword(kCitizen, kPassword, ctx_).ok());
  auto history = accounts->LoginHistory(account->id, 100);
  ASSERT_TRUE(history.ok()) << history.error().ToString();
  EXPECT_GE(history->size(), 10u);
  EXPECT_EQ(history->front().event.event, "login.succeeded");

  // TOTP enrolment, login with it, replay refused, a recovery code once.
  auto enrolment = accounts->BeginTotpEnrolment(account->id);
  ASSERT_TRUE(enrolment.ok()) << enrolment.error().ToString();
  const auto secret = crypto::Base32Decode(enrolment->secret_base32);
  ASSERT_TRUE(secret.has_value());
  auto recovery =
      accounts->ConfirmTotpEnrolment(account->id, crypto::Totp(*secret, clock_.Now()), ctx_);
  ASSERT_TRUE(recovery.ok()) << recovery.error().ToString();
  ASSERT_EQ(recovery->size(), crypto::kRecoveryCodeCount);
  EXPECT_TRUE((*accounts->FindById(account->id))->totp_enabled);
  clock_.Advance(seconds(30));
  const std::string totp = crypto::Totp(*secret, clock_.Now());
  auto second_factor = accounts->LoginWithTotp(account->id, totp, ctx_);
  ASSERT_TRUE(second_factor.ok()) << second_factor.error().ToString();
  EXPECT_EQ(second_factor->assurance, Assurance::kSubstantial);
  EXPECT_EQ(accounts->LoginWithTotp(account->id, totp, ctx_).error().code,
            ErrorCode::kUnauthenticated);
  ASSERT_TRUE(accounts->LoginWithRecoveryCode(account->id, (*recovery)[0], ctx_).ok());
  EXPECT_FALSE(accounts->LoginWithRecoveryCode(account->id, (*recovery)[0], ctx_).ok());
  EXPECT_EQ(*accounts->RecoveryCodesLeft(account->id),
            static_cast<int64_t>(crypto::kRecoveryCodeCount) - 1);

  // A registered signature key and a challenge signed with it: level high.
  auto key = crypto::SigningKey::Generate(crypto::SignatureAlg::kEs256);
  ASSERT_TRUE(key.ok());
  auto kid = accounts->RegisterSignatureKey(account->id, key->PublicJwk(), ctx_);
  ASSERT_TRUE(kid.ok()) << kid.error().ToString();
  EXPECT_EQ(accounts->RegisterSignatureKey(account->id, key->PublicJwk(), ctx_).error().code,
            ErrorCode::kAlreadyExists);
  EXPECT_TRUE((*accounts->FindById(account->id))->has_signature_key);
  auto challenge = accounts->NewSignatureChallenge(account->id);
  ASSERT_TRUE(challenge.ok()) << challenge.error().ToString();
  auto signature = key->Sign(crypto::AsBytes(challenge->SignedText()));
  ASSERT_TRUE(signature.ok());
  const std::string signed_b64 = crypto::Base64UrlEncode(*signature);
  auto high = accounts->LoginWithSignature(account->id, challenge->id, signed_b64, ctx_);
  ASSERT_TRUE(high.ok()) << high.error().ToString();
  EXPECT_EQ(high->assurance, Assurance::kHigh);
  EXPECT_FALSE(accounts->LoginWithSignature(account->id, challenge->id, signed_b64, ctx_).ok());

  // Roles, granted by an agency's admin.
  auto admin = accounts->EnsureDemoAccount("УБ70010101", kPassword, {Role{"MOJ", "", "admin"}});
  ASSERT_TRUE(admin.ok()) << admin.error().ToString();
  auto again = accounts->EnsureDemoAccount("УБ70010101", "another password!", {});
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(again->id, admin->id);
  const Caller admin_caller{admin->id, *accounts->Roles(admin->id)};
  ASSERT_EQ(admin_caller.roles.size(), 1u);
  auto granted = accounts->GrantRole(admin_caller, "MOJ", kCitizen, "officer", "", ctx_);
  ASSERT_TRUE(granted.ok()) << granted.error().ToString();
  EXPECT_EQ(accounts->GrantRole(admin_caller, "MOJ", kCitizen, "officer", "", ctx_).error().code,
            ErrorCode::kAlreadyExists);
  ASSERT_TRUE(accounts->GrantRole(admin_caller, "MOJ", kCitizen, "officer", "UB-1", ctx_).ok());
  EXPECT_EQ(*accounts->Roles(account->id),
            (std::vector<Role>{Role{"MOJ", "", "officer"}, Role{"MOJ", "UB-1", "officer"}}));
  auto listed = accounts->ListRoles(admin_caller, "MOJ");
  ASSERT_TRUE(listed.ok()) << listed.error().ToString();
  EXPECT_EQ(listed->size(), 3u);
  ASSERT_TRUE(accounts->RevokeRole(admin_caller, "MOJ", account->id, "officer", "UB-1", ctx_).ok());
  EXPECT_EQ(
      accounts->RevokeRole(admin_caller, "MOJ", account->id, "officer", "UB-1", ctx_).error().code,
      ErrorCode::kNotFound);
  EXPECT_EQ(accounts->Roles(account->id)->size(), 1u);
  EXPECT_EQ(CountEvents("role.revoked"), 1u);
}

TEST_P(DanStoreTest, AccountsChangeAndResetPasswords) {
  const crypto::MasterKey master = Master(2);
  auto accounts = OpenAccounts(master);
  ASSERT_NE(accounts, nullptr);
  auto account = accounts->EnsureDemoAccount(kCitizen, kPassword, {});
  ASSERT_TRUE(account.ok()) << account.error().ToString();
  const auto sessions_of = [&] {
    return QueryInt("SELECT COUNT(*) FROM dan_session WHERE account_id = $1",
                    {store::Value(account->id)});
  };
  constexpr const char* kChanged = "a brand new passphrase";
  constexpr const char* kReset = "the passphrase after reset";

  // Change: a wrong current password is a failed login; the right one ends every session.
  ASSERT_TRUE(sessions_->Create(account->id, Assurance::kLow, {"pwd"}).ok());
  ASSERT_TRUE(sessions_->Create(account->id, Assurance::kLow, {"pwd"}).ok());
  EXPECT_EQ(accounts->ChangePassword(account->id, "not the password!", kChanged, ctx_).error().code,
            ErrorCode::kUnauthenticated);
  EXPECT_EQ(CountEvents("login.failed"), 1u);
  ASSERT_TRUE(accounts->ChangePassword(account->id, kPassword, kChanged, ctx_).ok());
  EXPECT_EQ(CountEvents("password.changed"), 1u);
  EXPECT_EQ(sessions_of(), 0);
  EXPECT_FALSE(accounts->LoginWithPassword(kCitizen, kPassword, ctx_).ok());
  ASSERT_TRUE(accounts->LoginWithPassword(kCitizen, kChanged, ctx_).ok());

  // Reset: nothing for an ID nobody holds; a code to the phone on file for the account.
  ASSERT_TRUE(accounts->StartPasswordReset("УБ00000000", ctx_).ok());
  EXPECT_EQ(outbox_->List(10)->size(), 0u);
  ASSERT_TRUE(sessions_->Create(account->id, Assurance::kLow, {"pwd"}).ok());
  ASSERT_TRUE(accounts->StartPasswordReset(" уб90041212 ", ctx_).ok());
  ASSERT_TRUE(accounts->StartPasswordReset(kCitizen, ctx_).ok());  // paced: not sent again
  auto messages = outbox_->List(10, kPhone);
  ASSERT_TRUE(messages.ok()) << messages.error().ToString();
  ASSERT_EQ(messages->size(), 1u);
  const std::string code = CodeIn(messages->front().text);
  ASSERT_EQ(code.size(), 6u);
  const std::string wrong = code == "000000" ? "111111" : "000000";
  EXPECT_EQ(accounts->CompletePasswordReset(kCitizen, wrong, kReset, "", ctx_).error().code,
            ErrorCode::kUnauthenticated);
  auto reset = accounts->CompletePasswordReset(kCitizen, code, kReset, "", ctx_);
  ASSERT_TRUE(reset.ok()) << reset.error().ToString();
  EXPECT_FALSE(accounts->CompletePasswordReset(kCitizen, code, kReset, "", ctx_).ok());
  EXPECT_EQ(CountEvents("password.reset"), 1u);
  EXPECT_EQ(sessions_of(), 0);
  EXPECT_FALSE(accounts->LoginWithPassword(kCitizen, kChanged, ctx_).ok());
  ASSERT_TRUE(accounts->LoginWithPassword(kCitizen, kReset, ctx_).ok());

  // With an authenticator app the phone alone is not enough; the app's code is.
  auto enrolment = accounts->BeginTotpEnrolment(account->id);
  ASSERT_TRUE(enrolment.ok()) << enrolment.error().ToString();
  const auto secret = crypto::Base32Decode(enrolment->secret_base32);
  ASSERT_TRUE(secret.has_value());
  ASSERT_TRUE(
      accounts->ConfirmTotpEnrolment(account->id, crypto::Totp(*secret, clock_.Now()), ctx_).ok());
  clock_.Advance(minutes(2));
  ASSERT_TRUE(accounts->StartPasswordReset(kCitizen, ctx_).ok());
  const std::string second = CodeIn(outbox_->List(1, kPhone)->front().text);
  auto sms_only = accounts->CompletePasswordReset(kCitizen, second, kChanged, "", ctx_);
  ASSERT_FALSE(sms_only.ok());
  EXPECT_EQ(sms_only.error().field, "second_factor");
  ASSERT_TRUE(accounts
                  ->CompletePasswordReset(kCitizen, second, kChanged,
                                          crypto::Totp(*secret, clock_.Now()), ctx_)
                  .ok());
  ASSERT_TRUE(accounts->LoginWithPassword(kCitizen, kChanged, ctx_).ok());
}

TEST_P(DanStoreTest, ConsentIsGrantedVerifiedRenewedAndWithdrawn) {
  auto keys = OpenKeys();
  ASSERT_NE(keys, nullptr);
  auto service = ConsentService::Open(*db_, *keys, kIssuer, clock_);
  ASSERT_TRUE(service.ok()) << service.error().ToString();
  ConsentService& consent = **service;
  auto agreement = consent.CreateAgreement(TaxRefund(), "MN/GOV/TAX/refunds");
  ASSERT_TRUE(agreement.ok()) << agreement.error().ToString();
  auto police = TaxRefund();
  police.controller = "POLICE";
  ASSERT_TRUE(consent.CreateAgreement(police, "MN/GOV/POLICE").ok());
  EXPECT_EQ(consent.Agreements("TAX", 0, 10)->size(), 1u);
  EXPECT_EQ(consent.Agreements("", 0, 10)->size(), 2u);
  EXPECT_EQ(consent.Agreements("", 1, 10)->size(), 1u);
  auto read = consent.Agreement(agreement->id);
  ASSERT_TRUE(read.ok()) << read.error().ToString();
  EXPECT_TRUE(read->active);
  EXPECT_EQ(read->version, 1);
  EXPECT_EQ(read->revision.hash, agreement->revision.hash);

  const std::string account_id = "0190f1a2-0000-7000-8000-00000000a11c";
  const ConsentCheck check{
      .subject = kCitizen, .agreement_id = agreement->id, .purpose = "", .agency = "TAX"};
  auto granted = consent.Grant(kCitizen, account_id, agreement->id);
  ASSERT_TRUE(granted.ok()) << granted.error().ToString();
  EXPECT_EQ(granted->record.state, ConsentState::kGiven);
  auto verified = consent.Verify(granted->token, check);
  ASSERT_TRUE(verified.ok()) << verified.error().ToString();
  EXPECT_EQ(verified->record.id, granted->record.id);
  EXPECT_EQ(verified->agreement.id, agreement->id);

  // Granting again renews the same record with a new revision chained to the last.
  clock_.Advance(hours(1));
  auto renewed = consent.Grant(kCitizen, account_id, agreement->id, 7);
  ASSERT_TRUE(renewed.ok()) << renewed.error().ToString();
  EXPECT_EQ(renewed->record.id, granted->record.id);
  EXPECT_EQ(renewed->record.revision.predecessor_hash, granted->record.revision.hash);
  EXPECT_EQ(renewed->record.expires, kStart + hours(1) + hours(24 * 7));

  auto withdrawn = consent.Withdraw(granted->record.id, kCitizen);
  ASSERT_TRUE(withdrawn.ok()) << withdrawn.error().ToString();
  EXPECT_EQ(withdrawn->state, ConsentState::kWithdrawn);
  EXPECT_FALSE(withdrawn->opt_in);
  ASSERT_TRUE(withdrawn->withdrawn.has_value());
  EXPECT_EQ(consent.Verify(renewed->token, check).error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(consent.Withdraw(granted->record.id, "УБ00000000").error().code, ErrorCode::kNotFound);
  auto stored = consent.Record(granted->record.id);
  ASSERT_TRUE(stored.ok()) << stored.error().ToString();
  EXPECT_EQ(stored->state, ConsentState::kWithdrawn);
  EXPECT_EQ(stored->withdrawn, withdrawn->withdrawn);

  // A new consent is a new record; once it lapses, granting again marks it expired.
  auto fresh = consent.Grant(kCitizen, account_id, agreement->id, 1);
  ASSERT_TRUE(fresh.ok()) << fresh.error().ToString();
  EXPECT_NE(fresh->record.id, granted->record.id);
  ASSERT_TRUE(consent.Verify(fresh->token, check).ok());
  clock_.Advance(hours(25));
  auto after_lapse = consent.Grant(kCitizen, account_id, agreement->id);
  ASSERT_TRUE(after_lapse.ok()) << after_lapse.error().ToString();
  EXPECT_NE(after_lapse->record.id, fresh->record.id);
  EXPECT_EQ(consent.Record(fresh->record.id)->state, ConsentState::kExpired);
  auto current = consent.CurrentRecord(kCitizen, agreement->id);
  ASSERT_TRUE(current.ok() && current->has_value());
  EXPECT_EQ((*current)->id, after_lapse->record.id);
  auto records = consent.Records(kCitizen, 0, 10);
  ASSERT_TRUE(records.ok()) << records.error().ToString();
  EXPECT_EQ(records->size(), 3u);
  EXPECT_EQ(consent.Records(kCitizen, 2, 10)->size(), 1u);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM dan_consent_record WHERE state = 'given'"), 1);
}

TEST_P(DanStoreTest, OidcCodeFlowRefreshRotationReuseAndRevocation) {
  Dan* dan = OpenDan();
  ASSERT_NE(dan, nullptr);
  auto account = dan->accounts().EnsureDemoAccount(kCitizen, kPassword, {});
  ASSERT_TRUE(account.ok()) << account.error().ToString();
  EXPECT_EQ(Call(Method::get, "/oidc/jwks").json_body["keys"].size(), 3u);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM dan_oidc_client WHERE client_id = 'tax'"), 1);

  // No session: to the login page, which comes back to the pending request.
  const Answer start = Call(Method::get, PortalAuthorizeUrl());
  ASSERT_EQ(start.status, 303) << start.body;
  ASSERT_TRUE(start.Location().starts_with("/dan/login?")) << start.Location();
  const std::string resume = QueryParam(start.Location(), "return_to");
  auto created = dan->sessions().Create(account->id, Assurance::kLow, {"pwd"});
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  const std::string cookie = created->set_cookie.substr(0, created->set_cookie.find(';'));
  const Answer back = Call(Method::get, resume, "", {{"Cookie", cookie}});
  ASSERT_EQ(back.status, 303) << back.body;
  const std::string code = QueryParam(back.Location(), "code");
  ASSERT_FALSE(code.empty()) << back.Location();

  const Answer tokens = Exchange(code);
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  const std::string access = tokens.json_body["access_token"];
  const std::string refresh = tokens.json_body["refresh_token"];
  const json id = JwtClaims(tokens.json_body["id_token"]);
  EXPECT_EQ(id["sub"], account->id);
  EXPECT_EQ(id["nonce"], "n0nce");
  EXPECT_EQ(id["given_name"], "Сарангэрэл");
  const Answer info =
      Call(Method::get, "/oidc/userinfo", "", {{"Authorization", "Bearer " + access}});
  ASSERT_EQ(info.status, 200) << info.body;
  EXPECT_EQ(info.json_body["sub"], account->id);
  ASSERT_EQ(Introspect(access).json_body["active"], true);
  ASSERT_EQ(Introspect(refresh).json_body["active"], true);

  // A replayed code revokes what it bought.
  const Answer replay = Exchange(code);
  EXPECT_EQ(replay.status, 400);
  EXPECT_EQ(replay.json_body["error"], "invalid_grant");
  EXPECT_EQ(Introspect(access).json_body["active"], false);
  EXPECT_EQ(Introspect(refresh).json_body["active"], false);
  EXPECT_EQ(Refresh(refresh).json_body["error"], "invalid_grant");
  EXPECT_EQ(CountEvents("oidc.code.replayed"), 1u);

  // Refresh tokens rotate; a narrower scope is allowed; reuse revokes the family.
  const Answer first = Exchange(PortalCode(cookie));
  ASSERT_EQ(first.status, 200) << first.body;
  const std::string r1 = first.json_body["refresh_token"];
  const Answer second = Refresh(r1);
  ASSERT_EQ(second.status, 200) << second.body;
  const std::string r2 = second.json_body["refresh_token"];
  EXPECT_NE(r1, r2);
  EXPECT_EQ(Introspect(r1).json_body["active"], false);
  const Answer narrow = Refresh(r2, "&scope=openid");
  ASSERT_EQ(narrow.status, 200) << narrow.body;
  EXPECT_EQ(narrow.json_body["scope"], "openid");
  const std::string r3 = narrow.json_body["refresh_token"];
  const std::string a3 = narrow.json_body["access_token"];
  ASSERT_EQ(Introspect(r3).json_body["active"], true);
  ASSERT_EQ(Introspect(a3).json_body["active"], true);
  const Answer reuse = Refresh(r1);
  EXPECT_EQ(reuse.json_body["error"], "invalid_grant");
  EXPECT_EQ(Introspect(r3).json_body["active"], false);
  EXPECT_EQ(Introspect(a3).json_body["active"], false);
  EXPECT_EQ(Refresh(r3).json_body["error"], "invalid_grant");
  EXPECT_EQ(CountEvents("oidc.refresh.reused"), 1u);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM dan_refresh_token WHERE state = 'active'"), 0);

  // Revocation by the client: an access token, then a refresh token's family.
  const Answer later = Exchange(PortalCode(cookie));
  ASSERT_EQ(later.status, 200) << later.body;
  const std::string a4 = later.json_body["access_token"];
  const std::string r4 = later.json_body["refresh_token"];
  EXPECT_EQ(RevokeToken(a4).status, 200);
  EXPECT_EQ(Introspect(a4).json_body["active"], false);
  EXPECT_EQ(Call(Method::get, "/oidc/userinfo", "", {{"Authorization", "Bearer " + a4}}).status,
            401);
  ASSERT_EQ(Introspect(r4).json_body["active"], true);
  EXPECT_EQ(RevokeToken(r4).status, 200);
  EXPECT_EQ(Introspect(r4).json_body["active"], false);
  EXPECT_EQ(Refresh(r4).json_body["error"], "invalid_grant");
  EXPECT_EQ(RevokeToken("nonsense").status, 200);
  EXPECT_GE(CountEvents("oidc.token.revoked"), 2u);

  // Revocations survive a restart: a second provider on the same database knows them.
  router_.reset();
  dan_.reset();
  ASSERT_NE(OpenDan(), nullptr);
  EXPECT_EQ(Introspect(a4).json_body["active"], false);
  EXPECT_EQ(Introspect(r4).json_body["active"], false);
}

// A changed password ends what the old one bought: refresh families and their access tokens.
TEST_P(DanStoreTest, OpenGivesDansPagesThePackLanguages) {
  const ScopedPageLanguages restore({"mn", "en"});  // and puts back what the next test expects
  ASSERT_NE(OpenDan({"kk", "ru", "en", "lo"}), nullptr);  // no page text in Lao: left out
  EXPECT_EQ(PageLanguages(), (std::vector<std::string>{"kk", "ru", "en"}));
  const Answer kk = Call(Method::get, "/dan/login");
  EXPECT_NE(kk.body.find("<html lang=\"kk\">"), std::string::npos);
  EXPECT_NE(kk.body.find("hreflang=\"ru\""), std::string::npos);
  EXPECT_NE(kk.body.find("hreflang=\"en\""), std::string::npos);
  // A pack that names no languages: Mongolian and English, as before.
  ASSERT_NE(OpenDan(), nullptr);
  EXPECT_EQ(PageLanguages(), (std::vector<std::string>{"mn", "en"}));
  EXPECT_NE(Call(Method::get, "/dan/login").body.find("<html lang=\"mn\">"), std::string::npos);
}

TEST_P(DanStoreTest, PasswordChangeEndsTheAccountsTokens) {
  Dan* dan = OpenDan();
  ASSERT_NE(dan, nullptr);
  auto account = dan->accounts().EnsureDemoAccount(kCitizen, kPassword, {});
  ASSERT_TRUE(account.ok()) << account.error().ToString();
  auto created = dan->sessions().Create(account->id, Assurance::kLow, {"pwd"});
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  const std::string cookie = created->set_cookie.substr(0, created->set_cookie.find(';'));
  const Answer tokens = Exchange(PortalCode(cookie));
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  const std::string access = tokens.json_body["access_token"];
  const std::string refresh = tokens.json_body["refresh_token"];
  ASSERT_EQ(Introspect(access).json_body["active"], true);

  ASSERT_TRUE(
      dan->accounts().ChangePassword(account->id, kPassword, "a brand new passphrase", ctx_).ok());
  EXPECT_EQ(Refresh(refresh).json_body["error"], "invalid_grant");
  EXPECT_EQ(Introspect(access).json_body["active"], false);
  EXPECT_EQ(CountEvents("oidc.account.revoked"), 1u);
  // Nothing left to end: a second call finds no family.
  auto again = dan->oidc().RevokeAccount(account->id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
}

TEST_P(DanStoreTest, OidcConsentIsRememberedAndClientsGetTheirOwnTokens) {
  Dan* dan = OpenDan();
  ASSERT_NE(dan, nullptr);
  auto account = dan->accounts().EnsureDemoAccount(kCitizen, kPassword, {});
  ASSERT_TRUE(account.ok()) << account.error().ToString();
  auto created = dan->sessions().Create(account->id, Assurance::kLow, {"pwd"});
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  const std::string cookie = created->set_cookie.substr(0, created->set_cookie.find(';'));
  const std::string callback = "https://tax.example.mn/cb";
  const std::string url = "/oidc/authorize?response_type=code&client_id=tax&redirect_uri=" +
                          http::FormEncode(callback) + "&scope=openid%20profile&state=st4te";

  // A third party: the person is asked once.
  const Answer page = Call(Method::get, url, "", {{"Cookie", cookie}});
  ASSERT_EQ(page.status, 200) << page.body;
  const std::string marker = "name=\"ar\" value=\"";
  const auto at = page.body.find(marker);
  ASSERT_NE(at, std::string::npos);
  const auto from = at + marker.size();
  const std::string ar = page.body.substr(from, page.body.find('"', from) - from);
  const Answer allowed =
      Call(Method::post, "/oidc/authorize/resume",
           "ar=" + ar + "&csrf=" + created->session.csrf + "&decision=allow", {{"Cookie", cookie}});
  ASSERT_EQ(allowed.status, 303) << allowed.body;
  const std::string code = QueryParam(allowed.Location(), "code");
  ASSERT_FALSE(code.empty()) << allowed.Location();
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM dan_oidc_consent"), 1);
  const Answer tokens =
      Post("/oidc/token", "grant_type=authorization_code&code=" + http::FormEncode(code) +
                              "&redirect_uri=" + http::FormEncode(callback) +
                              "&client_id=tax&client_secret=" + Secret("tax"));
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  EXPECT_EQ(JwtClaims(tokens.json_body["id_token"])["aud"], "tax");

  // Remembered: straight back with a code; asked again on purpose, the same row is updated.
  const Answer again = Call(Method::get, url, "", {{"Cookie", cookie}});
  ASSERT_EQ(again.status, 303) << again.body;
  EXPECT_FALSE(QueryParam(again.Location(), "code").empty());
  const Answer wider = Call(Method::get, url + "&prompt=consent", "", {{"Cookie", cookie}});
  ASSERT_EQ(wider.status, 200) << wider.Location();
  const auto at2 = wider.body.find(marker);
  ASSERT_NE(at2, std::string::npos);
  const auto from2 = at2 + marker.size();
  const std::string ar2 = wider.body.substr(from2, wider.body.find('"', from2) - from2);
  const Answer allowed2 = Call(Method::post, "/oidc/authorize/resume",
                               "ar=" + ar2 + "&csrf=" + created->session.csrf + "&decision=allow",
                               {{"Cookie", cookie}});
  ASSERT_EQ(allowed2.status, 303) << allowed2.body;
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM dan_oidc_consent"), 1);
  EXPECT_EQ(CountEvents("oidc.consent.granted"), 2u);

  // The client acting for itself.
  const Answer own = Post(
      "/oidc/token", "grant_type=client_credentials&client_id=tax&client_secret=" + Secret("tax"));
  ASSERT_EQ(own.status, 200) << own.body;
  const std::string own_token = own.json_body["access_token"];
  EXPECT_EQ(JwtClaims(own_token)["agency"], "TAX");
  auto verified = dan->oidc().VerifyAccessToken(own_token);
  ASSERT_TRUE(verified.ok()) << verified.error().ToString();
  EXPECT_TRUE(verified->IsClientToken());

  // Logging out ends the session in the store.
  const Answer out =
      Call(Method::post, "/oidc/logout", "csrf=" + created->session.csrf, {{"Cookie", cookie}});
  EXPECT_EQ(out.status, 200) << out.body;
  EXPECT_EQ(CountEvents("oidc.logout"), 1u);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM dan_session"), 0);
}

TEST_P(DanStoreTest, OidcConcurrentUsesOfOneRefreshTokenLetOneWin) {
  Dan* dan = OpenDan();
  ASSERT_NE(dan, nullptr);
  auto account = dan->accounts().EnsureDemoAccount(kCitizen, kPassword, {});
  ASSERT_TRUE(account.ok()) << account.error().ToString();
  auto created = dan->sessions().Create(account->id, Assurance::kLow, {"pwd"});
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  const std::string cookie = created->set_cookie.substr(0, created->set_cookie.find(';'));
  const Answer tokens = Exchange(PortalCode(cookie));
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  const std::string refresh = tokens.json_body["refresh_token"];

  constexpr int kThreads = 8;
  std::vector<int> statuses(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { statuses[static_cast<size_t>(i)] = Refresh(refresh).status; });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), 1);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 400), kThreads - 1);
  // The losers saw the token reused, so the whole family, the winner's new token too, is gone.
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM dan_refresh_token WHERE state = 'active'"), 0);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM dan_refresh_token"), 2);
}

TEST_P(DanStoreTest, ConcurrentFailedLoginsAreAllCounted) {
  const crypto::MasterKey master = Master(3);
  auto accounts = OpenAccounts(master);
  ASSERT_NE(accounts, nullptr);
  ASSERT_TRUE(accounts->EnsureDemoAccount(kCitizen, kPassword, {}).ok());
  constexpr int kThreads = 8;
  std::atomic<int> refused{0};
  std::atomic<int> throttled{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      const AttemptContext from{"10.0.1." + std::to_string(i), {}};
      auto r = accounts->LoginWithPassword(kCitizen, "wrong password!!", from);
      if (!r.ok() && r.error().code == ErrorCode::kUnauthenticated) ++refused;
      if (!r.ok() && r.error().code == ErrorCode::kRateLimited) ++throttled;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(refused.load() + throttled.load(), kThreads);
  EXPECT_GE(refused.load(), 3);  // the free failures at least
  // No failure was lost to a race.
  EXPECT_EQ(QueryInt("SELECT failures FROM dan_login_throttle WHERE throttle_key LIKE 'id:%'"),
            refused.load());
  EXPECT_EQ(CountEvents("login.failed"), static_cast<size_t>(refused.load()));
}

TEST_P(DanStoreTest, GroupCommitSharesCommitsAcrossEightThreads) {
  {
    auto conn = db_->Acquire();
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)
                    ->ExecuteScript("CREATE TABLE gc_item (id BIGINT PRIMARY KEY, worker BIGINT "
                                    "NOT NULL);"
                                    "CREATE TABLE gc_counter (id INTEGER PRIMARY KEY, n BIGINT "
                                    "NOT NULL);"
                                    "INSERT INTO gc_counter (id, n) VALUES (1, 0);")
                    .ok());
  }
  const auto insert = [](store::Connection& tx, int64_t id, int64_t worker) -> Status {
    const store::Value params[] = {id, worker};
    ULUS_TRY(tx.Execute("INSERT INTO gc_item (id, worker) VALUES ($1, $2)", params));
    ULUS_TRY(tx.Execute("UPDATE gc_counter SET n = n + 1 WHERE id = 1"));
    return Ok();
  };
  constexpr int kThreads = 8;
  constexpr int kEach = 100;
  std::atomic<int> ok{0};
  std::atomic<int> refused{0};
  std::atomic<int> duplicate{0};
  store::GroupCommit::Stats stats;
  {
    store::GroupCommit group(*db_);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          const int64_t id = int64_t{t} * kEach + i;
          if (i % 10 == 3) {
            // Writes, then fails: its writes vanish, its neighbours' stay.
            const Status s = group.Submit([&, id](store::Connection& tx) -> Status {
              ULUS_TRY(insert(tx, 100000 + id, -1));
              return Error::InvalidArgument("refused on purpose");
            });
            if (!s.ok() && s.error().code == ErrorCode::kInvalidArgument) ++refused;
          } else if (i % 10 == 7) {
            // A failing statement inside an item: on PostgreSQL only its savepoint is spoilt.
            const Status s = group.Submit([&, id](store::Connection& tx) -> Status {
              ULUS_TRY(insert(tx, 200000 + id, -2));
              return insert(tx, 200000 + id, -2);
            });
            if (!s.ok() && s.error().code == ErrorCode::kAlreadyExists) ++duplicate;
          } else {
            const Status s = group.Submit(
                [&, id, t](store::Connection& tx) { return insert(tx, id, int64_t{t}); });
            if (s.ok()) ++ok;
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
    stats = group.stats();
  }
  EXPECT_EQ(ok.load(), kThreads * kEach * 8 / 10);
  EXPECT_EQ(refused.load(), kThreads * kEach / 10);
  EXPECT_EQ(duplicate.load(), kThreads * kEach / 10);
  EXPECT_EQ(stats.items, uint64_t{kThreads * kEach});
  EXPECT_LT(stats.batches, stats.items);  // commits were shared
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM gc_item"), ok.load());
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM gc_item WHERE worker < 0"), 0);
  EXPECT_EQ(QueryInt("SELECT n FROM gc_counter WHERE id = 1"), ok.load());
}

}  // namespace ulus::identity::test
