#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ulus/core/result.hpp"
#include "ulus/http/client.hpp"
#include "ulus/http/message.hpp"

namespace ulus::http {

// Called once with the response or the error; see AsyncClient::Send.
using ResponseHandler = std::function<void(Result<ClientResponse>)>;

// An asynchronous HTTP/1.1 client for one origin with a pool of keep-alive connections, running
// on the executor it is given (e.g. a server's I/O threads); every connection has its own strand
// there. It behaves as Client does (the same ClientOptions, errors and retry of a stale
// keep-alive connection) but many requests may be in flight at once, one per connection (no
// pipelining). Thread-safe: Send and Close may be called from any thread.
//
// Lifetime: connections in flight hold what they need, so the client may be destroyed while
// requests are in flight; their handlers are still called, and their connections close after the
// response. Handlers not yet called when the executor's io_context is stopped for good or
// destroyed are destroyed without being called. Destroy (or Close) the client before its
// io_context is destroyed.
class AsyncClient {
 public:
  virtual ~AsyncClient() = default;

  // For one origin ("http://127.0.0.1:8080", "https://host:8443"); kInvalidArgument for a bad
  // origin or TLS files that cannot be loaded.
  static Result<std::shared_ptr<AsyncClient>> Create(boost::asio::any_io_executor executor,
                                                     std::string_view origin,
                                                     ClientOptions options = {});

  // Sends one request on an idle keep-alive connection of the pool, or on a new one. `done` is
  // called exactly once, on one of the executor's threads (the connection's strand) and never
  // from inside Send; it must not throw and should not block, since it holds that thread. Errors
  // are Client's: a refused or unreachable peer kUnavailable, a missed connect or request
  // deadline kTimeout (promptly), a pin mismatch kUnauthenticated, a body over
  // response_body_limit kTooLarge, a target or header with CR, LF or NUL kInvalidArgument. A
  // reused keep-alive connection the server turns out to have closed before any byte of the
  // response is retried once on a fresh connection.
  virtual void Send(Method method, std::string target, std::string body,
                    std::vector<std::pair<std::string, std::string>> headers,
                    ResponseHandler done) = 0;

  // Closes the idle connections; those in use close after their response instead of going back
  // to the pool. Later Sends still work, on new connections.
  virtual void Close() = 0;

  // Idle connections kept at most (ClientOptions::max_idle); more close after their response.
  [[nodiscard]] virtual size_t idle_connections() const = 0;
};

}  // namespace ulus::http
