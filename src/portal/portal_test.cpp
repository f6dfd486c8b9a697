// The portal's pieces without a browser: the page frame and its headers, escaping of every value
// it prints, languages, local times, the QR code as SVG, the e-form, and the login and session
// store (once-only logins, expiry, refresh tokens sealed to their session).

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>

#include "html.hpp"
#include "portal_impl.hpp"
#include "ulus/core/clock.hpp"
#include "ulus/documents/pdf.hpp"
#include "ulus/store/database.hpp"

namespace ulus::portal {
namespace {

using nlohmann::json;

std::string HeaderOf(const http::Response& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return {};
}

PageSpec Spec(std::string body) {
  return PageSpec{.area = Area::kCitizen,
                  .title = "Title <b>&",
                  .body = std::move(body),
                  .here = "/catalogue?q=tax&lang=mn",
                  .languages = {"mn", "en"}};
}

TEST(PortalPage, FrameHasSkipLinkMainAndSecurityHeaders) {
  const Lang en{"en"};
  const auto response = RenderPage(en, Viewer{}, Spec("<p>x</p>"));
  EXPECT_EQ(response.status, http::Status::ok);
  EXPECT_EQ(response.content_type, "text/html; charset=utf-8");
  const auto& html = response.body;
  // The skip link is the first thing in the body, and points at main.
  const auto body = html.find("<body>");
  ASSERT_NE(body, std::string::npos);
  EXPECT_EQ(html.find("<a class=\"skip\" href=\"#main\">Skip to content</a>"), body + 6);
  EXPECT_NE(html.find("<main id=\"main\"><h1>Title &lt;b&gt;&amp;</h1><p>x</p></main>"),
            std::string::npos);
  EXPECT_NE(html.find("<html lang=\"en\">"), std::string::npos);
  const auto csp = HeaderOf(response, "Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("script-src 'none'"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(HeaderOf(response, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(HeaderOf(response, "Cache-Control"), "no-store");
  // No script and no third-party address anywhere on the page.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
}

TEST(PortalPage, LoggedOutOffersLoginBackToThisPage) {
  const auto html = RenderPage(Lang{"en"}, Viewer{}, Spec("")).body;
  EXPECT_NE(html.find("href=\"/portal/login?next=%2Fcatalogue%3Fq%3Dtax%26lang%3Dmn\">Log in</a>"),
            std::string::npos);
  EXPECT_EQ(html.find("/portal/logout"), std::string::npos);
}

TEST(PortalPage, SignedInShowsEscapedNameAndLogoutWithCsrf) {
  Viewer viewer{.signed_in = true, .name = "<img src=x>", .csrf = "tok\"en", .officer = false};
  const auto html = RenderPage(Lang{"en"}, viewer, Spec("")).body;
  EXPECT_EQ(html.find("<img src=x>"), std::string::npos);
  EXPECT_NE(html.find("&lt;img src=x&gt;"), std::string::npos);
  EXPECT_NE(html.find("<form method=\"post\" action=\"/portal/logout\"><input type=\"hidden\" "
                      "name=\"csrf\" value=\"tok&quot;en\">"),
            std::string::npos);
  EXPECT_EQ(html.find(">Log in</a>"), std::string::npos);
}

TEST(PortalPage, LanguageLinksKeepTheQueryAndOfferTheOtherLanguages) {
  const auto html = RenderPage(Lang{"en"}, Viewer{},
                               PageSpec{.title = "t",
                                        .here = "/catalogue?q=tax&lang=en&page=2",
                                        .languages = {"kk", "ru", "en"}})
                        .body;
  EXPECT_NE(html.find("href=\"/catalogue?q=tax&amp;page=2&amp;lang=kk\" lang=\"kk\""),
            std::string::npos);
  EXPECT_NE(html.find("href=\"/catalogue?q=tax&amp;page=2&amp;lang=ru\" lang=\"ru\""),
            std::string::npos);
  EXPECT_NE(html.find(">Қазақша</a>"), std::string::npos);
  EXPECT_NE(html.find(">Русский</a>"), std::string::npos);
  // Not a link to the language already shown.
  EXPECT_EQ(html.find("lang=\"en\" hreflang"), std::string::npos);
}

TEST(PortalPage, WorkspaceHasItsOwnNavigation) {
  auto spec = Spec("");
  spec.area = Area::kWork;
  spec.here = "/work/desk";
  const auto html = RenderPage(Lang{"en"}, Viewer{}, spec).body;
  EXPECT_NE(html.find("<a href=\"/work/desk\" aria-current=\"page\">One-stop desk</a>"),
            std::string::npos);
  EXPECT_NE(html.find("<a href=\"/work/actions\">My actions</a>"), std::string::npos);
  EXPECT_EQ(html.find("/my/data"), std::string::npos);
}

TEST(PortalPage, StatusIsKept) {
  auto spec = Spec("");
  spec.status = http::Status::not_found;
  EXPECT_EQ(RenderPage(Lang{"en"}, Viewer{}, spec).status, http::Status::not_found);
}

TEST(PortalText, EveryLanguageAndEnglishForAnUnknownOne) {
  const Text text{"мн", "en", "кк", "ру"};
  EXPECT_EQ(Lang{"mn"}(text), "мн");
  EXPECT_EQ(Lang{"en"}(text), "en");
  EXPECT_EQ(Lang{"kk"}(text), "кк");
  EXPECT_EQ(Lang{"ru"}(text), "ру");
  EXPECT_EQ(Lang{"lo"}(text), "en");
  EXPECT_EQ(ActionText(Lang{"en"}, "take"), "Taken up");
  EXPECT_EQ(ActionText(Lang{"mn"}, "approve"), "Батлах");
  EXPECT_EQ(ActionText(Lang{"en"}, "something-new"), "something-new");
}

TEST(PortalText, EscapesEverythingHtmlCares) {
  EXPECT_EQ(Escape("<a href=\"x\" onclick='y'>&</a>"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
  EXPECT_EQ(UrlValue("/a b?c=d&e"), "%2Fa%20b%3Fc%3Dd%26e");
}

TEST(PortalText, LocalTimeIsTheCountrysCivilTime) {
  using namespace std::chrono;
  const auto at = sys_days(2026y / November / 22) + 23h + 30min + 59s;
  EXPECT_EQ(FormatLocalTime(at, minutes(8 * 60)), "2026-11-23 07:30");
  EXPECT_EQ(FormatLocalTime(at, minutes(0)), "2026-11-22 23:30");
  EXPECT_EQ(FormatLocalTime(at, minutes(-5 * 60)), "2026-11-22 18:30");
}

TEST(PortalQr, SvgIsTheSymbolWithItsQuietZone) {
  // "HELLO" in byte mode at level M is a version 1 symbol: 21 modules and 4 of quiet zone a side.
  auto svg = documents::RenderQrSvg("HELLO", "code \"1\" <x>");
  ASSERT_TRUE(svg.ok()) << svg.error().message;
  EXPECT_NE(svg->find("viewBox=\"0 0 29 29\""), std::string::npos);
  EXPECT_NE(svg->find("aria-label=\"code &quot;1&quot; &lt;x&gt;\""), std::string::npos);
  // The top-left finder pattern's first row is one run of 7 dark modules at the quiet zone.
  EXPECT_NE(svg->find("M4 4h7v1h-7z"), std::string::npos);
  EXPECT_FALSE(documents::RenderQrSvg("", "x").ok());
  EXPECT_FALSE(documents::RenderQrSvg(std::string(5000, 'a'), "x").ok());
}

// --- the e-form and sessions need an Impl over a database ------------------------------------

class PortalImplTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "ulus-portal-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto db = store::Database::Open({.url = "sqlite:" + (dir_ / "platform.db").string()});
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(*db);
    ASSERT_TRUE(store::Migrate(*db_, "portal", Portal::Migrations()).ok());
    impl_ = std::make_unique<Portal::Impl>(*db_, PortalParts{}, PortalOptions{}, clock_);
    impl_->master = &master_;
  }
  void TearDown() override {
    impl_.reset();
    db_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  Session Person() const {
    return Session{
        .account_id = "acc-1", .national_id = "АЁ72121600", .name = "Одгэрэл", .assurance = 1};
  }
  Tokens SomeTokens() const {
    return Tokens{.access_token = "access-1",
                  .refresh_token = "refresh-secret-1",
                  .id_token = "id-1",
                  .access_expires = clock_.Now() + std::chrono::minutes(10)};
  }

  std::filesystem::path dir_;
  ManualClock clock_{FromUnixMicros(1'795'000'000'000'000)};
  crypto::MasterKey master_ = crypto::MasterKey::Generate();
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Portal::Impl> impl_;
};

TEST_F(PortalImplTest, ALoginIsTakenOnceAndExpires) {
  auto login = impl_->StartLogin("/my/data");
  ASSERT_TRUE(login.ok()) << login.error().message;
  EXPECT_GE(login->verifier.size(), 43U);  // RFC 7636: 43 to 128 characters
  EXPECT_NE(login->state, login->nonce);
  auto taken = impl_->TakeLogin(login->state);
  ASSERT_TRUE(taken.ok());
  ASSERT_TRUE(taken->has_value());
  EXPECT_EQ((*taken)->verifier, login->verifier);
  EXPECT_EQ((*taken)->next, "/my/data");
  // A replayed callback finds nothing.
  auto again = impl_->TakeLogin(login->state);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
  // One left too long is gone as well.
  auto late = impl_->StartLogin("/");
  ASSERT_TRUE(late.ok());
  clock_.Advance(std::chrono::minutes(16));
  auto expired = impl_->TakeLogin(late->state);
  ASSERT_TRUE(expired.ok());
  EXPECT_FALSE(expired->has_value());
  EXPECT_FALSE(impl_->TakeLogin("no-such-state")->has_value());
}

TEST_F(PortalImplTest, SessionsAreFoundByTheirCookieOnly) {
  auto cookie = impl_->CreateSession(Person(), SomeTokens());
  ASSERT_TRUE(cookie.ok()) << cookie.error().message;
  auto found = impl_->FindSession(*cookie);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->national_id, "АЁ72121600");
  EXPECT_EQ((*found)->access_token, "access-1");
  EXPECT_GE((*found)->csrf.size(), 32U);
  // The database keeps a hash of the cookie, never the cookie.
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  auto ids = (*conn)->Query("SELECT id, refresh_sealed FROM portal_session");
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 1U);
  EXPECT_NE((*ids)[0].Text(0), *cookie);
  // Nor the refresh token in the clear.
  EXPECT_EQ((*ids)[0].Text(1).find("refresh-secret-1"), std::string::npos);
  auto refresh = impl_->RefreshTokenOf((*found)->id);
  ASSERT_TRUE(refresh.ok()) << refresh.error().message;
  EXPECT_EQ(*refresh, "refresh-secret-1");

  std::string other = *cookie;
  other.back() = other.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(impl_->FindSession(other)->has_value());
  EXPECT_FALSE(impl_->FindSession("")->has_value());
  EXPECT_FALSE(impl_->FindSession("short")->has_value());
}

TEST_F(PortalImplTest, ASealedRefreshTokenOpensOnlyForItsSession) {
  auto first = impl_->CreateSession(Person(), SomeTokens());
  auto second = impl_->CreateSession(Person(), SomeTokens());
  ASSERT_TRUE(first.ok() && second.ok());
  const auto first_id = (*impl_->FindSession(*first))->id;
  const auto second_id = (*impl_->FindSession(*second))->id;
  // Copy the first session's sealed token onto the second: it must not open there.
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  const store::Value ids[] = {first_id, second_id};
  ASSERT_TRUE((*conn)
                  ->Execute("UPDATE portal_session SET refresh_sealed = (SELECT refresh_sealed "
                            "FROM portal_session WHERE id = $1) WHERE id = $2",
                            ids)
                  .ok());
  EXPECT_FALSE(impl_->RefreshTokenOf(second_id).ok());
  EXPECT_TRUE(impl_->RefreshTokenOf(first_id).ok());
}

TEST_F(PortalImplTest, SessionsEndAndExpire) {
  auto cookie = impl_->CreateSession(Person(), SomeTokens());
  ASSERT_TRUE(cookie.ok());
  const auto id = (*impl_->FindSession(*cookie))->id;
  auto ended = impl_->EndSession(id);
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(*ended, "refresh-secret-1");  // handed back to be revoked at Dan
  EXPECT_FALSE(impl_->FindSession(*cookie)->has_value());

  auto later = impl_->CreateSession(Person(), SomeTokens());
  ASSERT_TRUE(later.ok());
  clock_.Advance(std::chrono::hours(12) + std::chrono::seconds(1));
  EXPECT_FALSE(impl_->FindSession(*later)->has_value());
  ASSERT_TRUE(impl_->Sweep().ok());
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(*(*conn)->QueryInt("SELECT COUNT(*) FROM portal_session"), 0);
}

TEST_F(PortalImplTest, NewTokensReplaceTheOldOnes) {
  auto cookie = impl_->CreateSession(Person(), SomeTokens());
  ASSERT_TRUE(cookie.ok());
  const auto id = (*impl_->FindSession(*cookie))->id;
  Tokens next = SomeTokens();
  next.access_token = "access-2";
  next.refresh_token = "refresh-secret-2";
  ASSERT_TRUE(impl_->StoreTokens(id, next).ok());
  EXPECT_EQ((*impl_->FindSession(*cookie))->access_token, "access-2");
  EXPECT_EQ(*impl_->RefreshTokenOf(id), "refresh-secret-2");
}

TEST_F(PortalImplTest, FormFieldsAreLabelledAndEscaped) {
  std::vector<services::FormField> fields = {
      {.name = "street", .type = "string", .label = {{"en", "Street <b>"}}, .required = true},
      {.name = "rooms", .type = "integer", .label = {{"en", "Rooms"}}, .required = false},
      {.name = "moved", .type = "date", .label = {{"en", "Moved on"}}, .required = true},
      {.name = "owner", .type = "boolean", .label = {{"en", "I own it"}}, .required = false}};
  const json values = {{"street", "\"><script>alert(1)</script>"}, {"owner", true}};
  const auto html = impl_->FormFields(Lang{"en"}, fields, values, "form.");
  EXPECT_NE(html.find("<label for=\"f-form.street\">Street &lt;b&gt; <span>(required)</span>"),
            std::string::npos);
  EXPECT_NE(html.find("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""),
            std::string::npos);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("type=\"number\" id=\"f-form.rooms\" name=\"form.rooms\""),
            std::string::npos);
  EXPECT_NE(html.find("type=\"date\" id=\"f-form.moved\""), std::string::npos);
  EXPECT_NE(html.find("<input type=\"checkbox\" id=\"f-form.owner\" name=\"form.owner\" "
                      "value=\"true\" checked>I own it</label>"),
            std::string::npos);
  // Every input has a label naming it.
  for (const auto* id : {"f-form.street", "f-form.rooms", "f-form.moved", "f-form.owner"}) {
    EXPECT_NE(html.find(std::string("for=\"") + id + "\""), std::string::npos) << id;
  }

  auto form = http::Form::Parse("form.street=Peace+Ave&form.rooms=3&form.moved=2026-11-01");
  ASSERT_TRUE(form.ok());
  auto read = impl_->ReadFormFields(*form, fields, "form.");
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(
      *read,
      json({{"street", "Peace Ave"}, {"rooms", 3}, {"moved", "2026-11-01"}, {"owner", false}}));
  auto bad = http::Form::Parse("form.rooms=3x");
  ASSERT_TRUE(bad.ok());
  auto refused = impl_->ReadFormFields(*bad, fields, "form.");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().field, "rooms");
}

TEST_F(PortalImplTest, EntriesAreShownAsText) {
  const json form = {{"street", "<img src=x onerror=alert(1)>"}, {"rooms", 3}};
  const auto html = impl_->EntriesList(Lang{"en"}, nullptr, form, Text{"", "Entries", "", ""});
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_NE(html.find("<dd>&lt;img src=x onerror=alert(1)&gt;</dd>"), std::string::npos);
  EXPECT_NE(html.find("<dd>3</dd>"), std::string::npos);
}

}  // namespace
}  // namespace ulus::portal
