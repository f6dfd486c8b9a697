#include "ulus/identity/pages.hpp"

#include <cctype>

#include "ulus/http/form.hpp"

namespace ulus::identity {
namespace {

// Small, readable on a phone, AA contrast (#1a1a1a on white, white on #0b4f8a), visible focus.
constexpr std::string_view kStyle =
    "body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fff}"
    "header{background:#0b4f8a;color:#fff;padding:.75rem 1rem;display:flex;"
    "justify-content:space-between;align-items:center;flex-wrap:wrap}"
    "header a{color:#fff}header strong{font-size:1.2rem}"
    "main{max-width:36rem;margin:0 auto;padding:1rem}"
    "label{display:block;font-weight:600;margin-top:1rem}"
    "input[type=text],input[type=password],input[type=tel],textarea{width:100%;box-sizing:"
    "border-box;font:inherit;padding:.5rem;border:2px solid #555;border-radius:4px}"
    "button{font:inherit;margin-top:1rem;padding:.5rem 1.25rem;background:#0b4f8a;color:#fff;"
    "border:0;border-radius:4px;cursor:pointer}button.secondary{background:#fff;color:#0b4f8a;"
    "border:2px solid #0b4f8a}"
    ":focus{outline:3px solid #f0a500;outline-offset:2px}"
    ".error{border-left:4px solid #b00020;background:#fdecee;padding:.5rem 1rem}"
    ".notice{border-left:4px solid #0b4f8a;background:#eef4fa;padding:.5rem 1rem}"
    "code,pre{font-family:ui-monospace,monospace;word-break:break-all;white-space:pre-wrap}"
    ".skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;"
    "color:#0b4f8a;padding:.5rem}";

std::string WithLang(std::string_view target, std::string_view code) {
  // Drops any lang= already in the query, then appends ours.
  const auto question = target.find('?');
  std::string out(target.substr(0, question));
  std::string query;
  if (question != std::string_view::npos) {
    auto rest = target.substr(question + 1);
    while (!rest.empty()) {
      const auto amp = rest.find('&');
      const auto pair = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
      if (pair.empty() || pair.substr(0, 5) == "lang=" || pair == "lang") continue;
      if (!query.empty()) query += '&';
      query.append(pair);
    }
  }
  if (!query.empty()) query += '&';
  query.append("lang=").append(code);
  return out + "?" + query;
}

}  // namespace

std::string_view Pick(Lang lang, const Text& text) {
  return lang == Lang::kEn ? text.en : text.mn;
}

std::string_view LangCode(Lang lang) {
  return lang == Lang::kEn ? "en" : "mn";
}

Lang LangOf(const http::Request& request) {
  const auto from_code = [](std::string_view code) -> std::optional<Lang> {
    if (code == "en") return Lang::kEn;
    if (code == "mn") return Lang::kMn;
    return std::nullopt;
  };
  if (auto q = request.Query("lang")) {
    if (auto lang = from_code(*q)) return *lang;
  }
  if (auto c = http::CookieValue(request, "lang")) {
    if (auto lang = from_code(*c)) return *lang;
  }
  // The first of mn/en named in Accept-Language wins; q-values are not weighed, which is enough
  // for two languages.
  const auto accept = request.Header("Accept-Language");
  const auto mn = accept.find("mn");
  const auto en = accept.find("en");
  if (en != std::string_view::npos && (mn == std::string_view::npos || en < mn)) return Lang::kEn;
  return Lang::kMn;
}

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

http::Response Page(Lang lang, std::string_view title, std::string_view body_html,
                    std::string_view lang_switch_target, http::Status status) {
  std::string html;
  html.reserve(body_html.size() + 2048);
  html.append("<!doctype html>\n<html lang=\"")
      .append(LangCode(lang))
      .append(
          "\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
          "<title>")
      .append(Escape(title))
      .append(" · Dan</title><style>")
      .append(kStyle)
      .append("</style></head><body>")
      .append("<a class=\"skip\" href=\"#main\">")
      .append(Pick(lang, {"Үндсэн агуулга руу", "Skip to content"}))
      .append("</a><header><strong>Dan</strong><nav aria-label=\"")
      .append(Pick(lang, {"Хэл", "Language"}))
      .append("\">");
  if (lang == Lang::kEn) {
    html.append("<a href=\"")
        .append(Escape(WithLang(lang_switch_target, "mn")))
        .append("\" lang=\"mn\">Монгол</a>");
  } else {
    html.append("<a href=\"")
        .append(Escape(WithLang(lang_switch_target, "en")))
        .append("\" lang=\"en\">English</a>");
  }
  html.append("</nav></header><main id=\"main\"><h1>")
      .append(Escape(title))
      .append("</h1>")
      .append(body_html)
      .append("</main></body></html>\n");

  auto response = http::Response::Text(std::move(html), "text/html; charset=utf-8", status);
  response.headers.emplace_back("Content-Security-Policy",
                                "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' "
                                "data:; frame-ancestors 'none'; base-uri 'none'");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

bool IsLocalRedirect(std::string_view target) {
  if (target.empty() || target.front() != '/') return false;
  if (target.size() > 1 && (target[1] == '/' || target[1] == '\\')) return false;
  for (const char c : target) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f || c == '\\') return false;
  }
  return true;
}

}  // namespace ulus::identity
