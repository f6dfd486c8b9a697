#include "ulus/http/server.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <condition_variable>
#include <ctime>
#include <future>
#include <limits>
#include <optional>
#include <random>
#include <span>
#include <thread>
#include <unordered_map>

#include "ulus/core/assert.hpp"
#include "ulus/http/problem.hpp"
#include "url.hpp"

namespace ulus::http {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kReadChunk = size_t{16} * 1024;
// After an error response the client may still be sending; reading (and dropping) its bytes for
// a moment before closing keeps the kernel from answering with a reset that would destroy our
// response in flight. TLS peers get the same moment to answer close_notify.
constexpr auto kLingerTimeout = std::chrono::seconds(1);
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);
// After the grace period, force-closed connections get this long to unwind before threads join.
constexpr auto kForceCloseWait = std::chrono::seconds(1);
constexpr size_t kMaxRequestIdLength = 128;
constexpr std::string_view kUnmatchedRoute = "unmatched";
constexpr std::string_view kRequestIdHeader = "X-Request-Id";
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// Mozilla's "intermediate" TLS 1.2 suites; TLS 1.3 suites are OpenSSL's defaults.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";

// Mutual TLS: intermediates allowed between a client's certificate and a configured CA.
constexpr int kMaxClientChainDepth = 4;
// Must be set whenever clients are verified, or OpenSSL refuses to resume their sessions.
constexpr std::string_view kTlsSessionIdContext = "ulus-http";

std::string_view View(beast::string_view s) {
  return {s.data(), s.size()};
}

std::string_view MethodLabel(Method m) {
  if (m == Method::unknown) return "OTHER";  // arbitrary verbs would explode the label set
  return View(beast_http::to_string(m));
}

// IMF-fixdate (RFC 9110 section 5.6.7), formatted once a second per thread.
std::string_view HttpDate() {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  thread_local std::time_t cached_second = 0;
  thread_local std::array<char, 40> text{};
  thread_local int length = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    length = std::snprintf(text.data(), text.size(), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                           kDays[static_cast<size_t>(tm.tm_wday)], tm.tm_mday,
                           kMonths[static_cast<size_t>(tm.tm_mon)], tm.tm_year + 1900, tm.tm_hour,
                           tm.tm_min, tm.tm_sec);
    cached_second = now;
  }
  return {text.data(), static_cast<size_t>(length)};
}

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// A UUIDv7-shaped id for requests that bring none. Not a secret, so a per-thread generator
// seeded once from the OS is enough, and saves a system call per request.
std::string NewRequestId() {
  thread_local uint64_t state = (static_cast<uint64_t>(std::random_device{}()) << 32) ^
                                std::random_device{}() ^
                                std::hash<std::thread::id>{}(std::this_thread::get_id());
  const auto ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
  const uint64_t hi = (ms << 16) | 0x7000 | (SplitMix64(state) & 0x0FFF);
  const uint64_t lo = (SplitMix64(state) & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  size_t pos = 0;
  for (int i = 0; i < 32; ++i) {
    if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
    const uint64_t word = i < 16 ? hi : lo;
    const int shift = 60 - 4 * (i % 16);
    out[pos++] = kHex[(word >> shift) & 0xF];
  }
  return out;
}

bool IsSaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  for (const char c : id) {
    if (c < 0x21 || c > 0x7E) return false;
  }
  return true;
}

