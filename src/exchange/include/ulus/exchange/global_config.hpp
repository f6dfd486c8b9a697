#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/crypto/keys.hpp"
#include "ulus/exchange/identifiers.hpp"

namespace ulus::exchange {

// The JWS "typ" of a signed global configuration.
inline constexpr std::string_view kGlobalConfigType = "khur-conf+jwt";

// A member of the instance and its display name.
struct MemberEntry {
  MemberId id;
  std::string name;
};

// Where a subsystem's security server (node) answers and which TLS certificates it may present:
// SHA-256 of the DER certificate, 64 lowercase hex digits, as http's PeerIdentity gives them.
// The list may be empty for a node that has not registered yet; no peer then matches it.
// `signing_keys` are the public JWKs (with kid) of the keys the subsystem's node signs messages
// with for its member; a receiving node checks batch signatures against them.
struct NodeEntry {
  std::string address;  // "https://host[:port][/path]"
  std::vector<std::string> tls_sha256;
  std::vector<nlohmann::json> signing_keys;
};

struct SubsystemEntry {
  ClientId id;  // subsystem always set; its member is one of the configuration's members
  NodeEntry node;
};

struct ServiceEntry {
  ServiceId id;                   // the provider is one of the configuration's subsystems
  bool consent_required = false;  // a call must carry Ulus-Consent
  bool subject_required = false;  // a call must name whom it is about (Ulus-Subject)
};

// Write implies read.
enum class AccessMode { kRead, kWrite };

struct AccessRight {
  ClientId client;  // one of the configuration's subsystems
  ServiceId service;
  AccessMode mode = AccessMode::kRead;
};

// What the authority publishes, as plain data: the fields of the JSON document. Build one, then
// make a GlobalConfig of it, which checks it.
struct GlobalConfigContent {
  std::string instance;
  std::vector<MemberEntry> members;
  std::vector<SubsystemEntry> subsystems;
  std::vector<ServiceEntry> services;
  std::vector<AccessRight> access_rights;
  std::string authority_kid;  // the kid of the key that signs this configuration
  // PEM certificates of the authority's certificate authority: the only roots node-to-node TLS
  // trusts. Carried in the signed document, so a node learns them with the authority's signature.
  std::vector<std::string> ca_certificates;
  TimePoint issued;
  TimePoint expires;
};

// A validated global configuration with hash indexes for the lookups a node makes on every
// request. Immutable once made, so safe for concurrent readers.
//
// Validation: every identifier is in the instance; members, subsystems, services and (client,
// service) access rights are unique; a subsystem's member, a service's provider and a right's
// client and service all exist; node addresses are https URLs; fingerprints are 64 lowercase hex
// digits; expires is after issued. Errors are kInvalidArgument naming the field
// ("services[3].id"). FromJson ignores members of the document it does not know, so an older
// node can read a newer authority's configuration (the signature covers them either way).
class GlobalConfig {
 public:
  static Result<GlobalConfig> Create(GlobalConfigContent content);
  static Result<GlobalConfig> FromJson(const nlohmann::json& json);
  // issued/expires as RFC 3339 UTC with milliseconds.
  [[nodiscard]] nlohmann::json ToJson() const;

  [[nodiscard]] const GlobalConfigContent& content() const { return content_; }
  [[nodiscard]] const std::string& instance() const { return content_.instance; }
  [[nodiscard]] TimePoint issued() const { return content_.issued; }
  [[nodiscard]] TimePoint expires() const { return content_.expires; }

  // Whether `client` holds any right (read or write) on `service`. Only the exact subsystem
  // counts: another subsystem of the same member has no right by kinship.
  [[nodiscard]] bool MayCall(const ClientId& client, const ServiceId& service) const;
  // Whether `client` holds a write right on `service`.
  [[nodiscard]] bool MayWrite(const ClientId& client, const ServiceId& service) const;
  // The node of a subsystem, or nullptr when the configuration does not know it.
  [[nodiscard]] const NodeEntry* NodeOf(const ClientId& subsystem) const;
  // The service with this id (the version must match too), or nullptr.
  [[nodiscard]] const ServiceEntry* FindService(const ServiceId& service) const;
  // The signing key `kid` of `subsystem`'s node, or nullptr.
  [[nodiscard]] const crypto::PublicKey* SigningKey(const ClientId& subsystem,
                                                    std::string_view kid) const;
  // Whether `sha256` (lowercase hex of a DER certificate) is one of `subsystem`'s node's.
  [[nodiscard]] bool NodePresents(const ClientId& subsystem, std::string_view sha256) const;

