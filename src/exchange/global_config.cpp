#include "ulus/exchange/global_config.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <unordered_set>
#include <utility>

#include "ulus/crypto/jose.hpp"

namespace ulus::exchange {
namespace {

using nlohmann::json;

constexpr size_t kFingerprintHexDigits = 64;
// VerifyJwt's own time checks are switched off with this leeway: the configuration's expiry is a
// precondition failure with its own message (OutdatedGlobalConf), not a bad credential, so it is
// checked here against `issued`/`expires` of the content.
constexpr std::chrono::seconds kNoJwtTimeCheck{std::chrono::hours(24) * 365 * 100};

Error Invalid(std::string message, std::string field) {
  return Error::InvalidArgument(std::move(message), std::move(field));
}

std::string_view ModeName(AccessMode mode) {
  return mode == AccessMode::kWrite ? "write" : "read";
}

std::string RightKey(const ClientId& client, const ServiceId& service) {
  return client.ToString() + ' ' + service.ToString();
}

bool IsFingerprint(std::string_view text) {
  return text.size() == kFingerprintHexDigits && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool IsHttpsUrl(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme) || url.size() == kScheme.size()) return false;
  const auto host_end = url.find_first_of("/?#", kScheme.size());
  if (host_end == kScheme.size()) return false;
  return std::none_of(url.begin(), url.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) >= 0x7f;
  });
}

// Reads "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (RFC 3339 in UTC; offsets are refused so that two
// documents never spell one instant two ways).
std::optional<TimePoint> ParseRfc3339Utc(std::string_view text) {
  constexpr size_t kBaseLength = 19;  // "YYYY-MM-DDTHH:MM:SS"
  if (text.size() < kBaseLength + 1 || text.back() != 'Z') return std::nullopt;
  auto number = [&](size_t pos, size_t len) -> std::optional<int> {
    int value = 0;
    const char* begin = text.data() + pos;
    const auto [ptr, ec] = std::from_chars(begin, begin + len, value);
    if (ec != std::errc() || ptr != begin + len) return std::nullopt;
    return value;
  };
  if (text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  const auto year = number(0, 4), month = number(5, 2), day = number(8, 2);
  const auto hour = number(11, 2), minute = number(14, 2), second = number(17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(*year),
                                        std::chrono::month(static_cast<unsigned>(*month)),
                                        std::chrono::day(static_cast<unsigned>(*day))};
  if (!ymd.ok() || *hour > 23 || *minute > 59 || *second > 59) return std::nullopt;
  std::chrono::microseconds fraction{0};
  const std::string_view rest = text.substr(kBaseLength, text.size() - kBaseLength - 1);
  if (!rest.empty()) {
    constexpr size_t kMaxDigits = 6;
    if (rest[0] != '.' || rest.size() < 2 || rest.size() > kMaxDigits + 1) return std::nullopt;
    int64_t micros = 0;
    for (size_t i = 1; i <= kMaxDigits; ++i) {
      int digit = 0;
      if (i < rest.size()) {
        if (rest[i] < '0' || rest[i] > '9') return std::nullopt;
        digit = rest[i] - '0';
      }
      micros = micros * 10 + digit;
    }
    fraction = std::chrono::microseconds(micros);
  }
  const auto day_point = std::chrono::sys_days(ymd);
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      day_point.time_since_epoch() + std::chrono::hours(*hour) + std::chrono::minutes(*minute) +
      std::chrono::seconds(*second) + fraction));
}

Result<std::string> StringMember(const json& object, const char* name, const std::string& where) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_string()) {
    return Invalid("\"" + std::string(name) + "\" must be a string", where + name);
  }
  return it->get<std::string>();
}

Result<bool> BoolMember(const json& object, const char* name, const std::string& where) {
  const auto it = object.find(name);
  if (it == object.end()) return false;
  if (!it->is_boolean()) return Invalid(std::string(name) + " must be true or false", where + name);
  return it->get<bool>();
}

Result<const json*> ArrayMember(const json& object, const char* name,
                                const std::string& where = "") {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_array()) {
    return Invalid("\"" + std::string(name) + "\" must be an array", where + name);
  }
  return &*it;
}

