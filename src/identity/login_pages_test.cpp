#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/keys.hpp"
#include "ulus/crypto/totp.hpp"
#include "ulus/http/form.hpp"
#include "ulus/http/problem.hpp"
#include "ulus/identity/accounts_service.hpp"
#include "ulus/identity/pages.hpp"
#include "ulus/store/migration.hpp"

namespace ulus::identity {
namespace {

namespace fs = std::filesystem;
using http::Method;

constexpr const char* kCitizen = "УБ90041212";
constexpr const char* kAdmin = "УБ70010101";
constexpr const char* kPassword = "correct horse battery";

class NoPeople final : public PersonDirectory {
 public:
  Result<std::optional<Person>> Find(std::string_view national_id) const override {
    if (national_id != kCitizen) return std::optional<Person>();
    Person p;
    p.national_id = kCitizen;
    p.given_name = "Сарангэрэл";
    p.family_name = "Батын";
    p.phone = "+97699112233";
    return std::optional<Person>(p);
  }
};

// Keeps what was sent, so a test can read the one-time code a citizen would get.
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

struct Answer {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  [[nodiscard]] std::string Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return {};
  }
  // "name=value" of the Set-Cookie for `name`, as a browser would send it back.
  [[nodiscard]] std::string Cookie(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == "Set-Cookie" && v.rfind(std::string(name) + "=", 0) == 0) {
        return v.substr(0, v.find(';'));
      }
    }
    return {};
  }
};

// The value of a hidden input in a page.
std::string HiddenValue(const std::string& html, const std::string& name) {
  const std::string marker = "name=\"" + name + "\" value=\"";
  const auto at = html.find(marker);
  if (at == std::string::npos) return {};
  const auto start = at + marker.size();
  return html.substr(start, html.find('"', start) - start);
}

// `html` without its <name>...</name> elements.
std::string Without(std::string html, const std::string& name) {
  const std::string open = "<" + name;
  const std::string close = "</" + name + ">";
  for (auto at = html.find(open); at != std::string::npos; at = html.find(open, at)) {
    const auto end = html.find(close, at);
    if (end == std::string::npos) break;
    html.erase(at, end + close.size() - at);
  }
  return html;
}

// The words in Latin letters a reader of the page sees, but for names and technical terms: the
// English nobody translated. Tags, entities, the stylesheet, <code>, <pre> and table bodies
// (secrets, challenges, audit events) are left out.
std::vector<std::string> EnglishIn(const std::string& html) {
  static const std::set<std::string> kAllowed = {
      "Dan",           "English", "TOTP", "JWK", "ASCII", "base64url", "QR", "Google",
      "Authenticator", "FreeOTP", "EC",   "P",   "RSA",   "Ed25519",   "UTC"};
  std::string text = html;
  for (const char* name : {"style", "code", "pre", "tbody"}) text = Without(text, name);
  std::vector<std::string> found;
  std::string word;
  bool in_tag = false;
  bool in_entity = false;
  const auto flush = [&] {
    if (!word.empty() && !kAllowed.contains(word)) found.push_back(word);
    word.clear();
  };
  for (const char c : text) {
    if (in_tag) {
      in_tag = c != '>';
      continue;
    }
    if (in_entity) {
      in_entity = c != ';';
      continue;
    }
    const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    const bool digit = c >= '0' && c <= '9';
    if (letter || (digit && !word.empty())) {
      word += c;
      continue;
    }
    flush();
    in_tag = c == '<';
    in_entity = c == '&';
  }
  flush();
  return found;
}

class LoginPagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ulus-dan-pages-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto db = store::Database::Open({.url = "sqlite:" + (dir_ / "dan.db").string()});
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(db).value();
    ASSERT_TRUE(store::Migrate(*db_, "dan_session", Sessions::Migrations()).ok());
    ASSERT_TRUE(store::Migrate(*db_, "dan_audit", AuditLog::Migrations()).ok());
    audit_ = std::make_unique<AuditLog>(*db_, clock_);
    sessions_ = std::make_unique<Sessions>(*db_, SessionOptions{}, clock_);
    AccountServiceOptions options;
    options.argon2 = {1, 8 * 1024};
    auto accounts = AccountService::Open(*db_, people_, gateway_, *audit_, *sessions_, master_,
                                         options, clock_);
    ASSERT_TRUE(accounts.ok()) << accounts.error().ToString();
    accounts_ = std::move(accounts).value();
    ASSERT_TRUE(accounts_->EnsureDemoAccount(kCitizen, kPassword, {}).ok());
    ASSERT_TRUE(accounts_->EnsureDemoAccount(kAdmin, kPassword, {Role{"MOJ", "", "admin"}}).ok());
    MountLoginPages(router_, *accounts_, *sessions_);
    MountAccountApi(router_, *accounts_, SessionCallerResolver(*accounts_, *sessions_));
  }

  void TearDown() override {
    accounts_.reset();
    sessions_.reset();
    audit_.reset();
    db_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  Answer Call(Method method, const std::string& target, const std::string& cookie = {},
              const std::string& body = {},
              const std::string& content_type = "application/x-www-form-urlencoded") {
    http::BeastRequest message{method, target, 11};
    if (!cookie.empty()) message.set(http::beast_http::field::cookie, cookie);
    if (!body.empty()) {
      message.set(http::beast_http::field::content_type, content_type);
      message.body() = body;
      message.prepare_payload();
    }
    http::Request request(std::move(message), "10.1.2.3");
    auto match = router_.Find(method, request.path());
    EXPECT_NE(match.handler, nullptr) << target;
    if (match.handler == nullptr) return {};
    request.SetParams(match.params);
    request.SetRoutePattern(match.pattern);
    auto result = (*match.handler)(request);
    const http::Response response = result.ok() ? *result : http::Problem(result.error(), target);
    return Answer{static_cast<int>(response.status), response.body, response.headers};
  }

  // A pre-login CSRF cookie and its token, as a browser has them after loading the form.
  std::pair<std::string, std::string> PreLoginToken() {
    auto page = Call(Method::get, "/dan/login");
    return {page.Cookie("dan_csrf"), HiddenValue(page.body, "csrf")};
  }

  Answer PostLogin(const std::string& national_id, const std::string& password,
                   const std::string& extra = {}) {
    auto [cookie, token] = PreLoginToken();
    return Call(Method::post, "/dan/login?lang=en", cookie,
                "csrf=" + token + "&national_id=" + http::FormEncode(national_id) +
                    "&password=" + http::FormEncode(password) + extra);
  }

  std::string SessionCookie(const std::string& national_id) {
    auto answer = PostLogin(national_id, kPassword);
    EXPECT_EQ(answer.status, 303);
    return answer.Cookie("dan_session");
  }

  // A pre-login form posted with its CSRF token, as a browser does after loading the form.
  Answer PostPreLogin(const std::string& target, const std::string& fields) {
    auto [cookie, token] = PreLoginToken();
    return Call(Method::post, target, cookie, "csrf=" + token + "&" + fields);
  }

  Answer ResetVerify(const std::string& code, const std::string& password,
                     const std::string& second_factor = {}) {
    return PostPreLogin("/dan/reset/verify?lang=en",
                        "national_id=" + http::FormEncode(kCitizen) + "&code=" + code +
                            "&second_factor=" + http::FormEncode(second_factor) +
                            "&password=" + http::FormEncode(password) +
                            "&password_again=" + http::FormEncode(password));
  }

  fs::path dir_;
  ManualClock clock_{FromUnixMicros(int64_t{1'800'000'000} * 1'000'000)};
  crypto::MasterKey master_ = crypto::MasterKey::Generate();
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Sessions> sessions_;
  NoPeople people_;
  FakeGateway gateway_;
  std::unique_ptr<AccountService> accounts_;
  http::Router router_;
};

TEST_F(LoginPagesTest, LoginFormInBothLanguagesWithoutScript) {
  auto en = Call(Method::get, "/dan/login?lang=en");
  EXPECT_EQ(en.status, 200);
  EXPECT_NE(en.body.find("Log in with Dan"), std::string::npos);
  EXPECT_NE(en.body.find("name=\"csrf\""), std::string::npos);
  EXPECT_EQ(en.body.find("<script"), std::string::npos);
  EXPECT_FALSE(en.Cookie("dan_csrf").empty());
  auto mn = Call(Method::get, "/dan/login?lang=mn");
  EXPECT_NE(mn.body.find("Данаар нэвтрэх"), std::string::npos);
  EXPECT_NE(mn.body.find("Регистрийн дугаар"), std::string::npos);
}

TEST_F(LoginPagesTest, PostWithoutMatchingCsrfIsRefused) {
  const std::string form =
      "national_id=" + http::FormEncode(kCitizen) + "&password=" + http::FormEncode(kPassword);
  auto none = Call(Method::post, "/dan/login", {}, form + "&csrf=abc");
  EXPECT_EQ(none.status, 403);
  EXPECT_TRUE(none.Cookie("dan_session").empty());
  auto [cookie, token] = PreLoginToken();
  auto mismatched = Call(Method::post, "/dan/login", cookie, form + "&csrf=x" + token);
  EXPECT_EQ(mismatched.status, 403);
  EXPECT_TRUE(mismatched.Cookie("dan_session").empty());
}

TEST_F(LoginPagesTest, LoginRedirectsLocallyOnly) {
  auto evil = PostLogin(kCitizen, kPassword,
                        "&return_to=" + http::FormEncode("https://evil.example/steal"));
  EXPECT_EQ(evil.status, 303);
  EXPECT_EQ(evil.Header("Location"), "/dan/account");
  EXPECT_FALSE(evil.Cookie("dan_session").empty());

  auto slashes = PostLogin(kCitizen, kPassword, "&return_to=" + http::FormEncode("//evil.example"));
  EXPECT_EQ(slashes.Header("Location"), "/dan/account");

  auto local = PostLogin(kCitizen, kPassword,
                         "&return_to=" + http::FormEncode("/dan/oidc/authorize?client_id=x"));
  EXPECT_EQ(local.Header("Location"), "/dan/oidc/authorize?client_id=x");

  auto entries = audit_->List("", "login.succeeded", 10);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].event.remote_address, "10.1.2.3");
}

TEST_F(LoginPagesTest, WrongPasswordAndUnknownIdShowTheSameError) {
  auto wrong = PostLogin(kCitizen, "not the right one");
  auto unknown = PostLogin("УБ11111111", kPassword);
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_NE(wrong.body.find("National ID or password is wrong."), std::string::npos);
  EXPECT_NE(unknown.body.find("National ID or password is wrong."), std::string::npos);
  EXPECT_TRUE(wrong.Cookie("dan_session").empty());
  EXPECT_EQ(audit_->List("", "login.failed", 10)->size(), 2u);
}

TEST_F(LoginPagesTest, SubstantialLevelSendsToTheSecondFactor) {
  auto answer = PostLogin(kCitizen, kPassword, "&acr=substantial&return_to=%2Fdan%2Fx");
  EXPECT_EQ(answer.status, 303);
  EXPECT_EQ(answer.Header("Location").rfind("/dan/login/otp?", 0), 0u);
  auto high = PostLogin(kCitizen, kPassword, "&acr=high");
  EXPECT_EQ(high.Header("Location").rfind("/dan/login/signature?", 0), 0u);

  // Without an authenticator the step-up page says how to set one up.
  auto otp = Call(Method::get, "/dan/login/otp?lang=en", answer.Cookie("dan_session"));
  EXPECT_EQ(otp.status, 200);
  EXPECT_NE(otp.body.find("/dan/account/totp"), std::string::npos);
}

TEST_F(LoginPagesTest, AccountPageNeedsASessionAndLogoutNeedsItsToken) {
  auto anonymous = Call(Method::get, "/dan/account");
  EXPECT_EQ(anonymous.status, 303);
  EXPECT_EQ(anonymous.Header("Location").rfind("/dan/login?return_to=", 0), 0u);

  const auto cookie = SessionCookie(kCitizen);
  auto page = Call(Method::get, "/dan/account?lang=en", cookie);
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find(kCitizen), std::string::npos);
  EXPECT_NE(page.body.find("Батын"), std::string::npos);
  const auto csrf = HiddenValue(page.body, "csrf");
  ASSERT_FALSE(csrf.empty());

  EXPECT_EQ(Call(Method::post, "/dan/logout", cookie, "csrf=wrong").status, 403);
  auto out = Call(Method::post, "/dan/logout", cookie, "csrf=" + csrf);
  EXPECT_EQ(out.status, 303);
  EXPECT_EQ(Call(Method::get, "/dan/account", cookie).status, 303);
}

