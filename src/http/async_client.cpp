#include "ulus/http/async_client.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <mutex>
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
using Strand = net::strand<net::any_io_executor>;
using detail::Origin;

// A body up to this size is sent in the head's buffer: one write, and one TLS record.
constexpr size_t kCoalescedBodyLimit = size_t{8} * 1024;
// The most read from the socket at once (Beast's own choice).
constexpr size_t kReadSize = size_t{64} * 1024;

// A request from Send until its handler is called; it moves to a fresh connection on a retry.
struct Call {
  Method method = Method::get;
  std::string head;  // request line and header fields, followed by the body when small
  std::string body;  // the body when it did not go into head
  ResponseHandler done;
  bool retried = false;
};

class Connection;

// The shared state of one AsyncClient: the configuration and the idle connections. Held by the
// client and by every connection in flight, so it outlives the client while they finish.
class Pool : public std::enable_shared_from_this<Pool> {
 public:
  Pool(net::any_io_executor executor, Origin origin, ClientOptions options)
      : executor_(std::move(executor)), origin_(std::move(origin)), options_(std::move(options)) {}

  ulus::Status Init() {
    ErrorCodeT ec;
    const auto address = net::ip::make_address(origin_.host, ec);
    if (!ec) endpoint_.emplace(address, static_cast<uint16_t>(std::stoul(origin_.port)));
    if (!origin_.tls) return Ok();
    tls_.emplace(ssl::context::tls_client);
    return detail::ConfigureTls(*tls_, options_);
  }

  // Sends on the most recently used idle connection, or opens one.
  void Send(Call call);
  // Sends on a new connection.
  void Open(Call call);

  // Puts a connection that has just finished a response back among the idle ones, unless the
  // pool is full, closed since the connection was opened or its client is gone. True when kept.
  bool Keep(const std::shared_ptr<Connection>& connection, uint64_t generation) {
    const std::lock_guard lock(mutex_);
    if (!open_ || generation != generation_.load(std::memory_order_relaxed) ||
        idle_.size() >= options_.max_idle) {
      return false;
    }
    idle_.push_back(connection);
    return true;
  }

  // Drops an idle connection the server has closed; nothing when a Send already took it.
  void Forget(const Connection* connection) {
    const std::lock_guard lock(mutex_);
    const auto it = std::find_if(idle_.begin(), idle_.end(),
                                 [connection](const auto& c) { return c.get() == connection; });
    if (it != idle_.end()) idle_.erase(it);
  }

  // Closes the idle connections; with `for_good` (the client is gone) none is kept any more,
  // which also ends the cycle between the pool and its idle connections.
  void Close(bool for_good = false);

  [[nodiscard]] const net::any_io_executor& executor() const { return executor_; }
  [[nodiscard]] const Origin& origin() const { return origin_; }
  [[nodiscard]] const ClientOptions& options() const { return options_; }
  [[nodiscard]] ssl::context* tls() { return tls_ ? &*tls_ : nullptr; }
  [[nodiscard]] const std::optional<tcp::endpoint>& endpoint() const { return endpoint_; }

 private:
  const net::any_io_executor executor_;
  const Origin origin_;
  const ClientOptions options_;
  std::optional<ssl::context> tls_;        // for https; SSL_CTX is safe to share between threads
  std::optional<tcp::endpoint> endpoint_;  // when the host is an IP address: nothing to resolve

  std::mutex mutex_;
  std::vector<std::shared_ptr<Connection>> idle_;  // guarded by mutex_; most recently used last
  bool open_ = true;  // guarded by mutex_; false once the client is gone
  // Bumped under mutex_ by Close(): connections opened before it are not kept after it.
  std::atomic<uint64_t> generation_{0};
};

