// The portal's pieces without a browser: the page frame and its headers, escaping of every value
// it prints, languages, local times, the QR code as SVG, the e-form, and the login and session
// store (once-only logins, expiry, refresh tokens sealed to their session).

#include <gtest/gtest.h>

#include "html.hpp"
#include "portal_suite.hpp"
#include "ulus/identity/qr_svg.hpp"
#include "ulus/store/testing/temporary_sqlite.hpp"

namespace ulus::portal {

namespace test {

// A SQLite file in a temporary folder of its own, removed with the last reference.
Result<SuiteDatabase> MakeSuiteDatabase() {
  ULUS_ASSIGN_OR_RETURN(auto sqlite, store::testing::TemporarySqlite::Make("ulus-portal-"));
  std::shared_ptr<store::testing::TemporarySqlite> shared(std::move(sqlite));
  return SuiteDatabase{.url = shared->url(), .keep = shared};
}

}  // namespace test

namespace {

using http::Request;

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

TEST(PortalPage, ListingsPageWithPreviousAndNext) {
  const Lang en{"en"};
  EXPECT_EQ(Pager(en, "/work", 1, false), "");
  EXPECT_EQ(Pager(en, "/work", 1, true),
            "<nav aria-label=\"Pages\"><p><a href=\"/work?page=2\">Next</a></p></nav>");
  EXPECT_EQ(Pager(en, "/catalogue?q=a&b", 3, false),
            "<nav aria-label=\"Pages\"><p><a href=\"/catalogue?q=a&amp;b&amp;page=2\">Previous</a> "
            "</p></nav>");
  for (const auto* target : {"/x", "/x?page=0", "/x?page=-2", "/x?page=2x", "/x?page=99999"}) {
    const Request r(http::BeastRequest(http::Method::get, target, 11), "");
    EXPECT_EQ(PageNumber(r), 1U) << target;
  }
  const Request third(http::BeastRequest(http::Method::get, "/x?page=3", 11), "");
  EXPECT_EQ(PageNumber(third), 3U);
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
  auto svg = identity::QrSvg("HELLO", "code \"1\" <x>");
  ASSERT_TRUE(svg.ok()) << svg.error().message;
  EXPECT_NE(svg->find("viewBox=\"0 0 29 29\""), std::string::npos);
  EXPECT_NE(svg->find("aria-label=\"code &quot;1&quot; &lt;x&gt;\""), std::string::npos);
  // The top-left finder pattern's first row is one run of 7 dark modules at the quiet zone.
  EXPECT_NE(svg->find("M4 4h7v1h-7z"), std::string::npos);
  EXPECT_FALSE(identity::QrSvg("", "x").ok());
  EXPECT_FALSE(identity::QrSvg(std::string(5000, 'a'), "x").ok());
}

}  // namespace
}  // namespace ulus::portal
