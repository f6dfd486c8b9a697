#include "ulus/http/form.hpp"

#include <algorithm>
#include <cctype>

#include "url.hpp"

namespace ulus::http {
namespace {

bool IsFormMediaType(std::string_view content_type) {
  const auto semicolon = content_type.find(';');
  auto type = content_type.substr(0, semicolon);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  constexpr std::string_view kForm = "application/x-www-form-urlencoded";
  return type.size() == kForm.size() &&
         std::equal(type.begin(), type.end(), kForm.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<Form> Form::Parse(std::string_view body) {
  Form form;
  while (!body.empty()) {
    const auto amp = body.find('&');
    const auto pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = PercentDecode(pair.substr(0, eq), true);
    auto value = eq == std::string_view::npos ? std::optional<std::string>(std::string())
                                              : PercentDecode(pair.substr(eq + 1), true);
    if (!key || !value) {
      return Error::InvalidArgument("the form has a malformed %-escape");
    }
    if (!IsUtf8(*key) || !IsUtf8(*value)) {
      return Error::InvalidArgument("the form is not UTF-8 text");
    }
    form.pairs_.emplace_back(std::move(*key), std::move(*value));
  }
  return form;
}

Result<Form> Form::FromRequest(const Request& request) {
  const auto content_type = request.Header("Content-Type");
  if (!IsFormMediaType(content_type)) {
    return Error{
        ErrorCode::kUnsupportedMediaType, "send the form as application/x-www-form-urlencoded", {}};
  }
  return Parse(request.body());
}

std::optional<std::string> Form::Get(std::string_view name) const {
  for (const auto& [key, value] : pairs_) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::string Form::Value(std::string_view name) const {
  return Get(name).value_or(std::string());
}

size_t Form::Count(std::string_view name) const {
  return static_cast<size_t>(std::count_if(pairs_.begin(), pairs_.end(),
                                           [&](const auto& pair) { return pair.first == name; }));
}

std::string FormEncode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size());
  for (const char c : in) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4U]);
      out.push_back(kHex[byte & 0xFU]);
    }
  }
  return out;
}

std::optional<std::string> CookieValue(const Request& request, std::string_view name) {
  for (const auto& field : request.message()) {
    if (field.name() != beast_http::field::cookie) continue;
    std::string_view header(field.value().data(), field.value().size());
    while (!header.empty()) {
      const auto semicolon = header.find(';');
      const auto pair = Trim(header.substr(0, semicolon));
      header =
          semicolon == std::string_view::npos ? std::string_view{} : header.substr(semicolon + 1);
      const auto eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      if (Trim(pair.substr(0, eq)) != name) continue;
      auto value = Trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return std::string(value);
    }
  }
  return std::nullopt;
}

std::string SetCookie(std::string_view name, std::string_view value, const CookieOptions& options) {
  std::string out;
  out.append(name).append("=").append(value);
  out.append("; Path=").append(options.path);
  if (options.max_age) out.append("; Max-Age=").append(std::to_string(*options.max_age));
  if (options.secure) out.append("; Secure");
  if (options.http_only) out.append("; HttpOnly");
  if (!options.same_site.empty()) out.append("; SameSite=").append(options.same_site);
  return out;
}

}  // namespace ulus::http
