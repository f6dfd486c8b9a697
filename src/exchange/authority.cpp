#include "ulus/exchange/authority.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <optional>
#include <unordered_set>
#include <utility>

#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/random.hpp"
#include "ulus/http/message.hpp"
#include "ulus/store/migration.hpp"

namespace ulus::exchange {
namespace {

using nlohmann::json;
using store::Value;

constexpr size_t kTokenSecretBytes = 32;
// Longer texts are not tokens; they are refused before hashing.
constexpr size_t kMaxTokenLength = 256;
constexpr size_t kMaxAddressLength = 2048;
constexpr size_t kMaxKidLength = 128;
// Spent and expired token rows are kept this long for the record, then dropped.
constexpr std::chrono::hours kTokenRetention{24 * 90};
constexpr std::string_view kBadToken =
    "the registration token is not valid: it is wrong, already used, withdrawn or expired; ask "
    "the authority's operator for a new one";

const std::vector<store::Migration>& Migrations() {
  static const std::vector<store::Migration> steps = {
      {1,
       "central authority",
       R"(CREATE TABLE exchange_authority_token (
            token_sha256 TEXT PRIMARY KEY, subsystem TEXT NOT NULL, issued_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL, spent_at BIGINT, spent_how TEXT);
          CREATE INDEX exchange_authority_token_subsystem
            ON exchange_authority_token (subsystem, spent_at);
          CREATE TABLE exchange_authority_node (
            subsystem TEXT PRIMARY KEY, address TEXT NOT NULL, tls_sha256 TEXT NOT NULL,
            registered_at BIGINT NOT NULL);
          CREATE TABLE exchange_authority_certificate (
            tls_sha256 TEXT PRIMARY KEY, subsystem TEXT NOT NULL, subject TEXT NOT NULL,
            not_after BIGINT NOT NULL, issued_at BIGINT NOT NULL, pem TEXT NOT NULL);
          CREATE TABLE exchange_authority_signing_key (
            subsystem TEXT NOT NULL, kid TEXT NOT NULL, jwk TEXT NOT NULL, seq BIGINT NOT NULL,
            added_at BIGINT NOT NULL, PRIMARY KEY (subsystem, kid));)",
       {}},
  };
  return steps;
}

Error BadToken() {
  return Error{ErrorCode::kUnauthenticated, std::string(kBadToken), "token"};
}

std::string TokenHash(std::string_view token) {
  return crypto::HexEncode(crypto::Sha256(token));
}

TimePoint TruncateToMillis(TimePoint t) {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(t);
}

ClientId AgencySubsystem(const PackExchange& pack, const PackAgency& agency) {
  return ClientId{{pack.instance, agency.member_class, agency.member_code}, agency.subsystem};
}

// The pack with the placeholder address for every agency that names none.
PackExchange WithPlaceholders(PackExchange pack) {
  for (auto& agency : pack.agencies) {
    if (agency.node_address.empty()) agency.node_address = std::string(kUnregisteredNodeAddress);
  }
  return pack;
}

std::unordered_set<std::string> PackSubsystems(const PackExchange& pack) {
  std::unordered_set<std::string> out;
  for (const auto& a : pack.agencies) out.insert(AgencySubsystem(pack, a).ToString());
  return out;
}

// The host of "https://host[:port][/path]", or nothing when the address is not such a URL.
// User info, queries, fragments, spaces and control characters are refused.
std::optional<std::string> HttpsHost(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (url.size() > kMaxAddressLength || !url.starts_with(kScheme)) return std::nullopt;
  if (std::any_of(url.begin(), url.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= ' ' || u >= 0x7f || c == '@' || c == '?' || c == '#' || c == '\\';
      })) {
    return std::nullopt;
  }
  std::string_view authority = url.substr(kScheme.size());
  authority = authority.substr(0, authority.find('/'));
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    const auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (!rest.starts_with(':')) return std::nullopt;
      port = rest.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else if (const auto colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return std::nullopt;
  }
  constexpr size_t kMaxPortDigits = 5;
  if (port.size() > kMaxPortDigits ||
      port.find_first_not_of("0123456789") != std::string_view::npos ||
      (!port.empty() && std::stoul(std::string(port)) > 65535)) {
    return std::nullopt;
  }
  if (host.empty()) return std::nullopt;
  return std::string(host);
}

