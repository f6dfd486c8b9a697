#pragma once

#include <string>
#include <string_view>

#include "ulus/http/message.hpp"

namespace ulus::identity {

// The languages of Dan's pages. The pack may add more later; these two are always there.
enum class Lang { kMn, kEn };

// One piece of page text in every language.
struct Text {
  std::string_view mn;
  std::string_view en;
};

[[nodiscard]] std::string_view Pick(Lang lang, const Text& text);
[[nodiscard]] std::string_view LangCode(Lang lang);  // "mn", "en"

// The language of a request: ?lang=, else the "lang" cookie, else Accept-Language, else mn.
[[nodiscard]] Lang LangOf(const http::Request& request);

// HTML-escapes text for element content and double-quoted attribute values.
[[nodiscard]] std::string Escape(std::string_view text);

// A whole server-rendered page: the shared layout (header with the language switch, main, a
// small inline stylesheet), `body_html` inside <main>. No scripts: the response carries a
// Content-Security-Policy that forbids them and any third-party request, and frame-ancestors
// 'none' against click-jacking. `lang_switch_target` is the current path+query the language
// links return to (escaped here).
[[nodiscard]] http::Response Page(Lang lang, std::string_view title, std::string_view body_html,
                                  std::string_view lang_switch_target,
                                  http::Status status = http::Status::ok);

// True when `target` is a safe local redirect: starts with one "/", not "//" or "/\", and has no
// control characters. Everything else is an open-redirect attempt.
[[nodiscard]] bool IsLocalRedirect(std::string_view target);

}  // namespace ulus::identity
