#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ulus/core/result.hpp"

namespace ulus::exchange {

// X-Road identifiers as the message protocol for REST (PR-REST) writes them: parts joined by
// '/', each part percent-encoded on its own (§4.2). A decoded part must be non-empty, at most
// kMaxIdentifierPartLength bytes, and use only the characters of §4.8: A-Z, a-z, 0-9 and
// '()+,-.=? . So '/' inside a part (which §4.2 would let travel as %2F), spaces, control
// characters and non-ASCII are all refused, and an identifier is never ambiguous.
inline constexpr std::size_t kMaxIdentifierPartLength = 255;

// A member of an X-Road instance: "INSTANCE/CLASS/MEMBER".
struct MemberId {
  std::string instance;
  std::string member_class;
  std::string member_code;

  bool operator==(const MemberId&) const = default;
  // Percent-encoded "INSTANCE/CLASS/MEMBER".
  [[nodiscard]] std::string ToString() const;
};

// A service client: a member or one of its subsystems, "INSTANCE/CLASS/MEMBER[/SUBSYSTEM]" (the
// X-Road-Client header).
struct ClientId {
  MemberId member;
  std::optional<std::string> subsystem;

  bool operator==(const ClientId&) const = default;
  [[nodiscard]] std::string ToString() const;
  // Parses the encoded form; errors name the field ("X-Road-Client.memberCode", ...).
  static Result<ClientId> Parse(std::string_view encoded, std::string_view field = "X-Road-Client");
};

// A service of a subsystem: "INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICECODE[/VERSION]". The REST
// protocol's serviceId carries no version (REST services version in their path); the version is
// kept for the global configuration's service records and SOAP-style identifiers.
struct ServiceId {
  ClientId client;  // the provider; its subsystem is always set
  std::string service_code;
  std::optional<std::string> service_version;

  bool operator==(const ServiceId&) const = default;
  [[nodiscard]] std::string ToString() const;
  // Parses the full encoded form, five or six parts.
  static Result<ServiceId> Parse(std::string_view encoded, std::string_view field = "serviceId");
};

// The part of an /r1/ path after the protocol version: the service and the rest path that goes
// to the provider. `rest_path` stays percent-encoded, as the client sent it ("" or "/v1/x").
struct ServicePath {
  ServiceId service;
  std::string rest_path;
};

// Parses "INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICECODE[/rest...]" (no leading '/'). Refuses rest
// path segments that decode to "." or ".." (a forwarded path must not climb out of the service)
// and control characters.
Result<ServicePath> ParseServicePath(std::string_view encoded);

// Percent-decodes one identifier part and checks it against the rules above.
Result<std::string> DecodeIdentifierPart(std::string_view encoded, std::string_view field);
// The text of a header that may carry any Unicode (Ulus-Subject: a Mongolian register number is
// Cyrillic): UTF-8, percent-encoded, as HTTP clients cannot send raw non-Latin-1 bytes. A value
// without '%' is taken as it is. Control characters are refused.
Result<std::string> DecodeHeaderText(std::string_view value, std::string_view field);
// Percent-encodes what a path or header cannot carry as-is: '?' and any byte outside §4.8's set.
std::string EncodeIdentifierPart(std::string_view part);

}  // namespace ulus::exchange

template <>
struct std::hash<ulus::exchange::MemberId> {
  std::size_t operator()(const ulus::exchange::MemberId& id) const noexcept {
    return std::hash<std::string>{}(id.ToString());
  }
};
template <>
struct std::hash<ulus::exchange::ClientId> {
  std::size_t operator()(const ulus::exchange::ClientId& id) const noexcept {
    return std::hash<std::string>{}(id.ToString());
  }
};
template <>
struct std::hash<ulus::exchange::ServiceId> {
  std::size_t operator()(const ulus::exchange::ServiceId& id) const noexcept {
    return std::hash<std::string>{}(id.ToString());
  }
};
