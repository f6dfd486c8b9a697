#pragma once

// The node's insides, shared by its client side (node.cpp) and provider side (node_provider.cpp).
// Private to the exchange_node library.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <future>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "node_messages.hpp"
#include "ulus/core/id.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/exchange/batch_signer.hpp"
#include "ulus/exchange/node.hpp"
#include "ulus/exchange/protocol.hpp"
#include "ulus/http/client.hpp"

namespace ulus::exchange {
namespace node {

using nlohmann::json;

inline int64_t UnixMs(const Clock& clock) {
  return ToUnixMicros(clock.Now()) / 1000;
}

// Whether a request only reads: a safe method, or one of the GovStack data API's queries that
// travel as POST (".../read", ".../exists"). A read needs a read right and its answer is kept
// for retries in memory; anything else needs a write right and its answer is kept durably.
inline bool IsRead(const ExchangeRequest& req) {
  const auto m = boost::beast::http::string_to_verb(req.method);
  if (m == http::Method::get || m == http::Method::head || m == http::Method::options) return true;
  if (m != http::Method::post) return false;
  const std::string_view path = req.path;
  return path.ends_with("/read") || path.ends_with("/exists");
}

// A stored answer, to repeat to a retry with the same X-Road-Id. `fingerprint` says which
// request it answered (RequestFingerprint); a retry is signed afresh for its own request hash.
struct Reply {
  std::string fingerprint;
  int status = 0;
  std::string content_type;
  HeaderList headers;
  std::string body;
};

inline nlohmann::json HeadersToJson(const HeaderList& headers) {
  json out = json::array();
  for (const auto& [name, value] : headers) out.push_back({name, value});
  return out;
}

inline HeaderList HeadersFromJson(const std::string& text) {
  HeaderList out;
  const json doc = json::parse(text, nullptr, false);
  if (!doc.is_array()) return out;
  for (const auto& pair : doc) {
    if (pair.is_array() && pair.size() == 2 && pair[0].is_string() && pair[1].is_string()) {
      out.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
    }
  }
  return out;
}

// What makes two requests with one X-Road-Id the same request: method, target and body. Not the
// PR-REST request hash, which covers per-hop headers (X-Request-Id) that a retry changes.
inline std::string RequestFingerprint(const ExchangeRequest& req) {
  std::string buf = req.method;
  buf += ' ';
  buf += req.Target();
  buf += '\n';
  buf += req.body;
  return crypto::HexEncode(crypto::Sha256(buf));
}

// The reply without this node's signature headers, as it is kept for retries.
inline Reply Unsigned(Reply reply) {
  std::erase_if(reply.headers, [](const auto& h) {
    return boost::beast::iequals(h.first, kHeaderSignature) ||
           boost::beast::iequals(h.first, kHeaderSignedHeaders);
  });
  return reply;
}

inline http::Response ToResponse(const Reply& reply) {
  http::Response r;
  r.status = static_cast<http::Status>(reply.status);
  r.content_type = reply.content_type;
  r.body = reply.body;
  r.headers = reply.headers;
  return r;
}

// "http://127.0.0.1:8080/data/person" -> ("http://127.0.0.1:8080", "/data/person").
inline std::pair<std::string, std::string> SplitBase(std::string_view base) {
  const auto scheme = base.find("://");
  const auto slash = base.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  if (slash == std::string_view::npos) return {std::string(base), ""};
  std::string path(base.substr(slash));
  while (!path.empty() && path.back() == '/') path.pop_back();
  return {std::string(base.substr(0, slash)), path};
}

// One client per thread and destination: http::Client is not thread-safe, and the handler
// threads are fixed, so each keeps its keep-alive connections.
class ClientCache {
 public:
  Result<http::Client*> Get(const std::string& key, const std::string& origin,
                            const http::ClientOptions& options) {
    auto& cache = Cache();
    auto it = cache.find(key);
    if (it != cache.end()) return it->second.get();
    ULUS_ASSIGN_OR_RETURN(auto client, http::Client::Create(origin, options));
    auto* raw = client.get();
    cache.emplace(key, std::move(client));
    return raw;
  }
  // Forgets this thread's client for `key` (after a transport error, so the next call starts
  // with a fresh connection).
  void Drop(const std::string& key) { Cache().erase(key); }

 private:
  static std::unordered_map<std::string, std::unique_ptr<http::Client>>& Cache() {
    thread_local std::unordered_map<std::string, std::unique_ptr<http::Client>> cache;
    return cache;
  }
};

// An exchange being answered, shared with retries of the same X-Road-Id that arrive meanwhile.
struct Pending {
  std::promise<Reply> promise;
  std::shared_future<Reply> future = promise.get_future().share();
};

}  // namespace node

struct Node::Impl {
  Impl(NodeOptions o, store::Database& d, const crypto::Signer& s, crypto::PublicKey authority,
       const Clock& c)
      : options(std::move(o)),
        db(d),
        signer(s),
        clock(c),
        config(std::move(authority), c),
        batch_signer(s, BatchSignerOptions{std::chrono::microseconds(0), 1024}, c) {}

  NodeOptions options;
  store::Database& db;
  const crypto::Signer& signer;
  const Clock& clock;
  ConfigHolder config;
  std::unique_ptr<MessageLog> log;
  BatchSigner batch_signer;
  node::ClientCache clients;
  std::string node_key;  // distinguishes this node's cached clients from another's in-process
  std::unique_ptr<http::Server> client_server;
  std::unique_ptr<http::Server> provider_server;

  // Batch signatures already checked: one signature check per batch, not per message.
  std::mutex verified_mu;
  std::unordered_set<std::string> verified;

  // Retries: answers being made, and recent answers to safe requests (unsafe ones are durable).
  std::mutex replies_mu;
  std::unordered_map<std::string, std::shared_ptr<node::Pending>> pending;
  std::list<std::pair<std::string, std::pair<int64_t, node::Reply>>> recent;  // newest first
  std::unordered_map<std::string, decltype(recent)::iterator> recent_index;
  static constexpr size_t kRecentCapacity = 50'000;

  mutable std::mutex monitoring_mu;
  std::deque<MonitoringRecord> monitoring;

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread refresher;

  // Metrics (registered on the client listener's registry).
  http::Metrics* metrics = nullptr;

  Status VerifyBatch(const crypto::Sha256Digest& digest, std::string_view text,
                     const GlobalConfig& conf, const ClientId& signer_subsystem);
  void Record(MonitoringRecord record);
  Result<http::Response> HandleClient(http::Request& request);
  Result<http::Response> HandleProvider(http::Request& request);
  http::Response ClientError(MonitoringRecord& m, XRoadErrorType type, std::string message);
  std::optional<node::Reply> FindReply(const std::string& key, bool safe,
                                       const ExchangeRequest& req);
  void RememberReply(const std::string& key, const node::Reply& reply);
  node::Reply Serve(const ExchangeRequest& req, MonitoringRecord& m,
                    const std::string& request_hash, const std::string& request_signature);
  node::Reply SignAndLog(const ExchangeRequest* req, const std::string& request_hash,
                         const std::string& request_signature, http::Response response,
                         bool store_reply, const std::string& usage_status_subject,
                         MonitoringRecord& m);
  Result<http::Response> ProviderError(const ExchangeRequest* req, const std::string& request_hash,
                                       const std::string& request_signature, MonitoringRecord& m,
                                       XRoadErrorType type, std::string message);
  Status Fetch();  // config_url, once, installed
  void RefreshLoop();
  Status Install(std::string_view jws);
};

}  // namespace ulus::exchange