TEST_F(LoginPagesTest, TotpEnrolmentPageShowsAQrCode) {
  const auto cookie = SessionCookie(kCitizen);
  auto page = Call(Method::get, "/dan/account/totp?lang=en", cookie);
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("<svg"), std::string::npos);
  EXPECT_NE(page.body.find("otpauth://totp/"), std::string::npos);
  auto wrong = Call(Method::post, "/dan/account/totp?lang=en", cookie,
                    "csrf=" + HiddenValue(page.body, "csrf") + "&code=000000");
  EXPECT_NE(wrong.status, 200);
}

TEST_F(LoginPagesTest, SignupAnswersAlikeForStrangers) {
  auto [cookie, token] = PreLoginToken();
  auto known = Call(Method::post, "/dan/signup?lang=en", cookie,
                    "csrf=" + token + "&national_id=" + http::FormEncode(kCitizen));
  auto unknown = Call(Method::post, "/dan/signup?lang=en", cookie,
                      "csrf=" + token + "&national_id=" + http::FormEncode("УБ00000001"));
  EXPECT_EQ(known.status, 200);
  EXPECT_EQ(unknown.status, 200);
  const std::string notice = "If the population register holds a phone";
  EXPECT_NE(known.body.find(notice), std::string::npos);
  EXPECT_NE(unknown.body.find(notice), std::string::npos);
  EXPECT_EQ(Call(Method::post, "/dan/signup", {}, "national_id=x&csrf=y").status, 403);
}