Result<TimePoint> TimeMember(const json& object, const char* name) {
  ULUS_ASSIGN_OR_RETURN(const auto text, StringMember(object, name, ""));
  const auto time = ParseRfc3339Utc(text);
  if (!time) return Invalid("\"" + std::string(name) + "\" is not an RFC 3339 UTC time", name);
  return *time;
}

Result<MemberId> ParseMemberId(std::string_view text, const std::string& field) {
  ULUS_ASSIGN_OR_RETURN(auto id, ClientId::Parse(text, field));
  if (id.subsystem) return Invalid("a member id has three parts, INSTANCE/CLASS/MEMBER", field);
  return std::move(id.member);
}

Result<ClientId> ParseSubsystemId(std::string_view text, const std::string& field) {
  ULUS_ASSIGN_OR_RETURN(auto id, ClientId::Parse(text, field));
  if (!id.subsystem) {
    return Invalid("a subsystem id has four parts, INSTANCE/CLASS/MEMBER/SUBSYSTEM", field);
  }
  return id;
}

std::string ListField(std::string_view list, size_t i) {
  return std::string(list) + "[" + std::to_string(i) + "]";
}

}  // namespace

Status GlobalConfig::Index() {
  const auto& c = content_;
  if (c.instance.empty()) return Invalid("the instance must be named", "instance");
  ULUS_TRY(DecodeIdentifierPart(c.instance, "instance"));
  if (c.authority_kid.empty()) return Invalid("the authority's key id is missing", "authority_kid");
  if (c.expires <= c.issued) return Invalid("\"expires\" must be after \"issued\"", "expires");

  std::unordered_set<std::string> members;
  for (size_t i = 0; i < c.members.size(); ++i) {
    const auto field = ListField("members", i) + ".id";
    const auto& id = c.members[i].id;
    if (id.instance != c.instance) return Invalid("member is of another instance", field);
    if (!members.insert(id.ToString()).second) {
      return Invalid("member " + id.ToString() + " is listed twice", field);
    }
  }
  for (size_t i = 0; i < c.subsystems.size(); ++i) {
    const auto field = ListField("subsystems", i);
    const auto& entry = c.subsystems[i];
    if (!entry.id.subsystem) return Invalid("a subsystem id needs a subsystem", field + ".id");
    if (!members.contains(entry.id.member.ToString())) {
      return Invalid("subsystem " + entry.id.ToString() + " belongs to no listed member",
                     field + ".id");
    }
    if (!subsystem_index_.emplace(entry.id.ToString(), i).second) {
      return Invalid("subsystem " + entry.id.ToString() + " is listed twice", field + ".id");
    }
    if (!IsHttpsUrl(entry.node.address)) {
      return Invalid("node address must be an https URL", field + ".address");
    }
    std::set<std::string_view> seen;
    for (size_t j = 0; j < entry.node.tls_sha256.size(); ++j) {
      const auto& fp = entry.node.tls_sha256[j];
      const auto fp_field = field + ListField(".tls_sha256", j);
      if (!IsFingerprint(fp)) {
        return Invalid("a certificate fingerprint is 64 lowercase hex digits", fp_field);
      }
      if (!seen.insert(fp).second) return Invalid("fingerprint is listed twice", fp_field);
    }
    for (size_t j = 0; j < entry.node.signing_keys.size(); ++j) {
      const auto key_field = field + ListField(".signing_keys", j);
      auto key = crypto::PublicKey::FromJwk(entry.node.signing_keys[j]);
      if (!key.ok()) return Invalid(key.error().message, key_field);
      if (!entry.node.signing_keys[j].contains("kid")) {
        return Invalid("a signing key needs its kid", key_field);
      }
      if (!signing_keys_.emplace(entry.id.ToString() + " " + key->Kid(), *key).second) {
        return Invalid("kid " + key->Kid() + " is listed twice", key_field);
      }
    }
  }
  for (size_t i = 0; i < c.services.size(); ++i) {
    const auto field = ListField("services", i) + ".id";
    const auto& id = c.services[i].id;
    if (!subsystem_index_.contains(id.client.ToString())) {
      return Invalid("service " + id.ToString() + " is provided by no listed subsystem", field);
    }
    if (!service_index_.emplace(id.ToString(), i).second) {
      return Invalid("service " + id.ToString() + " is listed twice", field);
    }
  }
  for (size_t i = 0; i < c.access_rights.size(); ++i) {
    const auto field = ListField("access_rights", i);
    const auto& right = c.access_rights[i];
    if (!subsystem_index_.contains(right.client.ToString())) {
      return Invalid("client " + right.client.ToString() + " is no listed subsystem",
                     field + ".client");
    }
    if (!service_index_.contains(right.service.ToString())) {
      return Invalid("service " + right.service.ToString() + " is not listed", field + ".service");
    }
    if (!rights_.emplace(RightKey(right.client, right.service), right.mode).second) {
      return Invalid("right of " + right.client.ToString() + " on " + right.service.ToString() +
                         " is listed twice",
                     field);
    }
  }
  return Ok();
}