// The node's message-signing key: a public ES256 JWK with a kid. Returns its canonical public
// form (only the members a verifier needs).
Result<json> CheckSigningJwk(const json& jwk) {
  constexpr const char* kField = "signing_jwk";
  if (!jwk.is_object()) return Error::InvalidArgument("must be a JWK object", kField);
  const auto kid = jwk.find("kid");
  if (kid == jwk.end() || !kid->is_string() || kid->get_ref<const std::string&>().empty() ||
      kid->get_ref<const std::string&>().size() > kMaxKidLength) {
    return Error::InvalidArgument("the key needs a \"kid\" of 1 to 128 characters", kField);
  }
  if (jwk.contains("d")) {
    return Error::InvalidArgument(
        "this is a private key; send only the public half (never send the private key anywhere)",
        kField);
  }
  auto key = crypto::PublicKey::FromJwk(jwk);
  if (!key.ok()) return Error::InvalidArgument(key.error().message, kField);
  if (key->Alg() != crypto::SignatureAlg::kEs256) {
    return Error::InvalidArgument("nodes sign messages with ES256 (P-256) keys", kField);
  }
  return key->Jwk();
}

Result<std::string> StringMember(const json& body, const char* name, bool required) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) return Error::InvalidArgument(std::string(name) + " is required", name);
    return std::string();
  }
  if (!it->is_string()) {
    return Error::InvalidArgument(std::string(name) + " must be a string", name);
  }
  return it->get<std::string>();
}

Result<RegistrationRequest> RegistrationRequestFromJson(const json& body) {
  if (!body.is_object()) return Error::InvalidArgument("the body must be a JSON object");
  RegistrationRequest r;
  ULUS_ASSIGN_OR_RETURN(r.token, StringMember(body, "token", true));
  ULUS_ASSIGN_OR_RETURN(r.csr_pem, StringMember(body, "csr", true));
  ULUS_ASSIGN_OR_RETURN(r.address, StringMember(body, "address", true));
  const auto jwk = body.find("signing_jwk");
  if (jwk == body.end()) return Error::InvalidArgument("signing_jwk is required", "signing_jwk");
  r.signing_jwk = *jwk;
  ULUS_ASSIGN_OR_RETURN(const auto subsystem, StringMember(body, "subsystem", false));
  if (!subsystem.empty()) {
    ULUS_ASSIGN_OR_RETURN(r.subsystem, ClientId::Parse(subsystem, "subsystem"));
  }
  if (const auto hosts = body.find("hosts"); hosts != body.end() && !hosts->is_null()) {
    if (!hosts->is_array()) return Error::InvalidArgument("must be an array of names", "hosts");
    for (size_t i = 0; i < hosts->size(); ++i) {
      if (!(*hosts)[i].is_string()) {
        return Error::InvalidArgument("must be a string", "hosts[" + std::to_string(i) + "]");
      }
      r.hosts.push_back((*hosts)[i].get<std::string>());
    }
  }
  return r;
}

json ProblemResponses() {
  return {{"400", {{"description", "The request is malformed; the problem names the field."}}}};
}

}  // namespace

Result<RegistrationToken> ParseRegistrationToken(std::string_view token) {
  const auto bad = [] {
    return Error::InvalidArgument(
        "not a Khur registration token (khur1.<secret>.<authority key thumbprint>)", "token");
  };
  if (token.size() > kMaxTokenLength) return bad();
  const auto first = token.find('.');
  if (first == std::string_view::npos || token.substr(0, first) != kRegistrationTokenPrefix) {
    return bad();
  }
  const auto second = token.find('.', first + 1);
  if (second == std::string_view::npos) return bad();
  RegistrationToken out{std::string(token.substr(first + 1, second - first - 1)),
                        std::string(token.substr(second + 1))};
  const auto secret = crypto::Base64UrlDecode(out.secret);
  const auto thumbprint = crypto::Base64UrlDecode(out.authority_thumbprint);
  if (!secret || secret->size() != kTokenSecretBytes || !thumbprint ||
      thumbprint->size() != crypto::Sha256Digest{}.size()) {
    return bad();
  }
  return out;
}