TEST_F(LoginPagesTest, RoleApiChecksTheCaller) {
  const auto admin = SessionCookie(kAdmin);
  const auto citizen = SessionCookie(kCitizen);
  const std::string grant = nlohmann::json{{"national_id", kCitizen}, {"role", "officer"}}.dump();

  EXPECT_EQ(Call(Method::get, "/dan/api/agencies/MOJ/roles").status, 401);
  EXPECT_EQ(
      Call(Method::post, "/dan/api/agencies/MOJ/roles", citizen, grant, "application/json").status,
      403);
  auto created =
      Call(Method::post, "/dan/api/agencies/MOJ/roles", admin, grant, "application/json");
  EXPECT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(
      Call(Method::post, "/dan/api/agencies/MOH/roles", admin, grant, "application/json").status,
      403);
  auto list = Call(Method::get, "/dan/api/agencies/MOJ/roles", admin);
  EXPECT_EQ(list.status, 200);
  const auto roles = nlohmann::json::parse(list.body)["roles"];
  EXPECT_EQ(roles.size(), 2u);

  // The new officer still may not grant.
  EXPECT_EQ(
      Call(Method::post, "/dan/api/agencies/MOJ/roles", citizen, grant, "application/json").status,
      403);
  const auto account = nlohmann::json::parse(created.body)["account_id"].get<std::string>();
  EXPECT_EQ(
      Call(Method::delete_, "/dan/api/agencies/MOJ/roles/" + account + "/officer", admin).status,
      204);
}

TEST_F(LoginPagesTest, OtpStepUpElevatesTheSession) {
  auto account = accounts_->FindByNationalId(kCitizen);
  ASSERT_TRUE(account.ok() && account->has_value());
  const auto id = (*account)->id;
  auto enrolment = accounts_->BeginTotpEnrolment(id);
  ASSERT_TRUE(enrolment.ok());
  const auto secret = *crypto::Base32Decode(enrolment->secret_base32);
  ASSERT_TRUE(accounts_->ConfirmTotpEnrolment(id, crypto::Totp(secret, clock_.Now()), {}).ok());
  clock_.Advance(std::chrono::seconds(30));

  auto login = PostLogin(kCitizen, kPassword, "&acr=substantial&return_to=%2Fdan%2Fnext");
  const auto cookie = login.Cookie("dan_session");
  auto form = Call(Method::get, login.Header("Location"), cookie);
  ASSERT_EQ(form.status, 200);
  const auto csrf = HiddenValue(form.body, "csrf");
  EXPECT_EQ(HiddenValue(form.body, "return_to"), "/dan/next");
  auto wrong = Call(Method::post, "/dan/login/otp", cookie,
                    "csrf=" + csrf + "&return_to=%2Fdan%2Fnext&acr=substantial&code=12");
  EXPECT_EQ(wrong.status, 401);
  auto done = Call(Method::post, "/dan/login/otp", cookie,
                   "csrf=" + csrf + "&return_to=%2Fdan%2Fnext&acr=substantial&code=" +
                       crypto::Totp(secret, clock_.Now()));
  EXPECT_EQ(done.status, 303);
  EXPECT_EQ(done.Header("Location"), "/dan/next");
  // Single sign-on: the login page now goes straight on at this level.
  auto again = Call(Method::get, "/dan/login?acr=substantial&return_to=%2Fdan%2Fnext", cookie);
  EXPECT_EQ(again.status, 303);
  EXPECT_EQ(again.Header("Location"), "/dan/next");
}

