#include "html.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>

#include "texts.hpp"
#include "ulus/http/form.hpp"

namespace ulus::portal {

namespace {

// One stylesheet for every page, under 4 KiB. Colours pass WCAG 2.1 AA: body text #1b1b1b and
// links #0b4f8a on white (8.6:1), white on the header's #0b3d6b (11:1), late rows are dark red
// text on pale red (7:1) and also say "Late" in words. Focus is a thick yellow-and-black ring.
constexpr std::string_view kStyle = R"(*{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;font-size:100%;line-height:1.5;color:#1b1b1b;background:#fff}
body{margin:0}
a{color:#0b4f8a;text-decoration:underline;text-underline-offset:.15em}
a:hover{color:#062c4d}
:focus-visible{outline:3px solid #ffbf47;outline-offset:0;box-shadow:0 0 0 6px #1b1b1b}
.skip{position:absolute;left:-999px;top:0;background:#ffbf47;color:#1b1b1b;padding:.5rem 1rem;z-index:9}
.skip:focus{left:0}
header{background:#0b3d6b;color:#fff;padding:.5rem 1rem}
header a,header button.link{color:#fff}
header .bar{display:flex;flex-wrap:wrap;gap:.5rem 1.25rem;align-items:center;max-width:60rem;margin:0 auto}
header .brand{font-weight:700;font-size:1.25rem;text-decoration:none;margin-right:auto}
header nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:.25rem 1rem;margin:0;padding:0}
header nav.areas{max-width:60rem;margin:.25rem auto 0}
header form{display:inline;margin:0}
button.link{background:none;border:0;padding:0;font:inherit;text-decoration:underline;cursor:pointer}
main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.75rem;line-height:1.2;margin:.5rem 0 1rem}
h2{font-size:1.3rem;margin:1.5rem 0 .5rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;display:block;overflow-x:auto}
th,td{text-align:left;vertical-align:top;padding:.4rem .6rem;border-bottom:1px solid #b1b4b6}
th{font-weight:600}
tr.late td{background:#fde8e8;color:#7a1010}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input[type=text],input[type=date],input[type=number],input[type=search],textarea,select{font:inherit;width:100%;max-width:30rem;padding:.4rem;border:2px solid #1b1b1b;border-radius:0}
textarea{display:block}
input[type=checkbox]{width:1.5rem;height:1.5rem;vertical-align:middle}
label.check{display:flex;gap:.5rem;align-items:center;font-weight:400}
button,.button{font:inherit;background:#00703c;color:#fff;border:0;padding:.5rem 1rem;margin:.75rem .5rem .25rem 0;cursor:pointer;box-shadow:0 2px 0 #002d18;text-decoration:none;display:inline-block}
button.secondary{background:#f3f2f1;color:#1b1b1b;box-shadow:0 2px 0 #929191}
button.warning{background:#a4221a;box-shadow:0 2px 0 #55150e}
.state{font-weight:700;font-size:1.1rem}
.notice{border-left:5px solid #0b3d6b;padding:.5rem 1rem;background:#f3f2f1}
.error{border-left:5px solid #a4221a;padding:.5rem 1rem;background:#fde8e8;color:#7a1010}
.qr svg{width:100%;max-width:18rem;height:auto;border:1px solid #b1b4b6}
ul.plain{padding-left:1.25rem}
dl{display:grid;grid-template-columns:minmax(8rem,max-content) 1fr;gap:.25rem 1rem}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
footer{max-width:60rem;margin:2rem auto;padding:1rem;border-top:1px solid #b1b4b6;font-size:.9rem}
@media (max-width:40rem){h1{font-size:1.4rem}dl{grid-template-columns:1fr}}
)";

std::string WithLang(std::string_view target, std::string_view lang) {
  // Replace any lang= already in the query; keep the rest.
  std::string path(target.substr(0, target.find('?')));
  std::string query;
  if (const auto q = target.find('?'); q != std::string_view::npos) {
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
      const auto amp = rest.find('&');
      const auto part = rest.substr(0, amp);
      if (!part.starts_with("lang=") && !part.empty()) {
        if (!query.empty()) query += '&';
        query += part;
      }
      if (amp == std::string_view::npos) break;
      rest.remove_prefix(amp + 1);
    }
  }
  if (!query.empty()) query += '&';
  return path + "?" + query + "lang=" + std::string(lang);
}

std::string_view LanguageName(std::string_view code) {
  if (code == "mn") return "Монгол";
  if (code == "en") return "English";
  if (code == "kk") return "Қазақша";
  if (code == "ru") return "Русский";
  if (code == "lo") return "ລາວ";
  return code;
}

void NavLink(std::string& html, std::string_view href, std::string_view label,
             std::string_view here) {
  const std::string_view path = here.substr(0, here.find('?'));
  const bool current =
      path == href || (href != "/work" && href != "/" && path.starts_with(std::string(href) + "/"));
  html.append("<li><a href=\"").append(href).append("\"");
  if (current) html.append(" aria-current=\"page\"");
  html.append(">").append(Escape(label)).append("</a></li>");
}

}  // namespace

std::string_view Lang::operator()(const Text& text) const {
  if (code == "mn") return text.mn;
  if (code == "kk") return text.kk;
  if (code == "ru") return text.ru;
  return text.en;
}

std::string UrlValue(std::string_view text) {
  return Escape(http::FormEncode(text));
}

std::string Link(std::string_view href, std::string_view text) {
  return "<a href=\"" + Escape(href) + "\">" + Escape(text) + "</a>";
}

size_t PageNumber(const http::Request& request) {
  const auto text = request.Query("page").value_or("1");
  size_t page = 1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), page);
  if (ec != std::errc() || end != text.data() + text.size() || page < 1 || page > 10'000) return 1;
  return page;
}

std::string Pager(const Lang& lang, std::string_view base, size_t page, bool more) {
  if (page <= 1 && !more) return {};
  const std::string sep = base.find('?') == std::string_view::npos ? "?" : "&";
  std::string html = "<nav aria-label=\"" + std::string(lang(texts::kPages)) + "\"><p>";
  if (page > 1) {
    html +=
        Link(std::string(base) + sep + "page=" + std::to_string(page - 1), lang(texts::kPrevious)) +
        " ";
  }
  if (more) {
    html += Link(std::string(base) + sep + "page=" + std::to_string(page + 1), lang(texts::kNext));
  }
  return html + "</p></nav>";
}

std::string CsrfField(const Viewer& viewer) {
  return "<input type=\"hidden\" name=\"csrf\" value=\"" + Escape(viewer.csrf) + "\">";
}

std::string FormatLocalTime(std::chrono::system_clock::time_point at, std::chrono::minutes offset) {
  const auto local = std::chrono::floor<std::chrono::minutes>(at) + offset;
  const auto day = std::chrono::floor<std::chrono::days>(local);
  const std::chrono::year_month_day date{day};
  const std::chrono::hh_mm_ss time{local - day};
  char text[48];  // room for any int year, as the compiler counts
  std::snprintf(text, sizeof(text), "%04d-%02u-%02u %02ld:%02ld", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<long>(time.hours().count()), static_cast<long>(time.minutes().count()));
  return text;
}

std::string_view StyleSheet() {
  return kStyle;
}

http::Response RenderPage(const Lang& lang, const Viewer& viewer, const PageSpec& page) {
  namespace t = texts;
  std::string html;
  html.reserve(page.body.size() + 3072);
  html.append("<!doctype html>\n<html lang=\"")
      .append(Escape(lang.code))
      .append(
          "\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
          "<title>")
      .append(Escape(page.title))
      .append(" · ")
      .append(lang(page.area == Area::kWork ? t::kWorkspace : t::kPortal))
      .append("</title><link rel=\"stylesheet\" href=\"/portal/style.css\"></head><body>")
      .append("<a class=\"skip\" href=\"#main\">")
      .append(lang(t::kSkip))
      .append("</a><header><div class=\"bar\"><a class=\"brand\" href=\"")
      .append(page.area == Area::kWork ? "/work" : "/")
      .append("\">")
      .append(lang(t::kPortal));
  if (page.area == Area::kWork) html.append(" · ").append(lang(t::kWorkspace));
  html.append("</a><nav aria-label=\"").append(lang(t::kLanguage)).append("\"><ul>");
  for (const auto& code : page.languages) {
    if (code == lang.code) continue;
    html.append("<li><a href=\"")
        .append(Escape(WithLang(page.here, code)))
        .append("\" lang=\"")
        .append(Escape(code))
        .append("\" hreflang=\"")
        .append(Escape(code))
        .append("\">")
        .append(LanguageName(code))
        .append("</a></li>");
  }
  html.append("</ul></nav>");
  if (viewer.signed_in) {
    html.append("<span>")
        .append(lang(t::kSignedInAs))
        .append(" ")
        .append(Escape(viewer.name))
        .append("</span><form method=\"post\" action=\"/portal/logout\">")
        .append(CsrfField(viewer))
        .append("<button class=\"link\" type=\"submit\">")
        .append(lang(t::kLogOut))
        .append("</button></form>");
  } else {
    html.append("<a href=\"/portal/login?next=")
        .append(UrlValue(page.here))
        .append("\">")
        .append(lang(t::kLogIn))
        .append("</a>");
  }
  html.append("</div><nav class=\"areas\" aria-label=\"")
      .append(lang(t::kMainMenu))
      .append("\"><ul>");
  if (page.area == Area::kWork) {
    NavLink(html, "/work", lang(t::kOfficerInbox), page.here);
    NavLink(html, "/work/desk", lang(t::kDesk), page.here);
    NavLink(html, "/work/actions", lang(t::kMyActions), page.here);
    NavLink(html, "/", lang(t::kPortal), page.here);
  } else {
    NavLink(html, "/catalogue", lang(t::kServices), page.here);
    NavLink(html, "/my/applications", lang(t::kMyApplications), page.here);
    NavLink(html, "/my/documents", lang(t::kMyDocuments), page.here);
    NavLink(html, "/my/data", lang(t::kMyData), page.here);
    NavLink(html, "/my/data-usage", lang(t::kDataUsage), page.here);
    NavLink(html, "/my/inbox", lang(t::kInbox), page.here);
    NavLink(html, "/my/consents", lang(t::kConsents), page.here);
    if (viewer.officer) NavLink(html, "/work", lang(t::kWorkspace), page.here);
  }
  html.append("</ul></nav></header><main id=\"main\"><h1>")
      .append(Escape(page.title))
      .append("</h1>")
      .append(page.body)
      .append("</main></body></html>\n");

  auto response = http::Response::Text(std::move(html), "text/html; charset=utf-8", page.status);
  response.headers.emplace_back("Content-Security-Policy",
                                "default-src 'self'; script-src 'none'; object-src 'none'; "
                                "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  // same-origin, not no-referrer: with no-referrer browsers post forms with "Origin: null",
  // and the origin check against cross-site posts needs the real one.
  response.headers.emplace_back("Referrer-Policy", "same-origin");
  response.headers.emplace_back("Cache-Control", "no-store");
  response.headers.emplace_back("Content-Language", lang.code);
  return response;
}

}  // namespace ulus::portal
