#pragma once

// What the blocking Client and the AsyncClient share: the origin, TLS set-up and checks, the
// request head, reading the response and the errors both report. Private to the http module.

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ulus/core/result.hpp"
#include "ulus/http/client.hpp"
#include "ulus/http/message.hpp"

namespace ulus::http::detail {

using ErrorCodeT = boost::system::error_code;
using HeaderList = std::vector<std::pair<std::string, std::string>>;

inline constexpr uint32_t kResponseHeaderLimit = 64 * 1024;

struct Origin {
  bool tls = false;
  std::string host;  // without IPv6 brackets
  std::string port;
  std::string host_header;
  std::string text;  // as given, for messages
};

// "http://host[:port]" or "https://host[:port]", an IPv6 host in brackets; no path.
Result<Origin> ParseOrigin(std::string_view origin);

bool IsIpAddress(const std::string& host);

// Prepares a client TLS context (TLS 1.2+) from the options: the CA bundle to trust (or the
// system's) and the client certificate for mutual TLS. kInvalidArgument naming the option at fault.
ulus::Status ConfigureTls(boost::asio::ssl::context& tls, const ClientOptions& options);

// Before a session's handshake: SNI for a host name, and the name or IP address the server's
// certificate must be issued for.
void PrepareTlsSession(SSL* session, const Origin& origin, bool verify_peer);

// kUnavailable for a failed handshake, with OpenSSL's verification verdict when there is one.
Error TlsHandshakeError(SSL* session, const ErrorCodeT& ec, const Origin& origin);

// After the handshake: kUnauthenticated unless the server's leaf certificate is one of `pinned`
// (SHA-256, lowercase hex); always Ok when `pinned` is empty.
ulus::Status CheckPin(SSL* session, const Origin& origin, const std::vector<std::string>& pinned);

// SHA-256 of the peer's DER certificate in lowercase hex; empty when it sent none.
std::string PeerSha256(SSL* session);

// Errors that mean the server closed a connection we thought alive.
bool IsStaleConnection(const ErrorCodeT& ec);

// Appends an HTTP/1.1 request head to `out` (reserving room for `reserve_extra` more bytes, e.g.
// a body to follow in the same buffer): the request line; Host from the origin unless `headers`
// has one; each header not repeated later in `headers` (the last one wins, as with Beast's set());
// Content-Length for a body or an empty one with OPTIONS, PUT or POST (as Beast's
// prepare_payload), never the caller's Content-Length or Transfer-Encoding. kInvalidArgument,
// writing nothing, for a target or header with CR, LF or NUL (a value with a line break would let
// whoever chose it append headers or a whole second request: request smuggling), an empty header
// name, an unknown method or a TRACE with a body.
ulus::Status AppendRequestHead(std::string& out, Method method, std::string_view target,
                               size_t body_size, const HeaderList& headers,
                               std::string_view host_header, size_t reserve_extra = 0);

// Parses one response straight into a ClientResponse, with the response header and body limits.
// One per response; it is not reset.
class ResponseReader final : public beast_http::basic_parser<false> {
 public:
  ResponseReader(size_t response_body_limit, bool head_request);

  // The response read, once is_done(); leaves the reader empty.
  ClientResponse Release() { return std::move(response_); }

 private:
  void on_request_impl(beast_http::verb method, boost::beast::string_view method_str,
                       boost::beast::string_view target, int version, ErrorCodeT& ec) override;
  void on_response_impl(int code, boost::beast::string_view reason, int version,
                        ErrorCodeT& ec) override;
  void on_field_impl(beast_http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, ErrorCodeT& ec) override;
  void on_header_impl(ErrorCodeT& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         ErrorCodeT& ec) override;
  size_t on_body_impl(boost::beast::string_view body, ErrorCodeT& ec) override;
  void on_chunk_header_impl(std::uint64_t size, boost::beast::string_view extensions,
                            ErrorCodeT& ec) override;
  size_t on_chunk_body_impl(std::uint64_t remain, boost::beast::string_view body,
                            ErrorCodeT& ec) override;
  void on_finish_impl(ErrorCodeT& ec) override;

  size_t body_limit_;
  ClientResponse response_;
};

// The errors both clients report, worded alike.
Error TimeoutError(std::string_view what, const Origin& origin);
Error CannotResolve(const ErrorCodeT& ec, const Origin& origin);
Error CannotConnect(const ErrorCodeT& ec, const Origin& origin);
// For a failed exchange: kTimeout for Beast's timeout, kTooLarge for a body over the limit,
// otherwise kUnavailable saying what was being done.
Error ExchangeError(const ErrorCodeT& ec, std::string_view doing, const Origin& origin,
                    const ClientOptions& options);

}  // namespace ulus::http::detail
