#include "platform.hpp"

#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <system_error>

#include "ulus/core/files.hpp"
#include "ulus/crypto/random.hpp"
#include "ulus/services/applications_api.hpp"
#include "ulus/services/catalogue_api.hpp"
#include "ulus/store/migration.hpp"
#include "ulus/store/outbox.hpp"

namespace ulus::app {

Result<std::unique_ptr<store::Database>> OpenPlatformDatabase(const PlatformOptions& options) {
  store::DatabaseOptions db_options;
  if (!options.database_url.empty()) {
    db_options.url = options.database_url;
  } else {
    std::error_code ec;
    std::filesystem::create_directories(options.data_dir, ec);
    if (ec) {
      return Error::InvalidArgument(
          "cannot create data directory " + options.data_dir.string() + ": " + ec.message(),
          "data");
    }
    db_options.url = "sqlite:" + (options.data_dir / "platform.db").string();
  }
  db_options.max_connections = options.server.threads + 2;
  ULUS_ASSIGN_OR_RETURN(auto db, store::Database::Open(db_options));
  ULUS_TRY(store::Migrate(*db, "outbox", store::Outbox::Migrations()));
  ULUS_TRY(identity::Dan::Migrate(*db));
  return db;
}

Result<std::string> ReadCallerKey(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string key;
  std::getline(in, key);
  if (key.size() < 16) {
    return Error::InvalidArgument(
        "the registry caller key in " + file.string() + " is missing or shorter than 16 characters",
        "registry-key-file");
  }
  return key;
}

namespace {

// A free loopback port, for --port 0: Dan's issuer names the port, so it must be known before
// the routes are built. Another process could take it in between; only tests use port 0.
Result<uint16_t> PickFreePort(const std::string& address) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Error::Unavailable("cannot open a socket to find a free port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(address == "127.0.0.1" ? INADDR_LOOPBACK : INADDR_ANY);
  socklen_t length = sizeof(addr);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  if (port == 0) return Error::Unavailable("cannot find a free port on " + address);
  return port;
}

}  // namespace

Result<std::unique_ptr<Platform>> Platform::Open(const PlatformOptions& given) {
  PlatformOptions options = given;
  if (options.server.port == 0) {
    ULUS_ASSIGN_OR_RETURN(options.server.port, PickFreePort(options.server.address));
  }
  std::unique_ptr<Platform> platform(new Platform());
  ULUS_ASSIGN_OR_RETURN(platform->db_, OpenPlatformDatabase(options));

  http::Router router;
  // Parts mount their routes here as they arrive (registry, identity, exchange, ...).
  ULUS_ASSIGN_OR_RETURN(auto pack, registry::LoadPack(options.packs_dir / options.pack));
  platform->pack_ = std::make_unique<registry::Pack>(std::move(pack));
  const registry::StoreLocation location{.data_dir = options.data_dir,
                                         .database_url = options.database_url,
                                         .max_connections = options.server.threads + 2};
  ULUS_ASSIGN_OR_RETURN(platform->stores_,
                        registry::AgencyStores::Open(*platform->pack_, location));
  ULUS_ASSIGN_OR_RETURN(platform->catalog_, registry::RegistryCatalog::Open(
                                                *platform->pack_, *platform->stores_,
                                                {.administrators = options.registry_admins}));
  // With Khur's nodes in front (ulus up, or --registry-key-file), the registries answer only
  // callers holding the key the nodes are given.
  registry::RegistryApiOptions registry_options;
  std::filesystem::path caller_key_file = options.registry_key_file;
  if (caller_key_file.empty() && options.khur.run_nodes) {
    caller_key_file = options.data_dir / "khur" / "caller.key";
    if (!std::filesystem::exists(caller_key_file)) {
      ULUS_TRY(WritePrivateFile(caller_key_file, crypto::RandomToken(32) + "\n"));
    }
  }
  if (!caller_key_file.empty()) {
    ULUS_ASSIGN_OR_RETURN(registry_options.caller_key, ReadCallerKey(caller_key_file));
  }
  platform->registry_api_ =
      std::make_unique<registry::RegistryApi>(*platform->catalog_, registry_options);
  platform->registry_api_->Mount(router);
  // The same routes once more, for Khur's nodes in this process to call without a socket.
  platform->registry_router_ = std::make_unique<http::Router>();
  platform->registry_api_->Mount(*platform->registry_router_);

  platform->tls_ = !options.server.tls_certificate_file.empty();
  platform->issuer_ = options.issuer;
  if (platform->issuer_.empty()) {
    const std::string host =
        options.server.address == "0.0.0.0" ? "127.0.0.1" : options.server.address;
    platform->issuer_ = std::string(platform->tls_ ? "https" : "http") + "://" + host + ":" +
                        std::to_string(options.server.port);
  }
  ULUS_ASSIGN_OR_RETURN(platform->people_,
                        RegistryPersonDirectory::Open(*platform->pack_, *platform->stores_));
  platform->messages_ = std::make_unique<identity::LocalOutbox>(*platform->db_);
  identity::DanOptions dan_options;
  dan_options.issuer = platform->issuer_;
  dan_options.data_dir = options.data_dir;
  if (!options.clients_file.empty()) {
    if (!std::filesystem::exists(options.clients_file)) {
      return Error::InvalidArgument("no clients file " + options.clients_file.string(), "clients");
    }
    dan_options.clients_file = options.clients_file;
  } else if (const auto clients = options.packs_dir / options.pack / "clients.yaml";
             std::filesystem::exists(clients)) {
    dan_options.clients_file = clients;
  }
  dan_options.portal_redirect_uris = {platform->issuer_ + "/portal/callback"};
  dan_options.portal_post_logout_redirect_uris = {platform->issuer_ + "/"};
  dan_options.pkcs11 = options.pkcs11;
  dan_options.secure_cookies = platform->tls_;
  dan_options.languages = platform->pack_->languages;
  ULUS_ASSIGN_OR_RETURN(
      platform->dan_, identity::Dan::Open(*platform->db_, *platform->people_, *platform->messages_,
                                          std::move(dan_options)));
  platform->dan_->Mount(router);
  KhurOptions khur_options = options.khur;
  khur_options.registry_caller_key = registry_options.caller_key;
  khur_options.data_dir = options.data_dir;
  ULUS_ASSIGN_OR_RETURN(platform->khur_,
                        Khur::Open(khur_options, *platform->pack_, options.packs_dir / options.pack,
                                   *platform->db_, *platform->dan_, router));
  platform->khur_->ServeRegistriesFrom(*platform->registry_router_);
  ULUS_TRY(platform->OpenDocuments(options, router));
  ULUS_TRY(platform->OpenCatalogue(options, router));
  ULUS_TRY(platform->OpenApplications(options, router));
  ULUS_TRY(platform->OpenPortal(router));
  platform->address_ = options.server.address;
  ULUS_ASSIGN_OR_RETURN(platform->server_, http::Server::Create(options.server, std::move(router)));
  platform->portal_->Attach(*platform->server_);
  platform->applications_->ExportMetrics(platform->server_->metrics());
  return platform;
}

Status Platform::OpenDocuments(const PlatformOptions& options, http::Router& router) {
  ULUS_ASSIGN_OR_RETURN(auto templates,
                        documents::LoadTemplates(options.packs_dir / options.pack / "documents"));
  std::vector<documents::IssuingAgency> agencies;
  for (const auto& agency : pack_->agencies) {
    documents::Translations name;
    for (const auto& [lang, text] : agency.name) name[lang] = text;
    agencies.push_back({.code = agency.code, .name = std::move(name)});
  }
  documents::DocumentsOptions documents_options{
      .origin = issuer_, .country = pack_->code, .languages = pack_->languages};
  ULUS_ASSIGN_OR_RETURN(documents_, documents::DocumentService::Open(
                                        *db_, dan_->keys(), std::move(templates),
                                        std::move(agencies), std::move(documents_options)));
  documents_api_ =
      std::make_unique<documents::DocumentsApi>(*documents_, dan_->oidc(), dan_->accounts());
  documents_api_->Mount(router);
  return Ok();
}

Status Platform::OpenCatalogue(const PlatformOptions& options, http::Router& router) {
  const auto pack_dir = options.packs_dir / options.pack;
  ULUS_ASSIGN_OR_RETURN(auto services, services::LoadServices(pack_dir));
  ULUS_ASSIGN_OR_RETURN(auto life_events, services::LoadLifeEvents(pack_dir));
  std::vector<std::string> agencies;
  for (const auto& agency : pack_->agencies) agencies.push_back(agency.code);
  for (const auto& s : services) {
    for (const auto& registry : s.data) {
      const bool known = std::any_of(pack_->registries.begin(), pack_->registries.end(),
                                     [&](const auto& r) { return r.name == registry; });
      if (!known) {
        return Error::InvalidArgument("service " + s.id + " reads registry " + registry +
                                      ", which the pack does not have");
      }
    }
    if (s.document.empty()) continue;
    const auto* t = documents_->FindTemplate(s.document);
    if (t == nullptr || t->agency != s.agency) {
      return Error::InvalidArgument("service " + s.id + " produces document " + s.document +
                                    ", which is not a template of " + s.agency);
    }
  }
  ULUS_ASSIGN_OR_RETURN(catalogue_, services::Catalogue::Build(std::move(services),
                                                               std::move(life_events), agencies));
  services::MountCatalogueApi(router, *catalogue_,
                              {.country = pack_->code, .languages = pack_->languages});
  return Ok();
}

namespace {

// A registry field's type as a document claim sees it: date, integer, boolean or string.
std::string ClaimTypeOf(const registry::FieldSchema& field) {
  if (field.format == registry::FieldFormat::kDate) return "date";
  if (field.type == registry::FieldType::kInteger) return "integer";
  if (field.type == registry::FieldType::kBoolean) return "boolean";
  return "string";
}

}  // namespace

Status Platform::OpenApplications(const PlatformOptions& options, http::Router& router) {
  // The platform reads as the pack's "platform" subsystem (e-Mongolia, eGov), which access.yaml
  // lets read every registry.
  const registry::Agency* platform_agency = nullptr;
  for (const auto& agency : pack_->agencies) {
    if (agency.subsystem == "platform") platform_agency = &agency;
  }
  if (platform_agency == nullptr) {
    return Error::InvalidArgument("the pack has no agency with the subsystem \"platform\"",
                                  "agencies");
  }
  const exchange::ClientId client{pack_->xroad_instance, platform_agency->member_class,
                                  platform_agency->member_code, platform_agency->subsystem};
  ULUS_ASSIGN_OR_RETURN(const auto pack_exchange,
                        PackExchangeOf(*pack_, options.packs_dir / options.pack));
  std::vector<services::RegistrySource> sources;
  for (const auto& schema : pack_->registries) {
    services::RegistrySource source;
    source.name = schema.name;
    source.version = schema.version;
    source.primary_key = schema.primary_key;
    source.subject_field = schema.subject;
    for (const auto& agency : pack_->agencies) {
      if (agency.code != schema.agency) continue;
      source.provider = exchange::ClientId{pack_->xroad_instance, agency.member_class,
                                           agency.member_code, agency.subsystem}
                            .ToString();
    }
    for (const auto& field : schema.fields) {
      if (!field.ref.empty()) source.refs[field.name] = field.ref;
      source.field_types[field.name] = ClaimTypeOf(field);
    }
    source.service_code = exchange::ServiceCodeForRegistry(schema.name);
    for (const auto& r : pack_exchange.registries) {
      if (r.code == schema.name) source.consent_required = r.consent_required;
    }
    sources.push_back(std::move(source));
  }
  const std::string platform_code = platform_agency->code;
  exchange_ = std::make_unique<services::KhurExchange>(
      [this, platform_code]() -> std::string {
        for (const auto& node : khur_->nodes()) {
          if (node.agency == platform_code) {
            return "http://127.0.0.1:" + std::to_string(node.client_port);
          }
        }
        return {};
      },
      client.ToString());
  services::DeskMessaging desk{
      .phone_of = [this](std::string_view national_id) -> Result<std::string> {
        ULUS_ASSIGN_OR_RETURN(auto person, people_->Find(national_id));
        if (!person || person->phone.empty()) {
          return Error{ErrorCode::kFailedPrecondition,
                       "the population register has no phone for this person to confirm with",
                       "nationalId"};
        }
        return person->phone;
      },
      .send_sms = [this](std::string_view phone, std::string_view text) -> Status {
        return messages_->Send({.channel = identity::Channel::kSms,
                                .to = std::string(phone),
                                .subject = {},
                                .text = std::string(text)});
      }};
  services::ApplicationsOptions app_options;
  app_options.utc_offset = pack_->utc_offset;
  // Each service that reads consent-bound registries has its data agreement in Dan, made once:
  // the platform's agency is the controller (it reads), the purpose "services:<id>".
  ULUS_ASSIGN_OR_RETURN(const auto existing, dan_->consent().Agreements(platform_code, 0, 10'000));
  for (const auto& service : catalogue_->services()) {
    std::vector<identity::DataAttribute> attributes;
    for (const auto& name : service.data) {
      for (const auto& source : sources) {
        if (source.name == name && source.consent_required) {
          attributes.push_back({.name = name, .sensitivity = "sensitive", .category = name});
        }
      }
    }
    if (attributes.empty()) continue;
    const std::string purpose = "services:" + service.id;
    auto found = std::find_if(existing.begin(), existing.end(),
                              [&](const auto& a) { return a.purpose == purpose && a.active; });
    if (found != existing.end()) {
      app_options.consent_agreements[service.id] = found->id;
      continue;
    }
    identity::DataAgreement agreement;
    agreement.controller = platform_code;
    agreement.purpose = purpose;
    agreement.lawful_basis = "consent";
    agreement.data_use = "data_using_service";
    agreement.attributes = std::move(attributes);
    agreement.period_days = 365;
    ULUS_ASSIGN_OR_RETURN(auto made,
                          dan_->consent().CreateAgreement(std::move(agreement), "platform"));
    app_options.consent_agreements[service.id] = made.id;
  }
  app_options.max_attachment_bytes =
      std::min(app_options.max_attachment_bytes, options.server.body_limit);
  registry_sources_ = sources;
  consent_agreements_ = app_options.consent_agreements;
  ULUS_ASSIGN_OR_RETURN(
      applications_, services::ApplicationService::Open(*db_, *catalogue_, *documents_, *exchange_,
                                                        std::move(sources), pack_->calendar.Days(),
                                                        std::move(desk), app_options));
  services::MountApplicationsApi(router, *applications_, dan_->oidc(), dan_->accounts(),
                                 {.country = pack_->code, .languages = pack_->languages});
  return Ok();
}

Status Platform::OpenPortal(http::Router& router) {
  portal::PortalParts parts;
  parts.dan = dan_.get();
  parts.applications = applications_.get();
  parts.documents = documents_.get();
  parts.exchange = exchange_.get();
  parts.registries = registry_sources_;
  parts.pack = pack_.get();
  parts.consent_agreements = consent_agreements_;
  parts.data_usage = [this](const std::string& national_id, size_t offset,
                            size_t limit) -> Result<std::vector<portal::DataUse>> {
    ULUS_ASSIGN_OR_RETURN(auto records, khur_->DataUsage(national_id, "", offset, limit));
    std::vector<portal::DataUse> out;
    out.reserve(records.size());
    for (const auto& [node_agency, r] : records) {
      portal::DataUse use{.at = r.at, .purpose = r.purpose, .officer = r.user_id};
      use.institution = r.client;
      if (auto client = exchange::ClientId::Parse(r.client, "client"); client.ok()) {
        for (const auto& a : pack_->agencies) {
          if (a.member_code == client->member.member_code &&
              a.member_class == client->member.member_class) {
            use.institution = a.code;
          }
        }
      }
      // The service is the registry's Khur service code, the last segment of its path.
      const auto slash = r.service.rfind('/');
      const std::string code = slash == std::string::npos ? r.service : r.service.substr(slash + 1);
      use.registry = code;
      for (const auto& schema : pack_->registries) {
        if (exchange::ServiceCodeForRegistry(schema.name) == code) use.registry = schema.name;
      }
      out.push_back(std::move(use));
    }
    return out;
  };
  ULUS_ASSIGN_OR_RETURN(portal_, portal::Portal::Open(*db_, std::move(parts),
                                                      {.origin = issuer_, .secure_cookies = tls_}));
  portal_->Mount(router);
  return Ok();
}

void Platform::RunResumer() {
  std::unique_lock lock(resumer_mutex_);
  for (bool first = true; !stopping_; first = false) {
    lock.unlock();
    try {
      if (auto swept = portal_->Sweep(); !swept.ok()) {
        spdlog::warn("ended portal sessions wait: {}", swept.error().message);
      }
      if (auto done = applications_->ResumePending(first); !done.ok()) {
        spdlog::warn("unfinished applications wait: {}", done.error().message);
      } else if (*done > 0) {
        spdlog::info("finished {} applications left unfinished", *done);
      }
    } catch (const std::exception& e) {  // a library's surprise must not end the sweeps
      spdlog::error("the sweep of unfinished applications failed: {}", e.what());
    }
    lock.lock();
    resumer_wake_.wait_for(lock, std::chrono::minutes(1), [this] { return stopping_; });
  }
}

Result<std::vector<DemoAccount>> Platform::EnsureDemoAccounts(
    const std::filesystem::path& data_dir) {
  return app::EnsureDemoAccounts(*pack_, *stores_, dan_->accounts(), data_dir);
}

std::string Platform::LocalOrigin() const {
  const std::string host = address_ == "0.0.0.0" ? "127.0.0.1" : address_;
  return std::string(tls_ ? "https" : "http") + "://" + host + ":" + std::to_string(port());
}

Status Platform::Start() {
  ULUS_TRY(server_->Start());
  // The nodes enroll with the authority this server now answers for, and serve its registries.
  if (auto started = khur_->StartNodes(LocalOrigin()); !started.ok()) {
    server_->Stop();
    return started;
  }
  resumer_ = std::thread([this] { RunResumer(); });
  return Ok();
}

void Platform::Stop() {
  {
    std::lock_guard lock(resumer_mutex_);
    stopping_ = true;
  }
  resumer_wake_.notify_all();
  if (resumer_.joinable() && resumer_.get_id() != std::this_thread::get_id()) resumer_.join();
  khur_->Stop();
  server_->Stop();
}

void Platform::Wait() {
  server_->Wait();
}

}  // namespace ulus::app
