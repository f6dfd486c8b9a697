#include "ulus/exchange/node.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <list>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "node_impl.hpp"
#include "ulus/core/files.hpp"
#include "ulus/core/id.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/exchange/batch_signer.hpp"
#include "ulus/exchange/protocol.hpp"
#include "ulus/http/client.hpp"
#include "ulus/store/migration.hpp"

namespace ulus::exchange {
namespace {

using nlohmann::json;
using store::Value;

const std::vector<store::Migration>& NodeMigrations() {
  static const std::vector<store::Migration> steps = {
      {1, "replies and data usage",
       R"(CREATE TABLE khur_reply (
            client TEXT NOT NULL, x_road_id TEXT NOT NULL, at BIGINT NOT NULL,
            fingerprint TEXT NOT NULL, status INTEGER NOT NULL, content_type TEXT NOT NULL,
            headers TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (client, x_road_id));
          CREATE INDEX khur_reply_at ON khur_reply (at);
          CREATE TABLE khur_data_usage (
            id INTEGER PRIMARY KEY, at BIGINT NOT NULL, subject TEXT NOT NULL,
            client TEXT NOT NULL, user_id TEXT NOT NULL, service TEXT NOT NULL,
            method TEXT NOT NULL, path TEXT NOT NULL, purpose TEXT NOT NULL,
            x_road_id TEXT NOT NULL, status INTEGER NOT NULL);
          CREATE INDEX khur_data_usage_subject ON khur_data_usage (subject, id);)",
       R"(CREATE TABLE khur_reply (
            client TEXT NOT NULL, x_road_id TEXT NOT NULL, at BIGINT NOT NULL,
            fingerprint TEXT NOT NULL, status INTEGER NOT NULL, content_type TEXT NOT NULL,
            headers TEXT NOT NULL, body BYTEA NOT NULL, PRIMARY KEY (client, x_road_id));
          CREATE INDEX khur_reply_at ON khur_reply (at);
          CREATE TABLE khur_data_usage (
            id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, subject TEXT NOT NULL,
            client TEXT NOT NULL, user_id TEXT NOT NULL, service TEXT NOT NULL,
            method TEXT NOT NULL, path TEXT NOT NULL, purpose TEXT NOT NULL,
            x_road_id TEXT NOT NULL, status INTEGER NOT NULL);
          CREATE INDEX khur_data_usage_subject ON khur_data_usage (subject, id);)"},
  };
  return steps;
}

}  // namespace

using namespace node;  // NOLINT(google-build-using-namespace): the room's own helpers

Status Node::Impl::VerifyBatch(const crypto::Sha256Digest& digest, std::string_view text,
                               const GlobalConfig& conf, const ClientId& signer_subsystem) {
  if (text.empty()) return Error{ErrorCode::kUnauthenticated, "the message is not signed", {}};
  ULUS_ASSIGN_OR_RETURN(auto sig, ParseBatchSignature(text));
  const crypto::PublicKey* key = conf.SigningKey(signer_subsystem, sig.kid);
  if (key == nullptr) {
    return Error{ErrorCode::kUnauthenticated,
                 "key " + sig.kid + " is not a signing key of " + signer_subsystem.ToString() +
                     " in the global configuration",
                 {}};
  }
  // The leaf and path are checked per message; the root's signature once per batch.
  return verifier.Verify(digest, sig, *key);
}

