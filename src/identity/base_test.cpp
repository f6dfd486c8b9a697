#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ulus/http/form.hpp"
#include "ulus/identity/assurance.hpp"
#include "ulus/identity/audit.hpp"
#include "ulus/identity/messages.hpp"
#include "ulus/identity/pages.hpp"
#include "ulus/identity/sessions.hpp"
#include "ulus/store/migration.hpp"

namespace ulus::identity {
namespace {

namespace fs = std::filesystem;

http::Request MakeRequest(std::string target, std::string cookie = {},
                          std::string accept_language = {}) {
  http::BeastRequest message{http::Method::get, target, 11};
  if (!cookie.empty()) message.set(http::beast_http::field::cookie, cookie);
  if (!accept_language.empty()) {
    message.set(http::beast_http::field::accept_language, accept_language);
  }
  return http::Request(std::move(message), "127.0.0.1");
}

class BaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ulus-dan-base-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto db = store::Database::Open({.url = "sqlite:" + (dir_ / "dan.db").string()});
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(db).value();
    ASSERT_TRUE(store::Migrate(*db_, "dan_session", Sessions::Migrations()).ok());
    ASSERT_TRUE(store::Migrate(*db_, "dan_audit", AuditLog::Migrations()).ok());
    ASSERT_TRUE(store::Migrate(*db_, "dan_message", LocalOutbox::Migrations()).ok());
  }
  void TearDown() override {
    db_.reset();
    fs::remove_all(dir_);
  }

  // The cookie a browser would send back, from a Set-Cookie value.
  static std::string CookieFrom(const std::string& set_cookie) {
    return set_cookie.substr(0, set_cookie.find(';'));
  }

  fs::path dir_;
  std::unique_ptr<store::Database> db_;
  ManualClock clock_{FromUnixMicros(1'790'000'000'000'000)};
};

TEST(AssuranceTest, AcrValuesRoundTripAndShortNames) {
  EXPECT_EQ(AcrValue(Assurance::kSubstantial), "http://eidas.europa.eu/LoA/substantial");
  EXPECT_EQ(AssuranceFromAcr("http://eidas.europa.eu/LoA/high"), Assurance::kHigh);
  EXPECT_EQ(AssuranceFromAcr("low"), Assurance::kLow);
  EXPECT_FALSE(AssuranceFromAcr("urn:other").has_value());
  EXPECT_FALSE(AssuranceFromAcr("").has_value());
}

TEST_F(BaseTest, SessionCookieFindsTheSessionAndStoresOnlyItsHash) {
  Sessions sessions(*db_, {}, clock_);
  auto created = sessions.Create("acc-1", Assurance::kLow, {"pwd"});
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  const auto cookie = CookieFrom(created->set_cookie);
  EXPECT_NE(created->set_cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(created->set_cookie.find("SameSite=Lax"), std::string::npos);

  auto found = sessions.FromRequest(MakeRequest("/", cookie));
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->account_id, "acc-1");
  EXPECT_EQ((*found)->assurance, Assurance::kLow);
  EXPECT_EQ((*found)->amr, std::vector<std::string>{"pwd"});

  // The raw token is nowhere in the table.
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  const auto token = cookie.substr(cookie.find('=') + 1);
  const store::Value params[] = {token};
  auto count = (*conn)->QueryInt("SELECT COUNT(*) FROM dan_session WHERE id = $1", params);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 0);
}

TEST_F(BaseTest, UnknownOrForgedCookieIsNoSession) {
  Sessions sessions(*db_, {}, clock_);
  ASSERT_TRUE(sessions.Create("acc-1", Assurance::kLow, {"pwd"}).ok());
  for (const auto* cookie : {"", "dan_session=", "dan_session=forged", "other=x"}) {
    auto found = sessions.FromRequest(MakeRequest("/", cookie));
    ASSERT_TRUE(found.ok());
    EXPECT_FALSE(found->has_value()) << cookie;
  }
}

TEST_F(BaseTest, SessionsEndWhenIdleOrTooOld) {
  Sessions sessions(
      *db_, {.idle_timeout = std::chrono::minutes(30), .absolute_timeout = std::chrono::hours(2)},
      clock_);
  auto created = sessions.Create("acc-1", Assurance::kLow, {"pwd"});
  ASSERT_TRUE(created.ok());
  const auto cookie = CookieFrom(created->set_cookie);
  // Active use keeps it alive past the idle timeout...
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(std::chrono::minutes(20));
    auto found = sessions.FromRequest(MakeRequest("/", cookie));
    ASSERT_TRUE(found.ok());
    EXPECT_TRUE(found->has_value()) << i;
  }
  // ...but not past the absolute one.
  clock_.Advance(std::chrono::minutes(65));
  auto late = sessions.FromRequest(MakeRequest("/", cookie));
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(late->has_value());

