#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "ulus/core/result.hpp"
#include "ulus/http/metrics.hpp"
#include "ulus/http/router.hpp"

namespace ulus::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;  // 0 picks a free port; see Server::port()
  // Threads running the I/O loop and handlers. Handlers run on these threads (there is no
  // separate pool) and may block, so use more than the cores: a blocked handler holds a thread.
  // A server whose busy routes are asynchronous (Router::AddPrefixAsync) needs few.
  size_t threads = 8;

  size_t header_limit = 16 * 1024;  // larger request head: 431
  size_t body_limit = 1024 * 1024;  // larger body: 413
  // The whole request head must arrive within this (slow-loris); then the body within
  // body_timeout. A keep-alive connection idle longer than idle_timeout is closed. An expired
  // timeout closes the connection without a 408: Beast closes the socket when it fires. A TLS
  // handshake must finish within header_timeout too; a response must be taken within
  // body_timeout.
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  size_t max_connections = 10'000;  // more are accepted and closed at once

  // TLS when both are set: PEM certificate chain and private key. TLS 1.2+ only.
  std::string tls_certificate_file;
  std::string tls_private_key_file;
  // Mutual TLS (needs the two above): a PEM bundle of the CAs that issue client certificates.
  // When set, a client must present a certificate chaining to one of them (through at
  // most four intermediates), valid now and fit for client authentication, or the
  // handshake fails before any request is read; handlers find it in Request::peer(). Only these
  // CAs are trusted for clients, never the system's. No revocation (CRL/OCSP) check is made.
  std::string tls_client_ca_file;
  // With tls_client_ca_file: a client may also connect without a certificate (its requests have
  // no peer()); one that presents a certificate must still present a valid one.
  bool tls_client_optional = false;

  std::string service_name = "ulus";  // for /healthz and /openapi.json's info
  std::string version = "0.1.0";
};

// An HTTP/1.1 server (Boost.Beast) in front of a Router, adding /healthz, /metrics and
// /openapi.json, keep-alive, size and time limits, RFC 7807 errors and per-route metrics.
// Start() returns once listening; Stop() drains: it stops accepting, lets requests in flight
// finish (up to `grace`), then closes every connection. Thread-safe.
class Server {
 public:
  virtual ~Server() = default;

  static Result<std::unique_ptr<Server>> Create(ServerOptions options, Router router);

  // Binds and listens, then returns; kUnavailable when the address cannot be bound.
  virtual ulus::Status Start() = 0;
  [[nodiscard]] virtual uint16_t port() const = 0;
  // Stops accepting, closes idle connections at once, lets requests in flight finish (their
  // responses say Connection: close), force-closes what is left after `grace`, then joins the
  // threads. Idempotent; callable from any thread (e.g. one waiting on signals) except a
  // handler's, since it joins the threads handlers run on. A handler still blocked after grace
  // delays the join until it returns.
  virtual void Stop(std::chrono::milliseconds grace = std::chrono::seconds(10)) = 0;
  // Blocks until Stop() has finished.
  virtual void Wait() = 0;
  virtual Metrics& metrics() = 0;
  // The I/O threads' executor, for asynchronous handlers' own I/O (their outgoing connections),
  // so that it runs on the same threads without hand-offs. Valid until the server is destroyed;
  // nothing runs on it after Stop().
  virtual boost::asio::any_io_executor executor() = 0;
  // The routes it serves, for a part that calls another in process (the portal exchanging a
  // login code at Dan's token endpoint). Lookups are thread-safe.
  [[nodiscard]] virtual const Router& router() const = 0;
  // Answers `request` as if it had arrived on a connection (routing, problem+json for errors),
  // without metrics or access logs. For in-process callers; thread-safe. An asynchronous route
  // is waited for, so never call this from the server's own I/O threads for one: its answer
  // may need the thread that waits.
  [[nodiscard]] virtual Response Dispatch(Request& request) const = 0;
};

}  // namespace ulus::http