void Node::Impl::Record(MonitoringRecord record) {
  if (metrics != nullptr) {
    // The series of one (side, client, service, outcome) are looked up once per thread: the
    // registry's lookup takes a lock, and this runs twice per exchange.
    struct Series {
      http::Metrics::Counter* exchanges;
      http::Metrics::Histogram* duration;
      http::Metrics::Counter* request_bytes;
      http::Metrics::Counter* response_bytes;
    };
    thread_local std::unordered_map<std::string, Series> cache;
    std::string key = node_key;
    key += ' ';
    key += record.side;
    key += ' ';
    key += record.client;
    key += ' ';
    key += record.service;
    key += record.succeeded ? " 1" : " 0";
    auto it = cache.find(key);
    if (it == cache.end()) {
      const std::string bytes_help = "Request and response bytes through this node.";
      Series series{
          &metrics->GetCounter("khur_exchanges_total", "Exchanges through this node.",
                               {{"side", record.side},
                                {"client", record.client},
                                {"service", record.service},
                                {"succeeded", record.succeeded ? "true" : "false"}}),
          &metrics->GetHistogram("khur_exchange_duration_seconds",
                                 "From the request reaching this node to the answer leaving it.",
                                 {{"side", record.side}}),
          &metrics->GetCounter("khur_exchange_bytes_total", bytes_help,
                               {{"side", record.side}, {"direction", "request"}}),
          &metrics->GetCounter("khur_exchange_bytes_total", bytes_help,
                               {{"side", record.side}, {"direction", "response"}})};
      it = cache.emplace(std::move(key), series).first;
    }
    it->second.exchanges->Add();
    it->second.duration->Observe(
        static_cast<double>(record.response_out_ms - record.request_in_ms) / 1000.0);
    it->second.request_bytes->Add(record.request_size);
    it->second.response_bytes->Add(record.response_size);
    if (!record.fault.empty()) {
      metrics
          ->GetCounter("khur_faults_total", "X-Road errors raised by this node.",
                       {{"side", record.side}, {"type", record.fault}})
          .Add();
    }
  }
  std::lock_guard lock(monitoring_mu);
  monitoring.push_back(std::move(record));
  while (monitoring.size() > options.monitoring_capacity) monitoring.pop_front();
}

Result<std::shared_ptr<http::AsyncClient>> Node::Impl::ClientFor(
    const std::string& key, boost::asio::any_io_executor executor, const std::string& origin,
    const http::ClientOptions& client_options) {
  std::lock_guard lock(clients_mu);
  auto it = clients.find(key);
  if (it != clients.end()) return it->second;
  ULUS_ASSIGN_OR_RETURN(auto client,
                        http::AsyncClient::Create(std::move(executor), origin, client_options));
  clients.emplace(key, client);
  return client;
}

void Node::Impl::ClientError(ClientCall& call, XRoadErrorType type, std::string message) {
  MonitoringRecord& m = call.m;
  XRoadError error{type, std::move(message), NewUuidV7(clock)};
  spdlog::info("khur client side: {} {} ({})", XRoadErrorTypeName(type), error.message,
               error.detail);
  auto response = RenderXRoadError(error);
  m.fault = std::string(XRoadErrorTypeName(type));
  m.status = static_cast<int>(response.status);
  m.response_size = response.body.size();
  m.response_out_ms = UnixMs(clock);
  if (m.request_out_ms == 0) m.request_out_ms = m.request_in_ms;
  if (m.response_in_ms == 0) m.response_in_ms = m.response_out_ms;
  Record(m);
  call.respond(std::move(response));
}

// The client side (the provider side is in node_provider.cpp): an agency system's /r1/ request,
// checked and signed, then on to the provider's node. Nothing here blocks: each step continues
// in the callback of the one before (batch signer, provider's node, message log).
void Node::Impl::HandleClient(std::shared_ptr<http::Request> request, http::Responder respond) {
  auto call = std::make_shared<ClientCall>();
  call->respond = std::move(respond);
  MonitoringRecord& m = call->m;
  m.side = "client";
  m.request_in_ms = UnixMs(clock);
  m.request_size = request->body().size();
  auto parsed = ParseExchangeRequest(request->message(), clock);
  request.reset();  // the parsed request holds all that is needed from here on
  if (!parsed.ok()) {
    const auto error = ToXRoadError(parsed.error(), NewUuidV7(clock));
    return ClientError(*call, error.type, error.message);
  }
  call->req = std::move(parsed).value();
  const ExchangeRequest& req = call->req;
  m.client = req.client.ToString();
  m.service = req.service.ToString();
  m.x_road_id = req.x_road_id;
  m.user_id = req.user_id;
  auto current = config.Current();
  if (!current.ok()) {
    return ClientError(*call, XRoadErrorType::kClientProxyOutdatedGlobalConf,
                       current.error().message);
  }
  call->conf = *current;
  if (req.client != options.subsystem) {
    return ClientError(
        *call, XRoadErrorType::kClientInvalidClientIdentifier,
        "this node serves " + options.subsystem.ToString() + ", not " + req.client.ToString());
  }
  const NodeEntry* provider = call->conf->NodeOf(req.service.client);
  if (provider == nullptr) {
    return ClientError(
        *call, XRoadErrorType::kClientProxyUnknownMember,
        "the global configuration has no subsystem " + req.service.client.ToString());
  }
  if (provider->tls_sha256.empty()) {
    return ClientError(*call, XRoadErrorType::kClientProxyNetworkError,
                       req.service.client.ToString() + " has no registered node yet");
  }
  call->request_hash = RequestHash(req);
  client_signer.SignAsync(node::RequestDigest(call->request_hash), client_server->executor(),
                          [this, call](Result<BatchSignature> signature) {
                            SendToProvider(call, std::move(signature));
                          });
}

