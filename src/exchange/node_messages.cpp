#include "node_messages.hpp"

#include <algorithm>
#include <array>
#include <set>

namespace ulus::exchange::node {
namespace {

char Lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string LowerCase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), Lower);
  return out;
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (Lower(s[i]) != Lower(prefix[i])) return false;
  }
  return true;
}

}  // namespace

crypto::Sha256Digest RequestDigest(std::string_view request_hash) {
  std::string buf = "khur.request.v1\n";
  buf += request_hash;
  return crypto::Sha256(buf);
}

crypto::Sha256Digest ResponseDigest(int status, std::string_view request_hash,
                                    const HeaderList& signed_headers, std::string_view body) {
  std::string buf = "khur.response.v1\n";
  buf += std::to_string(status);
  buf += '\n';
  buf += request_hash;
  buf += '\n';
  for (const auto& [name, value] : signed_headers) {
    buf += LowerCase(name);
    buf += ": ";
    buf += value;
    buf += "\r\n";
  }
  buf += '\n';
  buf += body;
  return crypto::Sha256(buf);
}

bool IsPassedResponseHeader(std::string_view name) {
  static constexpr std::array<std::string_view, 13> kDropped = {
      "connection",      "keep-alive",        "te",
      "trailer",         "transfer-encoding", "upgrade",
      "content-length",  "content-type",      "date",
      "server",          "x-request-id",      "proxy-authenticate",
      "proxy-connection"};
  const std::string lower = LowerCase(name);
  if (std::find(kDropped.begin(), kDropped.end(), lower) != kDropped.end()) return false;
  return !StartsWithIgnoreCase(name, "x-road-") && !StartsWithIgnoreCase(name, "khur-");
}

HeaderList CollectSigned(const HeaderList& headers, std::string_view names) {
  HeaderList out;
  while (!names.empty()) {
    const auto comma = names.find(',');
    std::string_view name = names.substr(0, comma);
    names = comma == std::string_view::npos ? std::string_view{} : names.substr(comma + 1);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (name.empty()) continue;
    std::string joined;
    bool found = false;
    for (const auto& [key, value] : headers) {
      if (LowerCase(key) != name) continue;
      if (found) joined += ", ";
      joined += value;
      found = true;
    }
    out.emplace_back(std::string(name), std::move(joined));
  }
  return out;
}

std::string SignedNames(const HeaderList& headers) {
  std::string out;
  std::set<std::string> seen;
  for (const auto& [key, value] : headers) {
    std::string lower = LowerCase(key);
    if (!seen.insert(lower).second) continue;
    if (!out.empty()) out += ',';
    out += lower;
  }
  return out;
}

}  // namespace ulus::exchange::node
