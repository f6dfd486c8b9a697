#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/keys.hpp"
#include "ulus/crypto/totp.hpp"
#include "ulus/identity/accounts_service.hpp"
#include "ulus/store/migration.hpp"

namespace ulus::identity {
namespace {

namespace fs = std::filesystem;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr crypto::Argon2idCost kCheapCost{1, 8 * 1024};
constexpr const char* kCitizen = "УБ90041212";
constexpr const char* kPassword = "correct horse battery";

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
    p.phone = phone;
    people_[id] = p;
  }

 private:
  std::map<std::string, Person> people_;
};

class FakeGateway final : public MessageGateway {
 public:
  Status Send(const OutgoingMessage& message) override {
    std::lock_guard lock(mu_);
    sent_.push_back(message);
    return Ok();
  }
  std::vector<OutgoingMessage> Sent() {
    std::lock_guard lock(mu_);
    return sent_;
  }

 private:
  std::mutex mu_;
  std::vector<OutgoingMessage> sent_;
};

std::string CodeIn(const std::string& text) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("\\b(\\d{6})\\b"))) return {};
  return m[1];
}

class AccountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ulus-dan-accounts-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto db = store::Database::Open({.url = "sqlite:" + (dir_ / "dan.db").string()});
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(db).value();
    ASSERT_TRUE(store::Migrate(*db_, "dan_session", Sessions::Migrations()).ok());
    ASSERT_TRUE(store::Migrate(*db_, "dan_audit", AuditLog::Migrations()).ok());
    audit_ = std::make_unique<AuditLog>(*db_, clock_);
    sessions_ = std::make_unique<Sessions>(*db_, SessionOptions{}, clock_);
    people_.Add(kCitizen, "+97699112233");
    people_.Add("УБ85010101", "");  // in the register, no phone
    accounts_ = OpenService(kCheapCost);
  }

  void TearDown() override {
    accounts_.reset();
    sessions_.reset();
    audit_.reset();
    db_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::unique_ptr<AccountService> OpenService(crypto::Argon2idCost cost) {
    AccountServiceOptions options;
    options.argon2 = cost;
    auto service = AccountService::Open(*db_, people_, gateway_, *audit_, *sessions_, master_,
                                        options, clock_);
    EXPECT_TRUE(service.ok()) << service.error().ToString();
    return service.ok() ? std::move(service).value() : nullptr;
  }

  Account Demo(const std::string& id = kCitizen, std::vector<Role> roles = {}) {
    auto account = accounts_->EnsureDemoAccount(id, kPassword, roles);
    EXPECT_TRUE(account.ok()) << account.error().ToString();
    return account.ok() ? *account : Account{};
  }

  std::vector<std::string> Events(const std::string& prefix = "") {
    auto entries = audit_->List("", prefix, 1000);
    EXPECT_TRUE(entries.ok());
    std::vector<std::string> out;
    for (const auto& e : *entries) out.push_back(e.event.event);
    return out;
  }

  size_t CountEvents(const std::string& name) {
    size_t n = 0;
    for (const auto& e : Events()) n += e == name ? 1u : 0u;
    return n;
  }

  Result<FactorResult> Login(const std::string& id, const std::string& password,
                             const std::string& address = "10.0.0.1") {
    return accounts_->LoginWithPassword(id, password, AttemptContext{address, {}});
  }

  // Enrols TOTP and returns the secret and the recovery codes.
  std::pair<std::vector<uint8_t>, std::vector<std::string>> EnrolTotp(const Account& account) {
    auto enrolment = accounts_->BeginTotpEnrolment(account.id);
    EXPECT_TRUE(enrolment.ok()) << enrolment.error().ToString();
    auto secret = crypto::Base32Decode(enrolment->secret_base32);
    EXPECT_TRUE(secret.has_value());
    auto codes =
        accounts_->ConfirmTotpEnrolment(account.id, crypto::Totp(*secret, clock_.Now()), ctx_);
    EXPECT_TRUE(codes.ok()) << codes.error().ToString();
    return {*secret, codes.ok() ? *codes : std::vector<std::string>{}};
  }

  int64_t SessionsOf(const std::string& account_id) {
    auto conn = db_->Acquire();
    EXPECT_TRUE(conn.ok());
    const store::Value params[] = {account_id};
    auto n = (*conn)->QueryInt("SELECT COUNT(*) FROM dan_session WHERE account_id = $1", params);
    EXPECT_TRUE(n.ok());
    return n.ok() ? *n : -1;
  }

  fs::path dir_;
  ManualClock clock_{FromUnixMicros(int64_t{1'800'000'000} * 1'000'000)};
  crypto::MasterKey master_ = crypto::MasterKey::Generate();
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Sessions> sessions_;
  FakePeople people_;
  FakeGateway gateway_;
  std::unique_ptr<AccountService> accounts_;
  AttemptContext ctx_{"10.0.0.1", {}};
};

TEST_F(AccountsTest, SignupEndToEnd) {
  ASSERT_TRUE(accounts_->StartSignup(" уб90041212 ", ctx_).ok());
  const auto sent = gateway_.Sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, "+97699112233");
  EXPECT_NE(sent[0].text.find("Dan: your sign-up code"), std::string::npos);
  EXPECT_NE(sent[0].text.find("Дан:"), std::string::npos);
  const auto code = CodeIn(sent[0].text);
  ASSERT_EQ(code.size(), 6u);

  // Password rules are checked before the code, so they do not burn attempts.
  auto short_password = accounts_->CompleteSignup(kCitizen, code, "short", ctx_);
  ASSERT_FALSE(short_password.ok());
  EXPECT_EQ(short_password.error().code, ErrorCode::kInvalidArgument);
  auto id_as_password = accounts_->CompleteSignup(kCitizen, code, "уб90041212", ctx_);
  ASSERT_FALSE(id_as_password.ok());

  auto account = accounts_->CompleteSignup(kCitizen, code, kPassword, ctx_);
  ASSERT_TRUE(account.ok()) << account.error().ToString();
  EXPECT_EQ(account->national_id, kCitizen);
  auto found = accounts_->FindByNationalId(kCitizen);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id, account->id);

  // The code is single use.
  EXPECT_FALSE(accounts_->CompleteSignup(kCitizen, code, kPassword, ctx_).ok());
  EXPECT_EQ(CountEvents("account.created"), 1u);
  EXPECT_EQ(CountEvents("signup.code_sent"), 1u);

  auto login = Login(kCitizen, kPassword);
  ASSERT_TRUE(login.ok()) << login.error().ToString();
  EXPECT_EQ(login->assurance, Assurance::kLow);
  EXPECT_EQ(login->amr, std::vector<std::string>{"pwd"});
}

TEST_F(AccountsTest, SignupAnswersAlikeAndSendsNothingToStrangers) {
  EXPECT_TRUE(accounts_->StartSignup("УБ00000000", ctx_).ok());  // not in the register
  EXPECT_TRUE(accounts_->StartSignup("УБ85010101", ctx_).ok());  // no phone
  EXPECT_TRUE(gateway_.Sent().empty());

  Demo();
  ASSERT_TRUE(accounts_->StartSignup(kCitizen, ctx_).ok());  // already registered
  auto sent = gateway_.Sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_NE(sent[0].text.find("already exists"), std::string::npos);
  EXPECT_TRUE(CodeIn(sent[0].text).empty());

  // Paced: a second request within the minute sends nothing, still answering Ok.
  EXPECT_TRUE(accounts_->StartSignup(kCitizen, ctx_).ok());
  EXPECT_EQ(gateway_.Sent().size(), 1u);
}

TEST_F(AccountsTest, SignupCodeHasFiveAttemptsAndExpires) {
  ASSERT_TRUE(accounts_->StartSignup(kCitizen, ctx_).ok());
  const auto code = CodeIn(gateway_.Sent().at(0).text);
  const std::string wrong = code == "000000" ? "111111" : "000000";
  for (int i = 0; i < 5; ++i) {
    auto r = accounts_->CompleteSignup(kCitizen, wrong, kPassword, ctx_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
  }
  EXPECT_FALSE(accounts_->CompleteSignup(kCitizen, code, kPassword, ctx_).ok());

  clock_.Advance(minutes(2));
  ASSERT_TRUE(accounts_->StartSignup(kCitizen, ctx_).ok());
  const auto second = CodeIn(gateway_.Sent().at(1).text);
  clock_.Advance(minutes(11));
  EXPECT_FALSE(accounts_->CompleteSignup(kCitizen, second, kPassword, ctx_).ok());
}

TEST_F(AccountsTest, WrongPasswordAndUnknownAccountLookAlike) {
  const auto account = Demo();
  auto wrong = Login(kCitizen, "not the password at all");
  auto unknown = Login("УБ11111111", kPassword);
  ASSERT_FALSE(wrong.ok());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(unknown.error().code, wrong.error().code);
  EXPECT_EQ(unknown.error().message, wrong.error().message);

  auto failed = audit_->List("", "login.failed", 10);
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->size(), 2u);
  // The unknown identifier is logged by hash, never in clear.
  EXPECT_TRUE((*failed)[0].event.account_id.empty());
  EXPECT_EQ((*failed)[0].event.identifier.size(), 64u);
  EXPECT_EQ((*failed)[1].event.account_id, account.id);
}

TEST_F(AccountsTest, ThrottleDelaysDoubleAfterThreeFailures) {
  Demo();
  for (int i = 0; i < 3; ++i) {
    auto r = Login(kCitizen, "wrong password!!");
    ASSERT_EQ(r.error().code, ErrorCode::kUnauthenticated) << i;
  }
  // The fourth attempt must wait a second, and is refused even with the right password.
  auto early = Login(kCitizen, kPassword);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, ErrorCode::kRateLimited);
  EXPECT_EQ(CountEvents("login.throttled"), 1u);

  clock_.Advance(seconds(1));
  EXPECT_EQ(Login(kCitizen, "wrong password!!").error().code, ErrorCode::kUnauthenticated);
  clock_.Advance(seconds(1));  // now two seconds are owed
  EXPECT_EQ(Login(kCitizen, kPassword).error().code, ErrorCode::kRateLimited);
  clock_.Advance(seconds(1));
  EXPECT_EQ(Login(kCitizen, "wrong password!!").error().code, ErrorCode::kUnauthenticated);
  clock_.Advance(seconds(3));  // four owed
  EXPECT_EQ(Login(kCitizen, kPassword).error().code, ErrorCode::kRateLimited);
  clock_.Advance(seconds(1));
  EXPECT_TRUE(Login(kCitizen, kPassword).ok());

  // Success reset the identifier: three failures are free again.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Login(kCitizen, "wrong password!!").error().code, ErrorCode::kUnauthenticated);
  }
}

