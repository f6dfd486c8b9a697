// Load generator for OAuth 2.0 / OpenID Connect token endpoints, used by bench/oidc.sh to set Dan
// beside oidc-provider and nginx. It shares the cores with the server it measures, so it is built
// like wrk: a few threads (--threads), each owning an epoll loop over its share of non-blocking
// keep-alive connections, one request in flight per connection, requests formatted ahead where
// they do not change, a minimal HTTP/1.1 response reader, and a per-thread latency histogram.
// A fixed duration, then one line of JSON with requests/s, p50, p99 and errors.
//
//   oidc_load --url http://127.0.0.1:PORT --mode client_credentials|introspect|refresh|static
//             [--connections 64] [--threads 2] [--duration 10s] ...   (--help lists every option)
//
// Modes:
//   client_credentials  POST token, grant_type=client_credentials, client_secret_basic.
//   introspect          each connection gets its own token first, then introspects it.
//   refresh             each connection gets its own refresh token (a line of --refresh-tokens,
//                       or POST --refresh-mint-path on its own connection) and rotates it,
//                       always sending the newest.
//   static              GET --static-path (nginx's static file).
// Set-up requests are not timed. Only requests that get the expected answer count as done and
// give the latencies; the others are errors. A connection that is closed or lost is opened
// again; in introspect mode, and in refresh mode with --refresh-mint-path, it then gets a new
// token on the new connection first, since oidc-provider's workers each keep their own tokens.

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace ulus::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kFailurePause{10};  // before reconnecting after a failure
constexpr std::chrono::seconds kRequestTimeout{5};
constexpr std::chrono::milliseconds kTimerTick{10};  // how often pauses and timeouts are checked
constexpr size_t kReadChunk = size_t{16} * 1024;
constexpr size_t kMaxResponse = size_t{64} * 1024 * 1024;
constexpr int kMaxEvents = 256;
constexpr size_t kErrorBodyChars = 200;

enum class Mode { kClientCredentials, kIntrospect, kRefresh, kStatic };

struct Options {
  std::string url;
  std::string mode_name = "client_credentials";
  Mode mode = Mode::kClientCredentials;
  int connections = 64;
  int threads = 2;
  std::string duration_text = "10s";
  std::chrono::milliseconds duration{10'000};
  std::string label;
  std::string client_id;
  std::string client_secret;
  std::string introspect_client_id;
  std::string introspect_client_secret;
  std::string token_path = "/oidc/token";
  std::string introspect_path = "/oidc/introspect";
  std::string static_path = "/";
  std::vector<std::string> token_params;  // extra k=v for the client_credentials request
  std::string refresh_tokens_file;
  std::string refresh_mint_path;
};

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16 |
                       static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8 |
                       static_cast<uint32_t>(static_cast<unsigned char>(in[i + 2]));
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(n >> shift) & 63];
  }
  if (i < in.size()) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// application/x-www-form-urlencoded, as RFC 6749 §2.3.1 asks for client ids and secrets too.
void AppendFormEncoded(std::string& out, std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : in) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
}

std::string FormEncode(std::string_view in) {
  std::string out;
  AppendFormEncoded(out, in);
  return out;
}

std::string BasicAuth(std::string_view id, std::string_view secret) {
  return "Basic " + Base64(FormEncode(id) + ":" + FormEncode(secret));
}

// Where a JSON member's value starts, given its quoted name ("\"refresh_token\""), without a full
// parse: token responses are small, flat objects. npos when absent.
size_t JsonValueAt(std::string_view body, std::string_view quoted_name) {
  const size_t at = body.find(quoted_name);
  if (at == std::string_view::npos) return at;
  size_t i = body.find_first_not_of(" \t\r\n", at + quoted_name.size());
  if (i == std::string_view::npos || body[i] != ':') return std::string_view::npos;
  return body.find_first_not_of(" \t\r\n", i + 1);
}

// A string member's value; tokens carry no escapes, which is enough for a load generator.
std::optional<std::string_view> JsonString(std::string_view body, std::string_view quoted_name) {
  const size_t i = JsonValueAt(body, quoted_name);
  if (i == std::string_view::npos || body[i] != '"') return std::nullopt;
  const size_t end = body.find('"', i + 1);
  if (end == std::string_view::npos) return std::nullopt;
  return body.substr(i + 1, end - i - 1);
}