Result<GlobalConfig> GlobalConfig::Create(GlobalConfigContent content) {
  GlobalConfig config(std::move(content));
  ULUS_TRY(config.Index());
  return config;
}

Result<GlobalConfig> GlobalConfig::FromJson(const json& doc) {
  if (!doc.is_object()) return Invalid("the global configuration must be a JSON object", "");
  GlobalConfigContent c;
  ULUS_ASSIGN_OR_RETURN(c.instance, StringMember(doc, "instance", ""));
  ULUS_ASSIGN_OR_RETURN(c.authority_kid, StringMember(doc, "authority_kid", ""));
  ULUS_ASSIGN_OR_RETURN(c.issued, TimeMember(doc, "issued"));
  ULUS_ASSIGN_OR_RETURN(c.expires, TimeMember(doc, "expires"));
  if (auto cas = doc.find("ca_certificates"); cas != doc.end()) {
    if (!cas->is_array()) return Invalid("must be an array", "ca_certificates");
    for (size_t i = 0; i < cas->size(); ++i) {
      if (!(*cas)[i].is_string())
        return Invalid("must be a string", ListField("ca_certificates", i));
      c.ca_certificates.push_back((*cas)[i].get<std::string>());
    }
  }

  ULUS_ASSIGN_OR_RETURN(const json* members, ArrayMember(doc, "members"));
  for (size_t i = 0; i < members->size(); ++i) {
    const auto where = ListField("members", i) + ".";
    const auto& m = (*members)[i];
    if (!m.is_object()) return Invalid("must be an object", ListField("members", i));
    ULUS_ASSIGN_OR_RETURN(const auto id, StringMember(m, "id", where));
    ULUS_ASSIGN_OR_RETURN(auto member_id, ParseMemberId(id, where + "id"));
    ULUS_ASSIGN_OR_RETURN(auto name, StringMember(m, "name", where));
    c.members.push_back({std::move(member_id), std::move(name)});
  }

  ULUS_ASSIGN_OR_RETURN(const json* subsystems, ArrayMember(doc, "subsystems"));
  for (size_t i = 0; i < subsystems->size(); ++i) {
    const auto where = ListField("subsystems", i) + ".";
    const auto& s = (*subsystems)[i];
    if (!s.is_object()) return Invalid("must be an object", ListField("subsystems", i));
    SubsystemEntry entry;
    ULUS_ASSIGN_OR_RETURN(const auto id, StringMember(s, "id", where));
    ULUS_ASSIGN_OR_RETURN(entry.id, ParseSubsystemId(id, where + "id"));
    ULUS_ASSIGN_OR_RETURN(entry.node.address, StringMember(s, "address", where));
    ULUS_ASSIGN_OR_RETURN(const json* fps, ArrayMember(s, "tls_sha256", where));
    for (size_t j = 0; j < fps->size(); ++j) {
      if (!(*fps)[j].is_string()) {
        return Invalid("a fingerprint must be a string", where + ListField("tls_sha256", j));
      }
      entry.node.tls_sha256.push_back((*fps)[j].get<std::string>());
    }
    // Optional, so a configuration from before message signing still reads.
    if (auto keys = s.find("signing_keys"); keys != s.end()) {
      if (!keys->is_array()) return Invalid("must be an array", where + "signing_keys");
      for (const auto& k : *keys) entry.node.signing_keys.push_back(k);
    }
    c.subsystems.push_back(std::move(entry));
  }

  ULUS_ASSIGN_OR_RETURN(const json* services, ArrayMember(doc, "services"));
  for (size_t i = 0; i < services->size(); ++i) {
    const auto where = ListField("services", i) + ".";
    const auto& s = (*services)[i];
    if (!s.is_object()) return Invalid("must be an object", ListField("services", i));
    ServiceEntry entry;
    ULUS_ASSIGN_OR_RETURN(const auto id, StringMember(s, "id", where));
    ULUS_ASSIGN_OR_RETURN(entry.id, ServiceId::Parse(id, where + "id"));
    ULUS_ASSIGN_OR_RETURN(entry.consent_required, BoolMember(s, "consent_required", where));
    ULUS_ASSIGN_OR_RETURN(entry.subject_required, BoolMember(s, "subject_required", where));
    c.services.push_back(std::move(entry));
  }

  ULUS_ASSIGN_OR_RETURN(const json* rights, ArrayMember(doc, "access_rights"));
  for (size_t i = 0; i < rights->size(); ++i) {
    const auto where = ListField("access_rights", i) + ".";
    const auto& r = (*rights)[i];
    if (!r.is_object()) return Invalid("must be an object", ListField("access_rights", i));
    AccessRight right;
    ULUS_ASSIGN_OR_RETURN(const auto client, StringMember(r, "client", where));
    ULUS_ASSIGN_OR_RETURN(right.client, ParseSubsystemId(client, where + "client"));
    ULUS_ASSIGN_OR_RETURN(const auto service, StringMember(r, "service", where));
    ULUS_ASSIGN_OR_RETURN(right.service, ServiceId::Parse(service, where + "service"));
    ULUS_ASSIGN_OR_RETURN(const auto mode, StringMember(r, "mode", where));
    if (mode == "read") {
      right.mode = AccessMode::kRead;
    } else if (mode == "write") {
      right.mode = AccessMode::kWrite;
    } else {
      return Invalid("mode must be \"read\" or \"write\"", where + "mode");
    }
    c.access_rights.push_back(std::move(right));
  }
  return Create(std::move(c));
}