TEST_F(LoginPagesTest, PasswordChangeKeepsThisBrowserAndEndsTheOthers) {
  const auto here = SessionCookie(kCitizen);
  const auto elsewhere = SessionCookie(kCitizen);
  EXPECT_EQ(Call(Method::get, "/dan/account/password").status, 303);  // needs a session

  auto mn = Call(Method::get, "/dan/account/password?lang=mn", here);
  EXPECT_EQ(mn.status, 200);
  EXPECT_NE(mn.body.find("Одоогийн нууц үг"), std::string::npos);
  EXPECT_EQ(mn.body.find("<script"), std::string::npos);
  auto page = Call(Method::get, "/dan/account/password?lang=en", here);
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("Change your password"), std::string::npos);
  const auto csrf = HiddenValue(page.body, "csrf");
  ASSERT_FALSE(csrf.empty());
  const auto form = [&](const std::string& current, const std::string& fresh,
                        const std::string& again) {
    return "current_password=" + http::FormEncode(current) +
           "&password=" + http::FormEncode(fresh) + "&password_again=" + http::FormEncode(again);
  };
  constexpr const char* kNew = "a brand new passphrase";

  EXPECT_EQ(Call(Method::post, "/dan/account/password?lang=en", here,
                 form(kPassword, kNew, kNew) + "&csrf=wrong")
                .status,
            403);
  EXPECT_EQ(
      Call(Method::post, "/dan/account/password?lang=en", here, form(kPassword, kNew, kNew)).status,
      403);
  auto differ = Call(Method::post, "/dan/account/password?lang=en", here,
                     form(kPassword, kNew, "something else") + "&csrf=" + csrf);
  EXPECT_EQ(differ.status, 400);
  EXPECT_NE(differ.body.find("The two passwords differ."), std::string::npos);
  auto short_one = Call(Method::post, "/dan/account/password?lang=en", here,
                        form(kPassword, "short", "short") + "&csrf=" + csrf);
  EXPECT_EQ(short_one.status, 400);
  auto wrong = Call(Method::post, "/dan/account/password?lang=en", here,
                    form("not the right one", kNew, kNew) + "&csrf=" + csrf);
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.body.find("The current password is wrong."), std::string::npos);
  EXPECT_TRUE(wrong.Cookie("dan_session").empty());

  auto done = Call(Method::post, "/dan/account/password?lang=en", here,
                   form(kPassword, kNew, kNew) + "&csrf=" + csrf);
  EXPECT_EQ(done.status, 303);
  EXPECT_EQ(done.Header("Location"), "/dan/account?lang=en&done=password");
  const auto fresh = done.Cookie("dan_session");
  ASSERT_FALSE(fresh.empty());
  EXPECT_NE(fresh, here);
  // This browser goes on with its new cookie; the other browser and the old cookie are out.
  auto account = Call(Method::get, done.Header("Location"), fresh);
  EXPECT_EQ(account.status, 200);
  EXPECT_NE(account.body.find("Your password has been changed."), std::string::npos);
  EXPECT_EQ(Call(Method::get, "/dan/account", elsewhere).status, 303);
  EXPECT_EQ(Call(Method::get, "/dan/account", here).status, 303);
  EXPECT_EQ(audit_->List("", "password.changed", 10)->size(), 1u);

  EXPECT_EQ(PostLogin(kCitizen, kPassword).status, 401);
  EXPECT_EQ(PostLogin(kCitizen, kNew).status, 303);
}

TEST_F(LoginPagesTest, WrongCurrentPasswordIsThrottledLikeALogin) {
  const auto cookie = SessionCookie(kCitizen);
  const auto csrf = HiddenValue(Call(Method::get, "/dan/account/password", cookie).body, "csrf");
  const std::string fresh =
      "&password=a+brand+new+passphrase&password_again=a+brand+new+passphrase";
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Call(Method::post, "/dan/account/password?lang=en", cookie,
                   "csrf=" + csrf + "&current_password=wrong+wrong+wrong" + fresh)
                  .status,
              401);
  }
  auto throttled =
      Call(Method::post, "/dan/account/password?lang=en", cookie,
           "csrf=" + csrf + "&current_password=" + http::FormEncode(kPassword) + fresh);
  EXPECT_EQ(throttled.status, 429);
  EXPECT_EQ(PostLogin(kCitizen, kPassword).status, 429);
}

TEST_F(LoginPagesTest, ResetThroughThePages) {
  auto login = Call(Method::get, "/dan/login?lang=en");
  EXPECT_NE(login.body.find("Forgot your password?"), std::string::npos);
  EXPECT_NE(login.body.find("href=\"/dan/reset?lang=en\""), std::string::npos);
  auto mn = Call(Method::get, "/dan/reset?lang=mn");
  EXPECT_EQ(mn.status, 200);
  EXPECT_NE(mn.body.find("Нууц үг сэргээх"), std::string::npos);
  EXPECT_FALSE(mn.Cookie("dan_csrf").empty());
  auto en = Call(Method::get, "/dan/reset/verify?lang=en&national_id=x");
  EXPECT_EQ(en.status, 200);
  EXPECT_NE(en.body.find("The code from the message alone is not enough then."), std::string::npos);
  EXPECT_EQ(en.body.find("<script"), std::string::npos);
  EXPECT_NE(Call(Method::get, "/dan/reset/verify?lang=mn").body.find("сэргээх код"),
            std::string::npos);

  const auto signed_in = SessionCookie(kCitizen);
  EXPECT_EQ(Call(Method::post, "/dan/reset", {}, "national_id=x&csrf=y").status, 403);
  // The same page for a citizen with an account and for an ID nobody holds.
  auto [cookie, token] = PreLoginToken();
  auto known = Call(Method::post, "/dan/reset?lang=en", cookie,
                    "csrf=" + token + "&national_id=" + http::FormEncode(kCitizen));
  auto unknown = Call(Method::post, "/dan/reset?lang=en", cookie,
                      "csrf=" + token + "&national_id=" + http::FormEncode("УБ00000001"));
  EXPECT_EQ(known.status, 200);
  EXPECT_EQ(unknown.status, 200);
  const auto without = [](std::string body, const std::string& id) {
    return std::regex_replace(body, std::regex(id), "ID");
  };
  EXPECT_EQ(without(known.body, kCitizen), without(unknown.body, "УБ00000001"));
  EXPECT_NE(known.body.find("If there is a Dan account"), std::string::npos);
  const auto sent = gateway_.Sent();
  ASSERT_EQ(sent.size(), 1u);
  const auto code = CodeIn(sent[0].text);
  ASSERT_EQ(code.size(), 6u);

  constexpr const char* kNew = "a brand new passphrase";
  const std::string fields = "national_id=" + http::FormEncode(kCitizen) + "&code=" + code +
                             "&password=a+brand+new+passphrase"
                             "&password_again=a+brand+new+passphrase";
  EXPECT_EQ(Call(Method::post, "/dan/reset/verify", {}, fields + "&csrf=y").status, 403);
  const std::string wrong = code == "000000" ? "111111" : "000000";
  auto refused = ResetVerify(wrong, kNew);
  EXPECT_EQ(refused.status, 401);
  EXPECT_NE(refused.body.find("The code is wrong or has expired."), std::string::npos);
  auto done = ResetVerify(code, kNew);
  EXPECT_EQ(done.status, 303);
  EXPECT_EQ(done.Header("Location"), "/dan/login?lang=en&done=reset");
  EXPECT_TRUE(done.Cookie("dan_session").empty());
  EXPECT_NE(Call(Method::get, done.Header("Location")).body.find("Your password has been reset."),
            std::string::npos);

  EXPECT_EQ(Call(Method::get, "/dan/account", signed_in).status, 303);  // every session ended
  EXPECT_EQ(PostLogin(kCitizen, kPassword).status, 401);
  EXPECT_EQ(PostLogin(kCitizen, kNew).status, 303);
  auto events = audit_->List("", "password.", 10);  // a prefix: reset_code_sent and reset
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].event.event, "password.reset");
  EXPECT_EQ((*events)[1].event.event, "password.reset_code_sent");
}