bool JsonTrue(std::string_view body, std::string_view quoted_name) {
  const size_t i = JsonValueAt(body, quoted_name);
  return i != std::string_view::npos && body.substr(i, 4) == "true";
}

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return std::nullopt;
  const long long n = std::stoll(std::string(text.substr(0, digits)));
  const std::string_view unit = text.substr(digits);
  if (unit.empty() || unit == "s") return std::chrono::seconds(n);
  if (unit == "ms") return std::chrono::milliseconds(n);
  if (unit == "m") return std::chrono::minutes(n);
  return std::nullopt;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

bool ContainsIgnoreCase(std::string_view haystack, std::string_view lower) {
  if (lower.size() > haystack.size()) return false;
  for (size_t i = 0; i + lower.size() <= haystack.size(); ++i) {
    if (EqualsIgnoreCase(haystack.substr(i, lower.size()), lower)) return true;
  }
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The server's address and the Host header for it, from an origin: http://HOST[:PORT][/].
struct Origin {
  sockaddr_storage address{};
  socklen_t address_size = 0;
  std::string host_header;
};

std::optional<Origin> ResolveOrigin(std::string_view url, std::string& why) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    why = "--url must be http://HOST[:PORT] (no TLS in this load generator)";
    return std::nullopt;
  }
  std::string_view authority = url.substr(kScheme.size());
  if (const size_t slash = authority.find('/'); slash != std::string_view::npos) {
    if (authority.substr(slash) != "/") {
      why = "--url is an origin and takes no path; use --token-path and the like";
      return std::nullopt;
    }
    authority = authority.substr(0, slash);
  }
  std::string_view host = authority;
  std::string_view port = "80";
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      why = "--url: unclosed [ in the host";
      return std::nullopt;
    }
    host = authority.substr(1, close - 1);
    if (authority.substr(close + 1).starts_with(':')) port = authority.substr(close + 2);
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(std::string(host).c_str(), std::string(port).c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    why = "--url: cannot resolve " + std::string(authority) + ": " + gai_strerror(rc);
    return std::nullopt;
  }
  Origin origin;
  std::memcpy(&origin.address, found->ai_addr, found->ai_addrlen);
  origin.address_size = found->ai_addrlen;
  origin.host_header = std::string(authority);
  freeaddrinfo(found);
  return origin;
}

// Refresh tokens from a file, one per line: line i belongs to connection i, the rest are spares
// for connections whose family was lost. Thread-safe.
class RefreshTokenPool {
 public:
  bool Load(const std::string& path, size_t connections) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) tokens_.push_back(line);
    }
    if (tokens_.size() < connections) return false;
    spares_.assign(tokens_.begin() + static_cast<std::ptrdiff_t>(connections), tokens_.end());
    return true;
  }
  [[nodiscard]] const std::string& Own(size_t connection) const { return tokens_[connection]; }
  std::optional<std::string> Spare() {
    const std::lock_guard lock(mutex_);
    if (spares_.empty()) return std::nullopt;
    std::string t = std::move(spares_.front());
    spares_.pop_front();
    return t;
  }

 private:
  std::vector<std::string> tokens_;
  std::mutex mutex_;
  std::deque<std::string> spares_;  // guarded by mutex_
};

// Counts of latencies in nanoseconds, exact below 256 ns and within 1/128 above (log-linear
// buckets, as HdrHistogram does). Not thread-safe: one per thread, merged at the end.
class LatencyHistogram {
 public:
  LatencyHistogram() : counts_(kBuckets, 0) {}

  void Record(uint64_t ns) {
    ++counts_[Bucket(ns)];
    ++total_;
  }

  void Merge(const LatencyHistogram& other) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
  }

  // The value at rank floor(p * (n - 1)) of the sorted latencies, in milliseconds.
  [[nodiscard]] double PercentileMs(double p) const {
    if (total_ == 0) return 0;
    const auto rank = static_cast<uint64_t>(p * static_cast<double>(total_ - 1));
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen > rank) return static_cast<double>(Middle(i)) / 1e6;
    }
    return 0;
  }

 private:
  static constexpr unsigned kSubBits = 8;
  static constexpr uint64_t kLinear = uint64_t{1} << kSubBits;  // exact below this
  static constexpr uint64_t kHalf = kLinear / 2;                // buckets per octave above
  static constexpr size_t kBuckets = kLinear + (64 - kSubBits) * kHalf;

  static size_t Bucket(uint64_t ns) {
    if (ns < kLinear) return static_cast<size_t>(ns);
    const auto exponent = static_cast<unsigned>(std::bit_width(ns) - 1);  // >= kSubBits
    const unsigned shift = exponent - (kSubBits - 1);
    const uint64_t sub = ns >> shift;  // in [kHalf, kLinear)
    return static_cast<size_t>(kLinear + (exponent - kSubBits) * kHalf + (sub - kHalf));
  }

  static uint64_t Middle(size_t bucket) {
    if (bucket < kLinear) return bucket;
    const size_t above = bucket - kLinear;
    const unsigned shift = static_cast<unsigned>(above / kHalf) + 1;
    const uint64_t sub = kHalf + above % kHalf;
    return (sub << shift) + (uint64_t{1} << (shift - 1));
  }

  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
};

