#include "client_common.hpp"

#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

namespace ulus::http::detail {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;

bool HasLineBreak(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// Headers the head writes itself from the body, whatever the caller passed.
bool IsFramingHeader(std::string_view name) {
  return boost::beast::iequals(name, "Content-Length") ||
         boost::beast::iequals(name, "Transfer-Encoding");
}

}  // namespace

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

bool IsIpAddress(const std::string& host) {
  ErrorCodeT ec;
  net::ip::make_address(host, ec);
  return !ec;
}

ulus::Status ConfigureTls(ssl::context& tls, const ClientOptions& options) {
  tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
  ErrorCodeT ec;
  if (options.verify_peer) {
    tls.set_verify_mode(ssl::verify_peer, ec);
    if (options.ca_file.empty()) {
      tls.set_default_verify_paths(ec);
    } else {
      tls.load_verify_file(options.ca_file, ec);
    }
    if (ec) {
      return Error::InvalidArgument(
          "cannot load CA certificates '" + options.ca_file + "': " + ec.message(), "ca_file");
    }
  } else {
    tls.set_verify_mode(ssl::verify_none, ec);
  }
  if (!options.certificate_file.empty() || !options.private_key_file.empty()) {
    tls.use_certificate_chain_file(options.certificate_file, ec);
    if (ec) {
      return Error::InvalidArgument(
          "cannot load client certificate '" + options.certificate_file + "': " + ec.message(),
          "certificate_file");
    }
    tls.use_private_key_file(options.private_key_file, ssl::context::pem, ec);
    if (ec || SSL_CTX_check_private_key(tls.native_handle()) != 1) {
      return Error::InvalidArgument("cannot load client private key '" + options.private_key_file +
                                        "' or it does not match the certificate",
                                    "private_key_file");
    }
  }
  return Ok();
}

void PrepareTlsSession(SSL* session, const Origin& origin, bool verify_peer) {
  const bool ip = IsIpAddress(origin.host);
  // SNI takes host names only (RFC 6066 section 3).
  // SSL_set_tlsext_host_name is a macro with a C cast; this is what it expands to.
  if (!ip) {
    SSL_ctrl(session, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(origin.host.c_str()));
  }
  if (!verify_peer) return;
  X509_VERIFY_PARAM* param = SSL_get0_param(session);
  if (ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, origin.host.c_str());
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set1_host(session, origin.host.c_str());
  }
}

Error TlsHandshakeError(SSL* session, const ErrorCodeT& ec, const Origin& origin) {
  std::string reason = ec.message();
  const long verify = SSL_get_verify_result(session);  // NOLINT(google-runtime-int)
  if (verify != X509_V_OK) {
    reason += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
  }
  return Error::Unavailable("TLS handshake with " + origin.text + " failed: " + reason);
}

ulus::Status CheckPin(SSL* session, const Origin& origin, const std::vector<std::string>& pinned) {
  if (pinned.empty()) return Ok();
  const std::string presented = PeerSha256(session);
  if (std::find(pinned.begin(), pinned.end(), presented) != pinned.end()) return Ok();
  return Error{ErrorCode::kUnauthenticated,
               origin.text + " presented a certificate (SHA-256 " + presented +
                   ") that is not the one expected",
               {}};
}

std::string PeerSha256(SSL* session) {
  X509* cert = SSL_get1_peer_certificate(session);
  if (cert == nullptr) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const int ok = X509_digest(cert, EVP_sha256(), md, &len);
  X509_free(cert);
  if (ok != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size_t{len} * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0x0f];
  }
  return out;
}

bool IsStaleConnection(const ErrorCodeT& ec) {
  return ec == beast_http::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::connection_aborted || ec == ssl::error::stream_truncated;
}