bool IsToken(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool IsFieldValue(std::string_view value) {
  for (const char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// Framing headers are the server's; a handler setting them would corrupt the stream.
bool IsReservedHeader(std::string_view name) {
  return beast::iequals(name, "Content-Length") || beast::iequals(name, "Transfer-Encoding") ||
         beast::iequals(name, "Connection") || beast::iequals(name, "Date") ||
         beast::iequals(name, "Content-Type") || beast::iequals(name, kRequestIdHeader);
}

bool StatusHasBody(unsigned status) {
  return status >= 200 && status != 204 && status != 304;
}

std::atomic<uint64_t> next_request_metrics_id{0};

// Per-request series, cached per thread so the hot path takes no lock: the registry's mutex is
// taken once per thread and (method, route, status) combination.
class RequestMetrics {
 public:
  explicit RequestMetrics(Metrics& metrics)
      : metrics_(metrics), id_(next_request_metrics_id.fetch_add(1) + 1) {}

  void Record(Method method, std::string_view route, unsigned status, double seconds) {
    auto& cache = ThreadCache();
    const Key key{route.data(), method, status};
    auto it = cache.find(key);
    if (it == cache.end()) {
      const std::string method_label(MethodLabel(method));
      const std::string route_label(route);
      Series series{
          &metrics_.GetCounter("ulus_http_requests_total", "HTTP requests answered.",
                               {{"method", method_label},
                                {"route", route_label},
                                {"status", std::to_string(status)}}),
          &metrics_.GetHistogram("ulus_http_request_duration_seconds",
                                 "Time from a request's head arriving to its response written.",
                                 {{"method", method_label}, {"route", route_label}})};
      it = cache.emplace(key, series).first;
    }
    it->second.requests->Add();
    it->second.duration->Observe(seconds);
  }

 private:
  struct Key {
    const char* route;  // the router's stable pattern storage, or kUnmatchedRoute
    Method method;
    unsigned status;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<const void*>{}(k.route) ^ (static_cast<size_t>(k.method) << 20) ^
             (static_cast<size_t>(k.status) * 0x9E3779B97F4A7C15ULL);
    }
  };
  struct Series {
    Metrics::Counter* requests;
    Metrics::Histogram* duration;
  };
  using Cache = std::unordered_map<Key, Series, KeyHash>;

  Cache& ThreadCache() const {
    // Threads belong to one server, but the owner check keeps a reused thread honest.
    thread_local uint64_t owner = 0;
    thread_local Cache cache;
    if (owner != id_) {
      cache.clear();
      owner = id_;
    }
    return cache;
  }

  Metrics& metrics_;
  const uint64_t id_;
};

std::string LowerHex(std::span<const unsigned char> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

// RFC 4514 text, UTF-8 left unescaped so that names in Cyrillic stay readable.
std::string DistinguishedName(const X509_NAME* name) {
  const std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio) return {};
  constexpr auto kFlags = static_cast<unsigned long>(  // NOLINT(google-runtime-int)
      XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  if (X509_NAME_print_ex(bio.get(), name, 0, kFlags) < 0) return {};
  std::string out(BIO_ctrl_pending(bio.get()), '\0');
  if (out.empty()) return out;
  const int n = BIO_read(bio.get(), out.data(), static_cast<int>(out.size()));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

// The last CN, which is the most specific one in the usual root-first encoding.
std::string CommonName(const X509_NAME* name) {
  int index = -1;
  int last = -1;
  while ((index = X509_NAME_get_index_by_NID(name, NID_commonName, index)) >= 0) last = index;
  if (last < 0) return {};
  unsigned char* utf8 = nullptr;
  const int length =
      ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last)));
  if (length < 0) return {};
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  return out;
}

std::string SerialHex(const X509* cert) {
  const std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr), &BN_free);
  if (!bn) return {};
  char* hex = BN_bn2hex(bn.get());
  if (hex == nullptr) return {};
  std::string out(hex);
  OPENSSL_free(hex);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // BN_bn2hex pads to whole bytes; the serial is a number, so drop the padding.
  const size_t digits = out.starts_with('-') ? 1 : 0;
  while (out.size() > digits + 1 && out[digits] == '0') out.erase(digits, 1);
  return out;
}

std::chrono::system_clock::time_point TimeOf(const ASN1_TIME* time) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(time, &tm) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

// The client's certificate if it presented one and OpenSSL verified it during the handshake.
std::optional<PeerCertificate> VerifiedPeer(const SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  PeerCertificate peer;
  peer.subject = DistinguishedName(X509_get_subject_name(cert));
  peer.issuer = DistinguishedName(X509_get_issuer_name(cert));
  peer.common_name = CommonName(X509_get_subject_name(cert));
  peer.serial = SerialHex(cert);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  if (X509_digest(cert, EVP_sha256(), digest.data(), &digest_size) != 1) return std::nullopt;
  peer.sha256 = LowerHex(std::span(digest.data(), digest_size));
  peer.not_after = TimeOf(X509_get0_notAfter(cert));
  return peer;
}

// Finds `request`'s route: nullopt with `match` holding its handler, or the answer when there
// is none (400 for a path too malformed to trust the stream after, clearing `keep_alive`; 404;
// 405 with Allow). `route` gets the matched pattern.
std::optional<Response> FindRoute(const Router& router, Request& request, std::string_view& route,
                                  bool* keep_alive, Router::Match& match) {
  const auto path = request.path();
  if (!IsAcceptablePath(path)) {
    if (keep_alive != nullptr) *keep_alive = false;
    return Problem(Status::bad_request,
                   "the request path has an invalid percent-encoding or a control character");
  }
  match = router.Find(request.method(), path);
  if (match.handler == nullptr && match.async_handler == nullptr) {
    if (match.allowed.empty()) {
      return Problem(Status::not_found, "no resource at this path", path);
    }
    auto response = Problem(
        Status::method_not_allowed,
        "this resource does not support " + std::string(MethodLabel(request.method())), path);
    std::string allow;
    for (const auto m : match.allowed) {
      if (!allow.empty()) allow += ", ";
      allow += MethodLabel(m);
    }
    response.headers.emplace_back("Allow", std::move(allow));
    return response;
  }
  route = match.pattern;
  request.SetParams(std::move(match.params));
  request.SetRoutePattern(match.pattern);
  return std::nullopt;
}