// What one thread measured. Written by its own thread only, read after it joins.
struct ThreadResult {
  LatencyHistogram latencies;
  uint64_t done = 0;
  uint64_t errors = 0;
  size_t gave_up = 0;
  std::string first_error;
};

// One HTTP/1.1 response read as it arrives: the status line, Content-Length, chunked
// Transfer-Encoding and Connection: close; a body without either is read to the end of the
// connection. Not thread-safe.
class ResponseReader {
 public:
  enum class Progress { kMore, kDone, kMalformed };

  void Reset() {
    head_size_ = 0;
    body_size_ = kUnknown;
    chunked_ = false;
    status_ = 0;
    close_ = false;
    decoded_.clear();
  }

  // data: every byte of this response received so far; eof: the peer has closed.
  Progress Read(std::string_view data, bool eof) {
    if (head_size_ == 0) {
      const size_t end = data.find("\r\n\r\n");
      if (end == std::string_view::npos) return eof ? Progress::kMalformed : Progress::kMore;
      head_size_ = end + 4;
      if (!ReadHead(data.substr(0, end))) return Progress::kMalformed;
    }
    const std::string_view rest = data.substr(head_size_);
    if (chunked_) return ReadChunked(rest, eof);
    if (body_size_ == kUnknown) {
      if (!eof) return Progress::kMore;
      body_ = rest;
      close_ = true;
      return Progress::kDone;
    }
    if (rest.size() < body_size_) return eof ? Progress::kMalformed : Progress::kMore;
    body_ = rest.substr(0, body_size_);
    return Progress::kDone;
  }

  [[nodiscard]] int Status() const { return status_; }
  [[nodiscard]] std::string_view Body() const { return body_; }
  // The server closes the connection after this response.
  [[nodiscard]] bool ClosesConnection() const { return close_; }

 private:
  static constexpr size_t kUnknown = SIZE_MAX;

  bool ReadHead(std::string_view head) {
    size_t line_end = head.find("\r\n");
    const std::string_view status_line = head.substr(0, line_end);
    // "HTTP/1.1 200 OK"
    if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.") || status_line[8] != ' ') {
      return false;
    }
    const bool http10 = status_line[7] == '0';
    close_ = http10;
    status_ = 0;
    for (size_t i = 9; i < 12; ++i) {
      if (status_line[i] < '0' || status_line[i] > '9') return false;
      status_ = status_ * 10 + (status_line[i] - '0');
    }
    while (line_end != std::string_view::npos) {
      const size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string_view line = head.substr(start, line_end - start);
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      const std::string_view name = line.substr(0, colon);
      const std::string_view value = Trim(line.substr(colon + 1));
      if (EqualsIgnoreCase(name, "content-length")) {
        size_t n = 0;
        if (value.empty()) return false;
        for (const char c : value) {
          if (c < '0' || c > '9') return false;
          n = n * 10 + static_cast<size_t>(c - '0');
        }
        body_size_ = n;
      } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
        chunked_ = ContainsIgnoreCase(value, "chunked");
      } else if (EqualsIgnoreCase(name, "connection")) {
        if (ContainsIgnoreCase(value, "close")) close_ = true;
        if (http10 && ContainsIgnoreCase(value, "keep-alive")) close_ = false;
      }
    }
    // RFC 9112 §6.3: no body for 1xx, 204 and 304 whatever the headers say.
    if (status_ == 204 || status_ == 304 || status_ < 200) {
      body_size_ = 0;
      chunked_ = false;
    }
    return true;
  }

  // Decodes from the start each time: these bodies are small and arrive in one or two reads.
  Progress ReadChunked(std::string_view rest, bool eof) {
    decoded_.clear();
    size_t i = 0;
    while (true) {
      const size_t line_end = rest.find("\r\n", i);
      if (line_end == std::string_view::npos) break;
      size_t size = 0;
      size_t digits = 0;
      for (size_t j = i; j < line_end; ++j, ++digits) {
        const char c = rest[j];
        int v = -1;
        if (c >= '0' && c <= '9') v = c - '0';
        if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
        if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
        if (v < 0) break;  // a chunk extension
        size = size * 16 + static_cast<size_t>(v);
      }
      if (digits == 0) return Progress::kMalformed;
      if (size == 0) {
        // Trailers, if any, end with an empty line.
        const size_t trailer_end = rest.find("\r\n\r\n", line_end);
        const bool done =
            rest.substr(line_end + 2, 2) == "\r\n" || trailer_end != std::string_view::npos;
        if (!done) break;
        body_ = decoded_;
        return Progress::kDone;
      }
      const size_t data_start = line_end + 2;
      if (rest.size() < data_start + size + 2) break;
      decoded_.append(rest.substr(data_start, size));
      i = data_start + size + 2;
    }
    return eof ? Progress::kMalformed : Progress::kMore;
  }

  size_t head_size_ = 0;  // 0 until the head is complete
  size_t body_size_ = kUnknown;
  bool chunked_ = false;
  int status_ = 0;
  bool close_ = false;
  std::string_view body_;
  std::string decoded_;  // a chunked body, decoded
};