ulus::Status AppendRequestHead(std::string& out, Method method, std::string_view target,
                               size_t body_size, const HeaderList& headers,
                               std::string_view host_header, size_t reserve_extra) {
  if (method == Method::unknown) return Error::InvalidArgument("the request method is unknown");
  if (method == Method::trace && body_size > 0) {
    return Error::InvalidArgument("a TRACE request cannot have a body");
  }
  if (HasLineBreak(target)) return Error::InvalidArgument("the request target has a line break");
  const std::string_view method_name = beast_http::to_string(method);
  constexpr std::string_view kVersion = " HTTP/1.1\r\n";
  constexpr std::string_view kHost = "Host: ";
  constexpr std::string_view kContentLength = "Content-Length: ";
  constexpr std::string_view kSeparator = ": ";
  constexpr std::string_view kEnd = "\r\n";
  constexpr size_t kDigits = 20;
  bool own_host = false;
  size_t size = method_name.size() + 1 + target.size() + kVersion.size() + kContentLength.size() +
                kDigits + 2 * kEnd.size();
  for (const auto& [name, value] : headers) {
    if (HasLineBreak(name) || HasLineBreak(value)) {
      return Error::InvalidArgument("header " + name.substr(0, 60) + " has a line break");
    }
    if (name.empty()) return Error::InvalidArgument("a header has no name");
    own_host = own_host || boost::beast::iequals(name, "Host");
    size += name.size() + kSeparator.size() + value.size() + kEnd.size();
  }
  if (!own_host) size += kHost.size() + host_header.size() + kEnd.size();
  out.reserve(out.size() + size + reserve_extra);

  out.append(method_name).append(1, ' ').append(target).append(kVersion);
  if (!own_host) out.append(kHost).append(host_header).append(kEnd);
  for (auto it = headers.begin(); it != headers.end(); ++it) {
    const std::string& name = it->first;
    if (IsFramingHeader(name)) continue;
    const auto later = std::find_if(it + 1, headers.end(), [&name](const auto& other) {
      return boost::beast::iequals(other.first, name);
    });
    if (later != headers.end()) continue;
    out.append(name).append(kSeparator).append(it->second).append(kEnd);
  }
  if (body_size > 0 || method == Method::options || method == Method::put ||
      method == Method::post) {
    out.append(kContentLength).append(std::to_string(body_size)).append(kEnd);
  }
  out.append(kEnd);
  return Ok();
}

ResponseReader::ResponseReader(size_t response_body_limit, bool head_request)
    : body_limit_(response_body_limit) {
  header_limit(kResponseHeaderLimit);
  body_limit(response_body_limit);
  eager(true);
  if (head_request) skip(true);
}

void ResponseReader::on_request_impl(beast_http::verb /*method*/,
                                     boost::beast::string_view /*method_str*/,
                                     boost::beast::string_view /*target*/, int /*version*/,
                                     ErrorCodeT& ec) {
  ec = beast_http::error::bad_line_ending;  // unreachable: this parser reads responses
}

void ResponseReader::on_response_impl(int code, boost::beast::string_view /*reason*/,
                                      int /*version*/, ErrorCodeT& /*ec*/) {
  response_.status = beast_http::int_to_status(static_cast<unsigned>(code));
}

void ResponseReader::on_field_impl(beast_http::field /*name*/,
                                   boost::beast::string_view name_string,
                                   boost::beast::string_view value, ErrorCodeT& /*ec*/) {
  response_.headers.emplace_back(std::string(name_string.data(), name_string.size()),
                                 std::string(value.data(), value.size()));
}

void ResponseReader::on_header_impl(ErrorCodeT& /*ec*/) {}

void ResponseReader::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                       ErrorCodeT& /*ec*/) {
  if (content_length) {
    response_.body.reserve(
        static_cast<size_t>(std::min<std::uint64_t>(*content_length, body_limit_)));
  }
}

size_t ResponseReader::on_body_impl(boost::beast::string_view body, ErrorCodeT& /*ec*/) {
  response_.body.append(body.data(), body.size());
  return body.size();
}

void ResponseReader::on_chunk_header_impl(std::uint64_t /*size*/,
                                          boost::beast::string_view /*extensions*/,
                                          ErrorCodeT& /*ec*/) {}

size_t ResponseReader::on_chunk_body_impl(std::uint64_t /*remain*/, boost::beast::string_view body,
                                          ErrorCodeT& /*ec*/) {
  response_.body.append(body.data(), body.size());
  return body.size();
}

void ResponseReader::on_finish_impl(ErrorCodeT& /*ec*/) {}

Error TimeoutError(std::string_view what, const Origin& origin) {
  return {ErrorCode::kTimeout, std::string(what) + " with " + origin.text + " timed out", {}};
}

Error CannotResolve(const ErrorCodeT& ec, const Origin& origin) {
  return Error::Unavailable("cannot resolve " + origin.text + ": " + ec.message());
}

Error CannotConnect(const ErrorCodeT& ec, const Origin& origin) {
  return Error::Unavailable("cannot connect to " + origin.text + ": " + ec.message());
}

Error ExchangeError(const ErrorCodeT& ec, std::string_view doing, const Origin& origin,
                    const ClientOptions& options) {
  if (ec == boost::beast::error::timeout) {
    return {ErrorCode::kTimeout,
            "no complete response from " + origin.text + " within " +
                std::to_string(options.request_timeout.count()) + " ms",
            {}};
  }
  if (ec == beast_http::error::body_limit) {
    return {ErrorCode::kTooLarge,
            "the response from " + origin.text + " is larger than " +
                std::to_string(options.response_body_limit) + " bytes",
            {}};
  }
  return Error::Unavailable(std::string(doing) + " with " + origin.text +
                            " failed: " + ec.message());
}

}  // namespace ulus::http::detail
