#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ulus/core/result.hpp"
#include "ulus/http/message.hpp"

namespace ulus::http {

// An application/x-www-form-urlencoded body (HTML forms, OAuth 2.0 token requests), parsed.
// Immutable once parsed; safe to share between threads.
class Form {
 public:
  // Parses `body`. kInvalidArgument when an escape is malformed or decodes to NUL.
  static Result<Form> Parse(std::string_view body);
  // The request's body when its Content-Type is application/x-www-form-urlencoded, else
  // kUnsupportedMediaType.
  static Result<Form> FromRequest(const Request& request);

  // The value of `name`, or nullopt when absent. Use Count() to refuse a repeated parameter
  // where the protocol forbids it (RFC 6749 §3.1).
  [[nodiscard]] std::optional<std::string> Get(std::string_view name) const;
  // Get(), or "" when absent.
  [[nodiscard]] std::string Value(std::string_view name) const;
  [[nodiscard]] size_t Count(std::string_view name) const;
  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& Pairs() const {
    return pairs_;
  }

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

// Percent-encodes `in` for a query string or form value (RFC 3986 unreserved characters kept).
std::string FormEncode(std::string_view in);

// The value of cookie `name` in the request's Cookie header(s), or nullopt.
std::optional<std::string> CookieValue(const Request& request, std::string_view name);

struct CookieOptions {
  std::string path = "/";
  bool secure = false;
  bool http_only = true;
  std::string same_site = "Lax";  // Strict, Lax or None
  // Max-Age in seconds; nullopt makes a session cookie, 0 deletes the cookie.
  std::optional<long long> max_age;
};

// A Set-Cookie header value. `value` must already be cookie-safe (base64url, for instance).
std::string SetCookie(std::string_view name, std::string_view value, const CookieOptions& options);

}  // namespace ulus::http