// Requests that are the same for every connection, formatted once.
struct SharedRequests {
  std::string client_credentials;  // also the token request of introspect's set-up
  std::string mint;                // refresh: POST --refresh-mint-path
  std::string static_get;
  std::string refresh_head;     // up to "Content-Length: "
  std::string introspect_head;  // up to "Content-Length: "
};

std::string PostHead(std::string_view path, std::string_view host, std::string_view auth) {
  std::string head = "POST " + std::string(path) + " HTTP/1.1\r\nHost: " + std::string(host) +
                     "\r\nContent-Type: application/x-www-form-urlencoded\r\n";
  if (!auth.empty()) head += "Authorization: " + std::string(auth) + "\r\n";
  return head + "Content-Length: ";
}

SharedRequests FormatRequests(const Options& o, std::string_view host) {
  SharedRequests r;
  std::string body = "grant_type=client_credentials";
  for (const auto& p : o.token_params) body += "&" + p;
  const std::string token_auth = BasicAuth(o.client_id, o.client_secret);
  r.client_credentials =
      PostHead(o.token_path, host, token_auth) + std::to_string(body.size()) + "\r\n\r\n" + body;
  r.mint = PostHead(o.refresh_mint_path, host, "") + "0\r\n\r\n";
  r.static_get = "GET " + o.static_path + " HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n";
  r.refresh_head = PostHead(o.token_path, host, token_auth);
  r.introspect_head = PostHead(o.introspect_path, host,
                               BasicAuth(o.introspect_client_id, o.introspect_client_secret));
  return r;
}

class Connection;

// What a thread's connections share: the options, the requests, the clock phase and the
// results. Owned by the thread's EventLoop.

struct LoopContext {
  const Options& options;
  const Origin& origin;
  const SharedRequests& requests;
  RefreshTokenPool& pool;
  ThreadResult& result;
  int epoll_fd = -1;
  bool timed = false;  // false while setting up
  SteadyClock::time_point deadline;
  size_t settled = 0;  // connections set up or given up, while setting up
  // Connections whose answer came in this turn: they send their next request once every event
  // of the turn is read, so the server gets a batch of requests per wake-up, as wrk does.
  std::vector<Connection*> answered;
};