TEST_F(AccountsTest, UnknownIdentifiersAreThrottledToo) {
  for (int i = 0; i < 3; ++i) (void)Login("УБ11111111", "whatever password");
  EXPECT_EQ(Login("УБ11111111", "whatever password").error().code, ErrorCode::kRateLimited);
}

TEST_F(AccountsTest, TenFailuresLockTheIdentifierForFifteenMinutes) {
  Demo();
  for (int i = 0; i < 10; ++i) {
    auto r = Login(kCitizen, "wrong password!!");
    ASSERT_EQ(r.error().code, ErrorCode::kUnauthenticated) << i;
    clock_.Advance(seconds(61));
  }
  EXPECT_EQ(CountEvents("login.locked"), 1u);
  auto locked = Login(kCitizen, kPassword);
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.error().code, ErrorCode::kRateLimited);
  EXPECT_EQ(locked.error().message.find("seconds"), std::string::npos);
  // The lock message is the same for an unknown identifier's lock.
  for (int i = 0; i < 10; ++i) {
    (void)Login("УБ11111111", "wrong password!!");
    clock_.Advance(seconds(61));
  }
  clock_.Advance(minutes(-1));
  EXPECT_EQ(Login("УБ11111111", kPassword).error().message,
            Login(kCitizen, kPassword).error().message);

  clock_.Advance(minutes(15));
  EXPECT_TRUE(Login(kCitizen, kPassword).ok());
}

