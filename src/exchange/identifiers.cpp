#include "ulus/exchange/identifiers.hpp"

#include <vector>

namespace ulus::exchange {
namespace {

// PR-REST §4.8: identifier values use only letters, digits and these symbols.
constexpr std::string_view kAllowedSymbols = "'()+,-.=?";

bool IsAllowed(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         kAllowedSymbols.find(c) != std::string_view::npos;
}

// Printed as-is in ToString: allowed characters that need no escape in a path or a header.
bool IsLiteral(char c) {
  return IsAllowed(c) && c != '?';
}

std::string Describe(char ch) {
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  const auto c = static_cast<unsigned char>(ch);
  if (c > 0x20 && c < 0x7F) return std::string("'") + ch + "'";
  return std::string("byte 0x") + kHex[c >> 4U] + kHex[c & 0x0FU];
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsControl(unsigned char c) {
  return c < 0x20 || c == 0x7F;
}

// Percent-decodes `encoded`; nullopt on a '%' not followed by two hex digits.
std::optional<std::string> Unescape(std::string_view encoded) {
  std::string out;
  out.reserve(encoded.size());
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '%') {
      out.push_back(encoded[i]);
      continue;
    }
    if (i + 2 >= encoded.size()) return std::nullopt;
    const int hi = HexValue(encoded[i + 1]);
    const int lo = HexValue(encoded[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::string FieldName(std::string_view field, std::string_view part) {
  std::string name(field);
  name += '.';
  name += part;
  return name;
}

Result<MemberId> ParseMember(const std::vector<std::string_view>& parts, std::string_view field) {
  MemberId id;
  ULUS_ASSIGN_OR_RETURN(id.instance,
                        DecodeIdentifierPart(parts[0], FieldName(field, "xRoadInstance")));
  ULUS_ASSIGN_OR_RETURN(id.member_class,
                        DecodeIdentifierPart(parts[1], FieldName(field, "memberClass")));
  ULUS_ASSIGN_OR_RETURN(id.member_code,
                        DecodeIdentifierPart(parts[2], FieldName(field, "memberCode")));
  return id;
}

}  // namespace

Result<std::string> DecodeIdentifierPart(std::string_view encoded, std::string_view field) {
  const std::string name(field);
  if (encoded.empty()) return Error::InvalidArgument(name + " is empty", name);
  auto decoded = Unescape(encoded);
  if (!decoded) {
    return Error::InvalidArgument(name + " has a '%' not followed by two hex digits", name);
  }
  if (decoded->size() > kMaxIdentifierPartLength) {
    return Error::InvalidArgument(
        name + " is longer than " + std::to_string(kMaxIdentifierPartLength) + " bytes", name);
  }
  for (const char ch : *decoded) {
    if (!IsAllowed(ch)) {
      return Error::InvalidArgument(name + " contains " + Describe(ch) +
                                        "; identifiers use only A-Z, a-z, 0-9 and " +
                                        std::string(kAllowedSymbols),
                                    name);
    }
  }
  return std::move(*decoded);
}

std::string EncodeIdentifierPart(std::string_view part) {
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(part.size());
  for (const char ch : part) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsLiteral(ch)) {
      out.push_back(ch);
      continue;
    }
    out.push_back('%');
    out.push_back(kHex[c >> 4U]);
    out.push_back(kHex[c & 0x0FU]);
  }
  return out;
}

std::string MemberId::ToString() const {
  return EncodeIdentifierPart(instance) + '/' + EncodeIdentifierPart(member_class) + '/' +
         EncodeIdentifierPart(member_code);
}

std::string ClientId::ToString() const {
  std::string s = member.ToString();
  if (subsystem) s += '/' + EncodeIdentifierPart(*subsystem);
  return s;
}

Result<ClientId> ClientId::Parse(std::string_view encoded, std::string_view field) {
  const std::string name(field);
  if (encoded.empty()) return Error::InvalidArgument(name + " is missing", name);
  const auto parts = Split(encoded, '/');
  if (parts.size() != 3 && parts.size() != 4) {
    return Error::InvalidArgument(
        name + " must be INSTANCE/CLASS/MEMBER or INSTANCE/CLASS/MEMBER/SUBSYSTEM, got " +
            std::to_string(parts.size()) + " parts",
        name);
  }
  ClientId id;
  ULUS_ASSIGN_OR_RETURN(id.member, ParseMember(parts, field));
  if (parts.size() == 4) {
    ULUS_ASSIGN_OR_RETURN(id.subsystem,
                          DecodeIdentifierPart(parts[3], FieldName(field, "subsystemCode")));
  }
  return id;
}

std::string ServiceId::ToString() const {
  std::string s = client.ToString() + '/' + EncodeIdentifierPart(service_code);
  if (service_version) s += '/' + EncodeIdentifierPart(*service_version);
  return s;
}

Result<ServiceId> ServiceId::Parse(std::string_view encoded, std::string_view field) {
  const std::string name(field);
  if (encoded.empty()) return Error::InvalidArgument(name + " is missing", name);
  const auto parts = Split(encoded, '/');
  if (parts.size() != 5 && parts.size() != 6) {
    return Error::InvalidArgument(
        name + " must be INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICECODE[/VERSION], got " +
            std::to_string(parts.size()) + " parts",
        name);
  }
  ServiceId id;
  ULUS_ASSIGN_OR_RETURN(id.client.member, ParseMember(parts, field));
  ULUS_ASSIGN_OR_RETURN(id.client.subsystem,
                        DecodeIdentifierPart(parts[3], FieldName(field, "subsystemCode")));
  ULUS_ASSIGN_OR_RETURN(id.service_code,
                        DecodeIdentifierPart(parts[4], FieldName(field, "serviceCode")));
  if (parts.size() == 6) {
    ULUS_ASSIGN_OR_RETURN(id.service_version,
                          DecodeIdentifierPart(parts[5], FieldName(field, "serviceVersion")));
  }
  return id;
}

Result<ServicePath> ParseServicePath(std::string_view encoded) {
  constexpr std::size_t kServiceParts = 5;
  std::size_t end = 0;
  for (std::size_t n = 0; n < kServiceParts; ++n) {
    if (n > 0) ++end;  // past the '/'
    const std::size_t slash = encoded.find('/', end);
    if (slash == std::string_view::npos) {
      if (n + 1 < kServiceParts) {
        return Error::InvalidArgument(
            "serviceId must be INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICECODE, got " +
                std::to_string(n + 1) + " parts",
            "serviceId");
      }
      end = encoded.size();
      break;
    }
    end = slash;
  }
  ServicePath out;
  ULUS_ASSIGN_OR_RETURN(out.service, ServiceId::Parse(encoded.substr(0, end)));
  out.rest_path = std::string(encoded.substr(end));
  if (out.rest_path.empty()) return out;
  const auto segments = Split(std::string_view(out.rest_path).substr(1), '/');
  for (const auto segment : segments) {
    auto decoded = Unescape(segment);
    if (!decoded) {
      return Error::InvalidArgument("path has a '%' not followed by two hex digits", "path");
    }
    // An encoded '/' or '\\' must not smuggle a dot-segment past this check either.
    for (const auto piece : Split(*decoded, '/')) {
      for (const auto sub : Split(piece, '\\')) {
        if (sub == "." || sub == "..") {
          return Error::InvalidArgument("path may not contain '.' or '..' segments", "path");
        }
      }
    }
    for (const char ch : *decoded) {
      if (IsControl(static_cast<unsigned char>(ch))) {
        return Error::InvalidArgument("path contains a control character", "path");
      }
    }
  }
  return out;
}

Result<std::string> DecodeHeaderText(std::string_view value, std::string_view field) {
  auto decoded = Unescape(value);
  if (!decoded) {
    return Error::InvalidArgument("a '%' must be followed by two hex digits", std::string(field));
  }
  for (const char c : *decoded) {
    if (IsControl(static_cast<unsigned char>(c))) {
      return Error::InvalidArgument("control characters are not allowed", std::string(field));
    }
  }
  return std::move(*decoded);
}

}  // namespace ulus::exchange