  auto second = sessions.Create("acc-1", Assurance::kLow, {"pwd"});
  ASSERT_TRUE(second.ok());
  clock_.Advance(std::chrono::minutes(31));
  auto idle = sessions.FromRequest(MakeRequest("/", CookieFrom(second->set_cookie)));
  ASSERT_TRUE(idle.ok());
  EXPECT_FALSE(idle->has_value());
}

TEST_F(BaseTest, StepUpRaisesTheLevelAndDestroyEndsIt) {
  Sessions sessions(*db_, {}, clock_);
  auto created = sessions.Create("acc-1", Assurance::kLow, {"pwd"});
  ASSERT_TRUE(created.ok());
  clock_.Advance(std::chrono::seconds(5));
  auto elevated = sessions.Elevate(created->session.id, Assurance::kSubstantial, {"otp"});
  ASSERT_TRUE(elevated.ok());
  EXPECT_EQ(elevated->assurance, Assurance::kSubstantial);
  EXPECT_EQ(elevated->amr, (std::vector<std::string>{"pwd", "otp"}));
  EXPECT_EQ(elevated->auth_time, clock_.Now());

  ASSERT_TRUE(sessions.Destroy(created->session.id).ok());
  auto found = sessions.FromRequest(MakeRequest("/", CookieFrom(created->set_cookie)));
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  EXPECT_EQ(sessions.Elevate(created->session.id, Assurance::kHigh, {"hwk"}).error().code,
            ErrorCode::kNotFound);
}

TEST_F(BaseTest, AuditListsNewestFirstByAccountAndPrefix) {
  AuditLog audit(*db_, clock_);
  ASSERT_TRUE(audit.Record({.event = "login.failed", .identifier = "h1"}).ok());
  ASSERT_TRUE(audit.Record({.event = "login.succeeded", .account_id = "a"}).ok());
  ASSERT_TRUE(audit.Record({.event = "role.granted", .account_id = "a"}).ok());
  auto all = audit.List("", "", 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3U);
  EXPECT_EQ(all->front().event.event, "role.granted");
  auto logins = audit.List("a", "login.", 10);
  ASSERT_TRUE(logins.ok());
  ASSERT_EQ(logins->size(), 1U);
  EXPECT_EQ(logins->front().event.event, "login.succeeded");
}

TEST_F(BaseTest, LocalOutboxKeepsMessagesForTheOperator) {
  LocalOutbox outbox(*db_, clock_);
  ASSERT_TRUE(outbox.Send({.to = "+97699112233", .text = "code 123456"}).ok());
  ASSERT_TRUE(outbox.Send({.to = "+97688000000", .text = "other"}).ok());
  EXPECT_EQ(outbox.Send({.to = "", .text = "x"}).error().code, ErrorCode::kInvalidArgument);
  auto mine = outbox.List(10, "+97699112233");
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 1U);
  EXPECT_EQ(mine->front().text, "code 123456");
  auto all = outbox.List(10);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2U);
}