Response InternalError(const Request& request, std::string_view request_id) {
  return Problem(Error::Internal("an internal error occurred; quote request id " +
                                 std::string(request_id) + " when reporting it"),
                 request.path());
}

// A handler's result as the answer: its error as problem+json. Internal errors are logged with
// `request_id` and answered without their details.
Response Conclude(Result<Response> result, const Request& request, std::string_view route,
                  std::string_view request_id) {
  if (result.ok()) return std::move(result).value();
  const Error& error = result.error();
  if (error.code == ErrorCode::kInternal) {
    // Internal details are for the operators' logs, not for the client.
    spdlog::error("http: {} {} failed (request {}): {}", MethodLabel(request.method()), route,
                  request_id, error.message);
    return InternalError(request, request_id);
  }
  return Problem(error, request.path());
}

void LogThrown(const Request& request, std::string_view route, std::string_view request_id) {
  try {
    throw;
  } catch (const std::exception& e) {
    spdlog::error("http: {} {} threw (request {}): {}", MethodLabel(request.method()), route,
                  request_id, e.what());
  } catch (...) {
    spdlog::error("http: {} {} threw a non-exception (request {})", MethodLabel(request.method()),
                  route, request_id);
  }
}

// Runs a synchronous handler.
Response Invoke(const Handler& handler, Request& request, std::string_view route,
                std::string_view request_id) {
  try {
    return Conclude(handler(request), request, route, request_id);
  } catch (...) {
    LogThrown(request, route, request_id);
  }
  return InternalError(request, request_id);
}

// Runs an asynchronous handler; `answer` gets the answer exactly once, on whichever thread the
// handler responds, or at once if the handler throws before responding. A handler that drops its
// Responder without calling it gets a 500 too, with `lost` set (the server may be stopping).
void InvokeAsync(const AsyncHandler& handler, std::shared_ptr<Request> request,
                 std::string_view route, std::string request_id,
                 std::function<void(Response, bool lost)> answer) {
  struct Once {
    std::atomic<bool> answered{false};
    std::shared_ptr<Request> request;
    std::string route;
    std::string request_id;
    std::function<void(Response, bool)> answer;
    Once() = default;
    Once(const Once&) = delete;
    Once& operator=(const Once&) = delete;
    ~Once() {
      if (answered.exchange(true) || !answer) return;
      spdlog::error("http: {} {} dropped its answer (request {})", MethodLabel(request->method()),
                    route, request_id);
      answer(InternalError(*request, request_id), true);
    }
    void Answer(Result<Response> result) {
      if (answered.exchange(true)) return;
      answer(Conclude(std::move(result), *request, route, request_id), false);
    }
  };
  auto once = std::make_shared<Once>();
  once->request = request;
  once->route = std::string(route);
  once->request_id = std::move(request_id);
  once->answer = std::move(answer);
  try {
    handler(std::move(request),
            [once](Result<Response> result) { once->Answer(std::move(result)); });
  } catch (...) {
    LogThrown(*once->request, once->route, once->request_id);
    once->Answer(Error::Internal("the handler threw"));
  }
}

// Routes `request` to its handler and answers, waiting for an asynchronous one: for in-process
// callers (Server::Dispatch).
Response RouteRequest(const Router& router, Request& request, std::string_view request_id,
                      std::string_view& route, bool* keep_alive) {
  Router::Match match;
  if (auto early = FindRoute(router, request, route, keep_alive, match)) return std::move(*early);
  if (match.handler != nullptr) return Invoke(*match.handler, request, route, request_id);
  // The asynchronous handler wants to own the request: move the message into one it owns.
  auto owned = std::make_shared<Request>(BeastRequest(request.message()), request.remote_address(),
                                         request.peer());
  owned->SetParams(request.params());
  owned->SetRoutePattern(request.route_pattern());
  std::promise<Response> promise;
  auto future = promise.get_future();
  InvokeAsync(*match.async_handler, std::move(owned), route, std::string(request_id),
              [&promise](Response response, bool) { promise.set_value(std::move(response)); });
  return future.get();
}

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Server stopping: close now if between requests, else after the response in flight.
  virtual void Shutdown() = 0;
  virtual void ForceClose() = 0;
  // Only when no I/O thread runs any more.
  virtual void CloseNow() = 0;
};

class ServerImpl;

template <class Stream>
class Session;

