#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ulus/http/message.hpp"
#include "ulus/identity/pages.hpp"

namespace ulus::portal {

// A piece of interface text in every language a pack may choose. Names of services, registries
// and templates come from the pack instead; these are the portal's own words.
struct Text {
  std::string_view mn;
  std::string_view en;
  std::string_view kk;
  std::string_view ru;
};

// The page's language: one of the pack's, chosen by ?lang=, else the "lang" cookie, else the
// pack's first.
struct Lang {
  std::string code;  // "mn", "en", "kk", "ru"
  [[nodiscard]] std::string_view operator()(const Text& text) const;
};

// HTML-escapes text for element content and attribute values (Dan's pages use the same).
using identity::Escape;
// Escapes a query value for a URL inside an attribute (percent-encoding, then HTML).
std::string UrlValue(std::string_view text);

// Who the page is for, as the layout needs it.
struct Viewer {
  bool signed_in = false;
  std::string name;
  std::string csrf;
  bool officer = false;  // show the workspace's link
};

enum class Area { kCitizen, kWork };

struct PageSpec {
  Area area = Area::kCitizen;
  std::string title;
  std::string body;  // inside <main>, after the h1
  std::string here;  // the current path and query, for the language links and login
  std::vector<std::string> languages;  // the pack's, in its order
  http::Status status = http::Status::ok;
};

// The whole page: skip link, header with the area's navigation, the language switch and the
// login or logout control, <main> with the h1, and the shared stylesheet. Security headers:
// CSP default-src 'self' (no script at all, no third party), frame-ancestors 'none', nosniff,
// no-referrer, no-store.
http::Response RenderPage(const Lang& lang, const Viewer& viewer, const PageSpec& page);

// An application event's action ("take", "approve") in words.
std::string ActionText(const Lang& lang, std::string_view action);

// The shared stylesheet (/portal/style.css).
std::string_view StyleSheet();

// A link with its text, both escaped.
std::string Link(std::string_view href, std::string_view text);
// The ?page= of a listing (1 when absent or not a page number).
size_t PageNumber(const http::Request& request);
// "Previous" and "Next" links under a listing, keeping `base`'s query.
std::string Pager(const Lang& lang, std::string_view base, size_t page, bool more);

// A hidden CSRF field for forms that post.
std::string CsrfField(const Viewer& viewer);

// Formats a time in the country's civil time, "2026-11-23 14:05".
std::string FormatLocalTime(std::chrono::system_clock::time_point at, std::chrono::minutes offset);

}  // namespace ulus::portal