// One keep-alive connection with at most one request in flight, driven by its thread's epoll
// loop, and this connection's token. Not thread-safe.
class Connection {
 public:
  Connection(LoopContext& context, size_t index) : context_(context) {
    in_.resize(kReadChunk);
    const Options& o = context_.options;
    if (o.mode == Mode::kRefresh && o.refresh_mint_path.empty()) token_ = context_.pool.Own(index);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { Close(); }

  // Connects and sets up; counts itself settled when ready for the clock, or given up.
  void Start() { Open(); }

  // Once the clock runs: the first timed request.
  void Go() {
    if (state_ == State::kReady) SendNext();
  }

  // After an answer: the next request.
  void Continue() { SendNext(); }

  void OnEvent(uint32_t events) {
    if (state_ == State::kConnecting) {
      int error = 0;
      socklen_t size = sizeof error;
      if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
      if (error == EINPROGRESS) return;
      if (error != 0) return LostConnection("connect: " + std::string(std::strerror(error)));
      return OnConnected();
    }
    if ((events & kOut) != 0 && writing_) Write();
    if ((events & (kIn | EPOLLHUP | EPOLLERR)) != 0 && fd_ >= 0) ReadSome();
  }

  // Every kTimerTick: a pause that ended or a request that timed out.
  void OnTick(SteadyClock::time_point now) {
    if (state_ == State::kPaused && now >= resume_at_) return Open();
    if ((state_ == State::kConnecting || state_ == State::kBusy) &&
        now - sent_at_ > kRequestTimeout) {
      LostConnection("no answer within 5 s");
    }
  }

 private:
  static constexpr uint32_t kIn = EPOLLIN;
  static constexpr uint32_t kOut = EPOLLOUT;

  enum class State { kClosed, kConnecting, kBusy, kReady, kPaused, kStopped };
  enum class Purpose { kTimed, kToken, kMint };

  void Open() {
    fd_ = socket(context_.origin.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return LostConnection("socket: " + std::string(std::strerror(errno)));
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    state_ = State::kConnecting;
    sent_at_ = SteadyClock::now();
    epoll_event event{};
    event.events = kIn | kOut;
    event.data.ptr = this;
    epoll_ctl(context_.epoll_fd, EPOLL_CTL_ADD, fd_, &event);
    const int rc = connect(fd_, reinterpret_cast<const sockaddr*>(&context_.origin.address),
                           context_.origin.address_size);
    if (rc == 0) return OnConnected();
    if (errno != EINPROGRESS) LostConnection("connect: " + std::string(std::strerror(errno)));
  }

  void OnConnected() {
    Watch(kIn);
    const Options& o = context_.options;
    // Tokens of oidc-provider live in the worker that issued them: get one on this connection.
    need_token_ =
        o.mode == Mode::kIntrospect || (o.mode == Mode::kRefresh && !o.refresh_mint_path.empty());
    SendNext();
  }

  void Watch(uint32_t events) {
    epoll_event event{};
    event.events = events;
    event.data.ptr = this;
    epoll_ctl(context_.epoll_fd, EPOLL_CTL_MOD, fd_, &event);
  }

  void SendNext() {
    const Options& o = context_.options;
    if (need_token_) {
      if (o.mode == Mode::kIntrospect)
        return Send(Purpose::kToken, context_.requests.client_credentials);
      return Send(Purpose::kMint, context_.requests.mint);
    }
    if (!context_.timed) {
      state_ = State::kReady;
      return Settle();
    }
    switch (o.mode) {
      case Mode::kClientCredentials:
        return Send(Purpose::kTimed, context_.requests.client_credentials);
      case Mode::kStatic: return Send(Purpose::kTimed, context_.requests.static_get);
      case Mode::kIntrospect: return Send(Purpose::kTimed, own_request_);
      case Mode::kRefresh: {
        constexpr std::string_view kGrant = "grant_type=refresh_token&refresh_token=";
        refresh_body_.assign(kGrant);
        AppendFormEncoded(refresh_body_, token_);
        own_request_ = context_.requests.refresh_head;
        own_request_ += std::to_string(refresh_body_.size());
        own_request_ += "\r\n\r\n";
        own_request_ += refresh_body_;
        return Send(Purpose::kTimed, own_request_);
      }
    }
  }

  // request must outlive the exchange: a shared request or own_request_.
  void Send(Purpose purpose, std::string_view request) {
    purpose_ = purpose;
    out_ = request;
    written_ = 0;
    in_size_ = 0;
    reader_.Reset();
    state_ = State::kBusy;
    sent_at_ = SteadyClock::now();
    Write();
  }

  void Write() {
    while (written_ < out_.size()) {
      const ssize_t n = send(fd_, out_.data() + written_, out_.size() - written_, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
          if (!writing_) Watch(kIn | kOut);
          writing_ = true;
          return;
        }
        return LostConnection("send: " + std::string(std::strerror(errno)));
      }
      written_ += static_cast<size_t>(n);
    }
    if (writing_) Watch(kIn);
    writing_ = false;
  }

  void ReadSome() {
    if (in_.size() - in_size_ < kReadChunk / 2) {
      if (in_.size() >= kMaxResponse) return LostConnection("response larger than 64 MiB");
      in_.resize(in_.size() * 2);
    }
    const ssize_t n = recv(fd_, in_.data() + in_size_, in_.size() - in_size_, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      return LostConnection("recv: " + std::string(std::strerror(errno)));
    }
    const bool eof = n == 0;
    in_size_ += static_cast<size_t>(n);
    if (state_ != State::kBusy) {
      // Closed (or spoken to) while idle, waiting for the clock: open it again, quietly.
      Close();
      state_ = State::kClosed;
      return Open();
    }
    const auto progress = reader_.Read(std::string_view(in_.data(), in_size_), eof);
    if (progress == ResponseReader::Progress::kMore) return;
    if (progress == ResponseReader::Progress::kMalformed) {
      return LostConnection(eof ? "connection closed before a whole response"
                                : "malformed HTTP response");
    }
    OnResponse();
  }

  void OnResponse() {
    const auto now = SteadyClock::now();
    const int status = reader_.Status();
    const std::string_view body = reader_.Body();
    const bool close = reader_.ClosesConnection();
    bool ok = false;
    bool invalid_grant = false;
    switch (purpose_) {
      case Purpose::kToken:
        if (auto token = status == 200 ? JsonString(body, "\"access_token\"") : std::nullopt) {
          own_request_ = context_.requests.introspect_head;
          std::string form = "token=";
          AppendFormEncoded(form, *token);
          form += "&token_type_hint=access_token";
          own_request_ += std::to_string(form.size());
          own_request_ += "\r\n\r\n";
          own_request_ += form;
          ok = true;
        }
        break;
      case Purpose::kMint:
        if (auto token = status == 200 ? JsonString(body, "\"refresh_token\"") : std::nullopt) {
          token_.assign(*token);
          ok = true;
        }
        break;
      case Purpose::kTimed: ok = Check(status, body, invalid_grant); break;
    }
    if (!ok) {
      Fail("HTTP " + std::to_string(status) + " " + std::string(body.substr(0, kErrorBodyChars)));
    }
    if (purpose_ != Purpose::kTimed) {
      // A set-up request that failed: this connection cannot go on, as before the rewrite.
      if (!ok) {
        ++context_.result.errors;
        return GiveUp();
      }
      need_token_ = false;
    } else if (ok) {
      if (now <= context_.deadline) {
        context_.result.latencies.Record(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent_at_).count()));
        ++context_.result.done;
      }
    } else {
      ++context_.result.errors;
      // Only invalid_grant means the refresh token is gone; after other failures it may be good.
      if (invalid_grant && !ReplaceRefreshToken()) return GiveUp();
    }
    if (close) return Reopen();
    context_.answered.push_back(this);
  }

  // Whether a timed request got the expected answer; refresh takes the new token from it.
  bool Check(int status, std::string_view body, bool& invalid_grant) {
    switch (context_.options.mode) {
      case Mode::kClientCredentials:
        return status == 200 && JsonString(body, "\"access_token\"").has_value();
      case Mode::kIntrospect: return status == 200 && JsonTrue(body, "\"active\"");
      case Mode::kStatic: return status == 200;
      case Mode::kRefresh: {
        if (auto next = status == 200 ? JsonString(body, "\"refresh_token\"") : std::nullopt) {
          token_.assign(*next);
          return true;
        }
        invalid_grant = status == 400 && JsonString(body, "\"error\"") == "invalid_grant";
        return false;
      }
    }
    return false;
  }

  bool ReplaceRefreshToken() {
    if (!context_.options.refresh_mint_path.empty()) {
      need_token_ = true;
      return true;
    }
    auto spare = context_.pool.Spare();
    if (!spare) return false;
    token_ = std::move(*spare);
    return true;
  }

  void Fail(std::string why) {
    if (context_.result.first_error.empty()) context_.result.first_error = std::move(why);
  }

  // The server closed the connection after its answer: a new one, at once.
  void Reopen() {
    Close();
    state_ = State::kClosed;
    Open();
  }

  // No answer (refused, reset, closed early, timed out): an error. While setting up, give up;
  // once the clock runs, a pause (so a closed port is no busy loop), then a new connection.
  void LostConnection(std::string why) {
    Close();
    Fail(std::move(why));
    ++context_.result.errors;
    if (!context_.timed) return GiveUp();
    state_ = State::kPaused;
    resume_at_ = SteadyClock::now() + kFailurePause;
  }

  void GiveUp() {
    Close();
    ++context_.result.gave_up;
    state_ = State::kStopped;
    Settle();
  }

  // Ready for the clock or given up, once per connection.
  void Settle() {
    if (std::exchange(settled_, true)) return;
    ++context_.settled;
  }

  void Close() {
    if (fd_ < 0) return;
    epoll_ctl(context_.epoll_fd, EPOLL_CTL_DEL, fd_, nullptr);
    ::close(fd_);
    fd_ = -1;
    writing_ = false;
  }

  LoopContext& context_;
  bool settled_ = false;
  int fd_ = -1;
  State state_ = State::kClosed;
  Purpose purpose_ = Purpose::kTimed;
  bool need_token_ = false;  // the next request gets this connection's token
  bool writing_ = false;     // watching for EPOLLOUT to finish a request
  std::string_view out_;     // the request in flight
  size_t written_ = 0;
  std::vector<char> in_;
  size_t in_size_ = 0;
  ResponseReader reader_;
  SteadyClock::time_point sent_at_;
  SteadyClock::time_point resume_at_;
  std::string token_;        // refresh: the newest refresh token
  std::string own_request_;  // introspect: formatted once per token; refresh: per request
  std::string refresh_body_;
};

