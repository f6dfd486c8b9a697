#include "khur.hpp"

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ulus/core/files.hpp"
#include "ulus/exchange/enrollment.hpp"
#include "ulus/http/problem.hpp"
#include "ulus/registry/registry_api.hpp"

namespace ulus::app {
namespace {

using nlohmann::json;

std::string English(const registry::LocalizedText& text) {
  if (auto it = text.find("en"); it != text.end()) return it->second;
  return text.empty() ? std::string() : text.begin()->second;
}

// Registries whose service needs the person's consent, from <pack>/exchange.yaml.
Result<std::vector<std::string>> ConsentRegistries(const std::filesystem::path& pack_dir) {
  const auto file = pack_dir / "exchange.yaml";
  if (!std::filesystem::exists(file)) return std::vector<std::string>{};
  try {
    const YAML::Node doc = YAML::LoadFile(file.string());
    std::vector<std::string> out;
    if (const auto list = doc["consent_required"]) {
      for (const auto& item : list) out.push_back(item.as<std::string>());
    }
    return out;
  } catch (const YAML::Exception& e) {
    return Error::InvalidArgument(file.string() + ": " + e.what(), "consent_required");
  }
}

Result<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return Error::NotFound("cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Calls a route of `router` in this process as the HTTP server would, without a socket: how the
// embedded default's nodes read the registries.
Result<http::ClientResponse> CallRouter(const http::Router& router, http::Method method,
                                        std::string_view target, std::string_view body,
                                        const exchange::HeaderList& headers) {
  http::BeastRequest message(method, std::string(target), 11);
  for (const auto& [name, value] : headers) message.insert(name, value);
  message.body() = std::string(body);
  message.prepare_payload();
  http::Request request(std::move(message), "127.0.0.1");
  auto match = router.Find(method, request.path());
  http::Response response;
  if (match.handler == nullptr) {
    response = http::Problem(
        match.allowed.empty() ? http::Status::not_found : http::Status::method_not_allowed,
        "no resource at this path", request.path());
  } else {
    request.SetParams(std::move(match.params));
    request.SetRoutePattern(match.pattern);
    auto answered = (*match.handler)(request);
    response =
        answered.ok() ? std::move(*answered) : http::Problem(answered.error(), request.path());
  }
  http::ClientResponse out;
  out.status = response.status;
  out.body = std::move(response.body);
  out.headers = std::move(response.headers);
  out.headers.emplace_back("Content-Type", response.content_type);
  return out;
}

}  // namespace

Result<exchange::PackExchange> PackExchangeOf(const registry::Pack& pack,
                                              const std::filesystem::path& pack_dir) {
  exchange::PackExchange out;
  out.instance = pack.xroad_instance;
  for (const auto& a : pack.agencies) {
    out.agencies.push_back(
        {a.code, a.member_class, a.member_code, a.subsystem, English(a.name), "", {}, {}});
  }
  ULUS_ASSIGN_OR_RETURN(const auto consent, ConsentRegistries(pack_dir));
  for (const auto& name : consent) {
    const bool known = std::any_of(pack.registries.begin(), pack.registries.end(),
                                   [&](const auto& r) { return r.name == name; });
    if (!known) {
      return Error::InvalidArgument("exchange.yaml names no registry of the pack: " + name,
                                    "consent_required");
    }
  }
  for (const auto& r : pack.registries) {
    const bool needs_consent = std::find(consent.begin(), consent.end(), r.name) != consent.end();
    out.registries.push_back({r.name, r.agency, needs_consent, !r.subject.empty()});
  }
  for (const auto& rule : pack.access) {
    for (const auto& name : rule.read) {
      out.rules.push_back({rule.client, name, exchange::AccessMode::kRead});
    }
    for (const auto& name : rule.write) {
      out.rules.push_back({rule.client, name, exchange::AccessMode::kWrite});
    }
  }
  return out;
}

Result<crypto::SigningKey> LoadOrCreateAuthorityKey(const std::filesystem::path& dir) {
  const auto path = dir / "authority.key";
  if (!std::filesystem::exists(path)) {
    ULUS_ASSIGN_OR_RETURN(auto pem, exchange::GenerateP256KeyPem());
    ULUS_TRY(WritePrivateFile(path, pem));
  }
  ULUS_ASSIGN_OR_RETURN(auto pem, ReadFile(path));
  return crypto::SigningKey::FromPem(pem);
}

struct Khur::RunningNode {
  NodeInfo info;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<exchange::NodeCredentials> credentials;
  std::unique_ptr<exchange::Node> node;
};

Khur::~Khur() {
  Stop();
}

Result<std::unique_ptr<Khur>> Khur::Open(const KhurOptions& options, const registry::Pack& pack,
                                         const std::filesystem::path& pack_dir, store::Database& db,
                                         identity::Dan& dan, http::Router& router) {
  std::unique_ptr<Khur> khur(new Khur());
  khur->options_ = options;
  khur->pack_ = &pack;
  khur->dan_ = &dan;
  ULUS_ASSIGN_OR_RETURN(khur->exchange_, PackExchangeOf(pack, pack_dir));
  const auto dir = options.data_dir / "authority";
  ULUS_ASSIGN_OR_RETURN(auto key, LoadOrCreateAuthorityKey(dir));
  khur->authority_key_ = std::make_unique<crypto::SigningKey>(std::move(key));
  ULUS_ASSIGN_OR_RETURN(khur->ca_, exchange::CertificateAuthority::OpenOrCreate(
                                       dir / "ca", pack.xroad_instance, Clock::System()));
  ULUS_ASSIGN_OR_RETURN(khur->authority_,
                        exchange::Authority::Open(db, *khur->authority_key_, *khur->ca_,
                                                  khur->exchange_, Clock::System()));
  khur->authority_->Mount(router);
  Khur* self = khur.get();
  const http::Operation usage_op = {
      {"summary", "Who used my personal data: the data tracker (GovStack MyPersonalDataUsage)"},
      {"tags", {"MyPersonalDataUsage API"}},
      {"description",
       "Every request about the caller that passed through Khur's nodes: which institution and "
       "system, which officer, when, which registry and why; newest first. Needs a Dan access "
       "token of the person (Authorization: Bearer)."},
      {"parameters",
       {{{"name", "userId"},
         {"in", "query"},
         {"required", false},
         {"schema", {{"type", "string"}}},
         {"description", "The caller's own national ID (another's is refused)"}},
        {{"name", "databaseId"},
         {"in", "query"},
         {"required", false},
         {"schema", {{"type", "string"}}},
         {"description", "A registry name, to see one registry's uses"}},
        {{"name", "page"}, {"in", "query"}, {"schema", {{"type", "integer"}}}},
        {{"name", "pageSize"}, {"in", "query"}, {"schema", {{"type", "integer"}}}}}}};
  const auto handler = [self](http::Request& r) { return self->MyPersonalDataUsage(r); };
  router.Add(http::Method::get, "/data/myPersonalDataUsage", handler, usage_op);
  // The spelling GovStack's test harness uses.
  router.Add(http::Method::get, "/data/MyPersonalDataUsage/1.0", handler, usage_op);
  return khur;
}

Status Khur::StartNodes(const std::string& platform_origin) {
  if (!options_.run_nodes) return Ok();
  const auto nodes_dir = options_.data_dir / "nodes";
  std::error_code ec;
  std::filesystem::create_directories(nodes_dir, ec);
  // Ports are chosen once and kept: the authority has the addresses registered.
  json ports = json::object();
  const auto ports_file = nodes_dir / "ports.json";
  if (auto text = ReadFile(ports_file); text.ok()) {
    ports = json::parse(*text, nullptr, false);
    if (!ports.is_object()) ports = json::object();
  }
  uint16_t next = options_.first_node_port;
  for (const auto& [agency, entry] : ports.items()) {
    next = std::max<uint16_t>(next, static_cast<uint16_t>(entry.value("provider", 0) + 1));
  }
  bool ports_changed = false;
  for (const auto& agency : pack_->agencies) {
    if (!ports.contains(agency.code)) {
      ports[agency.code] = {{"client", next}, {"provider", next + 1}};
      next = static_cast<uint16_t>(next + 2);
      ports_changed = true;
    }
  }
  if (ports_changed) ULUS_TRY(WritePrivateFile(ports_file, ports.dump(2) + "\n"));

  // Which registries each agency serves.
  std::map<std::string, std::map<std::string, std::string, std::less<>>, std::less<>> backends;
  for (const auto& r : pack_->registries) {
    // In this process the registries are called directly; a node elsewhere uses HTTP.
    backends[r.agency][exchange::ServiceCodeForRegistry(r.name)] =
        (registry_router_ != nullptr ? std::string("local:") : platform_origin) + "/data/" + r.name;
  }
  // Dan's consent verification, with the calling member's agency as the data user.
  identity::Dan* dan = dan_;
  const registry::Pack* pack = pack_;
  exchange::ConsentVerifier consent = [dan, pack](std::string_view token, std::string_view subject,
                                                  std::string_view purpose,
                                                  const exchange::ClientId& client) -> Status {
    std::string agency;
    for (const auto& a : pack->agencies) {
      if (a.member_class == client.member.member_class &&
          a.member_code == client.member.member_code) {
        agency = a.code;
      }
    }
    identity::ConsentCheck check{std::string(subject), "", std::string(purpose), agency};
    auto verified = dan->consent().Verify(token, check);
    if (!verified.ok()) return std::move(verified).error();
    return Ok();
  };

  for (const auto& agency : pack_->agencies) {
    auto running = std::make_unique<RunningNode>();
    ULUS_ASSIGN_OR_RETURN(running->info.subsystem,
                          exchange::ClientId::Parse(pack_->ClientId(agency), "agency"));
    running->info.agency = agency.code;
    running->info.client_port = static_cast<uint16_t>(ports[agency.code].value("client", 0));
    running->info.provider_port = static_cast<uint16_t>(ports[agency.code].value("provider", 0));
    const auto dir = nodes_dir / agency.code;
    const std::string address = "https://127.0.0.1:" + std::to_string(running->info.provider_port);
    if (!std::filesystem::exists(dir / exchange::kNodeSubsystemFile)) {
      ULUS_ASSIGN_OR_RETURN(auto token,
                            authority_->IssueRegistrationToken(running->info.subsystem));
      ULUS_TRY(exchange::EnrollNode(platform_origin, token, running->info.subsystem, address, dir));
    }
    ULUS_ASSIGN_OR_RETURN(auto credentials, exchange::LoadNodeCredentials(dir));
    running->credentials = std::make_unique<exchange::NodeCredentials>(std::move(credentials));
    store::DatabaseOptions db_options;
    db_options.url = "sqlite:" + (dir / "node.db").string();
    db_options.max_connections = 4;
    ULUS_ASSIGN_OR_RETURN(running->db, store::Database::Open(db_options));

    exchange::NodeOptions o;
    o.subsystem = running->info.subsystem;
    o.client_listener.address = "127.0.0.1";
    o.client_listener.port = running->info.client_port;
    o.client_listener.threads = options_.node_threads;
    o.provider_listener.address = "127.0.0.1";
    o.provider_listener.port = running->info.provider_port;
    o.provider_listener.threads = options_.node_threads;
    o.provider_listener.tls_certificate_file = running->credentials->tls_certificate_file.string();
    o.provider_listener.tls_private_key_file = running->credentials->tls_key_file.string();
    o.provider_listener.tls_client_ca_file = running->credentials->ca_file.string();
    o.tls_certificate_file = running->credentials->tls_certificate_file.string();
    o.tls_private_key_file = running->credentials->tls_key_file.string();
    o.ca_file = running->credentials->ca_file.string();
    o.service_backends = backends[agency.code];
    if (!options_.registry_caller_key.empty()) {
      o.backend_headers.emplace_back(std::string(registry::kCallerKeyHeader),
                                     options_.registry_caller_key);
    }
    o.config_url = platform_origin + "/khur/authority/conf";
    o.config_file = (dir / exchange::kNodeGlobalConfigFile).string();
    o.config_refresh = options_.config_refresh;
    o.consent = consent;
    if (registry_router_ != nullptr) {
      const http::Router* router = registry_router_;
      o.local_backend = [router](http::Method method, std::string_view target,
                                 std::string_view body, const exchange::HeaderList& headers) {
        return CallRouter(*router, method, target, body, headers);
      };
    }
    ULUS_ASSIGN_OR_RETURN(running->node, exchange::Node::Open(std::move(o), *running->db,
                                                              running->credentials->signing_key,
                                                              running->credentials->authority_key));
    if (auto started = running->node->Start(); !started.ok()) {
      return Error::Unavailable("the Khur node of " + agency.code +
                                " cannot start: " + started.error().message +
                                " (its ports are kept in " + ports_file.string() + ")");
    }
    infos_.push_back(running->info);
    running_.push_back(std::move(running));
  }
  // Nodes enrolled in this loop are in configurations issued after the earlier nodes fetched
  // theirs: fetch once more so every node knows every other from the start.
  for (auto& running : running_) {
    if (auto fresh = running->node->RefreshConfig(); !fresh.ok()) {
      spdlog::warn("khur: the node of {} has no fresh configuration: {}", running->info.agency,
                   fresh.error().message);
    }
  }
  return Ok();
}

void Khur::Stop() {
  for (auto& running : running_) running->node->Stop();
}

Result<std::vector<std::pair<std::string, exchange::DataUsageRecord>>> Khur::DataUsage(
    const std::string& subject, const std::string& service_code, size_t offset, size_t limit) {
  // Each node's newest (offset + limit) records, merged newest first. Nodes keep their own
  // stores, so this is a merge of sorted lists, not one query.
  std::vector<std::pair<std::string, exchange::DataUsageRecord>> all;
  const size_t want = offset + limit;
  for (auto& running : running_) {
    int64_t before = 0;
    size_t taken = 0;
    while (taken < want) {
      ULUS_ASSIGN_OR_RETURN(auto page, running->node->DataUsage(subject, before, 500));
      if (page.empty()) break;
      before = page.back().id;
      for (auto& record : page) {
        const auto slash = record.service.rfind('/');
        const std::string code =
            slash == std::string::npos ? record.service : record.service.substr(slash + 1);
        if (!service_code.empty() && code != service_code) continue;
        all.emplace_back(running->info.agency, std::move(record));
        ++taken;
      }
      if (page.size() < 500) break;
    }
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.second.at > b.second.at; });
  if (offset >= all.size()) return std::vector<std::pair<std::string, exchange::DataUsageRecord>>{};
  const auto end = std::min(all.size(), want);
  return std::vector<std::pair<std::string, exchange::DataUsageRecord>>(
      std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(offset)),
      std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(end)));
}