 private:
  explicit GlobalConfig(GlobalConfigContent content) : content_(std::move(content)) {}
  Status Index();

  GlobalConfigContent content_;
  // Keys are encoded identifiers; rights are "client service" (a space cannot occur encoded).
  std::unordered_map<std::string, size_t> subsystem_index_;
  std::unordered_map<std::string, size_t> service_index_;
  std::unordered_map<std::string, AccessMode> rights_;
  // "subsystem kid" -> key.
  std::unordered_map<std::string, crypto::PublicKey> signing_keys_;
};

// A JWS compact JWT with header typ kGlobalConfigType and kid of `authority`, whose claims are
// the configuration's JSON plus iat and exp. Fails when content().authority_kid is not the
// signer's kid.
Result<std::string> SignGlobalConfig(const GlobalConfig& config, const crypto::Signer& authority);

// Checks a signed configuration against the authority's pinned key and the clock. A bad
// signature, another key, a foreign or missing alg (including "none"), a wrong typ and malformed
// content are kUnauthenticated or kInvalidArgument; an expired configuration (or one issued
// more than kMaxFutureIssue ahead of the clock) is kFailedPrecondition, which a node answers
// with X-Road-Error Server.ServerProxy.OutdatedGlobalConf.
Result<GlobalConfig> VerifyGlobalConfig(std::string_view jws,
                                        const crypto::PublicKey& authority_key, const Clock& clock);

inline constexpr std::chrono::minutes kMaxFutureIssue{5};

// What the app reads from a country pack to build the configuration; exchange does not link
// the registry module, so the pack arrives as these plain lists.
struct PackAgency {
  std::string code;  // the pack's agency code ("GASR")
  std::string member_class;
  std::string member_code;
  std::string subsystem;
  std::string name;
  std::string node_address;
  std::vector<std::string> tls_sha256;
  std::vector<nlohmann::json> signing_keys;
};
struct PackRegistry {
  std::string code;    // "person", "social_insurance": see ServiceCodeForRegistry
  std::string agency;  // the owning agency's code
  bool consent_required = false;
  bool subject_required = false;
};
struct PackAccessRule {
  std::string client;    // "INSTANCE/CLASS/MEMBER/SUBSYSTEM"
  std::string registry;  // a registry code or "*" for every registry
  AccessMode mode = AccessMode::kRead;
};
struct PackExchange {
  std::string instance;
  std::vector<PackAgency> agencies;
  std::vector<PackRegistry> registries;
  std::vector<PackAccessRule> rules;
};

// The service code under which a registry is published: the registry code with '_' written '-',
// because PR-REST §4.8 does not allow '_' in identifiers ("social_insurance" is served as
// "social-insurance"). Other characters outside §4.8 are left for BuildGlobalConfig to refuse.
std::string ServiceCodeForRegistry(std::string_view registry_code);

// Every registry becomes the service INSTANCE/CLASS/MEMBER/SUBSYSTEM/<service code> of its agency
// (see ServiceCodeForRegistry);
// every rule an access right (a read and a write rule on the same registry make one write right).
// Agencies of the same member share one MemberEntry. Unknown agencies, registries and clients
// are kInvalidArgument naming the list entry.
Result<GlobalConfig> BuildGlobalConfig(const PackExchange& pack, std::string authority_kid,
                                       TimePoint issued, TimePoint expires);

// The current configuration of a node. Thread-safe: Install and Current may race freely.
class ConfigHolder {
 public:
  ConfigHolder(crypto::PublicKey authority_key, const Clock& clock)
      : authority_key_(std::move(authority_key)), clock_(clock) {}

  // Verifies `jws` and makes it current. Refuses (kFailedPrecondition) a configuration issued
  // before the current one, so an attacker cannot roll a node back to older rights; one issued
  // at the same instant is accepted only when it is the same document.
  Status Install(std::string_view jws);
  // The current configuration; kFailedPrecondition before the first Install and once it expired
  // (checked against the clock on every call).
  [[nodiscard]] Result<std::shared_ptr<const GlobalConfig>> Current() const;

 private:
  const crypto::PublicKey authority_key_;
  const Clock& clock_;
  std::mutex install_mu_;  // serializes Install's compare-and-swap of current_ with its checks
  std::atomic<std::shared_ptr<const GlobalConfig>> current_;
};

}  // namespace ulus::exchange