Authority::Authority(store::Database& db, const crypto::Signer& config_signer,
                     CertificateAuthority& ca, PackExchange pack, const Clock& clock,
                     AuthorityOptions options)
    : db_(db),
      signer_(config_signer),
      ca_(ca),
      pack_(std::move(pack)),
      clock_(clock),
      options_(options),
      subsystems_(PackSubsystems(pack_)) {}

Result<std::unique_ptr<Authority>> Authority::Open(store::Database& db,
                                                   const crypto::Signer& config_signer,
                                                   CertificateAuthority& ca, PackExchange pack,
                                                   const Clock& clock, AuthorityOptions options) {
  if (options.config_validity.count() <= 0 || options.reissue_after.count() < 0 ||
      options.reissue_after >= options.config_validity || options.token_ttl.count() <= 0 ||
      options.certificate_validity.count() <= 0) {
    return Error::InvalidArgument(
        "the authority's periods must be positive, with reissue_after shorter than "
        "config_validity",
        "options");
  }
  // Check the pack once now, so that a bad pack fails at start-up rather than on the first fetch.
  ULUS_TRY(BuildGlobalConfig(WithPlaceholders(pack), config_signer.Kid(), clock.Now(),
                             clock.Now() + options.config_validity));
  ULUS_TRY(store::Migrate(db, "exchange_authority", Migrations()));
  return std::unique_ptr<Authority>(
      new Authority(db, config_signer, ca, std::move(pack), clock, options));
}

Result<std::string> Authority::IssueRegistrationToken(const ClientId& subsystem) {
  const auto encoded = subsystem.ToString();
  if (!subsystem.subsystem || !subsystems_.contains(encoded)) {
    return Error::InvalidArgument(encoded + " is not a subsystem of this instance's country pack",
                                  "subsystem");
  }
  const auto secret = crypto::RandomBytes(kTokenSecretBytes);
  std::string token(kRegistrationTokenPrefix);
  token += '.';
  token += crypto::Base64UrlEncode(secret);
  token += '.';
  token += signer_.Public().Thumbprint();
  const auto now = clock_.Now();
  const auto expires = now + options_.token_ttl;
  const Status stored = db_.InTransaction([&](store::Connection& conn) -> Status {
    const std::vector<Value> withdraw = {ToUnixMicros(now), encoded};
    ULUS_TRY(
        conn.Execute("UPDATE exchange_authority_token SET spent_at = $1, spent_how = 'withdrawn' "
                     "WHERE subsystem = $2 AND spent_at IS NULL",
                     withdraw));
    const std::vector<Value> insert = {TokenHash(token), encoded, ToUnixMicros(now),
                                       ToUnixMicros(expires)};
    ULUS_TRY(conn.Execute(
        "INSERT INTO exchange_authority_token (token_sha256, subsystem, issued_at, expires_at) "
        "VALUES ($1, $2, $3, $4)",
        insert));
    const std::vector<Value> prune = {ToUnixMicros(now - kTokenRetention)};
    ULUS_TRY(conn.Execute("DELETE FROM exchange_authority_token WHERE expires_at < $1", prune));
    return Ok();
  });
  if (!stored.ok()) return stored.error();
  spdlog::info("registration token issued for {}, usable until {}", encoded,
               FormatRfc3339(expires));
  return token;
}