TEST_F(LoginPagesTest, ResetOfAnAccountWithTotpAsksForTheApp) {
  auto account = accounts_->FindByNationalId(kCitizen);
  ASSERT_TRUE(account.ok() && account->has_value());
  const auto id = (*account)->id;
  auto enrolment = accounts_->BeginTotpEnrolment(id);
  ASSERT_TRUE(enrolment.ok());
  const auto secret = *crypto::Base32Decode(enrolment->secret_base32);
  ASSERT_TRUE(accounts_->ConfirmTotpEnrolment(id, crypto::Totp(secret, clock_.Now()), {}).ok());
  clock_.Advance(std::chrono::seconds(30));

  ASSERT_EQ(PostPreLogin("/dan/reset?lang=en", "national_id=" + http::FormEncode(kCitizen)).status,
            200);
  const auto code = CodeIn(gateway_.Sent().at(0).text);
  constexpr const char* kNew = "a brand new passphrase";
  auto sms_only = ResetVerify(code, kNew);
  EXPECT_EQ(sms_only.status, 401);
  EXPECT_NE(sms_only.body.find("This account has an authenticator app"), std::string::npos);
  auto done = ResetVerify(code, kNew, crypto::Totp(secret, clock_.Now()));
  EXPECT_EQ(done.status, 303);
  EXPECT_EQ(PostLogin(kCitizen, kNew).status, 303);
}

TEST_F(LoginPagesTest, KazakhPackSpeaksKazakhUnlessAskedOtherwise) {
  const ScopedPageLanguages kz({"kk", "ru", "en"});
  // No hint at all: the pack's first language.
  auto kk = Call(Method::get, "/dan/login");
  EXPECT_EQ(kk.status, 200);
  EXPECT_NE(kk.body.find("<html lang=\"kk\">"), std::string::npos);
  EXPECT_NE(kk.body.find("<h1>Dan арқылы кіру</h1>"), std::string::npos);
  EXPECT_NE(kk.body.find(">ЖСН</label>"), std::string::npos);
  EXPECT_NE(kk.body.find(">Құпиясөз</label>"), std::string::npos);
  EXPECT_NE(kk.body.find("action=\"/dan/login?lang=kk\""), std::string::npos);
  // The switch offers the pack's other languages, and Mongolian nowhere.
  EXPECT_NE(kk.body.find("<a href=\"/dan/login?lang=ru\" lang=\"ru\" hreflang=\"ru\">Русский</a>"),
            std::string::npos);
  EXPECT_NE(kk.body.find("<a href=\"/dan/login?lang=en\" lang=\"en\" hreflang=\"en\">English</a>"),
            std::string::npos);
  EXPECT_EQ(kk.body.find("hreflang=\"kk\""), std::string::npos);
  EXPECT_EQ(kk.body.find("hreflang=\"mn\""), std::string::npos);
  EXPECT_EQ(kk.body.find("Монгол"), std::string::npos);

  auto ru = Call(Method::get, "/dan/login?lang=ru");
  EXPECT_NE(ru.body.find("<html lang=\"ru\">"), std::string::npos);
  EXPECT_NE(ru.body.find("<h1>Вход через Dan</h1>"), std::string::npos);
  EXPECT_NE(ru.body.find(">ИИН</label>"), std::string::npos);
  EXPECT_NE(ru.body.find(">Пароль</label>"), std::string::npos);
  EXPECT_NE(ru.body.find("hreflang=\"kk\">Қазақша</a>"), std::string::npos);
  EXPECT_NE(ru.body.find("hreflang=\"en\">English</a>"), std::string::npos);
  EXPECT_EQ(ru.body.find("hreflang=\"ru\""), std::string::npos);

  // Mongolian is not offered here: the default instead.
  auto mn = Call(Method::get, "/dan/login?lang=mn");
  EXPECT_NE(mn.body.find("<html lang=\"kk\">"), std::string::npos);
  EXPECT_EQ(mn.body.find("Данаар нэвтрэх"), std::string::npos);
  // The portal's language cookie carries over.
  EXPECT_NE(Call(Method::get, "/dan/login", "lang=ru").body.find("<html lang=\"ru\">"),
            std::string::npos);
  EXPECT_NE(Call(Method::get, "/dan/login", "lang=mn").body.find("<html lang=\"kk\">"),
            std::string::npos);

  // English is still there for whoever asks for it (and the check of the other pages sees it).
  auto en = Call(Method::get, "/dan/login?lang=en");
  EXPECT_NE(en.body.find("<html lang=\"en\">"), std::string::npos);
  EXPECT_NE(EnglishIn(en.body), std::vector<std::string>{});

  // A refused login answers in the language of the form.
  auto [cookie, token] = PreLoginToken();
  auto wrong = Call(Method::post, "/dan/login?lang=ru", cookie,
                    "csrf=" + token + "&national_id=" + http::FormEncode(kCitizen) +
                        "&password=not+the+right+one");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.body.find("Неверный ИИН или пароль."), std::string::npos);
  EXPECT_NE(wrong.body.find("<html lang=\"ru\">"), std::string::npos);
}

