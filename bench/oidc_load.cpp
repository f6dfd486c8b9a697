// Load generator for OAuth 2.0 / OpenID Connect token endpoints, used by bench/oidc.sh to set Dan
// beside oidc-provider and nginx. One keep-alive connection per thread (the project's blocking
// http::Client), a fixed duration, and one line of JSON with requests/s, p50, p99 and errors.
//
//   oidc_load --url http://127.0.0.1:PORT --mode client_credentials|introspect|refresh|static
//             [--connections 64] [--duration 10s] ...   (--help lists every option)
//
// Modes:
//   client_credentials  POST token, grant_type=client_credentials, client_secret_basic.
//   introspect          each connection gets its own token first, then introspects it.
//   refresh             each connection gets its own refresh token (a line of --refresh-tokens,
//                       or POST --refresh-mint-path on its own connection) and rotates it,
//                       always sending the newest.
//   static              GET --static-path (nginx's static file).
// Set-up requests are not timed. Only requests that get the expected answer count as done and
// give the latencies; the others are errors.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <fstream>
#include <latch>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "ulus/http/client.hpp"

namespace ulus::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr std::chrono::milliseconds kUnreachablePause{10};

enum class Mode { kClientCredentials, kIntrospect, kRefresh, kStatic };

struct Options {
  std::string url;
  std::string mode_name = "client_credentials";
  Mode mode = Mode::kClientCredentials;
  int connections = 64;
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
std::string FormEncode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
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
  return out;
}

std::string BasicAuth(std::string_view id, std::string_view secret) {
  return "Basic " + Base64(FormEncode(id) + ":" + FormEncode(secret));
}

// The value of a top-level string member of a flat JSON object, without a full parse: token
// responses are small and their tokens carry no escapes. Enough for a load generator.
std::optional<std::string> JsonString(std::string_view body, std::string_view name) {
  const std::string key = "\"" + std::string(name) + "\"";
  const size_t at = body.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  size_t i = body.find_first_not_of(" \t\r\n", at + key.size());
  if (i == std::string_view::npos || body[i] != ':') return std::nullopt;
  i = body.find_first_not_of(" \t\r\n", i + 1);
  if (i == std::string_view::npos || body[i] != '"') return std::nullopt;
  const size_t end = body.find('"', i + 1);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(body.substr(i + 1, end - i - 1));
}

