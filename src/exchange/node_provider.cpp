#include <nlohmann/json.hpp>

#include "node_impl.hpp"

// The provider side of a node: another node's signed request over mutual TLS, checked, answered
// once per X-Road-Id, signed and logged.

namespace ulus::exchange {

using namespace node;  // NOLINT(google-build-using-namespace): the room's own helpers
using store::Value;

std::optional<Reply> Node::Impl::FindReply(const std::string& key, bool safe,
                                           const ExchangeRequest& req) {
  {
    std::lock_guard lock(replies_mu);
    if (auto it = recent_index.find(key); it != recent_index.end())
      return it->second->second.second;
  }
  if (safe) return std::nullopt;
  auto conn = db.Acquire();
  if (!conn.ok()) return std::nullopt;
  const Value params[] = {req.client.ToString(), req.x_road_id};
  auto rows = (*conn)->Query(
      "SELECT fingerprint, status, content_type, headers, body FROM khur_reply "
      "WHERE client = $1 AND x_road_id = $2",
      params);
  if (!rows.ok() || rows->empty()) return std::nullopt;
  const auto& row = rows->front();
  Reply reply;
  reply.fingerprint = row.Text(0);
  reply.status = static_cast<int>(row.Int(1));
  reply.content_type = row.Text(2);
  reply.headers = HeadersFromJson(row.Text(3));
  const auto& body = row.Bytes(4);
  reply.body.assign(body.bytes.begin(), body.bytes.end());
  return reply;
}

void Node::Impl::RememberReply(const std::string& key, const Reply& reply) {
  std::lock_guard lock(replies_mu);
  if (recent_index.contains(key)) return;
  recent.emplace_front(key, std::make_pair(UnixMs(clock), reply));
  recent_index[key] = recent.begin();
  const int64_t oldest = UnixMs(clock) - 15 * 60 * 1000;
  while (!recent.empty() &&
         (recent.size() > kRecentCapacity || recent.back().second.first < oldest)) {
    recent_index.erase(recent.back().first);
    recent.pop_back();
  }
}

// Signs the answer, logs request and answer (and the reply and data-usage rows) in one commit,
// and returns it with its signature headers. Without a parsed request (a request the node could
// not read) the answer is signed but not logged: there is no exchange to log.
Reply Node::Impl::SignAndLog(const ExchangeRequest* req, const std::string& request_hash,
                             const std::string& request_signature, http::Response response,
                             bool store_reply, const std::string& usage_subject,
                             MonitoringRecord& m) {
  HeaderList signed_headers;
  signed_headers.emplace_back("content-type", response.content_type);
  for (const auto& h : response.headers) signed_headers.push_back(h);
  const std::string names = node::SignedNames(signed_headers);
  const auto digest =
      node::ResponseDigest(static_cast<int>(response.status), request_hash,
                           node::CollectSigned(signed_headers, names), response.body);
  Reply reply;
  if (req != nullptr) reply.fingerprint = RequestFingerprint(*req);
  reply.status = static_cast<int>(response.status);
  reply.content_type = response.content_type;
  reply.body = std::move(response.body);
  reply.headers = std::move(response.headers);
  auto signature = batch_signer.Sign(digest);
  if (!signature.ok()) {
    auto failed = RenderXRoadError({XRoadErrorType::kServerProxyInternalError,
                                    "the answer could not be signed", NewUuidV7(clock)});
    return {reply.fingerprint, static_cast<int>(failed.status), failed.content_type, failed.headers,
            failed.body};
  }
  const std::string stored_headers = HeadersToJson(reply.headers).dump();
  const std::string response_signature = SerializeBatchSignature(*signature);
  reply.headers.emplace_back(std::string(kHeaderSignature), response_signature);
  reply.headers.emplace_back(std::string(kHeaderSignedHeaders), names);
  if (req == nullptr) return reply;

  std::vector<LogEntry> entries(2);
  const std::string client = req->client.ToString();
  const std::string service = req->service.ToString();
  entries[0] = {
      MessageKind::kRequest, req->x_road_id, client,       service,
      req->user_id,          req->subject,   req->purpose, node::RequestDigest(request_hash),
      request_signature};
  entries[1] = {MessageKind::kResponse, req->x_road_id, client, service,           req->user_id,
                req->subject,           req->purpose,   digest, response_signature};
  const int64_t at_ms = UnixMs(clock);
  auto logged = log->Append(std::move(entries), [&](store::Connection& conn) -> Status {
    if (store_reply) {
      const Value params[] = {
          client,
          req->x_road_id,
          at_ms,
          reply.fingerprint,
          static_cast<int64_t>(reply.status),
          reply.content_type,
          stored_headers,
          store::Blob{std::vector<uint8_t>(reply.body.begin(), reply.body.end())}};
      ULUS_TRY(conn.Execute(
          "INSERT INTO khur_reply (client, x_road_id, at, fingerprint, status, content_type, "
          "headers, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
          params));
    }
    if (!usage_subject.empty()) {
      const Value params[] = {at_ms,
                              usage_subject,
                              client,
                              req->user_id,
                              service,
                              req->method,
                              req->path + (req->query.empty() ? "" : "?" + req->query),
                              req->purpose,
                              req->x_road_id,
                              static_cast<int64_t>(reply.status)};
      ULUS_TRY(conn.Execute(
          "INSERT INTO khur_data_usage (at, subject, client, user_id, service, method, path, "
          "purpose, x_road_id, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
          params));
    }
    return Ok();
  });
  if (!logged.ok()) {
    // Nothing may be released that is not logged.
    spdlog::error("khur: the message log could not be written: {}", logged.error().message);
    auto failed = RenderXRoadError({XRoadErrorType::kServerProxyDatabaseError,
                                    "the message log could not be written", NewUuidV7(clock)});
    m.fault = std::string(XRoadErrorTypeName(XRoadErrorType::kServerProxyDatabaseError));
    return {reply.fingerprint, static_cast<int>(failed.status), failed.content_type, failed.headers,
            failed.body};
  }
  return reply;
}

Result<http::Response> Node::Impl::ProviderError(const ExchangeRequest* req,
                                                 const std::string& request_hash,
                                                 const std::string& request_signature,
                                                 MonitoringRecord& m, XRoadErrorType type,
                                                 std::string message) {
  XRoadError error{type, std::move(message), NewUuidV7(clock)};
  spdlog::info("khur provider side: {} {} ({})", XRoadErrorTypeName(type), error.message,
               error.detail);
  m.fault = std::string(XRoadErrorTypeName(type));
  auto reply =
      SignAndLog(req, request_hash, request_signature, RenderXRoadError(error), false, "", m);
  m.status = reply.status;
  m.response_size = reply.body.size();
  m.response_out_ms = UnixMs(clock);
  if (m.request_out_ms == 0) m.request_out_ms = m.request_in_ms;
  if (m.response_in_ms == 0) m.response_in_ms = m.response_out_ms;
  Record(m);
  return ToResponse(reply);
}

// Calls the backend for an admitted request and signs and logs its answer.
Reply Node::Impl::Serve(const ExchangeRequest& req, MonitoringRecord& m,
                        const std::string& request_hash, const std::string& request_signature) {
  const bool safe = IsRead(req);
  const auto backend = options.service_backends.find(req.service.service_code);
  if (backend == options.service_backends.end()) {
    auto r = ProviderError(&req, request_hash, request_signature, m,
                           XRoadErrorType::kServerProxyUnknownService,
                           "this node does not serve " + req.service.ToString());
    return {RequestFingerprint(req), static_cast<int>(r->status), r->content_type, r->headers,
            r->body};
  }
  const bool local = backend->second.starts_with("local:") && options.local_backend;
  const auto [origin, prefix] =
      local ? std::pair<std::string, std::string>("local", backend->second.substr(6))
            : SplitBase(backend->second);
  http::ClientOptions copts;
  copts.connect_timeout = options.connect_timeout;
  copts.request_timeout = options.backend_timeout;
  const std::string cache_key = node_key + " backend " + origin;
  HeaderList headers = req.headers;
  // The GovStack name of the authenticated caller, for registries behind the node.
  headers.emplace_back("Information-Mediator-Client", req.client.ToString());
  for (const auto& h : options.backend_headers) headers.push_back(h);
  std::string target = prefix + req.path;
  if (!req.query.empty()) target += "?" + req.query;
  m.request_out_ms = UnixMs(clock);
  Result<http::ClientResponse> sent = Error::Internal("no backend");
  if (local) {
    sent = options.local_backend(boost::beast::http::string_to_verb(req.method), target, req.body,
                                 headers);
  } else {
    auto client = clients.Get(cache_key, origin, copts);
    sent = client.ok() ? (*client)->Send(boost::beast::http::string_to_verb(req.method), target,
                                         req.body, headers)
                       : Result<http::ClientResponse>(client.error());
  }
  m.response_in_ms = UnixMs(clock);
  if (!sent.ok()) {
    clients.Drop(cache_key);
    auto r = ProviderError(
        &req, request_hash, request_signature, m, XRoadErrorType::kServerProxyServiceFailed,
        "the service " + req.service.ToString() + " did not answer: " + sent.error().message);
    return {RequestFingerprint(req), static_cast<int>(r->status), r->content_type, r->headers,
            r->body};
  }
  http::Response response;
  response.status = sent->status;
  response.content_type = std::string(sent->Header("Content-Type"));
  response.body = std::move(sent->body);
  for (auto& [name, value] : sent->headers) {
    if (node::IsPassedResponseHeader(name)) response.headers.emplace_back(name, value);
  }
  Reply reply =
      SignAndLog(&req, request_hash, request_signature, std::move(response), !safe, req.subject, m);
  m.status = reply.status;
  m.succeeded = m.fault.empty();
  m.response_size = reply.body.size();
  m.response_out_ms = UnixMs(clock);
  Record(m);
  return reply;
}

// The provider side: another node's signed request over mutual TLS.
Result<http::Response> Node::Impl::HandleProvider(http::Request& request) {
  MonitoringRecord m;
  m.side = "provider";
  m.request_in_ms = UnixMs(clock);
  m.request_size = request.body().size();
  const http::PeerCertificate* peer = request.peer();
  auto parsed = ParseExchangeRequest(request.message(), clock);
  if (!parsed.ok()) {
    const auto error = ToXRoadError(parsed.error(), NewUuidV7(clock));
    return ProviderError(nullptr, "", "", m, error.type, error.message);
  }
  const ExchangeRequest& req = *parsed;
  m.client = req.client.ToString();
  m.service = req.service.ToString();
  m.x_road_id = req.x_road_id;
  m.user_id = req.user_id;
  const std::string request_hash = RequestHash(req);
  const std::string request_signature(request.Header(kHeaderSignature));
  auto current = config.Current();
  if (!current.ok()) {
    return ProviderError(nullptr, request_hash, "", m,
                         XRoadErrorType::kServerProxyOutdatedGlobalConf, current.error().message);
  }
  const GlobalConfig& conf = **current;
  if (peer == nullptr || !conf.NodePresents(req.client, peer->sha256)) {
    return ProviderError(
        nullptr, request_hash, "", m, XRoadErrorType::kServerProxySslAuthenticationFailed,
        "the calling node's certificate is not registered for " + req.client.ToString());
  }
  if (auto ok = VerifyBatch(node::RequestDigest(request_hash), request_signature, conf, req.client);
      !ok.ok()) {
    return ProviderError(nullptr, request_hash, "", m,
                         XRoadErrorType::kServerProxyInvalidSignatureValue,
                         "the request does not carry a valid signature of " +
                             req.client.ToString() + ": " + ok.error().message);
  }
  // From here on the request is authentic: it is logged with its signature, even when refused.
  if (req.service.client != options.subsystem || conf.FindService(req.service) == nullptr) {
    return ProviderError(&req, request_hash, request_signature, m,
                         XRoadErrorType::kServerProxyUnknownService,
                         "unknown service " + req.service.ToString());
  }
  const ServiceEntry& service = *conf.FindService(req.service);
  const bool safe = IsRead(req);
  if (!(safe ? conf.MayCall(req.client, req.service) : conf.MayWrite(req.client, req.service))) {
    return ProviderError(&req, request_hash, request_signature, m,
                         XRoadErrorType::kServerProxyAccessDenied,
                         req.client.ToString() + " may not " + (safe ? "read" : "write") + " " +
                             req.service.ToString());
  }
  if (service.subject_required && req.subject.empty()) {
    return ProviderError(&req, request_hash, request_signature, m,
                         XRoadErrorType::kClientBadRequest,
                         req.service.ToString() +
                             " holds personal data: name whom the request "
                             "is about in Ulus-Subject and why in "
                             "Ulus-Purpose");
  }
  if (!req.subject.empty() && req.purpose.empty()) {
    return ProviderError(&req, request_hash, request_signature, m,
                         XRoadErrorType::kClientBadRequest,
                         "a request about a person must say why in Ulus-Purpose");
  }
  if (service.consent_required) {
    if (req.consent.empty()) {
      return ProviderError(&req, request_hash, request_signature, m,
                           XRoadErrorType::kServerProxyAccessDenied,
                           req.service.ToString() +
                               " needs the person's consent: send Dan's "
                               "consent token in Ulus-Consent");
    }
    Status consented = options.consent
                           ? options.consent(req.consent, req.subject, req.purpose, req.client)
                           : Status(Error::PermissionDenied("this node cannot check consent"));
    if (!consented.ok()) {
      return ProviderError(&req, request_hash, request_signature, m,
                           XRoadErrorType::kServerProxyAccessDenied,
                           "the consent does not allow this request: " + consented.error().message);
    }
  }

  // A retry of an X-Road-Id already answered (or being answered) gets that answer again.
  const std::string key = m.client + " " + req.x_road_id;
  std::shared_ptr<Pending> mine;
  std::shared_ptr<Pending> theirs;
  std::optional<Reply> previous;
  {
    previous = FindReply(key, safe, req);
    if (!previous) {
      std::lock_guard lock(replies_mu);
      auto it = pending.find(key);
      if (it != pending.end()) {
        theirs = it->second;
      } else {
        mine = std::make_shared<Pending>();
        pending.emplace(key, mine);
      }
    }
  }
  if (theirs) {
    if (theirs->future.wait_for(options.provider_timeout) != std::future_status::ready) {
      return ProviderError(&req, request_hash, request_signature, m,
                           XRoadErrorType::kServerProxyServiceFailed,
                           "an earlier request with this X-Road-Id is still being answered");
    }
    previous = theirs->future.get();
  }
  if (previous) {
    if (previous->fingerprint != RequestFingerprint(req)) {
      return ProviderError(&req, request_hash, request_signature, m,
                           XRoadErrorType::kClientBadRequest,
                           "X-Road-Id " + req.x_road_id + " was used for another request");
    }
    if (metrics != nullptr) {
      metrics
          ->GetCounter("khur_retries_answered_total",
                       "Requests answered from an earlier answer with the same X-Road-Id.")
          .Add();
    }
    // Signed afresh for this request's hash, and logged: the retry is a message too.
    m.request_out_ms = m.response_in_ms = UnixMs(clock);
    Reply again =
        SignAndLog(&req, request_hash, request_signature, ToResponse(*previous), false, "", m);
    m.status = again.status;
    m.succeeded = m.fault.empty();
    m.response_size = again.body.size();
    m.response_out_ms = UnixMs(clock);
    Record(m);
    http::Response response = ToResponse(again);
    SetXRoadResponseHeaders(response, req, NewUuidV7(clock), request_hash);
    return response;
  }

  Reply reply = Serve(req, m, request_hash, request_signature);
  if (safe && reply.status < 500) RememberReply(key, Unsigned(reply));
  {
    std::lock_guard lock(replies_mu);
    pending.erase(key);
  }
  mine->promise.set_value(Unsigned(reply));
  http::Response response = ToResponse(reply);
  std::string request_id = NewUuidV7(clock);
  SetXRoadResponseHeaders(response, req, request_id, request_hash);
  return response;
}

}  // namespace ulus::exchange
