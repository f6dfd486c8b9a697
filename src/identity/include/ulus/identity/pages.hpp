#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/http/message.hpp"

namespace ulus::identity {

// The languages Dan's pages are written in. Which of them a deployment offers, and which is its
// default, is the country pack's choice (SetPageLanguages).
enum class Lang { kMn, kEn, kKk, kRu };

// One piece of page text in every language. kk (Kazakh, Cyrillic) and ru (Russian) may be left
// out by callers that have no such text yet; Pick then shows the English.
struct Text {
  std::string_view mn;
  std::string_view en;
  std::string_view kk = {};
  std::string_view ru = {};
};

[[nodiscard]] std::string_view Pick(Lang lang, const Text& text);
[[nodiscard]] std::string_view LangCode(Lang lang);  // "mn", "en", "kk", "ru"
// The language of a code ("mn", "en", "kk", "ru"); nullopt for any other.
[[nodiscard]] std::optional<Lang> LangFromCode(std::string_view code);

// The languages Dan's pages offer, in the pack's order; the first is the default. Codes Dan has
// no text in are skipped; an empty list (or one with no known code) means {"mn", "en"}, which is
// also the setting until someone sets it.
//
// Process-wide on purpose: the pages are free functions (LangOf, Page) called from some thirty
// places in three libraries (Dan's accounts and OpenID Connect pages, and the documents' /verify
// page), and one binary serves one country pack, so the value is fixed for the life of the
// process. Dan::Open installs DanOptions::languages here before it serves (two Dans in one process
// share the setting: the last opened wins); threading it through every page builder would change
// all their signatures for no gain. Thread-safe; tests that change it use ScopedPageLanguages.
void SetPageLanguages(const std::vector<std::string>& codes);
[[nodiscard]] std::vector<std::string> PageLanguages();

// Sets the page languages for as long as it lives and then puts back the setting it found: for
// tests, which must not leave another language behind for the next.
class ScopedPageLanguages {
 public:
  explicit ScopedPageLanguages(const std::vector<std::string>& codes) : saved_(PageLanguages()) {
    SetPageLanguages(codes);
  }
  ~ScopedPageLanguages() { SetPageLanguages(saved_); }
  ScopedPageLanguages(const ScopedPageLanguages&) = delete;
  ScopedPageLanguages& operator=(const ScopedPageLanguages&) = delete;

 private:
  std::vector<std::string> saved_;
};

// The language of a request, among the page languages: ?lang=, else the "lang" cookie (the
// portal's), else the most preferred of them in Accept-Language, else the default (the first).
// A language that is not offered is ignored wherever it is named.
[[nodiscard]] Lang LangOf(const http::Request& request);

// HTML-escapes text for element content and double-quoted attribute values.
[[nodiscard]] std::string Escape(std::string_view text);

// A whole server-rendered page: the shared layout (header with a link to each other page
// language, main, a small inline stylesheet), `body_html` inside <main>. No scripts: the
// response carries a Content-Security-Policy that forbids them and any third-party request, and
// frame-ancestors 'none' against click-jacking. `lang_switch_target` is the current path+query the
// language links return to (escaped here).
[[nodiscard]] http::Response Page(Lang lang, std::string_view title, std::string_view body_html,
                                  std::string_view lang_switch_target,
                                  http::Status status = http::Status::ok);

// True when `target` is a safe local redirect: starts with one "/", not "//" or "/\", and has no
// control characters. Everything else is an open-redirect attempt.
[[nodiscard]] bool IsLocalRedirect(std::string_view target);

}  // namespace ulus::identity
