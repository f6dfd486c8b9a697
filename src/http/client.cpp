#include "ulus/http/client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

namespace ulus::http {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using ErrorCodeT = boost::system::error_code;

constexpr uint32_t kResponseHeaderLimit = 64 * 1024;

struct Origin {
  bool tls = false;
  std::string host;  // without IPv6 brackets
  std::string port;
  std::string host_header;
  std::string text;  // as given, for messages
};

Result<Origin> ParseOrigin(std::string_view origin) {
  Origin out;
  out.text = std::string(origin);
  std::string_view rest = origin;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    out.tls = true;
    rest.remove_prefix(8);
  } else {
    return Error::InvalidArgument("origin '" + out.text + "' must start with http:// or https://",
                                  "origin");
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.empty() || rest.find_first_of("/?#@") != std::string_view::npos) {
    return Error::InvalidArgument(
        "origin '" + out.text + "' must be scheme://host[:port] with no path", "origin");
  }
  out.host_header = std::string(rest);
  std::string_view port;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) {
      return Error::InvalidArgument("origin '" + out.text + "' has an unclosed '['", "origin");
    }
    out.host = std::string(rest.substr(1, close - 1));
    const auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) {
        return Error::InvalidArgument("origin '" + out.text + "' is malformed", "origin");
      }
      port = after.substr(1);
    }
  } else {
    const auto colon = rest.rfind(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (port.empty()) {
    out.port = out.tls ? "443" : "80";
  } else {
    const bool digits =
        port.size() <= 5 && port.find_first_not_of("0123456789") == std::string_view::npos;
    if (!digits || std::stoul(std::string(port)) > 65535) {
      return Error::InvalidArgument("origin '" + out.text + "' has a bad port", "origin");
    }
    out.port = std::string(port);
  }
  if (out.host.empty()) {
    return Error::InvalidArgument("origin '" + out.text + "' has no host", "origin");
  }
  return out;
}

// SHA-256 of the peer's DER certificate in lowercase hex; empty when it sent none.
std::string PeerSha256(SSL* ssl_handle) {
  X509* cert = SSL_get1_peer_certificate(ssl_handle);
  if (cert == nullptr) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const int ok = X509_digest(cert, EVP_sha256(), md, &len);
  X509_free(cert);
  if (ok != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0x0f];
  }
  return out;
}

bool IsIpAddress(const std::string& host) {
  ErrorCodeT ec;
  net::ip::make_address(host, ec);
  return !ec;
}

// Errors that mean the server closed a connection we thought alive.
bool IsStaleConnection(const ErrorCodeT& ec) {
  return ec == beast_http::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::connection_aborted || ec == ssl::error::stream_truncated;
}

class ClientImpl final : public Client {
 public:
  ClientImpl(Origin origin, ClientOptions options)
      : origin_(std::move(origin)), options_(std::move(options)) {}

  ulus::Status Init() {
    if (!origin_.tls) return Ok();
    tls_.emplace(ssl::context::tls_client);
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    SSL_CTX_set_min_proto_version(tls_->native_handle(), TLS1_2_VERSION);
    ErrorCodeT ec;
    if (options_.verify_peer) {
      tls_->set_verify_mode(ssl::verify_peer, ec);
      if (options_.ca_file.empty()) {
        tls_->set_default_verify_paths(ec);
      } else {
        tls_->load_verify_file(options_.ca_file, ec);
      }
      if (ec) {
        return Error::InvalidArgument(
            "cannot load CA certificates '" + options_.ca_file + "': " + ec.message(), "ca_file");
      }
    } else {
      tls_->set_verify_mode(ssl::verify_none, ec);
    }
    if (!options_.certificate_file.empty() || !options_.private_key_file.empty()) {
      tls_->use_certificate_chain_file(options_.certificate_file, ec);
      if (ec) {
        return Error::InvalidArgument(
            "cannot load client certificate '" + options_.certificate_file + "': " + ec.message(),
            "certificate_file");
      }
      tls_->use_private_key_file(options_.private_key_file, ssl::context::pem, ec);
      if (ec || SSL_CTX_check_private_key(tls_->native_handle()) != 1) {
        return Error::InvalidArgument("cannot load client private key '" +
                                          options_.private_key_file +
                                          "' or it does not match the certificate",
                                      "private_key_file");
      }
    }
    return Ok();
  }