// One keep-alive connection, carrying one request at a time. Everything it does runs on its
// strand: its sockets, timer and resolver are bound to the strand, and Pool hands it requests by
// posting there. While idle it keeps a read pending, which both notices the server closing the
// connection and becomes the first read of the next response.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<Pool> pool, uint64_t generation)
      : pool_(std::move(pool)),
        generation_(generation),
        strand_(net::make_strand(pool_->executor())),
        timer_(strand_) {
    if (pool_->tls() != nullptr) {
      secure_.emplace(strand_, *pool_->tls());
    } else {
      plain_.emplace(strand_);
    }
  }

  [[nodiscard]] const Strand& strand() const { return strand_; }

  // Connects, then sends `call`.
  void Open(Call call) {
    call_ = std::move(call);
    SetDeadline(SteadyClock::now() + pool_->options().connect_timeout);
    if (pool_->endpoint()) {
      phase_ = Phase::kConnecting;
      Socket().async_connect(*pool_->endpoint(),
                             [self = shared_from_this()](ErrorCodeT ec) { self->OnConnect(ec); });
      return;
    }
    phase_ = Phase::kResolving;
    resolver_.emplace(strand_);
    resolver_->async_resolve(
        pool_->origin().host, pool_->origin().port,
        [self = shared_from_this()](ErrorCodeT ec, const tcp::resolver::results_type& results) {
          self->OnResolve(ec, results);
        });
  }

  // Sends `call` on this idle connection; on a fresh one if the server closed it meanwhile.
  void Reuse(Call call) {
    if (phase_ == Phase::kDead) {
      pool_->Open(std::move(call));
      return;
    }
    ULUS_ASSERT(phase_ == Phase::kIdle);
    call_ = std::move(call);
    StartExchange();
  }

  // Closes the connection at once; operations pending complete with operation_aborted and are
  // ignored. Reports nothing: the caller does, if a request was in flight.
  void Kill() {
    if (phase_ == Phase::kDead) return;
    phase_ = Phase::kDead;
    ErrorCodeT ignored;
    Socket().close(ignored);
    if (resolver_) resolver_->cancel();
    timer_.cancel();
  }

 private:
  enum class Phase { kResolving, kConnecting, kHandshaking, kBusy, kIdle, kDead };

  tcp::socket& Socket() { return secure_ ? secure_->next_layer() : *plain_; }

  template <class Operation>
  void OnStream(Operation&& operation) {
    if (secure_) {
      operation(*secure_);
    } else {
      operation(*plain_);
    }
  }

  void OnResolve(const ErrorCodeT& ec, const tcp::resolver::results_type& results) {
    if (phase_ != Phase::kResolving) return;
    if (ec) {
      FailToConnect(detail::CannotResolve(ec, pool_->origin()));
      return;
    }
    phase_ = Phase::kConnecting;
    net::async_connect(Socket(), results,
                       [self = shared_from_this()](ErrorCodeT e, const tcp::endpoint& /*peer*/) {
                         self->OnConnect(e);
                       });
  }

  void OnConnect(const ErrorCodeT& ec) {
    if (phase_ != Phase::kConnecting) return;
    if (ec) {
      FailToConnect(detail::CannotConnect(ec, pool_->origin()));
      return;
    }
    ErrorCodeT ignored;
    Socket().set_option(tcp::no_delay(true), ignored);
    if (!secure_) {
      StartExchange();
      return;
    }
    phase_ = Phase::kHandshaking;
    detail::PrepareTlsSession(secure_->native_handle(), pool_->origin(),
                              pool_->options().verify_peer);
    secure_->async_handshake(ssl::stream_base::client,
                             [self = shared_from_this()](ErrorCodeT e) { self->OnHandshake(e); });
  }

  void OnHandshake(const ErrorCodeT& ec) {
    if (phase_ != Phase::kHandshaking) return;
    if (ec) {
      FailToConnect(detail::TlsHandshakeError(secure_->native_handle(), ec, pool_->origin()));
      return;
    }
    auto pinned =
        detail::CheckPin(secure_->native_handle(), pool_->origin(), pool_->options().pinned_sha256);
    if (!pinned.ok()) {
      FailToConnect(std::move(pinned).error());
      return;
    }
    StartExchange();
  }

  // Sends call_ and reads its response.
  void StartExchange() {
    phase_ = Phase::kBusy;
    written_ = false;
    got_bytes_ = false;
    reader_.emplace(pool_->options().response_body_limit, call_.method == Method::head);
    SetDeadline(SteadyClock::now() + pool_->options().request_timeout);
    const std::array<net::const_buffer, 2> request{net::buffer(call_.head),
                                                   net::buffer(call_.body)};
    OnStream([this, &request](auto& stream) {
      net::async_write(stream, request,
                       [self = shared_from_this()](ErrorCodeT ec, size_t) { self->OnWritten(ec); });
    });
    if (!read_pending_) Read();
  }

  void Read() {
    read_pending_ = true;
    const auto space = buffer_.prepare(beast::read_size(buffer_, kReadSize));
    OnStream([this, &space](auto& stream) {
      stream.async_read_some(
          space, [self = shared_from_this()](ErrorCodeT ec, size_t n) { self->OnRead(ec, n); });
    });
  }

  void OnWritten(const ErrorCodeT& ec) {
    if (phase_ != Phase::kBusy) return;
    if (ec) {
      FailExchange(ec, "sending the request");
      return;
    }
    written_ = true;
    if (reader_->is_done()) Finish();
  }

  void OnRead(ErrorCodeT ec, size_t n) {
    read_pending_ = false;
    if (phase_ == Phase::kDead) return;
    if (phase_ == Phase::kIdle) {
      // The server closed the idle connection (or sent something nobody asked for).
      Kill();
      pool_->Forget(this);
      return;
    }
    ULUS_ASSERT(phase_ == Phase::kBusy);
    if (ec == net::error::eof) {
      if (!reader_->got_some()) {
        FailExchange(beast_http::error::end_of_stream, "reading the response");
        return;
      }
      // A body that ends with the connection, or a response cut short.
      ec = {};
      reader_->put_eof(ec);
      if (ec) {
        FailExchange(ec, "reading the response");
        return;
      }
      OnResponse();
      return;
    }
    if (ec) {
      FailExchange(ec, "reading the response");
      return;
    }
    buffer_.commit(n);
    got_bytes_ = true;
    while (buffer_.size() > 0) {
      ec = {};
      const size_t used = reader_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == beast_http::error::need_more) break;
      if (ec) {
        FailExchange(ec, "reading the response");
        return;
      }
      if (reader_->is_done()) {
        OnResponse();
        return;
      }
      if (used == 0) break;
    }
    Read();
  }

  // The response is complete; it is delivered once the request is written too (a server may
  // answer before reading all of it).
  void OnResponse() {
    if (written_) Finish();
  }

  void Finish() {
    const bool reusable = reader_->keep_alive() && buffer_.size() == 0;
    Call call = std::move(call_);
    ClientResponse response = reader_->Release();
    reused_ = true;
    if (reusable) {
      phase_ = Phase::kIdle;
      if (pool_->Keep(shared_from_this(), generation_)) {
        Read();
      } else {
        Kill();
      }
    } else {
      Kill();
    }
    call.done(std::move(response));
  }

  void FailToConnect(Error error) {
    Kill();
    Deliver(std::move(error));
  }

  void FailExchange(const ErrorCodeT& ec, std::string_view doing) {
    // A keep-alive connection the server closed while idle: nothing of the request can have
    // been processed, so send it once more on a fresh connection.
    const bool retry = reused_ && !got_bytes_ && !call_.retried && detail::IsStaleConnection(ec);
    Kill();
    if (retry) {
      call_.retried = true;
      pool_->Open(std::move(call_));
      return;
    }
    Deliver(detail::ExchangeError(ec, doing, pool_->origin(), pool_->options()));
  }

  void Deliver(Error error) {
    Call call = std::move(call_);
    call.done(std::move(error));
  }

  // The timer is armed for the earliest deadline at most once at a time, and not cancelled when
  // a request finishes in time: one that fires early re-arms itself for the current deadline,
  // which costs one wake-up per timeout period instead of a cancellation per request.
  void SetDeadline(SteadyClock::time_point deadline) {
    deadline_ = deadline;
    if (timer_armed_ && timer_.expiry() <= deadline) return;
    ArmTimer();
  }

  void ArmTimer() {
    timer_armed_ = true;
    timer_.expires_at(deadline_);  // cancels an earlier wait, whose handler then returns
    timer_.async_wait([self = shared_from_this()](ErrorCodeT ec) { self->OnTimer(ec); });
  }

  void OnTimer(const ErrorCodeT& ec) {
    if (ec == net::error::operation_aborted || phase_ == Phase::kDead) return;
    if (timer_.expiry() > SteadyClock::now()) return;  // a later wait replaced this one
    timer_armed_ = false;
    if (phase_ == Phase::kIdle) return;
    if (SteadyClock::now() < deadline_) {
      ArmTimer();
      return;
    }
    switch (phase_) {
      case Phase::kResolving:
        FailToConnect(detail::TimeoutError("resolving the host", pool_->origin()));
        break;
      case Phase::kConnecting:
        FailToConnect(detail::TimeoutError("connecting", pool_->origin()));
        break;
      case Phase::kHandshaking:
        FailToConnect(detail::TimeoutError("the TLS handshake", pool_->origin()));
        break;
      case Phase::kBusy:
        Kill();
        Deliver(
            detail::ExchangeError(beast::error::timeout, "", pool_->origin(), pool_->options()));
        break;
      case Phase::kIdle:
      case Phase::kDead: break;
    }
  }

  // pool_ first: destroyed last, after the streams that use its TLS context.
  const std::shared_ptr<Pool> pool_;
  const uint64_t generation_;
  const Strand strand_;
  // One of the two, for the pool's scheme.
  std::optional<tcp::socket> plain_;
  std::optional<ssl::stream<tcp::socket>> secure_;
  std::optional<tcp::resolver> resolver_;  // while resolving a host name
  net::steady_timer timer_;
  SteadyClock::time_point deadline_;
  beast::flat_buffer buffer_;  // kept across requests
  std::optional<detail::ResponseReader> reader_;
  Call call_;
  Phase phase_ = Phase::kConnecting;
  bool timer_armed_ = false;
  bool read_pending_ = false;
  bool written_ = false;    // the request has been sent in full
  bool got_bytes_ = false;  // some of the response has arrived
  bool reused_ = false;     // it has carried a response before
};