// One thread's epoll loop over its connections. Not thread-safe; Run on one thread.
class EventLoop {
 public:
  EventLoop(const Options& options, const Origin& origin, const SharedRequests& requests,
            RefreshTokenPool& pool, ThreadResult& result)
      : context_{options, origin, requests, pool, result} {
    context_.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  }
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  ~EventLoop() {
    connections_.clear();
    if (context_.epoll_fd >= 0) close(context_.epoll_fd);
  }

  void Add(size_t index) { connections_.push_back(std::make_unique<Connection>(context_, index)); }

  // Connects every connection and gets its token, untimed.
  void SetUp() {
    context_.deadline = SteadyClock::time_point::max();
    for (auto& c : connections_) c->Start();
    while (context_.settled < connections_.size()) Turn(kTimerTick);
  }

  // Loads until deadline.
  void Load(SteadyClock::time_point deadline) {
    context_.timed = true;
    context_.deadline = deadline;
    for (auto& c : connections_) c->Go();
    while (true) {
      const auto now = SteadyClock::now();
      if (now >= deadline) return;
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
      Turn(std::min<std::chrono::milliseconds>(left, kTimerTick));
    }
  }

 private:
  void Turn(std::chrono::milliseconds timeout) {
    const int n = epoll_wait(context_.epoll_fd, events_.data(), kMaxEvents,
                             static_cast<int>(timeout.count()));
    for (int i = 0; i < n; ++i) {
      const epoll_event& e = events_[static_cast<size_t>(i)];
      static_cast<Connection*>(e.data.ptr)->OnEvent(e.events);
    }
    for (Connection* c : context_.answered) c->Continue();
    context_.answered.clear();
    const auto now = SteadyClock::now();
    if (now - last_tick_ < kTimerTick) return;
    last_tick_ = now;
    for (auto& c : connections_) c->OnTick(now);
  }