bool JsonTrue(std::string_view body, std::string_view name) {
  const std::string key = "\"" + std::string(name) + "\"";
  const size_t at = body.find(key);
  if (at == std::string_view::npos) return false;
  size_t i = body.find_first_not_of(" \t\r\n", at + key.size());
  if (i == std::string_view::npos || body[i] != ':') return false;
  i = body.find_first_not_of(" \t\r\n", i + 1);
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

// What one connection measured. Written by its own thread only, read after it joins.
struct ConnectionResult {
  std::vector<uint32_t> latencies_us;
  uint64_t done = 0;
  uint64_t errors = 0;
  std::string first_error;
  bool gave_up = false;
};

// One connection: its client, its credentials and its token state. Not thread-safe.
class Connection {
 public:
  Connection(const Options& options, size_t index, RefreshTokenPool& pool)
      : options_(options), index_(index), pool_(pool) {
    const std::string form = "application/x-www-form-urlencoded";
    token_headers_ = {{"Content-Type", form},
                      {"Authorization", BasicAuth(options.client_id, options.client_secret)}};
    introspect_headers_ = {{"Content-Type", form},
                           {"Authorization", BasicAuth(options.introspect_client_id,
                                                       options.introspect_client_secret)}};
    client_credentials_body_ = "grant_type=client_credentials";
    for (const auto& p : options.token_params) client_credentials_body_ += "&" + p;
  }

  // Before the clock starts: connect and get this connection's token.
  bool SetUp(ConnectionResult& result) {
    http::ClientOptions client_options;
    client_options.request_timeout = std::chrono::seconds(5);
    auto client = http::Client::Create(options_.url, client_options);
    if (!client.ok()) return Fail(result, client.error().ToString());
    client_ = std::move(*client);
    switch (options_.mode) {
      case Mode::kIntrospect: {
        auto token = Post(options_.token_path, client_credentials_body_, token_headers_,
                          "access_token", result);
        if (!token) return false;
        introspect_body_ = "token=" + FormEncode(*token) + "&token_type_hint=access_token";
        return true;
      }
      case Mode::kRefresh:
        if (options_.refresh_mint_path.empty()) {
          refresh_token_ = pool_.Own(index_);
          return true;
        }
        return Mint(result);
      case Mode::kClientCredentials:
      case Mode::kStatic: return true;
    }
    return true;
  }

  // One timed request; true when it got the expected answer.
  bool Step(ConnectionResult& result) {
    switch (options_.mode) {
      case Mode::kClientCredentials:
        return Post(options_.token_path, client_credentials_body_, token_headers_, "access_token",
                    result)
            .has_value();
      case Mode::kIntrospect: {
        auto r = client_->Send(http::Method::post, options_.introspect_path, introspect_body_,
                               introspect_headers_);
        if (!r.ok()) return Unreachable(result, r.error().ToString());
        if (r->status != http::Status::ok || !JsonTrue(r->body, "active")) {
          return Fail(result, Describe(*r));
        }
        return true;
      }
      case Mode::kRefresh: return Refresh(result);
      case Mode::kStatic: {
        auto r = client_->Get(options_.static_path);
        if (!r.ok()) return Unreachable(result, r.error().ToString());
        if (r->status != http::Status::ok) return Fail(result, Describe(*r));
        return true;
      }
    }
    return false;
  }

  // After a failed request: a pause when the server did not answer (no busy loop against a
  // closed port), and in refresh mode a fresh token, since the family may be gone. False: stop.
  bool Recover(ConnectionResult& result) {
    if (unreachable_) {
      unreachable_ = false;
      std::this_thread::sleep_for(kUnreachablePause);
    }
    // Only invalid_grant means the token is gone; after other failures it may still be good.
    if (options_.mode != Mode::kRefresh || !std::exchange(invalid_grant_, false)) return true;
    if (!options_.refresh_mint_path.empty()) return Mint(result);
    auto spare = pool_.Spare();
    if (!spare) return false;
    refresh_token_ = std::move(*spare);
    return true;
  }

 private:
  static std::string Describe(const http::ClientResponse& r) {
    return "HTTP " + std::to_string(static_cast<int>(r.status)) + " " + r.body.substr(0, 200);
  }

  static bool Fail(ConnectionResult& result, std::string why) {
    if (result.first_error.empty()) result.first_error = std::move(why);
    return false;
  }

  // A request that got no answer at all (refused, reset, timed out).
  bool Unreachable(ConnectionResult& result, std::string why) {
    unreachable_ = true;
    return Fail(result, std::move(why));
  }

  std::optional<std::string> Post(std::string_view path, std::string_view body,
                                  const Headers& headers, std::string_view field,
                                  ConnectionResult& result) {
    auto r = client_->Send(http::Method::post, path, body, headers);
    if (!r.ok()) {
      Unreachable(result, r.error().ToString());
      return std::nullopt;
    }
    auto value = r->status == http::Status::ok ? JsonString(r->body, field) : std::nullopt;
    if (!value) {
      invalid_grant_ = r->status == http::Status::bad_request &&
                       JsonString(r->body, "error") == std::optional<std::string>("invalid_grant");
      Fail(result, Describe(*r));
    }
    return value;
  }

  bool Mint(ConnectionResult& result) {
    auto token = Post(options_.refresh_mint_path, "", {}, "refresh_token", result);
    if (!token) return false;
    refresh_token_ = std::move(*token);
    return true;
  }

  bool Refresh(ConnectionResult& result) {
    const std::string body = "grant_type=refresh_token&refresh_token=" + FormEncode(refresh_token_);
    auto next = Post(options_.token_path, body, token_headers_, "refresh_token", result);
    if (!next) return false;
    refresh_token_ = std::move(*next);
    return true;
  }

  const Options& options_;
  size_t index_;
  RefreshTokenPool& pool_;
  std::unique_ptr<http::Client> client_;
  Headers token_headers_;
  Headers introspect_headers_;
  std::string client_credentials_body_;
  std::string introspect_body_;
  std::string refresh_token_;
  bool unreachable_ = false;
  bool invalid_grant_ = false;  // the last failure was an invalid_grant answer
};

double Percentile(const std::vector<uint32_t>& sorted_us, double p) {
  if (sorted_us.empty()) return 0;
  const auto i = static_cast<size_t>(p * static_cast<double>(sorted_us.size() - 1));
  return static_cast<double>(sorted_us[i]) / 1000.0;
}

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
  RefreshTokenPool pool;
  if (options.mode == Mode::kRefresh && options.refresh_mint_path.empty() &&
      !pool.Load(options.refresh_tokens_file, connections)) {
    std::fprintf(stderr, "oidc_load: %s must hold at least %zu refresh tokens, one per line\n",
                 options.refresh_tokens_file.c_str(), connections);
    return 2;
  }

  std::vector<ConnectionResult> results(connections);
  std::latch ready(static_cast<std::ptrdiff_t>(connections) + 1);
  std::latch go(1);
  std::atomic<int64_t> deadline_ns{0};
  std::vector<std::thread> threads;
  threads.reserve(connections);
  for (size_t i = 0; i < connections; ++i) {
    threads.emplace_back([&, i] {
      ConnectionResult& result = results[i];
      Connection connection(options, i, pool);
      const bool set_up = connection.SetUp(result);
      ready.count_down();
      go.wait();
      if (!set_up) {
        result.errors++;
        result.gave_up = true;
        return;
      }
      result.latencies_us.reserve(1 << 16);
      const SteadyClock::time_point deadline{SteadyClock::duration(deadline_ns.load())};
      while (SteadyClock::now() < deadline) {
        const auto start = SteadyClock::now();
        const bool ok = connection.Step(result);
        const auto us =
            std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - start);
        if (ok) {
          result.latencies_us.push_back(static_cast<uint32_t>(us.count()));
          result.done++;
          continue;
        }
        result.errors++;
        if (!connection.Recover(result)) {
          result.gave_up = true;
          return;
        }
      }
    });
  }
  ready.arrive_and_wait();
  const auto started = SteadyClock::now();
  deadline_ns.store((started + options.duration).time_since_epoch().count());
  go.count_down();
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(SteadyClock::now() - started).count();

  std::vector<uint32_t> latencies;
  uint64_t done = 0;
  uint64_t errors = 0;
  size_t gave_up = 0;
  std::string first_error;
  for (auto& r : results) {
    latencies.insert(latencies.end(), r.latencies_us.begin(), r.latencies_us.end());
    done += r.done;
    errors += r.errors;
    gave_up += r.gave_up ? 1 : 0;
    if (first_error.empty()) first_error = r.first_error;
  }
  std::sort(latencies.begin(), latencies.end());
  std::printf(
      "{\"label\":\"%s\",\"mode\":\"%s\",\"connections\":%zu,\"duration_s\":%.2f,"
      "\"requests\":%llu,\"requests_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
      "\"errors\":%llu,\"connections_stopped\":%zu,\"first_error\":\"%s\"}\n",
      JsonEscape(options.label).c_str(), options.mode_name.c_str(), connections, elapsed,
      static_cast<unsigned long long>(done), static_cast<double>(done) / elapsed,
      Percentile(latencies, 0.50), Percentile(latencies, 0.99),
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
  app.add_option("--connections", o.connections, "Keep-alive connections, one thread each")
      ->check(CLI::Range(1, 4096))
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
