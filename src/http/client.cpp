#include "ulus/http/client.hpp"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

#include "client_common.hpp"

namespace ulus::http {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using ErrorCodeT = boost::system::error_code;
using detail::Origin;

class ClientImpl final : public Client {
 public:
  ClientImpl(Origin origin, ClientOptions options)
      : origin_(std::move(origin)), options_(std::move(options)) {}

  ulus::Status Init() {
    if (!origin_.tls) return Ok();
    tls_.emplace(ssl::context::tls_client);
    return detail::ConfigureTls(*tls_, options_);
  }

  Result<ClientResponse> Send(
      Method method, std::string_view target, std::string_view body,
      const std::vector<std::pair<std::string, std::string>>& headers) override {
    std::string head;
    ULUS_TRY(
        detail::AppendRequestHead(head, method, target, body.size(), headers, origin_.host_header));

    const bool reused = connected_;
    if (!connected_) ULUS_TRY(Connect());
    bool got_bytes = false;
    auto result = Exchange(method, head, body, got_bytes);
    // A keep-alive connection the server closed while idle: nothing of the request can have
    // been processed, so send it once more on a fresh connection.
    if (!result.ok() && reused && !got_bytes && retryable_) {
      ULUS_TRY(Connect());
      result = Exchange(method, head, body, got_bytes);
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
    if (resolve_timed_out) return detail::TimeoutError("resolving the host", origin_);
    if (resolve_ec) return detail::CannotResolve(resolve_ec, origin_);

    plain_.emplace(ioc_);
    ErrorCodeT ec;
    plain_->expires_at(deadline);
    plain_->async_connect(endpoints, [&](ErrorCodeT e, const tcp::endpoint&) { ec = e; });
    RunIo();
    if (ec == beast::error::timeout) {
      Disconnect();
      return detail::TimeoutError("connecting", origin_);
    }
    if (ec) {
      Disconnect();
      return detail::CannotConnect(ec, origin_);
    }
    plain_->socket().set_option(tcp::no_delay(true), ec);
    if (origin_.tls) {
      secure_.emplace(std::move(*plain_), *tls_);
      plain_.reset();
      SSL* ssl_handle = secure_->native_handle();
      detail::PrepareTlsSession(ssl_handle, origin_, options_.verify_peer);
      Lowest().expires_at(deadline);
      secure_->async_handshake(ssl::stream_base::client, [&](ErrorCodeT e) { ec = e; });
      RunIo();
      if (ec == beast::error::timeout) {
        Disconnect();
        return detail::TimeoutError("the TLS handshake", origin_);
      }
      if (ec) {
        auto error = detail::TlsHandshakeError(ssl_handle, ec, origin_);
        Disconnect();
        return error;
      }
      auto pinned = detail::CheckPin(ssl_handle, origin_, options_.pinned_sha256);
      if (!pinned.ok()) {
        Disconnect();
        return std::move(pinned).error();
      }
    }
    connected_ = true;
    return Ok();
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

  Result<ClientResponse> Exchange(Method method, std::string_view head, std::string_view body,
                                  bool& got_bytes) {
    retryable_ = false;
    got_bytes = false;
    Lowest().expires_after(options_.request_timeout);
    const std::array<net::const_buffer, 2> request{net::buffer(head), net::buffer(body)};
    auto ec = RunOnStream([&](auto& stream, ErrorCodeT& out) {
      net::async_write(stream, request, [&out](ErrorCodeT e, size_t) { out = e; });
    });
    if (ec) return Fail(ec, "sending the request");

    detail::ResponseReader reader(options_.response_body_limit, method == Method::head);
    ec = RunOnStream([&](auto& stream, ErrorCodeT& out) {
      beast_http::async_read(stream, buffer_, reader, [&out](ErrorCodeT e, size_t) { out = e; });
    });
    got_bytes = reader.got_some();
    if (ec) return Fail(ec, "reading the response");
    if (!reader.keep_alive()) Disconnect();
    return reader.Release();
  }

  Error Fail(const ErrorCodeT& ec, std::string_view doing) {
    Disconnect();
    retryable_ = detail::IsStaleConnection(ec);
    return detail::ExchangeError(ec, doing, origin_, options_);
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
  ULUS_ASSIGN_OR_RETURN(auto parsed, detail::ParseOrigin(origin));
  auto client = std::make_unique<ClientImpl>(std::move(parsed), std::move(options));
  ULUS_TRY(client->Init());
  return std::unique_ptr<Client>(std::move(client));
}

}  // namespace ulus::http