Result<http::Response> Khur::MyPersonalDataUsage(http::Request& request) {
  const auto header = request.Header("Authorization");
  if (header.size() <= 7 ||
      !(header.substr(0, 7) == "Bearer " || header.substr(0, 7) == "bearer ")) {
    return Error{ErrorCode::kUnauthenticated,
                 "sign in with Dan and send the access token (Authorization: Bearer ...)",
                 "Authorization"};
  }
  ULUS_ASSIGN_OR_RETURN(auto token, dan_->oidc().VerifyAccessToken(header.substr(7)));
  if (token.IsClientToken()) {
    return Error::PermissionDenied(
        "the data tracker shows a person their own records; this "
        "token is a client's");
  }
  ULUS_ASSIGN_OR_RETURN(auto account, dan_->accounts().FindById(token.subject));
  if (!account) return Error{ErrorCode::kUnauthenticated, "the account no longer exists", {}};
  const std::string& subject = account->national_id;
  if (auto user = request.Query("userId"); user && !user->empty() && *user != subject) {
    return Error::PermissionDenied("a person may see only their own data usage");
  }
  std::string service_code;
  if (auto database = request.Query("databaseId"); database && !database->empty()) {
    const bool known = std::any_of(pack_->registries.begin(), pack_->registries.end(),
                                   [&](const auto& r) { return r.name == *database; });
    if (!known) return Error::InvalidArgument("no registry " + *database, "databaseId");
    service_code = exchange::ServiceCodeForRegistry(*database);
  }
  int64_t page = 1;
  int64_t page_size = 20;
  if (auto v = request.Query("page")) {
    page = std::atoll(v->c_str());
    if (page < 1 || page > 10'000) return Error::InvalidArgument("page is 1 to 10000", "page");
  }
  if (auto v = request.Query("pageSize")) {
    page_size = std::atoll(v->c_str());
    if (page_size < 1 || page_size > 100) {
      return Error::InvalidArgument("pageSize is 1 to 100", "pageSize");
    }
  }
  ULUS_ASSIGN_OR_RETURN(
      auto records, DataUsage(subject, service_code, static_cast<size_t>((page - 1) * page_size),
                              static_cast<size_t>(page_size) + 1));
  const bool more = records.size() > static_cast<size_t>(page_size);
  if (more) records.pop_back();
  json out = json::array();
  for (const auto& [agency, r] : records) {
    auto client = exchange::ClientId::Parse(r.client, "client");
    std::string institution_id;
    std::string institution_name;
    std::string application;
    if (client.ok()) {
      institution_id = client->member.member_code;
      application = client->subsystem.value_or("");
      for (const auto& a : pack_->agencies) {
        if (a.member_code == client->member.member_code &&
            a.member_class == client->member.member_class) {
          institution_name = English(a.name);
        }
      }
    }
    const auto slash = r.service.rfind('/');
    out.push_back(
        {{"id", agency + "-" + std::to_string(r.id)},
         {"readerId", r.user_id},
         {"readerInitials", ""},
         {"readerInstitutionId", institution_id},
         {"readerInstitutionName", institution_name},
         {"readerApplicationName", application},
         {"searchDateTime", FormatRfc3339(r.at)},
         {"refrences", {{{"ReferenceID", r.service + r.path}}}},
         {"purpose", r.purpose},
         {"databaseId", slash == std::string::npos ? r.service : r.service.substr(slash + 1)},
         {"method", r.method},
         {"client", r.client},
         {"xRoadId", r.x_road_id}});
  }
  auto response = http::Response::Json(out);
  response.headers.emplace_back("Cache-Control", "no-store");
  if (more) {
    std::string next = "/data/myPersonalDataUsage?page=" + std::to_string(page + 1) +
                       "&pageSize=" + std::to_string(page_size);
    response.headers.emplace_back("Link", "<" + next + ">; rel=\"next\"");
  }
  return response;
}

}  // namespace ulus::app