class ServerImpl final : public Server {
 public:
  ServerImpl(ServerOptions options, Router router)
      : options_(std::move(options)),
        router_(std::move(router)),
        request_metrics_(metrics_),
        connections_open_(
            metrics_.GetGauge("ulus_http_connections_open", "Client connections open now.")),
        connections_total_(
            metrics_.GetCounter("ulus_http_connections_total", "Client connections accepted.")),
        connections_rejected_(
            metrics_.GetCounter("ulus_http_connections_rejected_total",
                                "Client connections closed at once for max_connections.")),
        in_flight_(metrics_.GetGauge("ulus_http_requests_in_flight",
                                     "Requests read and not yet answered.")),
        ioc_(static_cast<int>(options_.threads)),
        acceptor_(net::make_strand(ioc_)),
        accept_retry_(acceptor_.get_executor()) {
    AddBuiltInRoutes();
  }

  ~ServerImpl() override { Stop(std::chrono::milliseconds(0)); }

  ulus::Status LoadTls() {
    if (options_.tls_client_optional && options_.tls_client_ca_file.empty()) {
      return Error::InvalidArgument("tls_client_optional needs tls_client_ca_file",
                                    "tls_client_optional");
    }
    if (options_.tls_certificate_file.empty() && options_.tls_private_key_file.empty()) {
      if (!options_.tls_client_ca_file.empty()) {
        return Error::InvalidArgument(
            "client certificates need TLS: set tls_certificate_file and tls_private_key_file",
            "tls_client_ca_file");
      }
      return Ok();
    }
    if (options_.tls_certificate_file.empty() || options_.tls_private_key_file.empty()) {
      return Error::InvalidArgument(
          "TLS needs both a certificate file and a private key file",
          options_.tls_certificate_file.empty() ? "tls_certificate_file" : "tls_private_key_file");
    }
    tls_.emplace(ssl::context::tls_server);
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::single_dh_use);
    SSL_CTX* ctx = tls_->native_handle();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_cipher_list(ctx, kTls12Ciphers);
    boost::system::error_code ec;
    tls_->use_certificate_chain_file(options_.tls_certificate_file, ec);
    if (ec) {
      return Error::InvalidArgument("cannot load TLS certificate chain '" +
                                        options_.tls_certificate_file + "': " + ec.message(),
                                    "tls_certificate_file");
    }
    tls_->use_private_key_file(options_.tls_private_key_file, ssl::context::pem, ec);
    if (ec || SSL_CTX_check_private_key(ctx) != 1) {
      return Error::InvalidArgument(
          "cannot load TLS private key '" + options_.tls_private_key_file +
              "' or it does not match the certificate" + (ec ? ": " + ec.message() : std::string()),
          "tls_private_key_file");
    }
    return LoadClientCas();
  }

  // Mutual TLS: trust only the configured CAs for clients and name them in the handshake's
  // CertificateRequest so that a client holding several certificates picks the right one.
  ulus::Status LoadClientCas() {
    if (options_.tls_client_ca_file.empty()) return Ok();
    SSL_CTX* ctx = tls_->native_handle();
    const char* file = options_.tls_client_ca_file.c_str();
    STACK_OF(X509_NAME)* names = nullptr;
    if (SSL_CTX_load_verify_locations(ctx, file, nullptr) != 1 ||
        (names = SSL_load_client_CA_file(file)) == nullptr) {
      ERR_clear_error();  // leave no stale error for the next OpenSSL call on this thread
      return Error::InvalidArgument(
          "cannot load client CA certificates from '" + options_.tls_client_ca_file + "'",
          "tls_client_ca_file");
    }
    SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
    const int mode = options_.tls_client_optional
                         ? SSL_VERIFY_PEER
                         : SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, nullptr);
    SSL_CTX_set_verify_depth(ctx, kMaxClientChainDepth);
    SSL_CTX_set_session_id_context(
        ctx, reinterpret_cast<const unsigned char*>(kTlsSessionIdContext.data()),
        static_cast<unsigned int>(kTlsSessionIdContext.size()));
    return Ok();
  }

  ulus::Status Start() override {
    {
      const std::lock_guard lock(state_mu_);
      if (state_ != State::kCreated) {
        return Error{ErrorCode::kFailedPrecondition, "the server was already started", {}};
      }
    }
    boost::system::error_code ec;
    const auto address = net::ip::make_address(options_.address, ec);
    if (ec) {
      return Error::InvalidArgument("'" + options_.address + "' is not an IP address", "address");
    }
    const tcp::endpoint endpoint(address, options_.port);
    const std::string where = options_.address + ":" + std::to_string(options_.port);
    if (acceptor_.open(endpoint.protocol(), ec) ||
        acceptor_.set_option(net::socket_base::reuse_address(true), ec) ||
        acceptor_.bind(endpoint, ec) ||
        acceptor_.listen(net::socket_base::max_listen_connections, ec)) {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      return Error::Unavailable("cannot listen on " + where + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint(ec).port();
    openapi_ = router_.OpenApi({{"title", options_.service_name}, {"version", options_.version}})
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    {
      const std::lock_guard lock(state_mu_);
      state_ = State::kRunning;
    }
    DoAccept();
    threads_.reserve(options_.threads);
    for (size_t i = 0; i < options_.threads; ++i) {
      threads_.emplace_back([this] { RunLoop(); });
    }
    spdlog::info("http: listening on {}:{}{} with {} threads", options_.address, port_,
                 tls_ ? " (TLS)" : "", options_.threads);
    return Ok();
  }

  [[nodiscard]] uint16_t port() const override { return port_; }
  Metrics& metrics() override { return metrics_; }
  boost::asio::any_io_executor executor() override { return ioc_.get_executor(); }

  void Stop(std::chrono::milliseconds grace) override {
    {
      std::unique_lock lock(state_mu_);
      if (state_ == State::kCreated) {
        state_ = State::kStopped;
        state_cv_.notify_all();
        return;
      }
      if (state_ != State::kRunning) {
        state_cv_.wait(lock, [this] { return state_ == State::kStopped; });
        return;
      }
      state_ = State::kStopping;
    }
    for (const auto& t : threads_) {
      // Joining our own thread would deadlock; a handler must not stop its server.
      ULUS_ASSERT(t.get_id() != std::this_thread::get_id());
    }
    // Set before anything else so every response from now on says Connection: close.
    stopping_.store(true);
    net::post(acceptor_.get_executor(), [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      accept_retry_.cancel();
    });
    for (const auto& s : LiveSessions()) s->Shutdown();
    const auto deadline = SteadyClock::now() + grace;
    if (!WaitForSessions(deadline)) {
      spdlog::warn("http: closing {} connections still open after the grace period",
                   OpenSessions());
      for (const auto& s : LiveSessions()) s->ForceClose();
      WaitForSessions(SteadyClock::now() + kForceCloseWait);
    }
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    // Nothing runs on the io_context now, so what is left can be closed from here.
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (const auto& s : LiveSessions()) s->CloseNow();
    spdlog::info("http: stopped");
    const std::lock_guard lock(state_mu_);
    state_ = State::kStopped;
    state_cv_.notify_all();
  }

  void Wait() override {
    std::unique_lock lock(state_mu_);
    state_cv_.wait(lock, [this] { return state_ == State::kStopped; });
  }

  // Used by sessions.
  [[nodiscard]] const ServerOptions& options() const { return options_; }
  [[nodiscard]] const Router& router() const override { return router_; }
  [[nodiscard]] Response Dispatch(Request& request) const override {
    std::string_view route;
    return RouteRequest(router_, request, NewRequestId(), route, nullptr);
  }
  [[nodiscard]] bool stopping() const { return stopping_.load(std::memory_order_relaxed); }
  RequestMetrics& request_metrics() { return request_metrics_; }
  Metrics::Gauge& in_flight() { return in_flight_; }

  void Unregister(const SessionBase* session) {
    connections_open_.Add(-1);
    const std::lock_guard lock(sessions_mu_);
    sessions_.erase(session);
    if (sessions_.empty()) sessions_cv_.notify_all();
  }

 private:
  enum class State { kCreated, kRunning, kStopping, kStopped };

  void AddBuiltInRoutes() {
    const auto add = [this](std::string_view path, Handler handler, Operation op) {
      // An application may serve its own version of these.
      if (router_.Find(Method::get, path).pattern == path) return;
      router_.Add(Method::get, std::string(path), std::move(handler), std::move(op));
    };
    add("/healthz",
        [this](Request&) -> Result<Response> {
          return Response::Json({{"status", "ok"},
                                 {"service", options_.service_name},
                                 {"version", options_.version}});
        },
        {{"summary", "Liveness: the server answers."}, {"tags", {"operations"}}});
    add("/metrics",
        [this](Request&) -> Result<Response> {
          return Response::Text(metrics_.Render(), std::string(kMetricsContentType));
        },
        {{"summary", "Metrics in the Prometheus text format 0.0.4."}, {"tags", {"operations"}}});
    add("/openapi.json",
        [this](Request&) -> Result<Response> {
          return Response::Text(openapi_, "application/json");
        },
        {{"summary", "This document."}, {"tags", {"operations"}}});
  }

  void RunLoop() {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        // Handlers catch their own exceptions; this is a bug, but the server keeps serving.
        spdlog::error("http: uncaught exception on an I/O thread: {}", e.what());
      }
    }
  }

  void DoAccept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           [this](boost::system::error_code ec, tcp::socket socket) {
                             OnAccept(ec, std::move(socket));
                           });
  }

  void OnAccept(boost::system::error_code ec, tcp::socket socket);

  std::vector<std::shared_ptr<SessionBase>> LiveSessions() {
    std::vector<std::shared_ptr<SessionBase>> out;
    const std::lock_guard lock(sessions_mu_);
    out.reserve(sessions_.size());
    for (const auto& [raw, weak] : sessions_) {
      if (auto s = weak.lock()) out.push_back(std::move(s));
    }
    return out;
  }

  size_t OpenSessions() {
    const std::lock_guard lock(sessions_mu_);
    return sessions_.size();
  }

  bool WaitForSessions(SteadyClock::time_point deadline) {
    std::unique_lock lock(sessions_mu_);
    return sessions_cv_.wait_until(lock, deadline, [this] { return sessions_.empty(); });
  }

  const ServerOptions options_;
  Router router_;
  Metrics metrics_;
  RequestMetrics request_metrics_;
  Metrics::Gauge& connections_open_;
  Metrics::Counter& connections_total_;
  Metrics::Counter& connections_rejected_;
  Metrics::Gauge& in_flight_;
  std::string openapi_;  // rendered once at Start
  std::atomic<bool> stopping_{false};
  uint16_t port_ = 0;

  std::mutex state_mu_;
  std::condition_variable state_cv_;
  State state_ = State::kCreated;  // guarded by state_mu_

  std::mutex sessions_mu_;
  std::condition_variable sessions_cv_;
  // Guarded by sessions_mu_. Sessions own themselves (through their pending operations); this
  // only finds them to stop them.
  std::unordered_map<const SessionBase*, std::weak_ptr<SessionBase>> sessions_;

  std::optional<ssl::context> tls_;
  // Declared after everything sessions touch on destruction: destroying the io_context destroys
  // the handlers that keep the last sessions alive.
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer accept_retry_;
  std::vector<std::thread> threads_;  // touched only by Start and Stop
};