Result<Registration> Authority::Register(const RegistrationRequest& request) {
  const auto host = HttpsHost(request.address);
  if (!host) {
    return Error::InvalidArgument(
        "the node address must be an https URL, https://host[:port][/path], without user, query "
        "or fragment",
        "address");
  }
  ULUS_ASSIGN_OR_RETURN(const json signing_jwk, CheckSigningJwk(request.signing_jwk));
  const std::string kid = signing_jwk["kid"].get<std::string>();
  // The certificate must name the host that peers connect to, or their TLS check fails.
  std::vector<std::string> hosts = request.hosts;
  if (std::find(hosts.begin(), hosts.end(), *host) == hosts.end()) hosts.push_back(*host);
  if (request.csr_pem.empty()) return Error::InvalidArgument("csr is required", "csr");
  if (request.token.size() > kMaxTokenLength) return BadToken();
  const std::string token_hash = TokenHash(request.token);

  struct Outcome {
    ClientId subsystem;
    CertificateInfo certificate;
    std::string jws;
    TimePoint issued;
  };
  const std::lock_guard lock(config_mu_);
  auto outcome = db_.InTransaction<Outcome>([&](store::Connection& conn) -> Result<Outcome> {
    const auto now = clock_.Now();
    const auto now_us = ToUnixMicros(now);
    const std::vector<Value> find = {token_hash, now_us};
    ULUS_ASSIGN_OR_RETURN(
        const auto rows,
        conn.Query("SELECT subsystem FROM exchange_authority_token "
                   "WHERE token_sha256 = $1 AND spent_at IS NULL AND expires_at > $2",
                   find));
    if (rows.empty()) return BadToken();
    const std::string encoded = rows[0].Text(0);
    auto subsystem = ClientId::Parse(encoded, "subsystem");
    if (!subsystem.ok() || !subsystems_.contains(encoded)) {
      // The pack no longer has it (the token outlived a pack change).
      return BadToken();
    }
    if (request.subsystem && *request.subsystem != *subsystem) {
      return Error::PermissionDenied("this token is for " + encoded + ", not " +
                                     request.subsystem->ToString() + "; it stays usable for " +
                                     encoded);
    }
    // Conditional, so of two concurrent registrations with one token exactly one spends it: on
    // PostgreSQL the second waits for the first's row lock and then finds spent_at set.
    const std::vector<Value> spend = {now_us, token_hash};
    ULUS_ASSIGN_OR_RETURN(
        const auto spent,
        conn.Execute("UPDATE exchange_authority_token SET spent_at = $1, spent_how = 'registered' "
                     "WHERE token_sha256 = $2 AND spent_at IS NULL",
                     spend));
    if (spent != 1) return BadToken();

    ULUS_ASSIGN_OR_RETURN(auto certificate, ca_.Issue(request.csr_pem, *subsystem, hosts,
                                                      options_.certificate_validity));
    // The node row first: its row lock orders concurrent registrations of one subsystem, so
    // the signing-key sequence below reads the winner's rows.
    const std::vector<Value> node = {encoded, request.address, certificate.sha256, now_us};
    ULUS_TRY(conn.Execute(
        "INSERT INTO exchange_authority_node (subsystem, address, tls_sha256, registered_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (subsystem) DO UPDATE SET "
        "address = excluded.address, tls_sha256 = excluded.tls_sha256, "
        "registered_at = excluded.registered_at",
        node));
    const std::vector<Value> cert = {certificate.sha256,
                                     encoded,
                                     certificate.subject,
                                     ToUnixMicros(certificate.not_after),
                                     now_us,
                                     certificate.pem};
    ULUS_TRY(
        conn.Execute("INSERT INTO exchange_authority_certificate "
                     "(tls_sha256, subsystem, subject, not_after, issued_at, pem) "
                     "VALUES ($1, $2, $3, $4, $5, $6)",
                     cert));
    const std::vector<Value> key = {encoded, kid, signing_jwk.dump(), now_us};
    ULUS_TRY(conn.Execute(
        "INSERT INTO exchange_authority_signing_key (subsystem, kid, jwk, seq, added_at) "
        "VALUES ($1, $2, $3, (SELECT COALESCE(MAX(seq), 0) + 1 FROM "
        "exchange_authority_signing_key WHERE subsystem = $1), $4) "
        "ON CONFLICT (subsystem, kid) DO UPDATE SET "
        "jwk = excluded.jwk, seq = excluded.seq, added_at = excluded.added_at",
        key));
    const std::vector<Value> prune = {encoded, static_cast<int64_t>(kKeptSigningKeys)};
    ULUS_TRY(conn.Execute(
        "DELETE FROM exchange_authority_signing_key WHERE subsystem = $1 AND seq NOT IN "
        "(SELECT seq FROM exchange_authority_signing_key WHERE subsystem = $1 "
        "ORDER BY seq DESC LIMIT $2)",
        prune));

    // Signed inside the transaction: a configuration that cannot be built fails the
    // registration and so writes nothing.
    Outcome out{std::move(subsystem).value(), std::move(certificate), {}, {}};
    ULUS_ASSIGN_OR_RETURN(out.jws, BuildSignedConfig(conn, out.issued));
    return out;
  });
  if (!outcome.ok()) return std::move(outcome).error();
  cached_jws_ = outcome->jws;
  cached_issued_ = outcome->issued;
  spdlog::info("node of {} registered at {}: certificate {} until {}, signing key {}",
               outcome->subsystem.ToString(), request.address, outcome->certificate.sha256,
               FormatRfc3339(outcome->certificate.not_after), kid);

  Registration r;
  r.subsystem = std::move(outcome->subsystem);
  r.certificate_pem = outcome->certificate.pem;
  r.certificate = std::move(outcome->certificate);
  r.ca_pem = ca_.CertificatePem();
  r.authority_jwk = signer_.PublicJwk();
  r.config_jws = std::move(outcome->jws);
  return r;
}

