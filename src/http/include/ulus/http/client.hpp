#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ulus/core/result.hpp"
#include "ulus/http/message.hpp"

namespace ulus::http {

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{10'000};  // whole exchange, send to last byte
  size_t response_body_limit = 16 * 1024 * 1024;
  // For https: CA bundle (PEM) to trust; empty uses the system's. Client certificate for mTLS.
  std::string ca_file;
  std::string certificate_file;
  std::string private_key_file;
  bool verify_peer = true;
  // For https: when not empty, the server's leaf certificate must also be one of these (SHA-256 of
  // the DER certificate, lowercase hex), checked right after the handshake and before any request
  // is sent; any other is kUnauthenticated. Khur pins the provider node the configuration names.
  std::vector<std::string> pinned_sha256;
  // AsyncClient only: idle keep-alive connections kept for reuse at most; more are closed after
  // their response.
  size_t max_idle = 256;
};

struct ClientResponse {
  Status status = Status::ok;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  [[nodiscard]] std::string_view Header(std::string_view name) const;
};

// A blocking HTTP/1.1 client for one origin ("http://127.0.0.1:8080", "https://host:8443") that
// keeps its connection alive between requests and reconnects when the peer has closed it. A
// refused connection is kUnavailable and a missed deadline kTimeout, both promptly. Not
// thread-safe: one client per thread.
class Client {
 public:
  virtual ~Client() = default;
  static Result<std::unique_ptr<Client>> Create(std::string_view origin,
                                                ClientOptions options = {});

  virtual Result<ClientResponse> Send(
      Method method, std::string_view target, std::string_view body = {},
      const std::vector<std::pair<std::string, std::string>>& headers = {}) = 0;

  Result<ClientResponse> Get(std::string_view target) { return Send(Method::get, target); }
  Result<ClientResponse> PostJson(std::string_view target, std::string_view json) {
    return Send(Method::post, target, json, {{"Content-Type", "application/json"}});
  }
};

}  // namespace ulus::http
