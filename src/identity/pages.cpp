#include "ulus/identity/pages.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <mutex>
#include <optional>

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

// The page languages (SetPageLanguages): a few values of a four-value enum, so a fixed array
// guarded by a mutex that is held only while a reader copies it out.
struct Configured {
  std::array<Lang, 4> langs{Lang::kMn, Lang::kEn, Lang::kMn, Lang::kMn};
  size_t count = 2;

  [[nodiscard]] bool Has(Lang lang) const {
    return std::find(langs.begin(), langs.begin() + static_cast<std::ptrdiff_t>(count), lang) !=
           langs.begin() + static_cast<std::ptrdiff_t>(count);
  }
};

std::mutex configured_mu;
Configured configured_langs;

Configured CurrentLanguages() {
  std::lock_guard lock(configured_mu);
  return configured_langs;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The offered language an Accept-Language header prefers most: the highest q-value wins, and of
// equal ones the first listed; regional tags count for their language ("ru-KZ" is ru).
std::optional<Lang> FromAcceptLanguage(std::string_view header, const Configured& offered) {
  std::optional<Lang> best;
  double best_q = 0;
  while (!header.empty()) {
    const auto comma = header.find(',');
    const auto item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    const auto semicolon = item.find(';');
    const auto tag = Trim(item.substr(0, semicolon));
    double q = 1;
    if (semicolon != std::string_view::npos) {
      auto params = item.substr(semicolon + 1);
      while (!params.empty()) {
        const auto next = params.find(';');
        const auto param = Trim(params.substr(0, next));
        params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
        if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
          const auto value = param.substr(2);
          const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), q);
          if (ec != std::errc() || end != value.data() + value.size()) q = 0;
        }
      }
    }
    std::string primary(tag.substr(0, tag.find('-')));
    for (auto& c : primary) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto lang = LangFromCode(primary);
    if (lang && offered.Has(*lang) && q > best_q) {
      best = lang;
      best_q = q;
    }
  }
  return best;
}

// What each language is called in itself, for the switch links.
std::string_view Endonym(Lang lang) {
  switch (lang) {
    case Lang::kEn: return "English";
    case Lang::kKk: return "Қазақша";
    case Lang::kRu: return "Русский";
    case Lang::kMn: break;
  }
  return "Монгол";
}

}  // namespace

std::string_view Pick(Lang lang, const Text& text) {
  switch (lang) {
    case Lang::kMn: return text.mn;
    case Lang::kEn: return text.en;
    case Lang::kKk: return text.kk.empty() ? text.en : text.kk;
    case Lang::kRu: return text.ru.empty() ? text.en : text.ru;
  }
  return text.en;
}

std::string_view LangCode(Lang lang) {
  switch (lang) {
    case Lang::kEn: return "en";
    case Lang::kKk: return "kk";
    case Lang::kRu: return "ru";
    case Lang::kMn: break;
  }
  return "mn";
}

std::optional<Lang> LangFromCode(std::string_view code) {
  if (code == "mn") return Lang::kMn;
  if (code == "en") return Lang::kEn;
  if (code == "kk") return Lang::kKk;
  if (code == "ru") return Lang::kRu;
  return std::nullopt;
}

void SetPageLanguages(const std::vector<std::string>& codes) {
  Configured next;
  next.count = 0;
  for (const auto& code : codes) {
    const auto lang = LangFromCode(code);
    if (!lang || next.Has(*lang)) continue;
    next.langs[next.count++] = *lang;
  }
  if (next.count == 0) next = Configured{};
  std::lock_guard lock(configured_mu);
  configured_langs = next;
}

std::vector<std::string> PageLanguages() {
  const auto current = CurrentLanguages();
  std::vector<std::string> out;
  for (size_t i = 0; i < current.count; ++i) out.emplace_back(LangCode(current.langs[i]));
  return out;
}

Lang LangOf(const http::Request& request) {
  const auto offered = CurrentLanguages();
  const auto usable = [&](std::string_view code) -> std::optional<Lang> {
    const auto lang = LangFromCode(code);
    if (lang && offered.Has(*lang)) return lang;
    return std::nullopt;
  };
  if (auto q = request.Query("lang")) {
    if (auto lang = usable(*q)) return *lang;
  }
  if (auto c = http::CookieValue(request, "lang")) {
    if (auto lang = usable(*c)) return *lang;
  }
  if (auto lang = FromAcceptLanguage(request.Header("Accept-Language"), offered)) return *lang;
  return offered.langs[0];
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
      .append(Pick(lang, {"Үндсэн агуулга руу", "Skip to content", "Негізгі мазмұнға өту",
                          "Перейти к содержанию"}))
      .append("</a><header><strong>Dan</strong><nav aria-label=\"")
      .append(Pick(lang, {"Хэл", "Language", "Тіл", "Язык"}))
      .append("\">");
  // A link to every other page language, each in its own language and tagged so.
  const auto offered = CurrentLanguages();
  bool first = true;
  for (size_t i = 0; i < offered.count; ++i) {
    const Lang other = offered.langs[i];
    if (other == lang) continue;
    const auto code = LangCode(other);
    if (!first) html.append(" ");
    first = false;
    html.append("<a href=\"")
        .append(Escape(WithLang(lang_switch_target, code)))
        .append("\" lang=\"")
        .append(code)
        .append("\" hreflang=\"")
        .append(code)
        .append("\">")
        .append(Endonym(other))
        .append("</a>");
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