// One client connection, plain or TLS, reading requests and answering them in turn. Lives as
// long as an asynchronous operation holds it; all its work runs on the connection's strand.
template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <class... Args>
  Session(ServerImpl& server, std::string remote_address, Args&&... args)
      : server_(server),
        options_(server.options()),
        stream_(std::forward<Args>(args)...),
        remote_address_(std::move(remote_address)) {}

  ~Session() override {
    if (in_flight_) server_.in_flight().Add(-1);
    server_.Unregister(this);
  }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->phase_ = Phase::kHandshake;
        self->Lowest().expires_after(self->options_.header_timeout);
        self->stream_.async_handshake(
            ssl::stream_base::server,
            [self](boost::system::error_code ec) { self->OnHandshake(ec); });
      } else {
        self->ReadRequest();
      }
    });
  }

  void Shutdown() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      // Between requests: nothing to finish. Busy: OnWrite closes after the response.
      if (self->phase_ == Phase::kHandshake || self->phase_ == Phase::kIdle ||
          self->phase_ == Phase::kReadingHead) {
        self->CloseNow();
      }
    });
  }

  void ForceClose() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->CloseNow(); });
  }

  void CloseNow() override {
    boost::system::error_code ignored;
    Lowest().socket().close(ignored);
  }

 private:
  enum class Phase { kHandshake, kIdle, kReadingHead, kBusy, kClosing };

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void OnHandshake(boost::system::error_code ec) {
    if (ec) {
      spdlog::debug("http: TLS handshake with {} failed: {}", remote_address_, ec.message());
      return;  // the destructor closes the socket
    }
    if constexpr (kTls) peer_ = VerifiedPeer(stream_.native_handle());
    ReadRequest();
  }

  void ReadRequest() {
    if (server_.stopping()) return GracefulClose();
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(
        std::min<size_t>(options_.header_limit, std::numeric_limits<uint32_t>::max())));
    // The parser refuses a declared Content-Length over this as soon as the head is read.
    parser_->body_limit(options_.body_limit);
    if (first_request_ || buffer_.size() > 0) return ReadHead();
    // Idle keep-alive: wait for the first byte of the next request, then the head has
    // header_timeout to arrive in full.
    phase_ = Phase::kIdle;
    Lowest().expires_after(options_.idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(kReadChunk),
        [self = this->shared_from_this()](boost::system::error_code ec, size_t n) {
          self->buffer_.commit(n);
          if (ec) return;  // peer closed, idle timeout (socket closed) or shutdown
          self->ReadHead();
        });
  }

  void ReadHead() {
    phase_ = Phase::kReadingHead;
    Lowest().expires_after(options_.header_timeout);
    beast_http::async_read_header(stream_, buffer_, *parser_,
                                  [self = this->shared_from_this()](boost::system::error_code ec,
                                                                    size_t) { self->OnHead(ec); });
  }

  void OnHead(boost::system::error_code ec) {
    if (ec) return OnReadError(ec);
    phase_ = Phase::kBusy;
    in_flight_ = true;
    server_.in_flight().Add(1);
    started_ = SteadyClock::now();
    if (parser_->is_done()) return Handle();
    const auto expect = parser_->get()[beast_http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      Lowest().expires_after(options_.body_timeout);
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = this->shared_from_this()](boost::system::error_code wec, size_t) {
                         if (wec) return;
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    Lowest().expires_after(options_.body_timeout);
    beast_http::async_read(stream_, buffer_, *parser_,
                           [self = this->shared_from_this()](boost::system::error_code ec, size_t) {
                             if (ec) return self->OnReadError(ec);
                             self->Handle();
                           });
  }

  void OnReadError(boost::system::error_code ec) {
    if (ec == beast_http::error::header_limit) {
      return SendError(
          Status::request_header_fields_too_large,
          "the request head is larger than " + std::to_string(options_.header_limit) + " bytes");
    }
    if (ec == beast_http::error::body_limit) {
      return SendError(
          Status::payload_too_large,
          "the request body is larger than " + std::to_string(options_.body_limit) + " bytes");
    }
    // The peer went away (cleanly or not), a timeout closed the socket, or we closed it: there is
    // nobody to answer. A time-out cannot get a 408 because beast has already closed the socket.
    if (ec == beast_http::error::end_of_stream || ec == beast_http::error::partial_message ||
        ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec.category() != beast_http::make_error_code(beast_http::error::bad_method).category()) {
      return;
    }
    SendError(Status::bad_request, "the request is not valid HTTP/1.1: " + ec.message());
  }

  // Answers without a handler and closes: the stream's state is unknown after a bad request.
  void SendError(Status status, std::string_view detail) {
    const auto& message = parser_->get();
    method_ = message.method();
    route_ = kUnmatchedRoute;
    head_only_ = false;
    version_ = 11;
    keep_alive_ = false;
    request_id_ = NewRequestId();
    if (!in_flight_) started_ = SteadyClock::now();
    Write(Problem(status, detail));
  }

  void Handle() {
    auto& message = parser_->get();
    method_ = message.method();
    version_ = message.version();
    head_only_ = method_ == Method::head;
    keep_alive_ = message.keep_alive();
    route_ = kUnmatchedRoute;
    const auto incoming_id = View(message[kRequestIdHeader]);
    if (IsSaneRequestId(incoming_id)) {
      request_id_.assign(incoming_id);
    } else {
      // Handlers read the id from the request, so they log the same one the client gets.
      request_id_ = NewRequestId();
      message.set(kRequestIdHeader, request_id_);
    }
    auto request =
        std::make_shared<Request>(parser_->release(), remote_address_, peer_ ? &*peer_ : nullptr);
    Router::Match match;
    std::string_view route = kUnmatchedRoute;
    auto early = FindRoute(server_.router(), *request, route, &keep_alive_, match);
    route_ = route;
    if (early) return Write(std::move(*early));
    if (match.handler != nullptr)
      return Write(Invoke(*match.handler, *request, route_, request_id_));
    // The session waits (phase kBusy, no timer) until the handler responds from its thread;
    // the answer comes back to this connection's strand.
    InvokeAsync(*match.async_handler, std::move(request), route_, request_id_,
                [self = this->shared_from_this()](Response response, bool lost) {
                  // A lost answer while stopping: the I/O threads may be gone; the connection
                  // closes with the session.
                  if (lost && self->server_.stopping()) return;
                  net::dispatch(self->stream_.get_executor(),
                                [self, response = std::move(response)]() mutable {
                                  self->Write(std::move(response));
                                });
                });
  }

  // Serializes the head by hand into a reused buffer: cheaper than a beast response message,
  // whose fields allocate one by one.
  void Write(Response response) {
    phase_ = Phase::kBusy;
    if (server_.stopping()) keep_alive_ = false;
    status_ = static_cast<unsigned>(response.status);
    const bool has_body = StatusHasBody(status_);
    head_.clear();
    head_ += version_ == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    head_ += std::to_string(status_);
    head_ += ' ';
    head_ += View(beast_http::obsolete_reason(response.status));
    head_ += "\r\nDate: ";
    head_ += HttpDate();
    if (has_body && !response.content_type.empty() && IsFieldValue(response.content_type)) {
      head_ += "\r\nContent-Type: ";
      head_ += response.content_type;
    }
    for (const auto& [name, value] : response.headers) {
      if (!IsToken(name) || !IsFieldValue(value) || IsReservedHeader(name)) {
        spdlog::warn("http: dropped response header '{}' from {} {}", name, MethodLabel(method_),
                     route_);
        continue;
      }
      head_ += "\r\n";
      head_ += name;
      head_ += ": ";
      head_ += value;
    }
    head_ += "\r\nX-Request-Id: ";
    head_ += request_id_;
    if (has_body) {
      head_ += "\r\nContent-Length: ";
      head_ += std::to_string(response.body.size());
    }
    if (!keep_alive_) {
      head_ += "\r\nConnection: close";
    } else if (version_ == 10) {
      head_ += "\r\nConnection: keep-alive";
    }
    head_ += "\r\n\r\n";
    body_ = has_body && !head_only_ ? std::move(response.body) : std::string();
    const std::array<net::const_buffer, 2> buffers = {net::buffer(head_), net::buffer(body_)};
    Lowest().expires_after(options_.body_timeout);
    net::async_write(stream_, buffers,
                     [self = this->shared_from_this()](boost::system::error_code ec, size_t) {
                       self->OnWrite(ec);
                     });
  }

  void OnWrite(boost::system::error_code ec) {
    const auto elapsed = std::chrono::duration<double>(SteadyClock::now() - started_).count();
    server_.request_metrics().Record(method_, route_, status_, elapsed);
    if (in_flight_) {
      in_flight_ = false;
      server_.in_flight().Add(-1);
    }
    if (ec) return;
    if (!keep_alive_ || server_.stopping()) return GracefulClose();
    first_request_ = false;
    ReadRequest();
  }

  void GracefulClose() {
    phase_ = Phase::kClosing;
    Lowest().expires_after(kLingerTimeout);
    if constexpr (kTls) {
      stream_.async_shutdown(
          [self = this->shared_from_this()](boost::system::error_code) { self->CloseNow(); });
    } else {
      boost::system::error_code ignored;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      Drain();
    }
  }

  // Reads and drops what the client still sends until it closes or kLingerTimeout passes.
  void Drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(kReadChunk), [self = this->shared_from_this()](
                                                             boost::system::error_code ec, size_t) {
      if (ec) return self->CloseNow();
      self->Drain();
    });
  }

  ServerImpl& server_;
  const ServerOptions& options_;
  Stream stream_;
  std::string remote_address_;
  std::optional<PeerCertificate> peer_;  // set after a TLS handshake with a client certificate
  beast::flat_buffer buffer_;
  std::optional<beast_http::request_parser<beast_http::string_body>> parser_;
  Phase phase_ = Phase::kIdle;
  bool first_request_ = true;

  // The exchange in progress.
  bool in_flight_ = false;
  SteadyClock::time_point started_;
  Method method_ = Method::unknown;
  std::string_view route_ = kUnmatchedRoute;
  unsigned status_ = 0;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_only_ = false;
  std::string request_id_;
  std::string head_;  // reused across requests
  std::string body_;
};