TEST_F(LoginPagesTest, MongolianPackPagesAreUnchanged) {
  const ScopedPageLanguages mn_pack({"mn", "en"});
  auto mn = Call(Method::get, "/dan/login");
  EXPECT_NE(mn.body.find("<html lang=\"mn\">"), std::string::npos);
  EXPECT_NE(mn.body.find("<h1>Данаар нэвтрэх</h1>"), std::string::npos);
  EXPECT_NE(mn.body.find(">Регистрийн дугаар</label>"), std::string::npos);
  EXPECT_NE(mn.body.find("<a href=\"/dan/login?lang=en\" lang=\"en\" hreflang=\"en\">English</a>"
                         "</nav>"),
            std::string::npos);
  for (const char* other : {"hreflang=\"mn\"", "hreflang=\"kk\"", "hreflang=\"ru\""}) {
    EXPECT_EQ(mn.body.find(other), std::string::npos) << other;
  }
  auto en = Call(Method::get, "/dan/login?lang=en");
  EXPECT_NE(en.body.find("<html lang=\"en\">"), std::string::npos);
  EXPECT_NE(en.body.find("<a href=\"/dan/login?lang=mn\" lang=\"mn\" hreflang=\"mn\">Монгол</a>"
                         "</nav>"),
            std::string::npos);
  // Kazakh and Russian are not offered: Mongolian, the default.
  EXPECT_NE(Call(Method::get, "/dan/login?lang=kk").body.find("<html lang=\"mn\">"),
            std::string::npos);
  EXPECT_NE(Call(Method::get, "/dan/login", "lang=ru").body.find("<html lang=\"mn\">"),
            std::string::npos);
}

// Every page and message of the login, sign-up, reset and account pages in Kazakh and in Russian,
// with no English left on them.
class TranslatedPagesTest : public LoginPagesTest,
                            public ::testing::WithParamInterface<const char*> {
 protected:
  // Checks one answer: its status, its language, no English.
  void Expect(const Answer& answer, int status, const std::string& what) {
    const std::string lang = GetParam();
    EXPECT_EQ(answer.status, status) << what;
    EXPECT_NE(answer.body.find("<html lang=\"" + lang + "\">"), std::string::npos) << what;
    const auto english = EnglishIn(answer.body);
    EXPECT_TRUE(english.empty()) << what << ": " << ::testing::PrintToString(english);
  }
};