void Node::Impl::SendToProvider(std::shared_ptr<ClientCall> call,
                                Result<BatchSignature> signature) {
  const ExchangeRequest& req = call->req;
  if (!signature.ok()) {
    return ClientError(*call, XRoadErrorType::kClientProxyInternalError,
                       "cannot sign the request: " + signature.error().message);
  }
  call->request_signature = SerializeBatchSignature(*signature);
  HeaderList headers = req.headers;
  headers.emplace_back(std::string(kHeaderSignature), call->request_signature);

  const NodeEntry* provider = call->conf->NodeOf(req.service.client);
  http::ClientOptions copts;
  copts.connect_timeout = options.connect_timeout;
  copts.request_timeout = options.provider_timeout;
  copts.ca_file = options.ca_file;
  copts.certificate_file = options.tls_certificate_file;
  copts.private_key_file = options.tls_private_key_file;
  copts.pinned_sha256 = provider->tls_sha256;
  std::string key = provider->address;
  for (const auto& fp : provider->tls_sha256) key += " " + fp;
  auto client = ClientFor(key, client_server->executor(), provider->address, copts);
  if (!client.ok()) {
    return ClientError(*call, XRoadErrorType::kClientProxyNetworkError, client.error().message);
  }
  call->m.request_out_ms = UnixMs(clock);
  (*client)->Send(
      boost::beast::http::string_to_verb(req.method), req.Target(), req.body, std::move(headers),
      [this, call](Result<http::ClientResponse> sent) { OnProviderAnswer(call, std::move(sent)); });
}

void Node::Impl::OnProviderAnswer(std::shared_ptr<ClientCall> call,
                                  Result<http::ClientResponse> sent) {
  const ExchangeRequest& req = call->req;
  MonitoringRecord& m = call->m;
  m.response_in_ms = UnixMs(clock);
  if (!sent.ok()) {
    const auto type = sent.error().code == ErrorCode::kUnauthenticated
                          ? XRoadErrorType::kClientProxySslAuthenticationFailed
                          : XRoadErrorType::kClientProxyNetworkError;
    return ClientError(*call, type,
                       "the node of " + req.service.client.ToString() +
                           " did not answer: " + sent.error().message);
  }
  auto answer = std::make_shared<http::ClientResponse>(std::move(sent).value());
  const int status = static_cast<int>(answer->status);
  const HeaderList signed_headers =
      node::CollectSigned(answer->headers, answer->Header(kHeaderSignedHeaders));
  const auto response_digest =
      node::ResponseDigest(status, call->request_hash, signed_headers, answer->body);
  const std::string response_signature(answer->Header(kHeaderSignature));
  if (auto ok = VerifyBatch(response_digest, response_signature, *call->conf, req.service.client);
      !ok.ok()) {
    return ClientError(*call, XRoadErrorType::kClientProxyInvalidSignatureValue,
                       "the answer of " + req.service.client.ToString() +
                           " does not carry its valid signature: " + ok.error().message);
  }

  // The answer is released only once both messages are durable in the log.
  LogExchange(client_server->executor(), req, call->request_hash, call->request_signature,
              response_digest, response_signature, {},
              [this, call, answer](Status logged) { ReleaseAnswer(*call, *answer, logged); });
}

