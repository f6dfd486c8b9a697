#include "ulus/exchange/protocol.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>

#include "ulus/core/id.hpp"
#include "ulus/crypto/encoding.hpp"

namespace ulus::exchange {
namespace {

// Longest X-Road-Id, X-Road-UserId, ... Khur accepts; they end up in every log record.
constexpr std::size_t kMaxHeaderValueLength = 4096;

using Sha512Digest = std::array<uint8_t, 64>;

Sha512Digest Sha512(std::string_view data) {
  Sha512Digest digest{};
  unsigned int length = 0;
  const int ok =
      EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha512(), nullptr);
  ULUS_ASSERT(ok == 1 && length == digest.size());
  return digest;
}

std::string_view AsText(const Sha512Digest& digest) {
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};  // NOLINT
}

// Standard base64 with padding (RFC 4648 §4), as the X-Road-Request-Hash examples are written.
std::string Base64(std::string_view bytes) {
  std::string out = crypto::Base64UrlEncode(crypto::AsBytes(bytes));
  std::replace(out.begin(), out.end(), '-', '+');
  std::replace(out.begin(), out.end(), '_', '/');
  while (out.size() % 4 != 0) out.push_back('=');
  return out;
}

char Lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsFiltered(std::string_view name) {
  static constexpr std::array<std::string_view, 11> kFiltered = {
      "Connection", "Keep-Alive", "TE",     "Trailer",        "Transfer-Encoding",  "Upgrade",
      "Host",       "User-Agent", "Server", "Content-Length", "X-Road-Request-Hash"};
  if (name.size() >= 6 && EqualsIgnoreCase(name.substr(0, 6), "Proxy-")) return true;
  // Khur-* headers carry what only nodes may set (signatures); a client's own never passes.
  if (name.size() >= 5 && EqualsIgnoreCase(name.substr(0, 5), "Khur-")) return true;
  return std::any_of(kFiltered.begin(), kFiltered.end(),
                     [&](std::string_view f) { return EqualsIgnoreCase(f, name); });
}

// The value of a header that may appear at most once; HTTP parameter pollution through a
// repeated X-Road header is refused (PR-REST §4.2).
Result<std::string> SingleHeader(const http::BeastRequest& message, std::string_view name) {
  const auto range = message.equal_range(boost::beast::string_view(name.data(), name.size()));
  std::string value;
  int count = 0;
  for (auto it = range.first; it != range.second; ++it) {
    ++count;
    value = std::string(Trim(std::string_view(it->value().data(), it->value().size())));
  }
  const std::string field(name);
  if (count > 1) return Error::InvalidArgument(field + " appears more than once", field);
  if (value.size() > kMaxHeaderValueLength) {
    return Error::InvalidArgument(
        field + " is longer than " + std::to_string(kMaxHeaderValueLength) + " bytes", field);
  }
  return value;
}

}  // namespace

std::string ExchangeRequest::Target() const {
  std::string target(kProtocolPrefix);
  target += service.ToString();
  target += path;
  if (!query.empty()) {
    target += '?';
    target += query;
  }
  return target;
}

