#include "verify_command.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "ulus/core/files.hpp"
#include "ulus/core/result.hpp"
#include "ulus/documents/credential.hpp"
#include "ulus/documents/trust_list.hpp"
#include "ulus/documents/verifier.hpp"
#include "ulus/http/client.hpp"

namespace ulus::app {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kExitCannotDecide = 1;
constexpr int kExitForged = 2;
constexpr int kExitRevoked = 3;
constexpr int kExitExpired = 4;

constexpr const char* kAnchorFile = "anchor.jwk";
constexpr const char* kTrustFile = "trust-list.jwt";
constexpr const char* kRevocationsFile = "revocations.jwt";

fs::path DefaultCache() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return fs::path(xdg) / "ulus" / "verifier";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return fs::path(home) / ".cache" / "ulus" / "verifier";
  }
  return "ulus-verifier";
}

Result<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::NotFound("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<std::string> Fetch(http::Client& client, std::string_view target) {
  ULUS_ASSIGN_OR_RETURN(auto response, client.Get(target));
  if (response.status != http::Status::ok) {
    return Error::Unavailable(std::string(target) + " answered " +
                              std::to_string(static_cast<int>(response.status)));
  }
  return response.body;
}

// The "iat" of a cached list (already checked when it was stored), or 0 when there is none.
int64_t CachedIssuedAt(const fs::path& file) {
  auto text = ReadFile(file);
  if (!text.ok()) return 0;
  auto parsed = documents::ParseJws(*text, size_t{64} * 1024 * 1024);
  if (!parsed.ok()) return 0;
  const auto iat = parsed->payload.find("iat");
  return iat != parsed->payload.end() && iat->is_number_integer() ? iat->get<int64_t>() : 0;
}

// Plain http only to this machine: elsewhere a man in the middle could hold back new lists.
bool IsAllowedOrigin(std::string_view url) {
  if (url.starts_with("https://")) return true;
  for (std::string_view local : {"http://127.0.0.1", "http://localhost", "http://[::1]"}) {
    if (url.starts_with(local) &&
        (url.size() == local.size() || url[local.size()] == ':' || url[local.size()] == '/')) {
      return true;
    }
  }
  return false;
}

// Downloads the anchor, trust list and revocation list, checks them against the pinned anchor,
// refuses lists older than the cached ones (a replay would hide revocations), and only then
// replaces the cached copies.
Status Refresh(const fs::path& cache, const std::string& url, std::string pin) {
  if (!IsAllowedOrigin(url)) {
    return Error::InvalidArgument("fetch the lists over https (plain http only from this machine)",
                                  "fetch");
  }
  if (pin.empty()) {
    auto cached = ReadFile(cache / kAnchorFile);
    if (!cached.ok()) {
      return Error::InvalidArgument(
          "the first --fetch needs --anchor THUMBPRINT: the trust anchor's thumbprint, "
          "published by the platform's operator",
          "anchor");
    }
    ULUS_ASSIGN_OR_RETURN(auto key,
                          crypto::PublicKey::FromJwk(json::parse(*cached, nullptr, false)));
    pin = key.Thumbprint();
  }
  ULUS_ASSIGN_OR_RETURN(auto client, http::Client::Create(url));
  ULUS_ASSIGN_OR_RETURN(auto anchor_text, Fetch(*client, "/documents/v1/trust-anchor"));
  const json anchor_json = json::parse(anchor_text, nullptr, false);
  if (!anchor_json.is_object() || !anchor_json.contains("jwk")) {
    return Error::Unavailable(url + " does not publish a trust anchor");
  }
  ULUS_ASSIGN_OR_RETURN(auto anchor, crypto::PublicKey::FromJwk(anchor_json["jwk"]));
  if (anchor.Thumbprint() != pin) {
    return Error{ErrorCode::kUnauthenticated,
                 "the platform's trust anchor " + anchor.Thumbprint() + " is not the pinned one (" +
                     pin + ")",
                 {}};
  }
  ULUS_ASSIGN_OR_RETURN(auto trust, Fetch(*client, "/documents/v1/trust-list"));
  ULUS_ASSIGN_OR_RETURN(auto revocations, Fetch(*client, "/documents/v1/revocations"));
  const TimePoint now = Clock::System().Now();
  ULUS_ASSIGN_OR_RETURN(auto trust_list, documents::VerifyTrustList(trust, anchor, now));
  ULUS_ASSIGN_OR_RETURN(auto revocation_list,
                        documents::VerifyRevocationList(revocations, anchor, now));
  if (ToUnixSeconds(trust_list.issued_at) < CachedIssuedAt(cache / kTrustFile) ||
      ToUnixSeconds(revocation_list.issued_at) < CachedIssuedAt(cache / kRevocationsFile)) {
    return Error{ErrorCode::kFailedPrecondition,
                 "the platform sent lists older than the ones already cached; keeping those",
                 {}};
  }
  std::error_code ec;
  fs::create_directories(cache, ec);
  if (ec) return Error::InvalidArgument("cannot create " + cache.string() + ": " + ec.message());
  ULUS_TRY(WritePrivateFile(cache / kAnchorFile, anchor.Jwk().dump() + "\n"));
  ULUS_TRY(WritePrivateFile(cache / kTrustFile, trust));
  ULUS_TRY(WritePrivateFile(cache / kRevocationsFile, revocations));
  return Ok();
}