  LoopContext context_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::array<epoll_event, kMaxEvents> events_{};
  SteadyClock::time_point last_tick_;
};

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

int Run(const Options& options) {
  const auto connections = static_cast<size_t>(options.connections);
  const size_t threads = std::min(static_cast<size_t>(options.threads), connections);
  std::string why;
  const auto origin = ResolveOrigin(options.url, why);
  if (!origin) {
    std::fprintf(stderr, "oidc_load: %s\n", why.c_str());
    return 2;
  }
  RefreshTokenPool pool;
  if (options.mode == Mode::kRefresh && options.refresh_mint_path.empty() &&
      !pool.Load(options.refresh_tokens_file, connections)) {
    std::fprintf(stderr, "oidc_load: %s must hold at least %zu refresh tokens, one per line\n",
                 options.refresh_tokens_file.c_str(), connections);
    return 2;
  }
  const SharedRequests requests = FormatRequests(options, origin->host_header);

  std::vector<ThreadResult> results(threads);
  std::latch ready(static_cast<std::ptrdiff_t>(threads) + 1);
  std::latch go(1);
  std::atomic<int64_t> deadline_ns{0};
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      EventLoop loop(options, *origin, requests, pool, results[t]);
      for (size_t i = t; i < connections; i += threads) loop.Add(i);
      loop.SetUp();
      ready.count_down();
      go.wait();
      loop.Load(SteadyClock::time_point{SteadyClock::duration(deadline_ns.load())});
    });
  }
  ready.arrive_and_wait();
  const auto started = SteadyClock::now();
  deadline_ns.store((started + options.duration).time_since_epoch().count());
  go.count_down();
  for (auto& w : workers) w.join();
  // Only answers that arrived before the deadline count, so the window is the duration.
  const double elapsed = std::chrono::duration<double>(options.duration).count();

  LatencyHistogram latencies;
  uint64_t done = 0;
  uint64_t errors = 0;
  size_t gave_up = 0;
  std::string first_error;
  for (auto& r : results) {
    latencies.Merge(r.latencies);
    done += r.done;
    errors += r.errors;
    gave_up += r.gave_up;
    if (first_error.empty()) first_error = r.first_error;
  }
  std::printf(
      "{\"label\":\"%s\",\"mode\":\"%s\",\"connections\":%zu,\"threads\":%zu,"
      "\"duration_s\":%.2f,\"requests\":%llu,\"requests_per_s\":%.1f,\"p50_ms\":%.3f,"
      "\"p99_ms\":%.3f,\"errors\":%llu,\"connections_stopped\":%zu,\"first_error\":\"%s\"}\n",
      JsonEscape(options.label).c_str(), options.mode_name.c_str(), connections, threads, elapsed,
      static_cast<unsigned long long>(done), static_cast<double>(done) / elapsed,
      latencies.PercentileMs(0.50), latencies.PercentileMs(0.99),
      static_cast<unsigned long long>(errors), gave_up, JsonEscape(first_error).c_str());
  return done > 0 ? 0 : 1;
}