void ServerImpl::OnAccept(boost::system::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // Typically out of file descriptors; retrying at once would spin.
    spdlog::warn("http: accept failed: {}", ec.message());
    accept_retry_.expires_after(kAcceptRetryDelay);
    accept_retry_.async_wait([this](boost::system::error_code wec) {
      if (!wec && acceptor_.is_open()) DoAccept();
    });
    return;
  }
  DoAccept();
  if (stopping()) return;  // the socket closes as it goes out of scope
  {
    const std::lock_guard lock(sessions_mu_);
    if (sessions_.size() >= options_.max_connections) {
      connections_rejected_.Add();
      return;
    }
  }
  connections_total_.Add();
  connections_open_.Add(1);
  socket.set_option(tcp::no_delay(true), ec);
  auto remote = socket.remote_endpoint(ec);
  std::string remote_address = ec ? std::string() : remote.address().to_string();
  std::shared_ptr<SessionBase> base;
  const auto start = [&](auto session) {
    base = session;
    {
      const std::lock_guard lock(sessions_mu_);
      sessions_.emplace(base.get(), base);
    }
    session->Run();
  };
  if (tls_) {
    start(std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
        *this, std::move(remote_address), std::move(socket), *tls_));
  } else {
    start(std::make_shared<Session<beast::tcp_stream>>(*this, std::move(remote_address),
                                                       std::move(socket)));
  }
}

}  // namespace

Result<std::unique_ptr<Server>> Server::Create(ServerOptions options, Router router) {
  if (options.threads == 0) return Error::InvalidArgument("threads must be at least 1", "threads");
  if (options.max_connections == 0) {
    return Error::InvalidArgument("max_connections must be at least 1", "max_connections");
  }
  auto server = std::make_unique<ServerImpl>(std::move(options), std::move(router));
  ULUS_TRY(server->LoadTls());
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace ulus::http