void Node::Impl::LogExchange(boost::asio::any_io_executor executor, const ExchangeRequest& req,
                             const std::string& request_hash, const std::string& request_signature,
                             const crypto::Sha256Digest& response_digest,
                             const std::string& response_signature, store::GroupCommit::Work also,
                             std::function<void(Status)> done) {
  const std::string client = req.client.ToString();
  const std::string service = req.service.ToString();
  std::vector<LogEntry> entries(2);
  entries[0] = {
      MessageKind::kRequest, req.x_road_id, client,      service,
      req.user_id,           req.subject,   req.purpose, node::RequestDigest(request_hash),
      request_signature};
  entries[1] = entries[0];
  entries[1].kind = MessageKind::kResponse;
  entries[1].body_digest = response_digest;
  entries[1].signature = response_signature;
  // Posted rather than appended here: callers run in a signer's flush (which hands out a whole
  // batch's signatures in turn) or on a pooled connection's strand, and an append that finds the
  // log idle commits on its caller's thread, so in place each exchange would pay its own fsync in
  // series. Posted, one I/O thread commits while the others queue the rest behind it.
  boost::asio::post(executor, [this, executor, entries = std::move(entries), also = std::move(also),
                               done = std::move(done)]() mutable {
    log->AppendAsync(
        std::move(entries), std::move(also),
        [executor, done = std::move(done)](Result<std::vector<LogRecord>> logged) mutable {
          // Handed back to the listener: called in place, the answers of a whole batch would go
          // out one by one on the committing thread, and the next batch's commit would wait.
          boost::asio::post(
              executor, [done = std::move(done),
                         logged = logged.ok() ? Ok() : Status(logged.error())]() { done(logged); });
        });
  });
}

void Node::Impl::ReleaseAnswer(ClientCall& call, http::ClientResponse& answer, Status logged) {
  MonitoringRecord& m = call.m;
  if (!logged.ok()) {
    return ClientError(call, XRoadErrorType::kClientProxyDatabaseError,
                       "the message log could not be written: " + logged.error().message);
  }
  http::Response response;
  response.status = answer.status;
  response.content_type = std::string(answer.Header("Content-Type"));
  response.body = std::move(answer.body);
  std::string request_id;
  for (const auto& [name, value] : answer.headers) {
    if (boost::beast::iequals(name, kHeaderRequestId)) request_id = value;
    if (boost::beast::iequals(name, kHeaderError)) {
      response.headers.emplace_back(name, value);
      m.fault = value;
    }
    if (node::IsPassedResponseHeader(name)) response.headers.emplace_back(name, value);
  }
  SetXRoadResponseHeaders(response, call.req, request_id, call.request_hash);
  m.request_id = request_id;
  m.status = static_cast<int>(answer.status);
  m.succeeded = m.fault.empty();
  m.response_size = response.body.size();
  m.response_out_ms = UnixMs(clock);
  Record(m);
  call.respond(std::move(response));
}

Status Node::Impl::Install(std::string_view jws) {
  ULUS_TRY(config.Install(jws));
  if (!options.config_file.empty()) {
    if (auto kept = WritePrivateFile(options.config_file, std::string(jws)); !kept.ok()) {
      spdlog::warn("khur: cannot keep the global configuration: {}", kept.error().message);
    }
  }
  return Ok();
}

Status Node::Impl::Fetch() {
  auto origin_path = SplitBase(options.config_url);
  http::ClientOptions copts;
  copts.connect_timeout = options.connect_timeout;
  copts.request_timeout = std::chrono::seconds(10);
  ULUS_ASSIGN_OR_RETURN(auto client, http::Client::Create(origin_path.first, copts));
  ULUS_ASSIGN_OR_RETURN(auto got, client->Get(origin_path.second));
  if (got.status != http::Status::ok) {
    return Error::Unavailable("the authority answered " +
                              std::to_string(static_cast<int>(got.status)));
  }
  return Install(got.body);
}

