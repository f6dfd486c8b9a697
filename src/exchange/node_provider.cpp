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

void Node::Impl::SignAndLog(std::shared_ptr<ProviderCall> call, http::Response response,
                            bool store_reply, std::string usage_subject, ReplyDone done) {
  HeaderList signed_headers;
  signed_headers.emplace_back("content-type", response.content_type);
  for (const auto& h : response.headers) signed_headers.push_back(h);
  const std::string names = node::SignedNames(signed_headers);
  const auto digest =
      node::ResponseDigest(static_cast<int>(response.status), call->request_hash,
                           node::CollectSigned(signed_headers, names), response.body);
  auto reply = std::make_shared<Reply>();
  if (call->req) reply->fingerprint = RequestFingerprint(*call->req);
  reply->status = static_cast<int>(response.status);
  reply->content_type = response.content_type;
  reply->body = std::move(response.body);
  reply->headers = std::move(response.headers);
  provider_signer.SignAsync(
      digest, provider_server->executor(),
      [this, call, reply, digest, names, store_reply, usage_subject = std::move(usage_subject),
       done = std::move(done)](Result<BatchSignature> signature) mutable {
        if (!signature.ok()) {
          auto failed = RenderXRoadError({XRoadErrorType::kServerProxyInternalError,
                                          "the answer could not be signed", NewUuidV7(clock)});
          return done({reply->fingerprint, static_cast<int>(failed.status), failed.content_type,
                       failed.headers, failed.body});
        }
        const std::string stored_headers =
            HeadersToJson(reply->headers).dump(-1, ' ', false, json::error_handler_t::replace);
        const std::string response_signature = SerializeBatchSignature(*signature);
        reply->headers.emplace_back(std::string(kHeaderSignature), response_signature);
        reply->headers.emplace_back(std::string(kHeaderSignedHeaders), names);
        // A request the node could not read or authenticate is answered signed but not
        // logged: there is no exchange to log.
        if (!call->authentic) return done(std::move(*reply));

        const ExchangeRequest& req = *call->req;
        const std::string client = req.client.ToString();
        const std::string service = req.service.ToString();
        const int64_t at_ms = UnixMs(clock);
        auto also = [this, call, reply, at_ms, client, service, stored_headers, store_reply,
                     usage_subject](store::Connection& conn) -> Status {
          const ExchangeRequest& r = *call->req;
          if (store_reply) {
            const Value params[] = {
                client,
                r.x_road_id,
                at_ms,
                reply->fingerprint,
                static_cast<int64_t>(reply->status),
                reply->content_type,
                stored_headers,
                store::Blob{std::vector<uint8_t>(reply->body.begin(), reply->body.end())}};
            ULUS_TRY(
                conn.Execute("INSERT INTO khur_reply (client, x_road_id, at, fingerprint, status, "
                             "content_type, headers, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                             params));
          }
          if (!usage_subject.empty()) {
            const Value params[] = {at_ms,
                                    usage_subject,
                                    client,
                                    r.user_id,
                                    service,
                                    r.method,
                                    r.path + (r.query.empty() ? "" : "?" + r.query),
                                    r.purpose,
                                    r.x_road_id,
                                    static_cast<int64_t>(reply->status)};
            ULUS_TRY(conn.Execute(
                "INSERT INTO khur_data_usage (at, subject, client, user_id, service, method, "
                "path, purpose, x_road_id, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                "$10)",
                params));
          }
          return Ok();
        };
        LogExchange(
            provider_server->executor(), req, call->request_hash, call->request_signature, digest,
            response_signature, std::move(also),
            [this, call, reply, done = std::move(done)](Status logged) {
              if (logged.ok()) return done(std::move(*reply));
              // Nothing may be released that is not logged.
              spdlog::error("khur: the message log could not be written: {}",
                            logged.error().message);
              auto failed =
                  RenderXRoadError({XRoadErrorType::kServerProxyDatabaseError,
                                    "the message log could not be written", NewUuidV7(clock)});
              call->m.fault =
                  std::string(XRoadErrorTypeName(XRoadErrorType::kServerProxyDatabaseError));
              done({reply->fingerprint, static_cast<int>(failed.status), failed.content_type,
                    failed.headers, failed.body});
            });
      });
}

void Node::Impl::ErrorReply(std::shared_ptr<ProviderCall> call, XRoadErrorType type,
                            std::string message, ReplyDone done) {
  XRoadError error{type, std::move(message), NewUuidV7(clock)};
  spdlog::info("khur provider side: {} {} ({})", XRoadErrorTypeName(type), error.message,
               error.detail);
  call->m.fault = std::string(XRoadErrorTypeName(type));
  SignAndLog(std::move(call), RenderXRoadError(error), false, "", std::move(done));
}

void Node::Impl::Answer(ProviderCall& call, const Reply& reply, bool exchange_headers) {
  MonitoringRecord& m = call.m;
  m.status = reply.status;
  m.succeeded = m.fault.empty();
  m.response_size = reply.body.size();
  m.response_out_ms = UnixMs(clock);
  if (m.request_out_ms == 0) m.request_out_ms = m.request_in_ms;
  if (m.response_in_ms == 0) m.response_in_ms = m.response_out_ms;
  Record(m);
  http::Response response = ToResponse(reply);
  if (exchange_headers) {
    SetXRoadResponseHeaders(response, *call.req, NewUuidV7(clock), call.request_hash);
  }
  call.respond(std::move(response));
}

void Node::Impl::Refuse(std::shared_ptr<ProviderCall> call, XRoadErrorType type,
                        std::string message) {
  ErrorReply(call, type, std::move(message),
             [this, call](Reply reply) { Answer(*call, reply, false); });
}

// Calls the backend for an admitted request; `done` gets its answer signed and logged.
void Node::Impl::Serve(std::shared_ptr<ProviderCall> call, ReplyDone done) {
  const ExchangeRequest& req = *call->req;
  const auto backend = options.service_backends.find(req.service.service_code);
  if (backend == options.service_backends.end()) {
    return ErrorReply(call, XRoadErrorType::kServerProxyUnknownService,
                      "this node does not serve " + req.service.ToString(), std::move(done));
  }
  const bool local = backend->second.starts_with("local:") && options.local_backend;
  const auto [origin, prefix] =
      local ? std::pair<std::string, std::string>("local", backend->second.substr(6))
            : SplitBase(backend->second);
  HeaderList headers = req.headers;
  // The GovStack name of the authenticated caller, for registries behind the node.
  headers.emplace_back("Information-Mediator-Client", req.client.ToString());
  for (const auto& h : options.backend_headers) headers.push_back(h);
  std::string target = prefix + req.path;
  if (!req.query.empty()) target += "?" + req.query;
  call->m.request_out_ms = UnixMs(clock);
  if (local) {
    // An in-process registry answers from its store at once: called on this thread.
    Result<http::ClientResponse> sent = Error::Internal("the service failed");
    try {
      sent = options.local_backend(boost::beast::http::string_to_verb(req.method), target, req.body,
                                   headers);
    } catch (const std::exception& e) {
      spdlog::error("khur: the in-process service {} threw: {}", req.service.ToString(), e.what());
    }
    return OnBackendAnswer(std::move(call), std::move(sent), std::move(done));
  }
  http::ClientOptions copts;
  copts.connect_timeout = options.connect_timeout;
  copts.request_timeout = options.backend_timeout;
  auto client = ClientFor("backend " + origin, provider_server->executor(), origin, copts);
  if (!client.ok()) return OnBackendAnswer(std::move(call), client.error(), std::move(done));
  (*client)->Send(boost::beast::http::string_to_verb(req.method), std::move(target), req.body,
                  std::move(headers),
                  [this, call, done = std::move(done)](Result<http::ClientResponse> sent) mutable {
                    OnBackendAnswer(std::move(call), std::move(sent), std::move(done));
                  });
}

void Node::Impl::OnBackendAnswer(std::shared_ptr<ProviderCall> call,
                                 Result<http::ClientResponse> sent, ReplyDone done) {
  const ExchangeRequest& req = *call->req;
  call->m.response_in_ms = UnixMs(clock);
  if (!sent.ok()) {
    return ErrorReply(
        call, XRoadErrorType::kServerProxyServiceFailed,
        "the service " + req.service.ToString() + " did not answer: " + sent.error().message,
        std::move(done));
  }
  http::Response response;
  response.status = sent->status;
  response.content_type = std::string(sent->Header("Content-Type"));
  response.body = std::move(sent->body);
  for (auto& [name, value] : sent->headers) {
    if (node::IsPassedResponseHeader(name)) response.headers.emplace_back(name, value);
  }
  const bool safe = IsRead(req);
  SignAndLog(std::move(call), std::move(response), !safe, req.subject, std::move(done));
}

// A retry of an X-Road-Id already answered: that answer again, signed afresh for this request's
// hash, and logged (the retry is a message too).
void Node::Impl::AnswerAgain(std::shared_ptr<ProviderCall> call, const Reply& previous) {
  if (previous.fingerprint != RequestFingerprint(*call->req)) {
    return Refuse(call, XRoadErrorType::kClientBadRequest,
                  "X-Road-Id " + call->req->x_road_id + " was used for another request");
  }
  if (metrics != nullptr) {
    metrics
        ->GetCounter("khur_retries_answered_total",
                     "Requests answered from an earlier answer with the same X-Road-Id.")
        .Add();
  }
  call->m.request_out_ms = call->m.response_in_ms = UnixMs(clock);
  SignAndLog(call, ToResponse(previous), false, "",
             [this, call](Reply again) { Answer(*call, again, true); });
}

// The provider side: another node's signed request over mutual TLS. The checks run on the I/O
// thread that read it; signing, the backend and the log continue in callbacks.
void Node::Impl::HandleProvider(std::shared_ptr<http::Request> request, http::Responder respond) {
  auto call = std::make_shared<ProviderCall>();
  call->respond = std::move(respond);
  MonitoringRecord& m = call->m;
  m.side = "provider";
  m.request_in_ms = UnixMs(clock);
  m.request_size = request->body().size();
  auto parsed = ParseExchangeRequest(request->message(), clock);
  if (!parsed.ok()) {
    const auto error = ToXRoadError(parsed.error(), NewUuidV7(clock));
    return Refuse(call, error.type, error.message);
  }
  call->req = std::move(parsed).value();
  const ExchangeRequest& req = *call->req;
  m.client = req.client.ToString();
  m.service = req.service.ToString();
  m.x_road_id = req.x_road_id;
  m.user_id = req.user_id;
  call->request_hash = RequestHash(req);
  call->request_signature = std::string(request->Header(kHeaderSignature));
  const std::string peer_sha256 = request->peer() != nullptr ? request->peer()->sha256 : "";
  const bool has_peer = request->peer() != nullptr;
  request.reset();
  auto current = config.Current();
  if (!current.ok()) {
    return Refuse(call, XRoadErrorType::kServerProxyOutdatedGlobalConf, current.error().message);
  }
  const GlobalConfig& conf = **current;
  if (!has_peer || !conf.NodePresents(req.client, peer_sha256)) {
    return Refuse(call, XRoadErrorType::kServerProxySslAuthenticationFailed,
                  "the calling node's certificate is not registered for " + req.client.ToString());
  }
  if (auto ok = VerifyBatch(node::RequestDigest(call->request_hash), call->request_signature, conf,
                            req.client);
      !ok.ok()) {
    return Refuse(call, XRoadErrorType::kServerProxyInvalidSignatureValue,
                  "the request does not carry a valid signature of " + req.client.ToString() +
                      ": " + ok.error().message);
  }
  // From here on the request is authentic: it is logged with its signature, even when refused.
  call->authentic = true;
  if (req.service.client != options.subsystem || conf.FindService(req.service) == nullptr) {
    return Refuse(call, XRoadErrorType::kServerProxyUnknownService,
                  "unknown service " + req.service.ToString());
  }
  const ServiceEntry& service = *conf.FindService(req.service);
  const bool safe = IsRead(req);
  if (!(safe ? conf.MayCall(req.client, req.service) : conf.MayWrite(req.client, req.service))) {
    return Refuse(call, XRoadErrorType::kServerProxyAccessDenied,
                  req.client.ToString() + " may not " + (safe ? "read" : "write") + " " +
                      req.service.ToString());
  }
  if (service.subject_required && req.subject.empty()) {
    return Refuse(call, XRoadErrorType::kClientBadRequest,
                  req.service.ToString() +
                      " holds personal data: name whom the request is about in Ulus-Subject and "
                      "why in Ulus-Purpose");
  }
  if (!req.subject.empty() && req.purpose.empty()) {
    return Refuse(call, XRoadErrorType::kClientBadRequest,
                  "a request about a person must say why in Ulus-Purpose");
  }
  if (service.consent_required) {
    if (req.consent.empty()) {
      return Refuse(call, XRoadErrorType::kServerProxyAccessDenied,
                    req.service.ToString() +
                        " needs the person's consent: send Dan's consent token in Ulus-Consent");
    }
    Status consented = options.consent
                           ? options.consent(req.consent, req.subject, req.purpose, req.client)
                           : Status(Error::PermissionDenied("this node cannot check consent"));
    if (!consented.ok()) {
      return Refuse(call, XRoadErrorType::kServerProxyAccessDenied,
                    "the consent does not allow this request: " + consented.error().message);
    }
  }

  // A retry of an X-Road-Id already answered gets that answer again; one still being answered
  // waits for it.
  call->key = m.client + " " + req.x_road_id;
  if (auto previous = FindReply(call->key, safe, req)) return AnswerAgain(call, *previous);
  {
    std::lock_guard lock(replies_mu);
    auto it = pending.find(call->key);
    if (it != pending.end()) {
      it->second->waiters.push_back(
          [this, call](const Reply& previous) { AnswerAgain(call, previous); });
      return;
    }
    pending.emplace(call->key, std::make_shared<Pending>());
  }
  // The first request with this id may have finished between the look-up above and the claim:
  // its answer is kept (durably for a write, in memory for a read) before its claim goes, so a
  // second look-up finds it, and the backend is not called twice.
  if (auto previous = FindReply(call->key, safe, req)) {
    ReleaseWaiters(call->key, *previous);
    return AnswerAgain(call, *previous);
  }
  // Whatever becomes of the answer, the retries waiting for it are released: should the chain of
  // callbacks end without one (an exception swallowed on the way), they get ServiceFailed when
  // the last copy of this guard goes.
  auto release = std::shared_ptr<ReleaseRetries>(
      new ReleaseRetries{this, call->key, RequestFingerprint(req)},  // NOLINT: owned by the deleter
      [](ReleaseRetries* r) {
        // Not once the node is stopping: the waiters' answers would need the signer, which
        // may be gone; their connections close instead.
        if (!r->released && !r->node->shutting_down.load()) {
          r->node->ReleaseWaiters(r->key, r->node->LostReply(r->fingerprint));
        }
        delete r;  // NOLINT(cppcoreguidelines-owning-memory)
      });
  Serve(call, [this, call, safe, release](Reply reply) {
    const Reply kept = Unsigned(reply);
    if (safe && reply.status < 500) RememberReply(call->key, kept);
    release->released = true;
    Answer(*call, reply, true);
    ReleaseWaiters(call->key, kept);
  });
}

Reply Node::Impl::LostReply(const std::string& fingerprint) {
  auto failed = RenderXRoadError({XRoadErrorType::kServerProxyServiceFailed,
                                  "the first request with this X-Road-Id was not answered",
                                  NewUuidV7(clock)});
  return {fingerprint, static_cast<int>(failed.status), failed.content_type, failed.headers,
          failed.body};
}

void Node::Impl::ReleaseWaiters(const std::string& key, const Reply& reply) {
  std::shared_ptr<Pending> mine;
  {
    std::lock_guard lock(replies_mu);
    auto it = pending.find(key);
    if (it == pending.end()) return;
    mine = std::move(it->second);
    pending.erase(it);
  }
  for (auto& waiter : mine->waiters) waiter(reply);
}

}  // namespace ulus::exchange