void Pool::Send(Call call) {
  std::shared_ptr<Connection> connection;
  {
    const std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      connection = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!connection) {
    Open(std::move(call));
    return;
  }
  const Strand& strand = connection->strand();
  net::post(strand, [connection = std::move(connection), call = std::move(call)]() mutable {
    connection->Reuse(std::move(call));
  });
}

void Pool::Open(Call call) {
  auto connection =
      std::make_shared<Connection>(shared_from_this(), generation_.load(std::memory_order_relaxed));
  const Strand& strand = connection->strand();
  net::post(strand, [connection = std::move(connection), call = std::move(call)]() mutable {
    connection->Open(std::move(call));
  });
}

void Pool::Close(bool for_good) {
  std::vector<std::shared_ptr<Connection>> idle;
  {
    const std::lock_guard lock(mutex_);
    if (for_good) open_ = false;
    generation_.fetch_add(1, std::memory_order_relaxed);
    idle.swap(idle_);
  }
  for (auto& connection : idle) {
    const Strand& strand = connection->strand();
    net::post(strand, [connection = std::move(connection)] { connection->Kill(); });
  }
}

class AsyncClientImpl final : public AsyncClient {
 public:
  explicit AsyncClientImpl(std::shared_ptr<Pool> pool) : pool_(std::move(pool)) {}
  ~AsyncClientImpl() override { pool_->Close(/*for_good=*/true); }
  AsyncClientImpl(const AsyncClientImpl&) = delete;
  AsyncClientImpl& operator=(const AsyncClientImpl&) = delete;