TEST_F(AccountsTest, AddressLimitCoversManyIdentifiers) {
  for (int i = 0; i < 50; ++i) {
    auto r = Login("ID" + std::to_string(i), "wrong password!!", "192.0.2.7");
    ASSERT_EQ(r.error().code, ErrorCode::kUnauthenticated) << i;
    clock_.Advance(seconds(61));
  }
  Demo();
  EXPECT_EQ(Login(kCitizen, kPassword, "192.0.2.7").error().code, ErrorCode::kRateLimited);
  EXPECT_TRUE(Login(kCitizen, kPassword, "192.0.2.8").ok());
}

TEST_F(AccountsTest, TotpEnrolmentAndReplayRefusal) {
  const auto account = Demo();
  auto enrolment = accounts_->BeginTotpEnrolment(account.id);
  ASSERT_TRUE(enrolment.ok()) << enrolment.error().ToString();
  EXPECT_EQ(enrolment->otpauth_uri.rfind("otpauth://totp/", 0), 0u);
  EXPECT_EQ(enrolment->qr_svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(enrolment->qr_svg.find("<script"), std::string::npos);
  auto secret = crypto::Base32Decode(enrolment->secret_base32);
  ASSERT_TRUE(secret.has_value());

  const auto now_code = crypto::Totp(*secret, clock_.Now());
  const auto wrong = now_code == "000000" ? "111111" : "000000";
  EXPECT_FALSE(accounts_->ConfirmTotpEnrolment(account.id, wrong, ctx_).ok());
  auto codes = accounts_->ConfirmTotpEnrolment(account.id, now_code, ctx_);
  ASSERT_TRUE(codes.ok()) << codes.error().ToString();
  EXPECT_EQ(codes->size(), crypto::kRecoveryCodeCount);
  EXPECT_EQ(CountEvents("totp.enrolled"), 1u);
  EXPECT_TRUE((*accounts_->FindById(account.id))->totp_enabled);

  // The enrolment code's step is used up.
  EXPECT_FALSE(accounts_->LoginWithTotp(account.id, now_code, ctx_).ok());
  clock_.Advance(seconds(30));
  const auto next = crypto::Totp(*secret, clock_.Now());
  auto login = accounts_->LoginWithTotp(account.id, next, ctx_);
  ASSERT_TRUE(login.ok()) << login.error().ToString();
  EXPECT_EQ(login->assurance, Assurance::kSubstantial);
  EXPECT_EQ(login->amr, std::vector<std::string>{"otp"});
  auto replay = accounts_->LoginWithTotp(account.id, next, ctx_);
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(AccountService::StrongestFactor(*(*accounts_->FindById(account.id))),
            Assurance::kSubstantial);
}

TEST_F(AccountsTest, RecoveryCodesWorkOnce) {
  const auto account = Demo();
  auto [secret, codes] = EnrolTotp(account);
  ASSERT_EQ(codes.size(), 10u);
  auto used = accounts_->LoginWithRecoveryCode(account.id, codes[3], ctx_);
  ASSERT_TRUE(used.ok()) << used.error().ToString();
  EXPECT_EQ(used->assurance, Assurance::kSubstantial);
  EXPECT_FALSE(accounts_->LoginWithRecoveryCode(account.id, codes[3], ctx_).ok());
  EXPECT_EQ(*accounts_->RecoveryCodesLeft(account.id), 9);
  EXPECT_EQ(CountEvents("recovery.used"), 1u);
}

TEST_F(AccountsTest, SignatureLogin) {
  const auto account = Demo();
  EXPECT_EQ(accounts_->NewSignatureChallenge(account.id).error().code,
            ErrorCode::kFailedPrecondition);
  auto key = crypto::SigningKey::Generate(crypto::SignatureAlg::kEs256);
  ASSERT_TRUE(key.ok());
  auto other = crypto::SigningKey::Generate(crypto::SignatureAlg::kEs256);
  ASSERT_TRUE(other.ok());
  auto kid = accounts_->RegisterSignatureKey(account.id, key->PublicJwk(), ctx_);
  ASSERT_TRUE(kid.ok()) << kid.error().ToString();
  EXPECT_EQ(*kid, key->Public().Thumbprint());
  EXPECT_EQ(CountEvents("signature_key.registered"), 1u);
  // The same key cannot be registered twice.
  EXPECT_FALSE(accounts_->RegisterSignatureKey(account.id, key->PublicJwk(), ctx_).ok());

  const auto sign = [](const crypto::SigningKey& k, const SignatureChallenge& c) {
    auto sig = k.Sign(crypto::AsBytes(c.SignedText()));
    EXPECT_TRUE(sig.ok());
    return crypto::Base64UrlEncode(*sig);
  };
  auto challenge = accounts_->NewSignatureChallenge(account.id);
  ASSERT_TRUE(challenge.ok()) << challenge.error().ToString();
  auto login =
      accounts_->LoginWithSignature(account.id, challenge->id, sign(*key, *challenge), ctx_);
  ASSERT_TRUE(login.ok()) << login.error().ToString();
  EXPECT_EQ(login->assurance, Assurance::kHigh);
  EXPECT_EQ(login->amr, std::vector<std::string>{"hwk"});

  // Reused challenge.
  EXPECT_FALSE(
      accounts_->LoginWithSignature(account.id, challenge->id, sign(*key, *challenge), ctx_).ok());
  // Wrong key.
  auto second = accounts_->NewSignatureChallenge(account.id);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(
      accounts_->LoginWithSignature(account.id, second->id, sign(*other, *second), ctx_).ok());
  // Expired challenge.
  auto third = accounts_->NewSignatureChallenge(account.id);
  ASSERT_TRUE(third.ok());
  clock_.Advance(minutes(6));
  EXPECT_FALSE(accounts_->LoginWithSignature(account.id, third->id, sign(*key, *third), ctx_).ok());
}

TEST_F(AccountsTest, RolesNeedAnAdminOfThatAgency) {
  const auto admin = Demo("УБ70010101", {Role{"MOJ", "", "admin"}});
  const auto officer = Demo("УБ70010102", {Role{"MOJ", "", "officer"}});
  const auto citizen = Demo();
  const Caller admin_caller{admin.id, *accounts_->Roles(admin.id)};
  const Caller officer_caller{officer.id, *accounts_->Roles(officer.id)};

  auto granted = accounts_->GrantRole(admin_caller, "MOJ", kCitizen, "officer", "", ctx_);
  ASSERT_TRUE(granted.ok()) << granted.error().ToString();
  EXPECT_EQ(granted->account_id, citizen.id);
  EXPECT_EQ(*accounts_->Roles(citizen.id), (std::vector<Role>{Role{"MOJ", "", "officer"}}));
  EXPECT_EQ(accounts_->GrantRole(admin_caller, "MOJ", kCitizen, "officer", "", ctx_).error().code,
            ErrorCode::kAlreadyExists);

  EXPECT_EQ(accounts_->GrantRole(officer_caller, "MOJ", kCitizen, "admin", "", ctx_).error().code,
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(accounts_->GrantRole(admin_caller, "MOH", kCitizen, "officer", "", ctx_).error().code,
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(accounts_->ListRoles(officer_caller, "MOJ").error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(accounts_->GrantRole(admin_caller, "MOJ", kCitizen, "operator", "", ctx_).error().code,
            ErrorCode::kInvalidArgument);

  auto list = accounts_->ListRoles(admin_caller, "MOJ");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 3u);

  // A centre's admin manages that centre only.
  const Caller centre_admin{"x", {Role{"MOJ", "UB-1", "admin"}}};
  EXPECT_TRUE(accounts_->GrantRole(centre_admin, "MOJ", kCitizen, "officer", "UB-1", ctx_).ok());
  EXPECT_FALSE(accounts_->GrantRole(centre_admin, "MOJ", kCitizen, "officer", "UB-2", ctx_).ok());

  // A platform operator manages every agency.
  const Caller operator_caller{"op", {Role{"PLATFORM", "", "operator"}}};
  EXPECT_TRUE(accounts_->GrantRole(operator_caller, "MOH", kCitizen, "officer", "", ctx_).ok());

  EXPECT_EQ(
      accounts_->RevokeRole(officer_caller, "MOJ", citizen.id, "officer", "", ctx_).error().code,
      ErrorCode::kPermissionDenied);
  EXPECT_TRUE(accounts_->RevokeRole(admin_caller, "MOJ", citizen.id, "officer", "", ctx_).ok());
  EXPECT_EQ(
      accounts_->RevokeRole(admin_caller, "MOJ", citizen.id, "officer", "", ctx_).error().code,
      ErrorCode::kNotFound);
  EXPECT_EQ(CountEvents("role.revoked"), 1u);
  EXPECT_GE(CountEvents("role.granted"), 3u);
}

TEST_F(AccountsTest, DemoAccountsAreIdempotent) {
  const auto first = Demo(kCitizen, {Role{"MOJ", "", "officer"}});
  auto second =
      accounts_->EnsureDemoAccount(kCitizen, "another password here", {Role{"MOJ", "", "officer"}});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->id, first.id);
  EXPECT_EQ(accounts_->Roles(first.id)->size(), 1u);
  EXPECT_TRUE(Login(kCitizen, kPassword).ok());  // the first password stays
  EXPECT_TRUE(accounts_->GrantRole(kCitizen, Role{"MOJ", "", "admin"}).ok());
  EXPECT_EQ(accounts_->Roles(first.id)->size(), 2u);
  EXPECT_EQ(accounts_->GrantRole("УБ00000000", Role{"MOJ", "", "admin"}).error().code,
            ErrorCode::kNotFound);
}

TEST_F(AccountsTest, LoginRehashesAtANewCost) {
  const auto account = Demo();
  const auto hash_of = [&] {
    auto conn = db_->Acquire();
    const store::Value params[] = {account.id};
    return (*conn)
        ->QueryOne("SELECT password_hash FROM dan_account WHERE id = $1", params)
        ->Text(0);
  };
  const auto before = hash_of();
  accounts_ = OpenService({1, 16 * 1024});
  ASSERT_TRUE(Login(kCitizen, kPassword).ok());
  const auto after = hash_of();
  EXPECT_NE(before, after);
  EXPECT_NE(after.find("m=16"), std::string::npos);
  EXPECT_TRUE(Login(kCitizen, kPassword).ok());
}

TEST_F(AccountsTest, ChangePasswordNeedsTheCurrentOneAndIsThrottledLikeLogin) {
  const auto account = Demo();
  constexpr const char* kNew = "a brand new passphrase";
  // The rules come first and cost no attempt.
  EXPECT_EQ(accounts_->ChangePassword(account.id, kPassword, "short", ctx_).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(accounts_->ChangePassword(account.id, kPassword, "уб90041212", ctx_).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(
      accounts_
          ->ChangePassword(account.id, kPassword,
                           std::string(crypto::PasswordHasher::kMaxPasswordBytes + 1, 'x'), ctx_)
          .error()
          .code,
      ErrorCode::kInvalidArgument);
  for (int i = 0; i < 3; ++i) {
    auto wrong = accounts_->ChangePassword(account.id, "not the password at all", kNew, ctx_);
    ASSERT_FALSE(wrong.ok());
    EXPECT_EQ(wrong.error().code, ErrorCode::kUnauthenticated) << i;
  }
  EXPECT_EQ(CountEvents("login.failed"), 3u);
  // The fourth attempt waits, whether it is a change or a login: one throttle.
  EXPECT_EQ(accounts_->ChangePassword(account.id, kPassword, kNew, ctx_).error().code,
            ErrorCode::kRateLimited);
  clock_.Advance(seconds(1));
  EXPECT_EQ(accounts_->ChangePassword(account.id, "still not it!!", kNew, ctx_).error().code,
            ErrorCode::kUnauthenticated);
  EXPECT_EQ(Login(kCitizen, kPassword).error().code, ErrorCode::kRateLimited);
  EXPECT_EQ(CountEvents("password.changed"), 0u);

  clock_.Advance(seconds(2));
  auto changed = accounts_->ChangePassword(account.id, kPassword, kNew, ctx_);
  ASSERT_TRUE(changed.ok()) << changed.error().ToString();
  EXPECT_EQ(CountEvents("password.changed"), 1u);
  EXPECT_EQ(Login(kCitizen, kPassword).error().code, ErrorCode::kUnauthenticated);
  EXPECT_TRUE(Login(kCitizen, kNew).ok());
}

TEST_F(AccountsTest, ChangePasswordEndsEverySession) {
  const auto account = Demo();
  const auto other = Demo("УБ70010102");
  ASSERT_TRUE(sessions_->Create(account.id, Assurance::kLow, {"pwd"}).ok());
  ASSERT_TRUE(sessions_->Create(account.id, Assurance::kLow, {"pwd"}).ok());
  ASSERT_TRUE(sessions_->Create(other.id, Assurance::kLow, {"pwd"}).ok());
  ASSERT_TRUE(
      accounts_->ChangePassword(account.id, kPassword, "a brand new passphrase", ctx_).ok());
  EXPECT_EQ(SessionsOf(account.id), 0);
  EXPECT_EQ(SessionsOf(other.id), 1);
}

TEST_F(AccountsTest, ResetEndToEnd) {
  const auto account = Demo();
  ASSERT_TRUE(sessions_->Create(account.id, Assurance::kLow, {"pwd"}).ok());
  ASSERT_TRUE(sessions_->Create(account.id, Assurance::kLow, {"pwd"}).ok());
  ASSERT_TRUE(accounts_->StartPasswordReset(" уб90041212 ", ctx_).ok());
  const auto sent = gateway_.Sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, "+97699112233");
  EXPECT_NE(sent[0].text.find("Dan: your password reset code"), std::string::npos);
  EXPECT_NE(sent[0].text.find("нууц үг сэргээх код"), std::string::npos);
  const auto code = CodeIn(sent[0].text);
  ASSERT_EQ(code.size(), 6u);
  EXPECT_EQ(CountEvents("password.reset_code_sent"), 1u);

  constexpr const char* kNew = "a brand new passphrase";
  EXPECT_EQ(accounts_->CompletePasswordReset(kCitizen, code, "short", "", ctx_).error().code,
            ErrorCode::kInvalidArgument);
  auto reset = accounts_->CompletePasswordReset(kCitizen, code, kNew, "", ctx_);
  ASSERT_TRUE(reset.ok()) << reset.error().ToString();
  EXPECT_EQ(reset->id, account.id);
  EXPECT_EQ(CountEvents("password.reset"), 1u);
  EXPECT_EQ(SessionsOf(account.id), 0);
  // Single use.
  EXPECT_EQ(accounts_->CompletePasswordReset(kCitizen, code, kNew, "", ctx_).error().code,
            ErrorCode::kUnauthenticated);
  EXPECT_EQ(Login(kCitizen, kPassword).error().code, ErrorCode::kUnauthenticated);
  EXPECT_TRUE(Login(kCitizen, kNew).ok());
}

TEST_F(AccountsTest, ResetAnswersAlikeAndSendsNoCodeToStrangers) {
  EXPECT_TRUE(accounts_->StartPasswordReset("УБ00000000", ctx_).ok());  // not in the register
  EXPECT_TRUE(accounts_->StartPasswordReset("УБ85010101", ctx_).ok());  // no phone
  EXPECT_TRUE(gateway_.Sent().empty());
  EXPECT_EQ(accounts_->StartPasswordReset("  ", ctx_).error().code, ErrorCode::kInvalidArgument);

  // In the register without an account: a notice, no code, as sign-up does the other way round.
  ASSERT_TRUE(accounts_->StartPasswordReset(kCitizen, ctx_).ok());
  auto sent = gateway_.Sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_NE(sent[0].text.find("there is none"), std::string::npos);
  EXPECT_TRUE(CodeIn(sent[0].text).empty());
  // Paced like sign-up.
  EXPECT_TRUE(accounts_->StartPasswordReset(kCitizen, ctx_).ok());
  EXPECT_EQ(gateway_.Sent().size(), 1u);

  // Completing for an unknown ID answers as a wrong code does.
  Demo("УБ70010102");
  people_.Add("УБ70010102", "+97688000000");
  ASSERT_TRUE(accounts_->StartPasswordReset("УБ70010102", ctx_).ok());
  const auto code = CodeIn(gateway_.Sent().back().text);
  ASSERT_EQ(code.size(), 6u);
  const std::string wrong = code == "000000" ? "111111" : "000000";
  auto unknown =
      accounts_->CompletePasswordReset("УБ00000000", code, "a brand new passphrase", "", ctx_);
  auto wrong_code =
      accounts_->CompletePasswordReset("УБ70010102", wrong, "a brand new passphrase", "", ctx_);
  ASSERT_FALSE(unknown.ok());
  ASSERT_FALSE(wrong_code.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(unknown.error().message, wrong_code.error().message);
  EXPECT_EQ(unknown.error().field, wrong_code.error().field);
}

TEST_F(AccountsTest, ResetCodeHasFiveAttemptsAndExpires) {
  Demo();
  constexpr const char* kNew = "a brand new passphrase";
  ASSERT_TRUE(accounts_->StartPasswordReset(kCitizen, ctx_).ok());
  const auto code = CodeIn(gateway_.Sent().at(0).text);
  const std::string wrong = code == "000000" ? "111111" : "000000";
  for (int i = 0; i < 5; ++i) {
    auto r = accounts_->CompletePasswordReset(kCitizen, wrong, kNew, "", ctx_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
  }
  EXPECT_FALSE(accounts_->CompletePasswordReset(kCitizen, code, kNew, "", ctx_).ok());

  clock_.Advance(minutes(2));
  ASSERT_TRUE(accounts_->StartPasswordReset(kCitizen, ctx_).ok());
  const auto second = CodeIn(gateway_.Sent().at(1).text);
  clock_.Advance(minutes(11));
  EXPECT_FALSE(accounts_->CompletePasswordReset(kCitizen, second, kNew, "", ctx_).ok());
  EXPECT_TRUE(Login(kCitizen, kPassword).ok());
  EXPECT_EQ(CountEvents("password.reset"), 0u);
}

TEST_F(AccountsTest, ResetWithTotpNeedsTheAppOrARecoveryCode) {
  const auto account = Demo();
  auto [secret, recovery] = EnrolTotp(account);
  constexpr const char* kNew = "a brand new passphrase";
  ASSERT_TRUE(accounts_->StartPasswordReset(kCitizen, ctx_).ok());
  const auto code = CodeIn(gateway_.Sent().at(0).text);

  auto missing = accounts_->CompletePasswordReset(kCitizen, code, kNew, "", ctx_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(missing.error().field, "second_factor");
  clock_.Advance(seconds(30));  // the enrolment used the current step
  const auto totp = crypto::Totp(secret, clock_.Now());
  const std::string wrong_totp = totp == "000000" ? "111111" : "000000";
  auto wrong = accounts_->CompletePasswordReset(kCitizen, code, kNew, wrong_totp, ctx_);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().field, "second_factor");
  EXPECT_EQ(CountEvents("login.failed"), 1u);
  EXPECT_TRUE(Login(kCitizen, kPassword).ok());  // nothing changed yet

  auto reset = accounts_->CompletePasswordReset(kCitizen, code, kNew, totp, ctx_);
  ASSERT_TRUE(reset.ok()) << reset.error().ToString();
  EXPECT_TRUE(Login(kCitizen, kNew).ok());
  // The TOTP step is used up: it cannot serve a login now.
  EXPECT_FALSE(accounts_->LoginWithTotp(account.id, totp, ctx_).ok());

  // Or with a recovery code, which is then used.
  clock_.Advance(minutes(2));
  ASSERT_TRUE(accounts_->StartPasswordReset(kCitizen, ctx_).ok());
  const auto second = CodeIn(gateway_.Sent().at(1).text);
  ASSERT_TRUE(
      accounts_
          ->CompletePasswordReset(kCitizen, second, "another new passphrase", recovery[0], ctx_)
          .ok());
  EXPECT_EQ(*accounts_->RecoveryCodesLeft(account.id), 9);
  EXPECT_TRUE(Login(kCitizen, "another new passphrase").ok());
  EXPECT_EQ(CountEvents("password.reset"), 2u);
}

}  // namespace
}  // namespace ulus::identity
