#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ulus/core/result.hpp"

namespace ulus::http {

namespace beast_http = boost::beast::http;
using Method = beast_http::verb;
using Status = beast_http::status;
using BeastRequest = beast_http::request<beast_http::string_body>;
using BeastResponse = beast_http::response<beast_http::string_body>;

// Who the peer of a mutually authenticated TLS connection is: its leaf certificate, already
// verified by the server against ServerOptions::tls_client_ca_file during the handshake. Read once
// per connection and shared by every request on it. Strings are UTF-8.
struct PeerCertificate {
  std::string subject;      // RFC 4514 (RFC 2253 order) DN, e.g. "CN=node-1,O=Khur,C=MN"
  std::string issuer;       // the same for the issuing CA
  std::string common_name;  // the subject's most specific CN; empty when it has none
  std::string serial;       // lowercase hex, no leading zeros ("-" first if negative)
  std::string sha256;       // SHA-256 of the DER certificate, 64 lowercase hex digits
  std::chrono::system_clock::time_point not_after;
};

// An incoming request as a handler sees it: the parsed message, the matched path parameters and
// the peer's address and, over mutual TLS, certificate. Owned by the connection that read it;
// valid for the handler's call.
class Request {
 public:
  // `peer` is owned by the connection and must outlive the request; null when there is none.
  Request(BeastRequest message, std::string remote_address, const PeerCertificate* peer = nullptr);
  // path() and route_pattern() view into storage a copy would not own.
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  [[nodiscard]] Method method() const { return message_.method(); }
  [[nodiscard]] std::string_view target() const;
  // The path without the query string, percent-decoding left to the router's parameters.
  [[nodiscard]] std::string_view path() const { return path_; }
  [[nodiscard]] std::string_view body() const { return message_.body(); }
  [[nodiscard]] const std::string& remote_address() const { return remote_address_; }
  [[nodiscard]] const BeastRequest& message() const { return message_; }
  // The verified client certificate over mutual TLS; null over plain HTTP, over TLS without
  // tls_client_ca_file, and when an optional client certificate was not presented.
  [[nodiscard]] const PeerCertificate* peer() const { return peer_; }

  // A header's value, or empty when absent. Names are case-insensitive.
  [[nodiscard]] std::string_view Header(std::string_view name) const;
  // The token of an "Authorization: Bearer <token>" header (RFC 6750 §2.1, the scheme in any
  // case); nullopt without one.
  [[nodiscard]] std::optional<std::string_view> BearerToken() const;
  // A path parameter captured by the route pattern ("{id}"), percent-decoded.
  [[nodiscard]] std::string_view Param(std::string_view name) const;
  // A query parameter, percent-decoded; nullopt when absent. The first wins when repeated.
  [[nodiscard]] std::optional<std::string> Query(std::string_view name) const;

  // The body parsed as JSON. kUnsupportedMediaType unless Content-Type is application/json (or
  // a +json type); kInvalidArgument, naming line and column, when it does not parse.
  [[nodiscard]] Result<nlohmann::json> Json() const;

  // Filled by the router.
  void SetParams(std::vector<std::pair<std::string, std::string>> params) {
    params_ = std::move(params);
  }
  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& params() const {
    return params_;
  }
  void SetRoutePattern(std::string_view pattern) { route_pattern_ = pattern; }
  [[nodiscard]] std::string_view route_pattern() const { return route_pattern_; }

 private:
  BeastRequest message_;
  std::string remote_address_;
  const PeerCertificate* peer_;
  std::string_view path_;
  std::string_view route_pattern_;
  std::vector<std::pair<std::string, std::string>> params_;
};

// True when `value` nests no deeper than `max` arrays and objects. Iterative: a hostile body
// must not exhaust the stack of the code that checks it (copying or dumping would recurse).
bool JsonDepthAtMost(const nlohmann::json& value, size_t max);

// What a handler answers. Build with the helpers; extra headers may be added.
struct Response {
  Status status = Status::ok;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response Json(const nlohmann::json& body, Status status = Status::ok);
  static Response Text(std::string body, std::string content_type = "text/plain; charset=utf-8",
                       Status status = Status::ok);
  static Response NoContent();
};

}  // namespace ulus::http