  void Send(Method method, std::string target, std::string body,
            std::vector<std::pair<std::string, std::string>> headers,
            ResponseHandler done) override {
    ULUS_ASSERT(done);
    Call call{.method = method, .done = std::move(done)};
    const bool coalesce = body.size() <= kCoalescedBodyLimit;
    auto head = detail::AppendRequestHead(call.head, method, target, body.size(), headers,
                                          pool_->origin().host_header, coalesce ? body.size() : 0);
    if (!head.ok()) {
      net::post(pool_->executor(),
                [done = std::move(call.done), error = std::move(head).error()] { done(error); });
      return;
    }
    if (coalesce) {
      call.head.append(body);
    } else {
      call.body = std::move(body);
    }
    pool_->Send(std::move(call));
  }

  void Close() override { pool_->Close(); }

  [[nodiscard]] size_t idle_connections() const override { return pool_->options().max_idle; }

 private:
  const std::shared_ptr<Pool> pool_;
};

}  // namespace

Result<std::shared_ptr<AsyncClient>> AsyncClient::Create(net::any_io_executor executor,
                                                         std::string_view origin,
                                                         ClientOptions options) {
  ULUS_ASSIGN_OR_RETURN(auto parsed, detail::ParseOrigin(origin));
  auto pool = std::make_shared<Pool>(std::move(executor), std::move(parsed), std::move(options));
  ULUS_TRY(pool->Init());
  return std::shared_ptr<AsyncClient>(std::make_shared<AsyncClientImpl>(std::move(pool)));
}

}  // namespace ulus::http