  Result<ClientResponse> Send(
      Method method, std::string_view target, std::string_view body,
      const std::vector<std::pair<std::string, std::string>>& headers) override {
    // A value with a line break would end the header early and let whoever chose it append
    // headers or a whole second request on the connection (request smuggling).
    const auto unsafe = [](std::string_view text) {
      return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
    };
    if (unsafe(target)) return Error::InvalidArgument("the request target has a line break");
    for (const auto& [name, value] : headers) {
      if (unsafe(name) || unsafe(value)) {
        return Error::InvalidArgument("header " + name.substr(0, 60) + " has a line break");
      }
    }
    BeastRequest request(method, beast::string_view(target.data(), target.size()), 11);
    request.set(beast_http::field::host, origin_.host_header);
    for (const auto& [name, value] : headers) request.set(name, value);
    request.body().assign(body);
    request.prepare_payload();

    const bool reused = connected_;
    if (!connected_) ULUS_TRY(Connect());
    bool got_bytes = false;
    auto result = Exchange(request, got_bytes);
    // A keep-alive connection the server closed while idle: nothing of the request can have
    // been processed, so send it once more on a fresh connection.
    if (!result.ok() && reused && !got_bytes && retryable_) {
      ULUS_TRY(Connect());
      result = Exchange(request, got_bytes);
    }
    return result;
  }

 private:
  beast::tcp_stream& Lowest() { return secure_ ? beast::get_lowest_layer(*secure_) : *plain_; }

  // Runs the io_context until what was started on it completes.
  void RunIo() {
    ioc_.restart();
    ioc_.run();
  }

  void Disconnect() {
    connected_ = false;
    secure_.reset();
    plain_.reset();
    buffer_.clear();
  }

  ulus::Status Connect() {
    Disconnect();
    const auto deadline = SteadyClock::now() + options_.connect_timeout;
    tcp::resolver resolver(ioc_);
    net::steady_timer timer(ioc_);
    ErrorCodeT resolve_ec;
    tcp::resolver::results_type endpoints;
    bool resolve_timed_out = false;
    timer.expires_at(deadline);
    timer.async_wait([&](ErrorCodeT ec) {
      if (ec) return;
      resolve_timed_out = true;
      resolver.cancel();
    });
    resolver.async_resolve(origin_.host, origin_.port,
                           [&](ErrorCodeT ec, tcp::resolver::results_type results) {
                             timer.cancel();
                             resolve_ec = ec;
                             endpoints = std::move(results);
                           });
    RunIo();
    if (resolve_timed_out) return TimeoutError("resolving the host");
    if (resolve_ec) {
      return Error::Unavailable("cannot resolve " + origin_.text + ": " + resolve_ec.message());
    }

    plain_.emplace(ioc_);
    ErrorCodeT ec;
    plain_->expires_at(deadline);
    plain_->async_connect(endpoints, [&](ErrorCodeT e, const tcp::endpoint&) { ec = e; });
    RunIo();
    if (ec == beast::error::timeout) {
      Disconnect();
      return TimeoutError("connecting");
    }
    if (ec) {
      Disconnect();
      return Error::Unavailable("cannot connect to " + origin_.text + ": " + ec.message());
    }
    plain_->socket().set_option(tcp::no_delay(true), ec);
    if (origin_.tls) {
      secure_.emplace(std::move(*plain_), *tls_);
      plain_.reset();
      SSL* ssl_handle = secure_->native_handle();
      const bool ip = IsIpAddress(origin_.host);
      // SNI takes host names only (RFC 6066 section 3).
      // SSL_set_tlsext_host_name is a macro with a C cast; this is what it expands to.
      if (!ip) {
        SSL_ctrl(ssl_handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(origin_.host.c_str()));
      }
      if (options_.verify_peer) {
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
        if (ip) {
          X509_VERIFY_PARAM_set1_ip_asc(param, origin_.host.c_str());
        } else {
          X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
          SSL_set1_host(ssl_handle, origin_.host.c_str());
        }
      }
      Lowest().expires_at(deadline);
      secure_->async_handshake(ssl::stream_base::client, [&](ErrorCodeT e) { ec = e; });
      RunIo();
      if (ec == beast::error::timeout) {
        Disconnect();
        return TimeoutError("the TLS handshake");
      }
      if (ec) {
        std::string reason = ec.message();
        const long verify = SSL_get_verify_result(ssl_handle);  // NOLINT(google-runtime-int)
        if (verify != X509_V_OK)
          reason += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
        Disconnect();
        return Error::Unavailable("TLS handshake with " + origin_.text + " failed: " + reason);
      }
      if (!options_.pinned_sha256.empty()) {
        const std::string presented = PeerSha256(ssl_handle);
        if (std::find(options_.pinned_sha256.begin(), options_.pinned_sha256.end(), presented) ==
            options_.pinned_sha256.end()) {
          Disconnect();
          return Error{ErrorCode::kUnauthenticated,
                       origin_.text + " presented a certificate (SHA-256 " + presented +
                           ") that is not the one expected",
                       {}};
        }
      }
    }
    connected_ = true;
    return Ok();
  }