std::string ReadSecret(const std::string& path) {
  std::ifstream in(path);
  std::string secret;
  std::getline(in, secret);
  return secret;
}

}  // namespace
}  // namespace ulus::bench

int main(int argc, char** argv) {
  using ulus::bench::Mode;
  ulus::bench::Options o;
  std::string secret_file;
  std::string introspect_secret_file;
  CLI::App app{"Load for OAuth 2.0 token, introspection and static endpoints; one JSON line"};
  app.add_option("--url", o.url, "Origin, http://127.0.0.1:PORT")->required();
  app.add_option("--mode", o.mode_name, "client_credentials, introspect, refresh or static")
      ->check(CLI::IsMember({"client_credentials", "introspect", "refresh", "static"}))
      ->capture_default_str();
  app.add_option("--connections", o.connections, "Keep-alive connections, spread over the threads")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--threads", o.threads, "Threads, each an epoll loop over its connections")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--duration", o.duration_text, "How long to load: 10s, 500ms, 1m")
      ->capture_default_str();
  app.add_option("--label", o.label, "Name printed in the result");
  app.add_option("--client-id", o.client_id, "Client for the token endpoint");
  app.add_option("--client-secret", o.client_secret, "Its secret");
  app.add_option("--client-secret-file", secret_file, "A file whose first line is its secret");
  app.add_option("--introspect-client-id", o.introspect_client_id,
                 "Client that introspects (default: --client-id)");
  app.add_option("--introspect-client-secret", o.introspect_client_secret, "Its secret");
  app.add_option("--introspect-client-secret-file", introspect_secret_file,
                 "A file whose first line is its secret");
  app.add_option("--token-path", o.token_path, "Token endpoint path")->capture_default_str();
  app.add_option("--introspect-path", o.introspect_path, "Introspection endpoint path")
      ->capture_default_str();
  app.add_option("--static-path", o.static_path, "Path for --mode static")->capture_default_str();
  app.add_option("--token-param", o.token_params,
                 "Extra k=v (already form-encoded) for client_credentials requests (repeatable)");
  app.add_option("--refresh-tokens", o.refresh_tokens_file,
                 "refresh: a file of refresh tokens, one per line, at least one per connection");
  app.add_option("--refresh-mint-path", o.refresh_mint_path,
                 "refresh: a POST path answering {\"refresh_token\":...} (oidc-provider's "
                 "bench-only route), asked on each connection");
  CLI11_PARSE(app, argc, argv);

  const auto duration = ulus::bench::ParseDuration(o.duration_text);
  if (!duration || duration->count() <= 0) {
    std::fprintf(stderr, "oidc_load: --duration: not a duration: %s\n", o.duration_text.c_str());
    return 2;
  }
  o.duration = *duration;
  if (o.mode_name == "client_credentials") o.mode = Mode::kClientCredentials;
  if (o.mode_name == "introspect") o.mode = Mode::kIntrospect;
  if (o.mode_name == "refresh") o.mode = Mode::kRefresh;
  if (o.mode_name == "static") o.mode = Mode::kStatic;
  if (!secret_file.empty()) o.client_secret = ulus::bench::ReadSecret(secret_file);
  if (!introspect_secret_file.empty()) {
    o.introspect_client_secret = ulus::bench::ReadSecret(introspect_secret_file);
  }
  if (o.introspect_client_id.empty()) {
    o.introspect_client_id = o.client_id;
    if (o.introspect_client_secret.empty()) o.introspect_client_secret = o.client_secret;
  }
  if (o.mode != Mode::kStatic && o.client_id.empty()) {
    std::fprintf(stderr, "oidc_load: --mode %s needs --client-id\n", o.mode_name.c_str());
    return 2;
  }
  if (o.mode == Mode::kRefresh && o.refresh_tokens_file.empty() && o.refresh_mint_path.empty()) {
    std::fprintf(stderr,
                 "oidc_load: --mode refresh needs --refresh-tokens or "
                 "--refresh-mint-path\n");
    return 2;
  }
  if (o.label.empty()) o.label = o.mode_name + " " + o.url;
  return ulus::bench::Run(o);
}