json GlobalConfig::ToJson() const {
  const auto& c = content_;
  json members = json::array();
  for (const auto& m : c.members) members.push_back({{"id", m.id.ToString()}, {"name", m.name}});
  json subsystems = json::array();
  for (const auto& s : c.subsystems) {
    subsystems.push_back({{"id", s.id.ToString()},
                          {"address", s.node.address},
                          {"tls_sha256", s.node.tls_sha256},
                          {"signing_keys", s.node.signing_keys}});
  }
  json services = json::array();
  for (const auto& s : c.services) {
    services.push_back({{"id", s.id.ToString()},
                        {"consent_required", s.consent_required},
                        {"subject_required", s.subject_required}});
  }
  json rights = json::array();
  for (const auto& r : c.access_rights) {
    rights.push_back({{"client", r.client.ToString()},
                      {"service", r.service.ToString()},
                      {"mode", std::string(ModeName(r.mode))}});
  }
  return {{"instance", c.instance},
          {"members", std::move(members)},
          {"subsystems", std::move(subsystems)},
          {"services", std::move(services)},
          {"access_rights", std::move(rights)},
          {"authority_kid", c.authority_kid},
          {"ca_certificates", c.ca_certificates},
          {"issued", FormatRfc3339(c.issued)},
          {"expires", FormatRfc3339(c.expires)}};
}

bool GlobalConfig::MayCall(const ClientId& client, const ServiceId& service) const {
  return rights_.contains(RightKey(client, service));
}

bool GlobalConfig::MayWrite(const ClientId& client, const ServiceId& service) const {
  const auto it = rights_.find(RightKey(client, service));
  return it != rights_.end() && it->second == AccessMode::kWrite;
}

const NodeEntry* GlobalConfig::NodeOf(const ClientId& subsystem) const {
  const auto it = subsystem_index_.find(subsystem.ToString());
  return it == subsystem_index_.end() ? nullptr : &content_.subsystems[it->second].node;
}