  Error TimeoutError(std::string_view what) const {
    return {ErrorCode::kTimeout, std::string(what) + " with " + origin_.text + " timed out", {}};
  }

  template <class Initiate>
  ErrorCodeT RunOnStream(Initiate&& initiate) {
    ErrorCodeT ec;
    if (secure_) {
      initiate(*secure_, ec);
    } else {
      initiate(*plain_, ec);
    }
    RunIo();
    return ec;
  }

  Result<ClientResponse> Exchange(BeastRequest& request, bool& got_bytes) {
    retryable_ = false;
    got_bytes = false;
    Lowest().expires_after(options_.request_timeout);
    auto ec = RunOnStream([&](auto& stream, ErrorCodeT& out) {
      beast_http::async_write(stream, request, [&out](ErrorCodeT e, size_t) { out = e; });
    });
    if (ec) return Fail(ec, "sending the request");

    beast_http::response_parser<beast_http::string_body> parser;
    parser.header_limit(kResponseHeaderLimit);
    parser.body_limit(options_.response_body_limit);
    if (request.method() == Method::head) parser.skip(true);
    ec = RunOnStream([&](auto& stream, ErrorCodeT& out) {
      beast_http::async_read(stream, buffer_, parser, [&out](ErrorCodeT e, size_t) { out = e; });
    });
    got_bytes = parser.got_some();
    if (ec == beast_http::error::body_limit) {
      Disconnect();
      return Error{ErrorCode::kTooLarge,
                   "the response from " + origin_.text + " is larger than " +
                       std::to_string(options_.response_body_limit) + " bytes",
                   {}};
    }
    if (ec) return Fail(ec, "reading the response");

    auto message = parser.release();
    ClientResponse response;
    response.status = message.result();
    response.headers.reserve(static_cast<size_t>(std::distance(message.begin(), message.end())));
    for (const auto& field : message) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    response.body = std::move(message.body());
    if (!message.keep_alive()) Disconnect();
    return response;
  }

  Error Fail(const ErrorCodeT& ec, std::string_view doing) {
    Disconnect();
    if (ec == beast::error::timeout) {
      return {ErrorCode::kTimeout,
              "no complete response from " + origin_.text + " within " +
                  std::to_string(options_.request_timeout.count()) + " ms",
              {}};
    }
    retryable_ = IsStaleConnection(ec);
    return Error::Unavailable(std::string(doing) + " with " + origin_.text +
                              " failed: " + ec.message());
  }

  const Origin origin_;
  const ClientOptions options_;
  net::io_context ioc_{1};
  std::optional<ssl::context> tls_;
  // One of the two is set while connected.
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
  bool retryable_ = false;  // the last failure looked like a connection closed under us
};

}  // namespace

std::string_view ClientResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (beast::iequals(key, name)) return value;
  }
  return {};
}

Result<std::unique_ptr<Client>> Client::Create(std::string_view origin, ClientOptions options) {
  ULUS_ASSIGN_OR_RETURN(auto parsed, ParseOrigin(origin));
  auto client = std::make_unique<ClientImpl>(std::move(parsed), std::move(options));
  ULUS_TRY(client->Init());
  return std::unique_ptr<Client>(std::move(client));
}

}  // namespace ulus::http
