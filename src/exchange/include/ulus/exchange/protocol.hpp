#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/exchange/identifiers.hpp"
#include "ulus/http/message.hpp"

namespace ulus::exchange {

// The X-Road message protocol for REST (PR-REST), client interface:
//   {METHOD} /r1/{serviceId}[/path][?query]   with   X-Road-Client: {client}
inline constexpr std::string_view kProtocolPrefix = "/r1/";
// PR-REST §4.2 lets a security server cap the request URI; clients stop near 2000 characters.
inline constexpr std::size_t kMaxTargetLength = 4096;

inline constexpr std::string_view kHeaderClient = "X-Road-Client";
inline constexpr std::string_view kHeaderService = "X-Road-Service";
inline constexpr std::string_view kHeaderId = "X-Road-Id";
inline constexpr std::string_view kHeaderUserId = "X-Road-UserId";
inline constexpr std::string_view kHeaderIssue = "X-Road-Issue";
inline constexpr std::string_view kHeaderRequestId = "X-Road-Request-Id";
inline constexpr std::string_view kHeaderRequestHash = "X-Road-Request-Hash";
inline constexpr std::string_view kHeaderError = "X-Road-Error";
// Ulus's extensions: whom the data is about, why, and Dan's consent token.
inline constexpr std::string_view kHeaderSubject = "Ulus-Subject";
inline constexpr std::string_view kHeaderPurpose = "Ulus-Purpose";
inline constexpr std::string_view kHeaderConsent = "Ulus-Consent";

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// A client's request to a service, as the client-side node read it. A plain value.
struct ExchangeRequest {
  std::string method;  // "GET", "POST", ... as sent
  ServiceId service;
  std::string path;   // percent-encoded rest path after the service code: "" or "/v1/x"
  std::string query;  // percent-encoded, without '?'; passed on unmodified (PR-REST §4.5)
  ClientId client;
  std::string x_road_id;  // X-Road-Id as sent, or a new UUID when absent
  bool x_road_id_generated = false;
  std::string user_id;  // X-Road-UserId, may be empty
  std::string issue;    // X-Road-Issue, may be empty
  std::string subject;  // Ulus-Subject, percent-decoded (see DecodeHeaderText)
  std::string purpose;  // Ulus-Purpose, percent-decoded
  std::string consent;  // Ulus-Consent
  // The headers to send on, in received order, with the filtered ones removed (see
  // ForwardableHeaders), then X-Road-Client (canonical form) and X-Road-Id (`x_road_id`).
  HeaderList headers;
  std::string body;

  // "/r1/{service}{path}[?query]", the target the provider side sees.
  [[nodiscard]] std::string Target() const;
};

// Reads a client's request. With several X-Road-Client headers the last wins (PR-REST §4.3);
// X-Road-Id, X-Road-UserId, X-Road-Issue and the Ulus headers may appear at most once. Errors are
// kInvalidArgument with `field` naming the input at fault: "X-Road-Client..." for the client header
// (see ToXRoadError), "serviceId..." or "path" for the target. The X-Road-Id, when absent, comes
// from NewUuidV7(clock) (PR-REST §4.3: the consumer security server generates it).
Result<ExchangeRequest> ParseExchangeRequest(const http::BeastRequest& message,
                                             const Clock& clock = Clock::System());

// `headers` without the ones PR-REST §4.3 filters (and Khur-*, which only nodes set): hop-by-hop
// (Connection, Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade, and every header
// Connection names), those that leak the origin host (Host, User-Agent, Server), Content-Length
// (the sending side sets it again) and X-Road-Request-Hash (only the provider's node may set it).
// Names compare case-insensitively.
HeaderList ForwardableHeaders(const HeaderList& headers);

// The request hash of PR-REST §4.3: base64(SHA512(SHA512(headers) || SHA512(body))), or
// base64(SHA512(headers)) when there is no body. PR-REST does not say how "headers" are
// serialized; Khur hashes HashedHeaders(request) so both nodes compute the same bytes.
std::string RequestHash(std::string_view headers, std::string_view body);
std::string RequestHash(const ExchangeRequest& request);

// Khur's serialization of a request's headers for the hash: the request line
// "{METHOD} {Target()}\r\n", then every header of `headers` as "{lower-case name}: {value}\r\n"
// in order.
std::string HashedHeaders(const ExchangeRequest& request);

// Sets X-Road-Client, X-Road-Service, X-Road-Id, X-Road-Request-Id and X-Road-Request-Hash on a
// response, replacing any the provider set (PR-REST §4.3: theirs are overwritten).
void SetXRoadResponseHeaders(http::Response& response, const ExchangeRequest& request,
                             std::string_view request_id, std::string_view request_hash);

// The error types Khur's nodes report, named as X-Road names them. Client.* are the client's
// fault (400); Server.ClientProxy.* happened on the client's node and Server.ServerProxy.* on the
// provider's node (500). X-Road reports a provider that does not answer in time as NetworkError
// (PR-REST §4.6 example 2), so there is no separate timeout type.
enum class XRoadErrorType {
  kClientBadRequest,
  kClientInvalidClientIdentifier,
  kClientProxyNetworkError,
  kClientProxyOutdatedGlobalConf,
  kClientProxySslAuthenticationFailed,
  kClientProxyUnknownMember,          // the configuration has no such provider subsystem
  kClientProxyInvalidSignatureValue,  // the provider's answer is not signed by its member
  kClientProxyDatabaseError,          // the message log could not be written
  kClientProxyInternalError,
  kServerProxyAccessDenied,
  kServerProxyUnknownService,
  kServerProxyServiceFailed,
  kServerProxyNetworkError,
  kServerProxyOutdatedGlobalConf,
  kServerProxySslAuthenticationFailed,
  kServerProxyInvalidSignatureValue,
  kServerProxyDatabaseError,
  kServerProxyInternalError,
};

// "Server.ServerProxy.AccessDenied", ...
std::string_view XRoadErrorTypeName(XRoadErrorType type);
http::Status XRoadErrorStatus(XRoadErrorType type);

// An error raised inside X-Road rather than by the provider's service.
struct XRoadError {
  XRoadErrorType type = XRoadErrorType::kClientProxyInternalError;
  std::string message;  // for a person
  std::string detail;   // an id to find the event in the node's log (PR-REST uses a UUID)
};

// Maps a ParseExchangeRequest error to its X-Road type: a missing or bad X-Road-Client is
// Client.InvalidClientIdentifier, anything else Client.BadRequest.
XRoadError ToXRoadError(const Error& error, std::string detail);

// The response PR-REST §4.6 asks for: the type's status, X-Road-Error: {type},
// Content-Type application/json;charset=utf-8, body {"type", "message", "detail"}.
http::Response RenderXRoadError(const XRoadError& error);

}  // namespace ulus::exchange