HeaderList ForwardableHeaders(const HeaderList& headers) {
  // Connection may name further hop-by-hop headers (RFC 7230 §6.1).
  std::vector<std::string> named;
  for (const auto& [name, value] : headers) {
    if (!EqualsIgnoreCase(name, "Connection")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view token = Trim(rest.substr(0, comma));
      if (!token.empty()) named.emplace_back(token);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  HeaderList out;
  for (const auto& header : headers) {
    if (IsFiltered(header.first)) continue;
    if (std::any_of(named.begin(), named.end(),
                    [&](const std::string& n) { return EqualsIgnoreCase(n, header.first); })) {
      continue;
    }
    out.push_back(header);
  }
  return out;
}

Result<ExchangeRequest> ParseExchangeRequest(const http::BeastRequest& message,
                                             const Clock& clock) {
  const std::string_view target(message.target().data(), message.target().size());
  if (target.size() > kMaxTargetLength) {
    return Error::InvalidArgument(
        "the request URI is longer than " + std::to_string(kMaxTargetLength) + " characters",
        "target");
  }
  if (target.find('#') != std::string_view::npos) {
    return Error::InvalidArgument("the request URI may not contain a fragment", "target");
  }
  if (!target.starts_with(kProtocolPrefix)) {
    return Error::InvalidArgument(
        "the request must be /r1/{serviceId}[/path]: r1 is the only protocol version", "target");
  }
  ExchangeRequest request;
  request.method = std::string(message.method_string());
  const std::string_view rest = target.substr(kProtocolPrefix.size());
  const std::size_t question = rest.find('?');
  if (question != std::string_view::npos) request.query = std::string(rest.substr(question + 1));
  ULUS_ASSIGN_OR_RETURN(auto service_path, ParseServicePath(rest.substr(0, question)));
  request.service = std::move(service_path.service);
  request.path = std::move(service_path.rest_path);

  // PR-REST §4.3: with several X-Road-Client headers the last one names the client.
  std::string client;
  const auto clients =
      message.equal_range(boost::beast::string_view(kHeaderClient.data(), kHeaderClient.size()));
  for (auto it = clients.first; it != clients.second; ++it) {
    client = std::string(Trim(std::string_view(it->value().data(), it->value().size())));
  }
  ULUS_ASSIGN_OR_RETURN(request.client, ClientId::Parse(client, kHeaderClient));
  ULUS_ASSIGN_OR_RETURN(request.x_road_id, SingleHeader(message, kHeaderId));
  if (request.x_road_id.empty()) {
    request.x_road_id = NewUuidV7(clock);
    request.x_road_id_generated = true;
  }
  ULUS_ASSIGN_OR_RETURN(request.user_id, SingleHeader(message, kHeaderUserId));
  ULUS_ASSIGN_OR_RETURN(request.user_id, DecodeHeaderText(request.user_id, kHeaderUserId));
  ULUS_ASSIGN_OR_RETURN(request.issue, SingleHeader(message, kHeaderIssue));
  ULUS_ASSIGN_OR_RETURN(request.subject, SingleHeader(message, kHeaderSubject));
  ULUS_ASSIGN_OR_RETURN(request.subject, DecodeHeaderText(request.subject, kHeaderSubject));
  ULUS_ASSIGN_OR_RETURN(request.purpose, SingleHeader(message, kHeaderPurpose));
  ULUS_ASSIGN_OR_RETURN(request.purpose, DecodeHeaderText(request.purpose, kHeaderPurpose));
  ULUS_ASSIGN_OR_RETURN(request.consent, SingleHeader(message, kHeaderConsent));

  HeaderList received;
  for (const auto& field : message) {
    received.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  for (auto& header : ForwardableHeaders(received)) {
    if (EqualsIgnoreCase(header.first, kHeaderId) ||
        EqualsIgnoreCase(header.first, kHeaderClient)) {
      continue;
    }
    request.headers.push_back(std::move(header));
  }
  request.headers.emplace_back(std::string(kHeaderClient), request.client.ToString());
  request.headers.emplace_back(std::string(kHeaderId), request.x_road_id);
  request.body = message.body();
  return request;
}

std::string HashedHeaders(const ExchangeRequest& request) {
  std::string out = request.method + ' ' + request.Target() + "\r\n";
  for (const auto& [name, value] : request.headers) {
    std::transform(name.begin(), name.end(), std::back_inserter(out), Lower);
    out += ": ";
    out += value;
    out += "\r\n";
  }
  return out;
}

std::string RequestHash(std::string_view headers, std::string_view body) {
  const Sha512Digest header_digest = Sha512(headers);
  if (body.empty()) return Base64(AsText(header_digest));
  std::string both(AsText(header_digest));
  both += AsText(Sha512(body));
  return Base64(AsText(Sha512(both)));
}

std::string RequestHash(const ExchangeRequest& request) {
  return RequestHash(HashedHeaders(request), request.body);
}

void SetXRoadResponseHeaders(http::Response& response, const ExchangeRequest& request,
                             std::string_view request_id, std::string_view request_hash) {
  const std::array<std::pair<std::string_view, std::string>, 5> ours = {{
      {kHeaderClient, request.client.ToString()},
      {kHeaderService, request.service.ToString()},
      {kHeaderId, request.x_road_id},
      {kHeaderRequestId, std::string(request_id)},
      {kHeaderRequestHash, std::string(request_hash)},
  }};
  std::erase_if(response.headers, [&](const auto& header) {
    return std::any_of(ours.begin(), ours.end(),
                       [&](const auto& o) { return EqualsIgnoreCase(o.first, header.first); });
  });
  for (const auto& [name, value] : ours) response.headers.emplace_back(std::string(name), value);
}

std::string_view XRoadErrorTypeName(XRoadErrorType type) {
  switch (type) {
    case XRoadErrorType::kClientBadRequest: return "Client.BadRequest";
    case XRoadErrorType::kClientInvalidClientIdentifier: return "Client.InvalidClientIdentifier";
    case XRoadErrorType::kClientProxyNetworkError: return "Server.ClientProxy.NetworkError";
    case XRoadErrorType::kClientProxyOutdatedGlobalConf:
      return "Server.ClientProxy.OutdatedGlobalConf";
    case XRoadErrorType::kClientProxySslAuthenticationFailed:
      return "Server.ClientProxy.SslAuthenticationFailed";
    case XRoadErrorType::kClientProxyUnknownMember: return "Server.ClientProxy.UnknownMember";
    case XRoadErrorType::kClientProxyInvalidSignatureValue:
      return "Server.ClientProxy.InvalidSignatureValue";
    case XRoadErrorType::kClientProxyDatabaseError: return "Server.ClientProxy.DatabaseError";
    case XRoadErrorType::kClientProxyInternalError: return "Server.ClientProxy.InternalError";
    case XRoadErrorType::kServerProxyAccessDenied: return "Server.ServerProxy.AccessDenied";
    case XRoadErrorType::kServerProxyUnknownService: return "Server.ServerProxy.UnknownService";
    case XRoadErrorType::kServerProxyServiceFailed: return "Server.ServerProxy.ServiceFailed";
    case XRoadErrorType::kServerProxyNetworkError: return "Server.ServerProxy.NetworkError";
    case XRoadErrorType::kServerProxyOutdatedGlobalConf:
      return "Server.ServerProxy.OutdatedGlobalConf";
    case XRoadErrorType::kServerProxySslAuthenticationFailed:
      return "Server.ServerProxy.SslAuthenticationFailed";
    case XRoadErrorType::kServerProxyInvalidSignatureValue:
      return "Server.ServerProxy.InvalidSignatureValue";
    case XRoadErrorType::kServerProxyDatabaseError: return "Server.ServerProxy.DatabaseError";
    case XRoadErrorType::kServerProxyInternalError: return "Server.ServerProxy.InternalError";
  }
  return "Server.ClientProxy.InternalError";
}

http::Status XRoadErrorStatus(XRoadErrorType type) {
  // PR-REST §4.6: a request that breaks the protocol is 400, every other X-Road error 500.
  switch (type) {
    case XRoadErrorType::kClientBadRequest:
    case XRoadErrorType::kClientInvalidClientIdentifier: return http::Status::bad_request;
    default: return http::Status::internal_server_error;
  }
}

XRoadError ToXRoadError(const Error& error, std::string detail) {
  const bool client = error.field.starts_with(kHeaderClient);
  return {
      client ? XRoadErrorType::kClientInvalidClientIdentifier : XRoadErrorType::kClientBadRequest,
      error.message, std::move(detail)};
}

http::Response RenderXRoadError(const XRoadError& error) {
  const std::string_view type = XRoadErrorTypeName(error.type);
  const nlohmann::json body = {
      {"type", type}, {"message", error.message}, {"detail", error.detail}};
  http::Response response = http::Response::Json(body, XRoadErrorStatus(error.type));
  response.content_type = "application/json;charset=utf-8";
  response.headers.emplace_back(std::string(kHeaderError), std::string(type));
  return response;
}

}  // namespace ulus::exchange