void PrintFields(const json& object, const std::string& prefix) {
  for (const auto& [name, value] : object.items()) {
    const std::string key = prefix.empty() ? name : prefix + "." + name;
    if (value.is_object()) {
      PrintFields(value, key);
    } else if (value.is_array()) {
      for (size_t i = 0; i < value.size(); ++i) {
        if (value[i].is_object()) {
          PrintFields(value[i], key + "[" + std::to_string(i) + "]");
        } else {
          std::printf("  %s: %s\n", key.c_str(), value[i].dump().c_str());
        }
      }
    } else {
      std::printf("  %s: %s\n", key.c_str(),
                  value.is_string() ? value.get<std::string>().c_str() : value.dump().c_str());
    }
  }
}

Result<int> VerifyOffline(const fs::path& cache, const std::string& input) {
  std::string text = input;
  if (input == "-") {
    std::ostringstream all;
    all << std::cin.rdbuf();
    text = all.str();
  } else if (std::error_code ec; input.size() < 1024 && fs::is_regular_file(input, ec)) {
    ULUS_ASSIGN_OR_RETURN(text, ReadFile(input));
  }
  auto anchor_text = ReadFile(cache / kAnchorFile);
  if (!anchor_text.ok()) {
    return Error{ErrorCode::kFailedPrecondition,
                 "no trust list in " + cache.string() +
                     "; fetch one first: ulus verify --fetch URL --anchor THUMBPRINT",
                 {}};
  }
  ULUS_ASSIGN_OR_RETURN(auto anchor,
                        crypto::PublicKey::FromJwk(json::parse(*anchor_text, nullptr, false)));
  const TimePoint now = Clock::System().Now();
  ULUS_ASSIGN_OR_RETURN(auto trust_text, ReadFile(cache / kTrustFile));
  ULUS_ASSIGN_OR_RETURN(auto trust, documents::VerifyTrustList(trust_text, anchor, now));
  ULUS_ASSIGN_OR_RETURN(auto revocations_text, ReadFile(cache / kRevocationsFile));
  ULUS_ASSIGN_OR_RETURN(auto revocations,
                        documents::VerifyRevocationList(revocations_text, anchor, now));
  documents::Verifier verifier(
      trust, [&revocations](std::string_view id) -> Result<std::optional<documents::Revocation>> {
        const auto* found = revocations.Find(id);
        if (found == nullptr) return std::optional<documents::Revocation>();
        return std::optional<documents::Revocation>(*found);
      });
  ULUS_ASSIGN_OR_RETURN(auto v, verifier.Verify(text, now));
  std::printf("%s", std::string(documents::VerdictName(v.verdict)).c_str());
  if (!v.reason.empty()) std::printf(": %s", v.reason.c_str());
  std::printf("\n");
  if (v.verdict != documents::Verdict::kForged) {
    std::printf("  issued by: %s (%s)\n", v.agency_name.c_str(), v.agency.c_str());
    std::printf("  document: %s %s\n", v.name.c_str(), v.document_id.c_str());
    if (v.issued_at) std::printf("  issued: %s\n", FormatRfc3339(*v.issued_at).c_str());
    if (v.expires_at) std::printf("  valid until: %s\n", FormatRfc3339(*v.expires_at).c_str());
    if (v.disclosure) std::printf("  the holder disclosed only:\n");
    PrintFields(v.disclosed, "");
    std::printf("  revocations as of %s\n", FormatRfc3339(revocations.issued_at).c_str());
  }
  switch (v.verdict) {
    case documents::Verdict::kGenuine: return 0;
    case documents::Verdict::kForged: return kExitForged;
    case documents::Verdict::kRevoked: return kExitRevoked;
    case documents::Verdict::kExpired: return kExitExpired;
  }
  return kExitForged;
}

}  // namespace

void VerifyCommand::Add(CLI::App& cli) {
  command_ = cli.add_subcommand(
      "verify",
      "Verify a document's QR text offline (exit 0 genuine, 2 forged, 3 revoked, 4 expired)");
  command_->add_option("input", input_,
                       "The QR code's text, a file holding it, or - for standard input");
  command_->add_option("--cache", cache_,
                       "Where the trust and revocation lists are kept "
                       "(default $XDG_CACHE_HOME/ulus/verifier)");
  command_->add_option("--fetch", fetch_url_,
                       "Refresh the lists from this Ulus platform first, e.g. https://ulus.gov.mn");
  command_->add_option("--anchor", anchor_,
                       "The trust anchor's thumbprint to pin (needed on the first --fetch)");
}

bool VerifyCommand::Run(int& exit_code) {
  if (command_ == nullptr || !*command_) return false;
  const fs::path cache = cache_.empty() ? DefaultCache() : fs::path(cache_);
  auto fail = [&](const Error& error) {
    std::fprintf(stderr, "ulus verify: %s\n", error.message.c_str());
    exit_code = kExitCannotDecide;
    return true;
  };
  if (fetch_url_.empty() && input_.empty()) {
    return fail(Error::InvalidArgument("give the QR text to verify, or --fetch URL"));
  }
  if (!fetch_url_.empty()) {
    if (auto s = Refresh(cache, fetch_url_, anchor_); !s.ok()) return fail(s.error());
    if (input_.empty()) {
      std::printf("trust and revocation lists saved in %s\n", cache.string().c_str());
      exit_code = 0;
      return true;
    }
  }
  auto result = VerifyOffline(cache, input_);
  if (!result.ok()) return fail(result.error());
  exit_code = *result;
  return true;
}

}  // namespace ulus::app