TEST(PagesTest, EscapesMarkup) {
  EXPECT_EQ(Escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

TEST(PagesTest, OnlyLocalPathsAreRedirectTargets) {
  EXPECT_TRUE(IsLocalRedirect("/oidc/authorize/resume?ar=1"));
  for (const auto* bad : {"", "https://evil.example/", "//evil.example/", "/\\evil.example", "evil",
                          "/a\r\nLocation: x", "javascript:alert(1)"}) {
    EXPECT_FALSE(IsLocalRedirect(bad)) << bad;
  }
}

TEST(PagesTest, LanguageFromQueryCookieOrHeader) {
  EXPECT_EQ(LangOf(MakeRequest("/?lang=en")), Lang::kEn);
  EXPECT_EQ(LangOf(MakeRequest("/", "lang=en")), Lang::kEn);
  EXPECT_EQ(LangOf(MakeRequest("/", "", "en-US,en;q=0.9")), Lang::kEn);
  EXPECT_EQ(LangOf(MakeRequest("/", "", "mn-MN,en;q=0.5")), Lang::kMn);
  EXPECT_EQ(LangOf(MakeRequest("/?lang=xx")), Lang::kMn);
  // Without a pack's word Dan offers Mongolian and English only.
  EXPECT_EQ(PageLanguages(), (std::vector<std::string>{"mn", "en"}));
  EXPECT_EQ(LangOf(MakeRequest("/?lang=kk")), Lang::kMn);
  EXPECT_EQ(LangOf(MakeRequest("/", "lang=ru")), Lang::kMn);
  EXPECT_EQ(LangOf(MakeRequest("/", "", "ru-RU,ru;q=0.9,en;q=0.8")), Lang::kEn);
}

TEST(PagesTest, PackLanguagesSetTheDefaultAndWhatIsOffered) {
  const ScopedPageLanguages kz({"kk", "ru", "en"});
  EXPECT_EQ(PageLanguages(), (std::vector<std::string>{"kk", "ru", "en"}));
  EXPECT_EQ(LangOf(MakeRequest("/")), Lang::kKk);
  EXPECT_EQ(LangOf(MakeRequest("/?lang=ru")), Lang::kRu);
  EXPECT_EQ(LangOf(MakeRequest("/?lang=en")), Lang::kEn);
  EXPECT_EQ(LangOf(MakeRequest("/?lang=mn")), Lang::kKk);  // not offered: the default
  EXPECT_EQ(LangOf(MakeRequest("/", "lang=ru")), Lang::kRu);
  EXPECT_EQ(LangOf(MakeRequest("/", "lang=mn")), Lang::kKk);
  EXPECT_EQ(LangOf(MakeRequest("/?lang=en", "lang=ru", "kk")), Lang::kEn);  // query, cookie, header
  EXPECT_EQ(LangOf(MakeRequest("/", "lang=ru", "kk")), Lang::kRu);
  EXPECT_EQ(LangOf(MakeRequest("/", "", "ru-KZ,ru;q=0.9,en-US;q=0.8")), Lang::kRu);
  EXPECT_EQ(LangOf(MakeRequest("/", "", "KK-kz")), Lang::kKk);
  // q-values are weighed; languages not offered and q=0 do not count.
  EXPECT_EQ(LangOf(MakeRequest("/", "", "de-DE, en;q=0.7, kk;q=0.8")), Lang::kKk);
  EXPECT_EQ(LangOf(MakeRequest("/", "", "mn-MN,de;q=0.5")), Lang::kKk);
  EXPECT_EQ(LangOf(MakeRequest("/", "", "ru;q=0, en;q=0.1")), Lang::kEn);
  EXPECT_EQ(LangOf(MakeRequest("/", "", "ru;q=0")), Lang::kKk);
  EXPECT_EQ(LangOf(MakeRequest("/", "", "ru;q=oops")), Lang::kKk);
}

TEST(PagesTest, PackLanguagesDanHasNoTextInAreLeftOut) {
  const ScopedPageLanguages saved({"mn", "en"});
  SetPageLanguages({"ru", "lo", "ru", "kk"});
  EXPECT_EQ(PageLanguages(), (std::vector<std::string>{"ru", "kk"}));
  EXPECT_EQ(LangOf(MakeRequest("/")), Lang::kRu);
  SetPageLanguages({"lo", "th"});
  EXPECT_EQ(PageLanguages(), (std::vector<std::string>{"mn", "en"}));
  SetPageLanguages({});
  EXPECT_EQ(PageLanguages(), (std::vector<std::string>{"mn", "en"}));
}

TEST(PagesTest, KazakhAndRussianTextFallsBackToEnglish) {
  constexpr Text kFull{"Нэвтрэх", "Log in", "Кіру", "Войти"};
  constexpr Text kOld{"Нэвтрэх", "Log in"};
  EXPECT_EQ(Pick(Lang::kMn, kFull), "Нэвтрэх");
  EXPECT_EQ(Pick(Lang::kEn, kFull), "Log in");
  EXPECT_EQ(Pick(Lang::kKk, kFull), "Кіру");
  EXPECT_EQ(Pick(Lang::kRu, kFull), "Войти");
  EXPECT_EQ(Pick(Lang::kKk, kOld), "Log in");
  EXPECT_EQ(Pick(Lang::kRu, kOld), "Log in");
  for (const auto lang : {Lang::kMn, Lang::kEn, Lang::kKk, Lang::kRu}) {
    EXPECT_EQ(LangFromCode(LangCode(lang)), lang);
  }
  EXPECT_EQ(LangCode(Lang::kKk), "kk");
  EXPECT_EQ(LangCode(Lang::kRu), "ru");
  EXPECT_FALSE(LangFromCode("kz").has_value());
  EXPECT_FALSE(LangFromCode("").has_value());
}

TEST(PagesTest, PageHasLanguageSwitchAndForbidsScripts) {
  auto page = Page(Lang::kMn, "Нэвтрэх <x>", "<p>body</p>", "/dan/login?lang=mn&return_to=%2Fa");
  EXPECT_NE(page.body.find("<html lang=\"mn\">"), std::string::npos);
  EXPECT_NE(page.body.find("Нэвтрэх &lt;x&gt;"), std::string::npos);
  EXPECT_NE(page.body.find("href=\"/dan/login?return_to=%2Fa&amp;lang=en\""), std::string::npos);
  EXPECT_NE(page.body.find("lang=\"en\" hreflang=\"en\">English</a>"), std::string::npos);
  EXPECT_EQ(page.body.find("hreflang=\"mn\""), std::string::npos);
  EXPECT_EQ(page.body.find("hreflang=\"kk\""), std::string::npos);
  EXPECT_EQ(page.body.find("hreflang=\"ru\""), std::string::npos);
  bool csp = false;
  for (const auto& [name, value] : page.headers) {
    if (name == "Content-Security-Policy") {
      csp = true;
      EXPECT_NE(value.find("default-src 'none'"), std::string::npos);
      EXPECT_EQ(value.find("script-src"), std::string::npos);
    }
  }
  EXPECT_TRUE(csp);
}

TEST(PagesTest, LanguageSwitchOffersEveryOtherPackLanguage) {
  const ScopedPageLanguages kz({"kk", "ru", "en"});
  auto page = Page(Lang::kKk, "Кіру", "<p>body</p>", "/dan/login?lang=kk&return_to=%2Fa");
  EXPECT_NE(page.body.find("<html lang=\"kk\">"), std::string::npos);
  EXPECT_NE(page.body.find("<nav aria-label=\"Тіл\">"), std::string::npos);
  EXPECT_NE(page.body.find("Негізгі мазмұнға өту"), std::string::npos);
  EXPECT_NE(page.body.find("<a href=\"/dan/login?return_to=%2Fa&amp;lang=ru\" lang=\"ru\" "
                           "hreflang=\"ru\">Русский</a> <a href=\"/dan/login?return_to=%2Fa&amp;"
                           "lang=en\" lang=\"en\" hreflang=\"en\">English</a></nav>"),
            std::string::npos)
      << page.body;
  EXPECT_EQ(page.body.find("hreflang=\"kk\""), std::string::npos);
  EXPECT_EQ(page.body.find("Монгол"), std::string::npos);

  auto en = Page(Lang::kEn, "Log in", "", "/dan/login");
  EXPECT_NE(en.body.find(">Қазақша</a> <a href=\"/dan/login?lang=ru\""), std::string::npos);
  EXPECT_EQ(en.body.find("hreflang=\"en\""), std::string::npos);
}

TEST(FormTest, ParsesEncodedPairsAndRefusesBadEscapes) {
  auto form = http::Form::Parse("a=1&b=x+y%21&a=2&empty=&flag");
  ASSERT_TRUE(form.ok());
  EXPECT_EQ(form->Value("b"), "x y!");
  EXPECT_EQ(form->Value("a"), "1");
  EXPECT_EQ(form->Count("a"), 2U);
  EXPECT_EQ(form->Get("empty"), std::string());
  EXPECT_EQ(form->Get("flag"), std::string());
  EXPECT_FALSE(form->Get("missing").has_value());
  EXPECT_FALSE(http::Form::Parse("a=%zz").ok());
  EXPECT_FALSE(http::Form::Parse("a=%00").ok());
  EXPECT_EQ(http::FormEncode("/a b?c=d"), "%2Fa%20b%3Fc%3Dd");
}

TEST(FormTest, CookieValueFindsTheNamedCookie) {
  const auto request = MakeRequest("/", "a=1; dan_session=tok; b=\"q\"");
  EXPECT_EQ(http::CookieValue(request, "dan_session"), "tok");
  EXPECT_EQ(http::CookieValue(request, "b"), "q");
  EXPECT_FALSE(http::CookieValue(request, "dan").has_value());
}

}  // namespace
}  // namespace ulus::identity