const crypto::PublicKey* GlobalConfig::SigningKey(const ClientId& subsystem,
                                                  std::string_view kid) const {
  std::string key = subsystem.ToString();
  key += ' ';
  key += kid;
  const auto it = signing_keys_.find(key);
  return it == signing_keys_.end() ? nullptr : &it->second;
}

bool GlobalConfig::NodePresents(const ClientId& subsystem, std::string_view sha256) const {
  const NodeEntry* node = NodeOf(subsystem);
  if (node == nullptr) return false;
  return std::find(node->tls_sha256.begin(), node->tls_sha256.end(), sha256) !=
         node->tls_sha256.end();
}

const ServiceEntry* GlobalConfig::FindService(const ServiceId& service) const {
  const auto it = service_index_.find(service.ToString());
  return it == service_index_.end() ? nullptr : &content_.services[it->second];
}

Result<std::string> SignGlobalConfig(const GlobalConfig& config, const crypto::Signer& authority) {
  if (config.content().authority_kid != authority.Kid()) {
    return Invalid("the configuration names key " + config.content().authority_kid +
                       " but is signed with " + authority.Kid(),
                   "authority_kid");
  }
  json claims = config.ToJson();
  const auto seconds = [](TimePoint t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  };
  claims["iat"] = seconds(config.issued());
  claims["exp"] = seconds(config.expires());
  return crypto::SignJwt({{"typ", std::string(kGlobalConfigType)}}, claims, authority);
}

Result<GlobalConfig> VerifyGlobalConfig(std::string_view jws,
                                        const crypto::PublicKey& authority_key,
                                        const Clock& clock) {
  crypto::JwkSet keys;
  ULUS_TRY(keys.Add(authority_key));
  crypto::JwtPolicy policy;
  policy.algorithms = {authority_key.Alg()};
  policy.type = std::string(kGlobalConfigType);
  policy.leeway = kNoJwtTimeCheck;
  policy.max_token_bytes = size_t{16} * 1024 * 1024;
  ULUS_ASSIGN_OR_RETURN(auto verified, crypto::VerifyJwt(jws, keys, policy, clock));
  ULUS_ASSIGN_OR_RETURN(auto config, GlobalConfig::FromJson(verified.claims));
  if (config.content().authority_kid != authority_key.Kid()) {
    return Invalid("the configuration names another signing key than the authority's",
                   "authority_kid");
  }
  const auto now = clock.Now();
  if (now >= config.expires()) {
    return Error{ErrorCode::kFailedPrecondition,
                 "the global configuration expired at " + FormatRfc3339(config.expires()) +
                     "; the node refuses traffic until it fetches a fresh one",
                 "expires"};
  }
  if (config.issued() > now + kMaxFutureIssue) {
    return Error{ErrorCode::kFailedPrecondition,
                 "the global configuration is issued at " + FormatRfc3339(config.issued()) +
                     ", ahead of this node's clock; check the clocks",
                 "issued"};
  }
  return config;
}

std::string ServiceCodeForRegistry(std::string_view registry_code) {
  std::string code(registry_code);
  std::replace(code.begin(), code.end(), '_', '-');
  return code;
}