void Node::Impl::RefreshLoop() {
  std::unique_lock lock(stop_mu);
  while (!stopping) {
    stop_cv.wait_for(lock, options.config_refresh, [&] { return stopping; });
    if (stopping) break;
    lock.unlock();
    if (auto status = Fetch(); !status.ok()) {
      spdlog::warn("khur node {}: cannot refresh the global configuration from {}: {}",
                   options.subsystem.ToString(), options.config_url, status.error().message);
    }
    lock.lock();
  }
}

Result<std::unique_ptr<Node>> Node::Open(NodeOptions options, store::Database& db,
                                         const crypto::Signer& signer,
                                         crypto::PublicKey authority_key, const Clock& clock) {
  ULUS_TRY(store::Migrate(db, "exchange_node", NodeMigrations()));
  auto impl =
      std::make_unique<Impl>(std::move(options), db, signer, std::move(authority_key), clock);
  ULUS_ASSIGN_OR_RETURN(impl->log, MessageLog::Open(db, clock));
  impl->node_key = NewUuidV7(clock);
  // Forget answers kept for retries once they are older than the retention.
  const Value prune[] = {
      ToUnixMicros(clock.Now()) / 1000 -
      std::chrono::duration_cast<std::chrono::milliseconds>(impl->options.reply_retention).count()};
  ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
  ULUS_TRY(conn->Execute("DELETE FROM khur_reply WHERE at < $1", prune));
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Node::~Node() {
  Stop();
}

Status Node::Start() {
  Impl& n = *impl_;
  if (!n.options.config_file.empty() && std::filesystem::exists(n.options.config_file)) {
    std::ifstream in(n.options.config_file);
    std::stringstream text;
    text << in.rdbuf();
    if (auto installed = n.config.Install(text.str()); !installed.ok()) {
      spdlog::warn("khur node {}: the kept global configuration is not usable: {}",
                   n.options.subsystem.ToString(), installed.error().message);
    }
  }
  if (!n.options.config_url.empty()) {
    if (auto fetched = RefreshConfig(); !fetched.ok()) {
      spdlog::warn("khur node {}: no fresh global configuration yet: {}",
                   n.options.subsystem.ToString(), fetched.error().message);
    }
  }

  http::Router client_router;
  client_router.AddPrefixAsync(
      "/r1/",
      [&n](std::shared_ptr<http::Request> r, http::Responder respond) {
        n.HandleClient(std::move(r), std::move(respond));
      },
      {{"summary", "Call a service through Khur (X-Road message protocol for REST)"},
       {"x-methods", {"get", "post", "put", "patch", "delete"}},
       {"tags", {"Khur"}}});
  client_router.Add(
      http::Method::get, "/khur/api/monitoring",
      [this](http::Request& r) -> Result<http::Response> {
        int64_t since = 0;
        size_t limit = 1000;
        if (auto v = r.Query("since")) since = std::atoll(v->c_str());
        if (auto v = r.Query("limit"))
          limit = std::clamp<size_t>(std::strtoul(v->c_str(), nullptr, 10), 1, 10'000);
        json records = json::array();
        for (const auto& rec : Monitoring(since, limit)) records.push_back(ToJson(rec));
        return http::Response::Json({{"records", std::move(records)}});
      },
      {{"summary", "Operational monitoring: this node's recent exchanges with their timestamps"},
       {"tags", {"Khur"}}});
  client_router.Add(
      http::Method::get, "/khur/api/status",
      [this](http::Request&) -> Result<http::Response> {
        auto current = impl_->config.Current();
        json body = {{"subsystem", impl_->options.subsystem.ToString()},
                     {"config_valid", current.ok()}};
        if (current.ok()) {
          body["config_issued"] = FormatRfc3339((*current)->issued());
          body["config_expires"] = FormatRfc3339((*current)->expires());
        } else {
          body["config_problem"] = current.error().message;
        }
        return http::Response::Json(body);
      },
      {{"summary", "This node's subsystem and global configuration"}, {"tags", {"Khur"}}});
  http::Router provider_router;
  provider_router.AddPrefixAsync("/r1/",
                                 [&n](std::shared_ptr<http::Request> r, http::Responder respond) {
                                   n.HandleProvider(std::move(r), std::move(respond));
                                 });

  auto client_options = n.options.client_listener;
  client_options.service_name = "khur-node";
  ULUS_ASSIGN_OR_RETURN(n.client_server,
                        http::Server::Create(client_options, std::move(client_router)));
  auto provider_options = n.options.provider_listener;
  provider_options.service_name = "khur-node";
  ULUS_ASSIGN_OR_RETURN(n.provider_server,
                        http::Server::Create(provider_options, std::move(provider_router)));
  n.metrics = &n.client_server->metrics();
  ULUS_TRY(n.provider_server->Start());
  ULUS_TRY(n.client_server->Start());
  if (!n.options.config_url.empty()) {
    n.refresher = std::thread([&n] { n.RefreshLoop(); });
  }
  return Ok();
}

void Node::Stop() {
  Impl& n = *impl_;
  {
    std::lock_guard lock(n.stop_mu);
    n.stopping = true;
  }
  n.shutting_down.store(true);
  n.stop_cv.notify_all();
  if (n.refresher.joinable()) n.refresher.join();
  if (n.client_server) n.client_server->Stop(std::chrono::seconds(5));
  if (n.provider_server) n.provider_server->Stop(std::chrono::seconds(5));
}

uint16_t Node::client_port() const {
  return impl_->client_server ? impl_->client_server->port() : 0;
}
uint16_t Node::provider_port() const {
  return impl_->provider_server ? impl_->provider_server->port() : 0;
}

Status Node::InstallConfig(std::string_view jws) {
  return impl_->Install(jws);
}

Status Node::RefreshConfig() {
  return impl_->Fetch();
}

MessageLog& Node::log() {
  return *impl_->log;
}

Result<std::vector<DataUsageRecord>> Node::DataUsage(std::string_view subject, int64_t before_id,
                                                     size_t limit) {
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  const Value params[] = {std::string(subject),
                          before_id > 0 ? before_id : std::numeric_limits<int64_t>::max(),
                          static_cast<int64_t>(limit)};
  ULUS_ASSIGN_OR_RETURN(
      auto rows,
      conn->Query("SELECT id, at, subject, client, user_id, service, method, path, purpose, "
                  "x_road_id, status FROM khur_data_usage WHERE subject = $1 AND id < $2 "
                  "ORDER BY id DESC LIMIT $3",
                  params));
  std::vector<DataUsageRecord> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    DataUsageRecord r;
    r.id = row.Int(0);
    r.at = FromUnixMicros(row.Int(1) * 1000);
    r.subject = row.Text(2);
    r.client = row.Text(3);
    r.user_id = row.Text(4);
    r.service = row.Text(5);
    r.method = row.Text(6);
    r.path = row.Text(7);
    r.purpose = row.Text(8);
    r.x_road_id = row.Text(9);
    r.status = static_cast<int>(row.Int(10));
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<MonitoringRecord> Node::Monitoring(int64_t since_ms, size_t limit) const {
  std::lock_guard lock(impl_->monitoring_mu);
  std::vector<MonitoringRecord> out;
  for (auto it = impl_->monitoring.rbegin(); it != impl_->monitoring.rend() && out.size() < limit;
       ++it) {
    if (it->request_in_ms < since_ms) break;
    out.push_back(*it);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

json ToJson(const MonitoringRecord& r) {
  return {{"side", r.side},
          {"client", r.client},
          {"service", r.service},
          {"xRoadId", r.x_road_id},
          {"requestId", r.request_id},
          {"userId", r.user_id},
          {"requestInTs", r.request_in_ms},
          {"requestOutTs", r.request_out_ms},
          {"responseInTs", r.response_in_ms},
          {"responseOutTs", r.response_out_ms},
          {"requestSize", r.request_size},
          {"responseSize", r.response_size},
          {"status", r.status},
          {"succeeded", r.succeeded},
          {"faultCode", r.fault}};
}

json ToJson(const DataUsageRecord& r) {
  return {{"id", std::to_string(r.id)}, {"at", FormatRfc3339(r.at)},
          {"subject", r.subject},       {"client", r.client},
          {"userId", r.user_id},        {"service", r.service},
          {"method", r.method},         {"path", r.path},
          {"purpose", r.purpose},       {"xRoadId", r.x_road_id},
          {"status", r.status}};
}

}  // namespace ulus::exchange
