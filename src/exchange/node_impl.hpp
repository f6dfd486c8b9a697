#pragma once

// The node's insides, shared by its client side (node.cpp) and provider side (node_provider.cpp).
// Private to the exchange_node library.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
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
#include "ulus/http/async_client.hpp"
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

// An exchange on the provider side, from another node's request to the signed answer; shared by
// the callbacks that carry it through signing, the backend and the log.
struct ProviderCall {
  http::Responder respond;
  MonitoringRecord m;
  std::optional<ExchangeRequest> req;  // set once parsed
  bool authentic = false;  // the request's signature checked: its answer is logged with it
  std::string request_hash;
  std::string request_signature;
  std::string key;  // client and X-Road-Id, for retries
};

// An exchange on the client side, from the agency system's request to the provider's answer.
struct ClientCall {
  http::Responder respond;
  MonitoringRecord m;
  ExchangeRequest req;
  std::shared_ptr<const GlobalConfig> conf;
  std::string request_hash;
  std::string request_signature;
};

// Answers being made, with the retries of the same X-Road-Id that arrived meanwhile. Waiters are
// called when the first answer is ready, which the backend's deadline bounds.
struct Pending {
  std::vector<std::function<void(const Reply&)>> waiters;
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
        client_signer(s, BatchSignerOptions{std::chrono::microseconds(0), 1024}, c),
        provider_signer(s, BatchSignerOptions{std::chrono::microseconds(0), 1024}, c) {}

  NodeOptions options;
  store::Database& db;
  const crypto::Signer& signer;
  const Clock& clock;
  ConfigHolder config;
  // One signature check per batch, not per message.
  BatchVerifier verifier;

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
  bool stopping = false;                   // guarded by stop_mu, for the refresh thread
  std::atomic<bool> shutting_down{false};  // the same, for callbacks
  std::thread refresher;

  // Metrics (registered on the client listener's registry).
  http::Metrics* metrics = nullptr;

  std::string node_key;  // distinguishes this node's metric series from another's in-process

  // Declared last, in this order, because members are destroyed in reverse: the signers and the
  // log go first (what they still hold fails into the state above and answers onto the
  // listeners' executors, which still exist), then the pooled connections, which live on those
  // executors, then the listeners.
  std::unique_ptr<http::Server> client_server;
  std::unique_ptr<http::Server> provider_server;
  // Pooled keep-alive connections to other nodes (on the client listener's threads) and to
  // backends (on the provider listener's), by destination.
  std::mutex clients_mu;
  std::unordered_map<std::string, std::shared_ptr<http::AsyncClient>> clients;
  std::unique_ptr<MessageLog> log;
  // One per listener, each batching on its listener's executor, so that a stopped listener
  // strands nothing of the other's.
  BatchSigner client_signer;
  BatchSigner provider_signer;

  Status VerifyBatch(const crypto::Sha256Digest& digest, std::string_view text,
                     const GlobalConfig& conf, const ClientId& signer_subsystem);
  void Record(MonitoringRecord record);
  Result<std::shared_ptr<http::AsyncClient>> ClientFor(const std::string& key,
                                                       boost::asio::any_io_executor executor,
                                                       const std::string& origin,
                                                       const http::ClientOptions& options);
  // Logs an exchange's request and answer durably, with `also` in the same commit, then calls
  // `done` with the outcome. Both sides use it; see node.cpp for why the append is posted.
  void LogExchange(boost::asio::any_io_executor executor, const ExchangeRequest& req,
                   const std::string& request_hash, const std::string& request_signature,
                   const crypto::Sha256Digest& response_digest,
                   const std::string& response_signature, store::GroupCommit::Work also,
                   std::function<void(Status)> done);
  // The client side (node.cpp): sign, send, verify, log, answer.
  void HandleClient(std::shared_ptr<http::Request> request, http::Responder respond);
  void SendToProvider(std::shared_ptr<node::ClientCall> call, Result<BatchSignature> signature);
  void OnProviderAnswer(std::shared_ptr<node::ClientCall> call, Result<http::ClientResponse> sent);
  // Answers the agency system once the exchange is logged (or with the log's failure).
  void ReleaseAnswer(node::ClientCall& call, http::ClientResponse& answer, Status logged);
  void ClientError(node::ClientCall& call, XRoadErrorType type, std::string message);

  // The provider side (node_provider.cpp): check, answer once per X-Road-Id, sign, log.
  using ReplyDone = std::function<void(node::Reply)>;
  void HandleProvider(std::shared_ptr<http::Request> request, http::Responder respond);
  std::optional<node::Reply> FindReply(const std::string& key, bool safe,
                                       const ExchangeRequest& req);
  void RememberReply(const std::string& key, const node::Reply& reply);
  void Serve(std::shared_ptr<node::ProviderCall> call, ReplyDone done);
  void OnBackendAnswer(std::shared_ptr<node::ProviderCall> call, Result<http::ClientResponse> sent,
                       ReplyDone done);
  void AnswerAgain(std::shared_ptr<node::ProviderCall> call, const node::Reply& previous);
  // Signs `response` and, for an authentic request, logs request and answer (with the reply
  // and data-usage rows) durably; `done` gets the signed reply, or an error reply when either
  // failed.
  void SignAndLog(std::shared_ptr<node::ProviderCall> call, http::Response response,
                  bool store_reply, std::string usage_subject, ReplyDone done);
  // The X-Road error as a signed (and, for an authentic request, logged) reply.
  void ErrorReply(std::shared_ptr<node::ProviderCall> call, XRoadErrorType type,
                  std::string message, ReplyDone done);
  // Refuses the request with the X-Road error and answers.
  void Refuse(std::shared_ptr<node::ProviderCall> call, XRoadErrorType type, std::string message);
  // Ends the wait of the retries of `key` with `reply`.
  void ReleaseWaiters(const std::string& key, const node::Reply& reply);
  // ServiceFailed, for retries whose first request lost its answer.
  node::Reply LostReply(const std::string& fingerprint);
  // Completes the monitoring record and answers; with X-Road headers when `exchange_headers`.
  void Answer(node::ProviderCall& call, const node::Reply& reply, bool exchange_headers);
  Status Fetch();  // config_url, once, installed
  void RefreshLoop();
  Status Install(std::string_view jws);
};

namespace node {
// Releases the retries of a first request when its answer is made, or, if the chain of callbacks
// carrying it ends without one, with ServiceFailed (from the owning shared_ptr's deleter).
struct ReleaseRetries {
  Node::Impl* node;
  std::string key;
  std::string fingerprint;
  bool released = false;
};
}  // namespace node

}  // namespace ulus::exchange