Result<GlobalConfig> BuildGlobalConfig(const PackExchange& pack, std::string authority_kid,
                                       TimePoint issued, TimePoint expires) {
  GlobalConfigContent c;
  c.instance = pack.instance;
  c.authority_kid = std::move(authority_kid);
  c.issued = issued;
  c.expires = expires;

  std::map<std::string, ClientId, std::less<>> agency_subsystem;
  std::set<std::string> members_seen;
  for (size_t i = 0; i < pack.agencies.size(); ++i) {
    const auto& a = pack.agencies[i];
    const auto field = ListField("agencies", i);
    ClientId id{{pack.instance, a.member_class, a.member_code}, a.subsystem};
    // Parse the encoded form back so every part passes the identifier rules.
    ULUS_TRY(ClientId::Parse(id.ToString(), field));
    if (!agency_subsystem.emplace(a.code, id).second) {
      return Invalid("agency " + a.code + " is listed twice", field);
    }
    if (members_seen.insert(id.member.ToString()).second) c.members.push_back({id.member, a.name});
    c.subsystems.push_back({id, {a.node_address, a.tls_sha256, a.signing_keys}});
  }

  std::map<std::string, ServiceId, std::less<>> registry_service;
  for (size_t i = 0; i < pack.registries.size(); ++i) {
    const auto& r = pack.registries[i];
    const auto field = ListField("registries", i);
    const auto agency = agency_subsystem.find(r.agency);
    if (agency == agency_subsystem.end()) {
      return Invalid("registry " + r.code + " names unknown agency " + r.agency, field);
    }
    ServiceId id{agency->second, ServiceCodeForRegistry(r.code), std::nullopt};
    ULUS_TRY(ServiceId::Parse(id.ToString(), field));
    if (!registry_service.emplace(r.code, id).second) {
      return Invalid("registry " + r.code + " is listed twice", field);
    }
    c.services.push_back({id, r.consent_required, r.subject_required});
  }

  // (client, service) -> position in c.access_rights, so read and write rules merge.
  std::map<std::string, size_t> right_at;
  auto grant = [&](const ClientId& client, const ServiceId& service, AccessMode mode) {
    const auto [it, inserted] = right_at.emplace(RightKey(client, service), c.access_rights.size());
    if (inserted) {
      c.access_rights.push_back({client, service, mode});
    } else if (mode == AccessMode::kWrite) {
      c.access_rights[it->second].mode = AccessMode::kWrite;
    }
  };
  for (size_t i = 0; i < pack.rules.size(); ++i) {
    const auto& rule = pack.rules[i];
    const auto field = ListField("rules", i);
    ULUS_ASSIGN_OR_RETURN(const auto client, ParseSubsystemId(rule.client, field + ".client"));
    if (rule.registry == "*") {
      for (const auto& service : c.services) grant(client, service.id, rule.mode);
      continue;
    }
    const auto service = registry_service.find(rule.registry);
    if (service == registry_service.end()) {
      return Invalid("rule names unknown registry " + rule.registry, field + ".registry");
    }
    grant(client, service->second, rule.mode);
  }
  auto config = GlobalConfig::Create(std::move(c));
  if (config.ok()) {
    spdlog::debug("global configuration built: {} members, {} services, {} access rights",
                  config->content().members.size(), config->content().services.size(),
                  config->content().access_rights.size());
  }
  return config;
}

Status ConfigHolder::Install(std::string_view jws) {
  ULUS_ASSIGN_OR_RETURN(auto config, VerifyGlobalConfig(jws, authority_key_, clock_));
  auto fresh = std::make_shared<const GlobalConfig>(std::move(config));
  const std::lock_guard lock(install_mu_);
  const auto current = current_.load();
  if (current) {
    if (fresh->issued() < current->issued()) {
      return Error{ErrorCode::kFailedPrecondition,
                   "the offered global configuration was issued at " +
                       FormatRfc3339(fresh->issued()) + ", before the current one (" +
                       FormatRfc3339(current->issued()) + "); a node never rolls back",
                   "issued"};
    }
    if (fresh->issued() == current->issued() && fresh->ToJson() != current->ToJson()) {
      return Error{ErrorCode::kConflict,
                   "two different global configurations claim the same issue time " +
                       FormatRfc3339(fresh->issued()),
                   "issued"};
    }
  }
  spdlog::info("global configuration of {} installed, issued {}, expires {}", fresh->instance(),
               FormatRfc3339(fresh->issued()), FormatRfc3339(fresh->expires()));
  current_.store(std::move(fresh));
  return Ok();
}

Result<std::shared_ptr<const GlobalConfig>> ConfigHolder::Current() const {
  auto current = current_.load();
  if (!current) {
    return Error{ErrorCode::kFailedPrecondition,
                 "this node has no global configuration yet; it refuses traffic until it fetches "
                 "one",
                 {}};
  }
  if (clock_.Now() >= current->expires()) {
    return Error{ErrorCode::kFailedPrecondition,
                 "the global configuration expired at " + FormatRfc3339(current->expires()) +
                     "; the node refuses traffic until it fetches a fresh one",
                 {}};
  }
  return current;
}

}  // namespace ulus::exchange