TEST_P(TranslatedPagesTest, NoEnglishIsLeft) {
  const ScopedPageLanguages kz({"kk", "ru", "en"});
  const std::string lang = GetParam();
  const std::string q = "?lang=" + lang;

  for (const std::string path : {"/dan/login", "/dan/signup", "/dan/reset", "/dan/reset/verify"}) {
    Expect(Call(Method::get, path + q), 200, path);
  }
  Expect(Call(Method::get, "/dan/login" + q + "&done=reset"), 200, "login after a reset");
  Expect(Call(Method::get, "/dan/signup/verify" + q + "&national_id=x"), 200, "sign-up code");
  Expect(Call(Method::post, "/dan/login" + q, {}, "csrf=forged"), 403, "forged form");
  Expect(PostPreLogin("/dan/login" + q,
                      "national_id=" + http::FormEncode("УБ11111111") + "&password=wrong"),
         401, "wrong password");
  Expect(PostPreLogin("/dan/signup" + q, "national_id=" + http::FormEncode(kCitizen)), 200,
         "sign-up code sent");
  Expect(PostPreLogin("/dan/signup" + q, "national_id="), 400, "sign-up without an ID");
  const std::string id = "national_id=" + http::FormEncode(kCitizen);
  Expect(PostPreLogin("/dan/signup/verify" + q,
                      id + "&code=000000&password=a+long+passphrase&password_again=another"),
         400, "sign-up passwords differ");
  Expect(PostPreLogin("/dan/signup/verify" + q, id + "&code=000000&password=a+long+passphrase"
                                                     "&password_again=a+long+passphrase"),
         401, "wrong sign-up code");
  Expect(PostPreLogin("/dan/reset" + q, id), 200, "reset code sent");
  Expect(PostPreLogin("/dan/reset/verify" + q, id + "&code=000000&password=a+long+passphrase"
                                                    "&password_again=a+long+passphrase"),
         401, "wrong reset code");

  const auto cookie = SessionCookie(kCitizen);
  for (const std::string path : {"/dan/account", "/dan/account/audit", "/dan/account/password",
                                 "/dan/login/otp", "/dan/login/signature"}) {
    Expect(Call(Method::get, path + q, cookie), 200, path);
  }
  Expect(Call(Method::get, "/dan/account" + q + "&done=password", cookie), 200,
         "account after a password change");
  const auto totp = Call(Method::get, "/dan/account/totp" + q, cookie);
  Expect(totp, 200, "authenticator enrolment");
  const auto csrf = HiddenValue(totp.body, "csrf");
  Expect(Call(Method::post, "/dan/logout" + q, cookie, "csrf=forged"), 403, "forged logout");
  Expect(Call(Method::post, "/dan/account/signature-key" + q, cookie,
              "csrf=" + csrf + "&jwk=not+a+key"),
         400, "refused key");
  const std::string passwords = "&password=a+long+passphrase&password_again=";
  Expect(Call(Method::post, "/dan/account/password" + q, cookie,
              "csrf=" + csrf + "&current_password=x" + passwords + "different"),
         400, "new passwords differ");
  Expect(Call(Method::post, "/dan/account/password" + q, cookie,
              "csrf=" + csrf + "&current_password=x&password=short&password_again=short"),
         400, "short password");
  Expect(Call(Method::post, "/dan/account/password" + q, cookie,
              "csrf=" + csrf + "&current_password=wrong" + passwords + "a+long+passphrase"),
         401, "wrong current password");

  // The authenticator: a wrong code, then the right one and the recovery codes.
  Expect(Call(Method::post, "/dan/account/totp" + q, cookie, "csrf=" + csrf + "&code=000000"), 401,
         "wrong enrolment code");
  const auto from = totp.body.find("<code>") + 6;
  const auto secret =
      crypto::Base32Decode(totp.body.substr(from, totp.body.find('<', from) - from));
  ASSERT_TRUE(secret.has_value());
  Expect(Call(Method::post, "/dan/account/totp" + q, cookie,
              "csrf=" + csrf + "&code=" + crypto::Totp(*secret, clock_.Now())),
         200, "recovery codes");
  clock_.Advance(std::chrono::seconds(30));
  Expect(Call(Method::get, "/dan/login/otp" + q, cookie), 200, "second factor");
  Expect(Call(Method::post, "/dan/login/otp" + q, cookie, "csrf=" + csrf + "&code=000000"), 401,
         "wrong second factor");

  // A signature key: the page with the text to sign. The failures above (three) were free; the
  // next waits a moment, and the one after it is refused at once.
  clock_.Advance(std::chrono::minutes(2));
  auto account = accounts_->FindByNationalId(kCitizen);
  ASSERT_TRUE(account.ok() && account->has_value());
  auto key = crypto::SigningKey::Generate(crypto::SignatureAlg::kEs256);
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(accounts_->RegisterSignatureKey((*account)->id, key->PublicJwk(), {}).ok());
  Expect(Call(Method::get, "/dan/login/signature" + q, cookie), 200, "signature login");
  Expect(Call(Method::post, "/dan/login/signature" + q, cookie,
              "csrf=" + csrf + "&challenge=x&signature=x"),
         401, "wrong signature");
  Expect(Call(Method::post, "/dan/login/signature" + q, cookie,
              "csrf=" + csrf + "&challenge=x&signature=x"),
         429, "too many failures");
}

INSTANTIATE_TEST_SUITE_P(KazakhAndRussian, TranslatedPagesTest, ::testing::Values("kk", "ru"));

}  // namespace
}  // namespace ulus::identity
