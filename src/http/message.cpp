#include "ulus/http/message.hpp"

#include <boost/beast/core/string.hpp>

#include "url.hpp"

namespace ulus::http {
namespace {

// A parse error's detail can quote the input; keep what we echo back short.
constexpr size_t kMaxJsonErrorDetail = 200;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// application/json, or any type with a +json structured suffix (RFC 6839), parameters allowed.
bool IsJsonMediaType(std::string_view content_type) {
  const auto media_type = Trim(content_type.substr(0, content_type.find(';')));
  if (boost::beast::iequals(media_type, "application/json")) return true;
  constexpr std::string_view kSuffix = "+json";
  const auto slash = media_type.find('/');
  return slash != std::string_view::npos && slash > 0 &&
         media_type.size() > slash + 1 + kSuffix.size() &&
         boost::beast::iequals(media_type.substr(media_type.size() - kSuffix.size()), kSuffix);
}

// Line and column (both from 1) of the byte at `offset`, counted as nlohmann counts bytes.
std::pair<size_t, size_t> LineAndColumn(std::string_view text, size_t offset) {
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i + 1 < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

}  // namespace

Request::Request(BeastRequest message, std::string remote_address, const PeerCertificate* peer)
    : message_(std::move(message)), remote_address_(std::move(remote_address)), peer_(peer) {
  path_ = PathOfTarget(target());
}

std::string_view Request::target() const {
  const auto t = message_.target();
  return {t.data(), t.size()};
}

std::string_view Request::Header(std::string_view name) const {
  const auto it = message_.find(boost::beast::string_view(name.data(), name.size()));
  if (it == message_.end()) return {};
  const auto value = it->value();
  return {value.data(), value.size()};
}

std::string_view Request::Param(std::string_view name) const {
  for (const auto& [key, value] : params_) {
    if (key == name) return value;
  }
  return {};
}

std::optional<std::string> Request::Query(std::string_view name) const {
  auto t = target();
  const auto question = t.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  auto query = t.substr(question + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    const auto raw_key = pair.substr(0, eq);
    const auto key = PercentDecode(raw_key, true);
    if (!key || *key != name) continue;
    if (eq == std::string_view::npos) return std::string();
    // A malformed value, or one that is not UTF-8 text, is treated as absent: the handler cannot
    // act on it either way.
    auto value = PercentDecode(pair.substr(eq + 1), true);
    if (value && !IsUtf8(*value)) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

std::optional<std::string_view> Request::BearerToken() const {
  static constexpr std::string_view kBearer = "bearer ";
  const auto header = Header("Authorization");
  if (header.size() <= kBearer.size()) return std::nullopt;
  for (size_t i = 0; i < kBearer.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kBearer[i]) return std::nullopt;
  }
  return header.substr(kBearer.size());
}

bool JsonDepthAtMost(const nlohmann::json& value, size_t max) {
  std::vector<std::pair<const nlohmann::json*, size_t>> pending{{&value, 0}};
  while (!pending.empty()) {
    const auto [node, depth] = pending.back();
    pending.pop_back();
    if (!node->is_structured()) continue;
    if (depth >= max) return false;
    for (const auto& child : *node) pending.emplace_back(&child, depth + 1);
  }
  return true;
}

Result<nlohmann::json> Request::Json() const {
  const auto content_type = Header("Content-Type");
  if (!IsJsonMediaType(content_type)) {
    return Error{ErrorCode::kUnsupportedMediaType,
                 content_type.empty()
                     ? std::string("the request has no Content-Type; send application/json")
                     : "Content-Type '" + std::string(content_type.substr(0, 100)) +
                           "' is not JSON; send application/json",
                 {}};
  }
  if (body().empty()) return Error::InvalidArgument("the request body is empty; expected JSON");
  try {
    return nlohmann::json::parse(body());
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() reads "[json.exception.parse_error.101] parse error at line 1, column 2: ...";
    // keep the reason after the position, which we state ourselves.
    std::string_view what = e.what();
    const auto colon = what.find(": ");
    std::string_view reason = colon == std::string_view::npos ? what : what.substr(colon + 2);
    if (reason.size() > kMaxJsonErrorDetail) reason = reason.substr(0, kMaxJsonErrorDetail);
    const auto [line, column] = LineAndColumn(body(), e.byte);
    return Error::InvalidArgument("the request body is not valid JSON: at line " +
                                  std::to_string(line) + ", column " + std::to_string(column) +
                                  " (byte " + std::to_string(e.byte) + "): " + std::string(reason));
  }
}

Response Response::Json(const nlohmann::json& body, Status status) {
  Response r;
  r.status = status;
  // Replace invalid UTF-8 instead of throwing: a handler echoing bad input must not become a 500.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response Response::Text(std::string body, std::string content_type, Status status) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

Response Response::NoContent() {
  Response r;
  r.status = Status::no_content;
  r.content_type.clear();
  return r;
}

}  // namespace ulus::http