Result<std::string> Authority::BuildSignedConfig(store::Connection& conn, TimePoint& issued) {
  std::map<std::string, NodeEntry, std::less<>> nodes;
  ULUS_ASSIGN_OR_RETURN(
      const auto node_rows,
      conn.Query("SELECT subsystem, address, tls_sha256 FROM exchange_authority_node"));
  for (const auto& row : node_rows) {
    nodes[row.Text(0)] = NodeEntry{row.Text(1), {row.Text(2)}, {}};
  }
  ULUS_ASSIGN_OR_RETURN(const auto key_rows,
                        conn.Query("SELECT subsystem, jwk FROM exchange_authority_signing_key "
                                   "ORDER BY subsystem, seq DESC"));
  for (const auto& row : key_rows) {
    const auto node = nodes.find(row.Text(0));
    if (node == nodes.end()) continue;
    auto jwk = json::parse(row.Text(1), nullptr, false);
    if (jwk.is_discarded()) {
      return Error::Internal("a stored signing key of " + row.Text(0) + " is not JSON");
    }
    node->second.signing_keys.push_back(std::move(jwk));
  }

  PackExchange pack = WithPlaceholders(pack_);
  for (auto& agency : pack.agencies) {
    const auto node = nodes.find(AgencySubsystem(pack, agency).ToString());
    if (node == nodes.end()) continue;
    agency.node_address = node->second.address;
    agency.tls_sha256 = node->second.tls_sha256;
    agency.signing_keys = node->second.signing_keys;
  }

  // Milliseconds, as the document spells times; strictly after the last one signed here.
  issued = TruncateToMillis(clock_.Now());
  if (cached_issued_ != TimePoint{} && issued <= cached_issued_) {
    issued = cached_issued_ + std::chrono::milliseconds(1);
  }
  ULUS_ASSIGN_OR_RETURN(auto config, BuildGlobalConfig(pack, signer_.Kid(), issued,
                                                       issued + options_.config_validity));
  auto content = config.content();
  content.ca_certificates = {ca_.CertificatePem()};
  ULUS_ASSIGN_OR_RETURN(auto with_ca, GlobalConfig::Create(std::move(content)));
  return SignGlobalConfig(with_ca, signer_);
}

Result<std::string> Authority::SignedConfig() {
  const std::lock_guard lock(config_mu_);
  if (!cached_jws_.empty() && clock_.Now() < cached_issued_ + options_.reissue_after) {
    return cached_jws_;
  }
  ULUS_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  TimePoint issued;
  ULUS_ASSIGN_OR_RETURN(auto jws, BuildSignedConfig(*conn, issued));
  cached_jws_ = jws;
  cached_issued_ = issued;
  return jws;
}

void Authority::Mount(http::Router& router) {
  const json tags = {"Khur authority"};
  router.Add(
      http::Method::get, "/khur/authority/conf",
      [this](http::Request& /*request*/) -> Result<http::Response> {
        ULUS_ASSIGN_OR_RETURN(auto jws, SignedConfig());
        auto response = http::Response::Text(std::move(jws), "application/jwt");
        response.headers.emplace_back("Cache-Control", "no-store");
        return response;
      },
      {{"summary", "The signed global configuration (a JWS, typ khur-conf+jwt)"},
       {"description",
        "Members, subsystems with their nodes' addresses, certificate fingerprints and signing "
        "keys, services, access rights and the CA certificates, signed by the authority's key. "
        "Nodes fetch it on a schedule and refuse traffic once their copy has expired."},
       {"tags", tags},
       {"responses",
        {{"200",
          {{"description", "The configuration"},
           {"content", {{"application/jwt", {{"schema", {{"type", "string"}}}}}}}}}}}});
  router.Add(
      http::Method::get, "/khur/authority/ca.pem",
      [this](http::Request& /*request*/) -> Result<http::Response> {
        return http::Response::Text(ca_.CertificatePem(), "application/x-pem-file");
      },
      {{"summary", "The certificate of Khur's CA, which issues every node's TLS certificate"},
       {"tags", tags},
       {"responses",
        {{"200",
          {{"description", "A PEM certificate"},
           {"content", {{"application/x-pem-file", {{"schema", {{"type", "string"}}}}}}}}}}}});
  router.Add(http::Method::get, "/khur/authority/key",
             [this](http::Request& /*request*/) -> Result<http::Response> {
               return http::Response::Json(AuthorityJwk());
             },
             {{"summary", "The public JWK that signs the global configuration"},
              {"description",
               "For reference only: a node pins this key at registration by comparing its RFC 7638 "
               "thumbprint with the one in its registration token, never by trusting this answer."},
              {"tags", tags},
              {"responses", {{"200", {{"description", "A public JWK with kid"}}}}}});
  router.Add(
      http::Method::post, "/khur/authority/register",
      [this](http::Request& request) -> Result<http::Response> {
        ULUS_ASSIGN_OR_RETURN(const auto body, request.Json());
        ULUS_ASSIGN_OR_RETURN(const auto registration_request, RegistrationRequestFromJson(body));
        ULUS_ASSIGN_OR_RETURN(auto r, Register(registration_request));
        auto response = http::Response::Json({{"subsystem", r.subsystem.ToString()},
                                              {"certificate", r.certificate_pem},
                                              {"ca", r.ca_pem},
                                              {"authority_jwk", r.authority_jwk},
                                              {"config", r.config_jws}},
                                             http::Status::created);
        response.headers.emplace_back("Cache-Control", "no-store");
        return response;
      },
      {{"summary", "Register a node with a one-time token"},
       {"description",
        "The token (from the authority's operator) is the only credential. The authority issues "
        "the node's TLS certificate for the key in the CSR and lists the node, its certificate "
        "and its signing key in the global configuration. A wrong, used or expired token is 401 "
        "with one message for all."},
       {"tags", tags},
       {"requestBody",
        {{"required", true},
         {"content",
          {{"application/json",
            {{"schema",
              {{"type", "object"},
               {"required", {"token", "csr", "address", "signing_jwk"}},
               {"properties",
                {{"token", {{"type", "string"}, {"description", "khur1.<secret>.<thumbprint>"}}},
                 {"csr", {{"type", "string"}, {"description", "PKCS#10 PEM, P-256 key"}}},
                 {"address",
                  {{"type", "string"}, {"description", "https URL of the node's mTLS port"}}},
                 {"signing_jwk",
                  {{"type", "object"}, {"description", "public ES256 JWK with kid"}}},
                 {"subsystem",
                  {{"type", "string"},
                   {"description",
                    "the subsystem the node serves (INSTANCE/CLASS/MEMBER/SUBSYSTEM); when given, "
                    "a token of another subsystem is refused with 403 and stays usable"}}},
                 {"hosts",
                  {{"type", "array"},
                   {"items", {{"type", "string"}}},
                   {"description",
                    "extra DNS names or IP addresses for the certificate"}}}}}}}}}}}}},
       {"responses", [] {
          json responses = ProblemResponses();
          responses["201"] = {{"description", "Registered"},
                              {"content",
                               {{"application/json",
                                 {{"schema",
                                   {{"type", "object"},
                                    {"properties",
                                     {{"subsystem", {{"type", "string"}}},
                                      {"certificate", {{"type", "string"}}},
                                      {"ca", {{"type", "string"}}},
                                      {"authority_jwk", {{"type", "object"}}},
                                      {"config", {{"type", "string"}}}}}}}}}}}};
          responses["401"] = {{"description", "The token is wrong, used, withdrawn or expired"}};
          responses["403"] = {{"description", "The token is for another subsystem"}};
          return responses;
        }()}});
}

}  // namespace ulus::exchange
