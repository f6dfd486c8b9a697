#include "khur_commands.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "signals.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/exchange/enrollment.hpp"
#include "ulus/exchange/message_log.hpp"
#include "ulus/exchange/node.hpp"
#include "ulus/registry/registry_api.hpp"

namespace ulus::app {
namespace {

int Fail(const Error& error) {
  std::fprintf(stderr, "ulus: %s\n", error.ToString().c_str());
  return 1;
}

// The signing keys a global configuration lists, by kid: what a log's signatures are checked
// against.
class ConfigKeys final : public crypto::KeyResolver {
 public:
  explicit ConfigKeys(const exchange::GlobalConfig& config) {
    for (const auto& s : config.content().subsystems) {
      for (const auto& jwk : s.node.signing_keys) {
        if (auto key = crypto::PublicKey::FromJwk(jwk); key.ok()) keys_.emplace(key->Kid(), *key);
      }
    }
  }
  [[nodiscard]] Result<crypto::PublicKey> Resolve(std::string_view kid) const override {
    const auto it = keys_.find(std::string(kid));
    if (it == keys_.end()) {
      return Error::NotFound("key " + std::string(kid) + " is not in the global configuration");
    }
    return it->second;
  }

 private:
  std::map<std::string, crypto::PublicKey> keys_;
};

std::string_view ProblemName(exchange::LogProblem problem) {
  switch (problem) {
    case exchange::LogProblem::kNone: return "none";
    case exchange::LogProblem::kMissingRecord: return "missing record";
    case exchange::LogProblem::kBrokenLink: return "broken hash link";
    case exchange::LogProblem::kHashMismatch: return "hash mismatch";
    case exchange::LogProblem::kBadSignature: return "bad signature";
    case exchange::LogProblem::kMalformed: return "malformed";
  }
  return "unknown";
}

Result<std::unique_ptr<store::Database>> OpenNodeStore(const std::filesystem::path& dir) {
  const auto file = dir / "node.db";
  if (!std::filesystem::exists(file)) {
    return Error::NotFound("no node store at " + file.string());
  }
  store::DatabaseOptions o;
  o.url = "sqlite:" + file.string();
  o.max_connections = 4;
  return store::Database::Open(o);
}

// A node's directory: --node-dir, or <data>/nodes/<AGENCY> for the nodes `ulus up` runs.
Result<std::filesystem::path> NodeDir(const PlatformOptions& options, const std::string& dir,
                                      const std::string& agency) {
  if (!dir.empty()) return std::filesystem::path(dir);
  if (agency.empty()) {
    return Error::InvalidArgument("name the node: --agency CODE or --node-dir DIR", "agency");
  }
  return options.data_dir / "nodes" / agency;
}

int VerifyLog(const std::filesystem::path& dir) {
  auto credentials = exchange::LoadNodeCredentials(dir);
  if (!credentials.ok()) return Fail(credentials.error());
  auto db = OpenNodeStore(dir);
  if (!db.ok()) return Fail(db.error());
  auto log = exchange::MessageLog::Open(**db);
  if (!log.ok()) return Fail(log.error());
  // Signatures are checked against the node's newest configuration, which lists every member's
  // current signing keys (kept even when expired: a log is checked long after).
  std::ifstream in(dir / exchange::kNodeGlobalConfigFile);
  std::stringstream text;
  text << in.rdbuf();
  auto config =
      exchange::VerifyGlobalConfig(text.str(), credentials->authority_key, Clock::System());
  std::unique_ptr<ConfigKeys> keys;
  if (config.ok()) {
    keys = std::make_unique<ConfigKeys>(*config);
  } else {
    // An expired copy still names the keys; read it without the expiry check.
    const auto dot1 = text.str().find('.');
    const auto dot2 = text.str().find('.', dot1 + 1);
    auto payload = crypto::Base64UrlDecode(text.str().substr(dot1 + 1, dot2 - dot1 - 1));
    auto parsed = payload ? nlohmann::json::parse(payload->begin(), payload->end(), nullptr, false)
                          : nlohmann::json();
    auto content = exchange::GlobalConfig::FromJson(parsed);
    if (!content.ok()) return Fail(config.error());
    keys = std::make_unique<ConfigKeys>(*content);
  }
  auto result = (*log)->Verify(keys.get());
  if (!result.ok()) return Fail(result.error());
  if (!result->ok) {
    std::printf("message log of %s: record %lld is bad (%s): %s\n",
                credentials->subsystem.ToString().c_str(),
                static_cast<long long>(result->bad_seq),  // NOLINT(google-runtime-int)
                std::string(ProblemName(result->problem)).c_str(), result->reason.c_str());
    return 1;
  }
  std::printf("message log of %s: %lld records, hash chain and signatures verified\n",
              credentials->subsystem.ToString().c_str(),
              static_cast<long long>(result->count));  // NOLINT(google-runtime-int)
  return 0;
}

int ArchiveLog(const std::filesystem::path& dir, int64_t up_to, const std::string& path) {
  auto db = OpenNodeStore(dir);
  if (!db.ok()) return Fail(db.error());
  auto log = exchange::MessageLog::Open(**db);
  if (!log.ok()) return Fail(log.error());
  auto archived = (*log)->Archive(up_to, path);
  if (!archived.ok()) return Fail(archived.error());
  std::printf("archived records %lld to %lld into %s\n",
              static_cast<long long>(archived->first_seq),  // NOLINT(google-runtime-int)
              static_cast<long long>(archived->last_seq),   // NOLINT(google-runtime-int)
              path.c_str());
  return 0;
}

int IssueToken(const PlatformOptions& options, const std::string& subsystem_text) {
  auto subsystem = exchange::ClientId::Parse(subsystem_text, "subsystem");
  if (!subsystem.ok()) return Fail(subsystem.error());
  auto db = OpenPlatformDatabase(options);
  if (!db.ok()) return Fail(db.error());
  auto pack = registry::LoadPack(options.packs_dir / options.pack);
  if (!pack.ok()) return Fail(pack.error());
  auto exchange = PackExchangeOf(*pack, options.packs_dir / options.pack);
  if (!exchange.ok()) return Fail(exchange.error());
  const auto dir = options.data_dir / "authority";
  auto key = LoadOrCreateAuthorityKey(dir);
  if (!key.ok()) return Fail(key.error());
  auto ca = exchange::CertificateAuthority::OpenOrCreate(dir / "ca", pack->xroad_instance,
                                                         Clock::System());
  if (!ca.ok()) return Fail(ca.error());
  auto authority =
      exchange::Authority::Open(**db, *key, **ca, std::move(*exchange), Clock::System());
  if (!authority.ok()) return Fail(authority.error());
  auto token = (*authority)->IssueRegistrationToken(*subsystem);
  if (!token.ok()) return Fail(token.error());
  std::printf("%s\n", token->c_str());
  return 0;
}

int RunNode(const std::filesystem::path& dir, const std::string& authority_url,
            const std::string& client_address, uint16_t client_port, uint16_t provider_port,
            size_t threads, const std::vector<std::string>& backends,
            const std::string& backend_key_file) {
  const sigset_t stop_signals = BlockStopSignals();
  auto credentials = exchange::LoadNodeCredentials(dir);
  if (!credentials.ok()) return Fail(credentials.error());
  auto db_options = store::DatabaseOptions{};
  db_options.url = "sqlite:" + (dir / "node.db").string();
  db_options.max_connections = 4;
  auto db = store::Database::Open(db_options);
  if (!db.ok()) return Fail(db.error());
  exchange::NodeOptions o;
  o.subsystem = credentials->subsystem;
  o.client_listener.address = client_address;
  o.client_listener.port = client_port;
  o.client_listener.threads = threads;
  o.provider_listener.address = "0.0.0.0";
  o.provider_listener.port = provider_port;
  o.provider_listener.threads = threads;
  o.provider_listener.tls_certificate_file = credentials->tls_certificate_file.string();
  o.provider_listener.tls_private_key_file = credentials->tls_key_file.string();
  o.provider_listener.tls_client_ca_file = credentials->ca_file.string();
  o.tls_certificate_file = credentials->tls_certificate_file.string();
  o.tls_private_key_file = credentials->tls_key_file.string();
  o.ca_file = credentials->ca_file.string();
  for (const auto& b : backends) {
    const auto eq = b.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == b.size()) {
      return Fail(Error::InvalidArgument("--backend is SERVICE=URL, not " + b, "backend"));
    }
    o.service_backends[b.substr(0, eq)] = b.substr(eq + 1);
  }
  if (!backend_key_file.empty()) {
    auto key = ReadCallerKey(backend_key_file);
    if (!key.ok()) return Fail(key.error());
    o.backend_headers.emplace_back(std::string(registry::kCallerKeyHeader), *key);
  }
  if (!authority_url.empty()) {
    std::string base = authority_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    o.config_url = base + "/khur/authority/conf";
  }
  o.config_file = (dir / exchange::kNodeGlobalConfigFile).string();
  auto node = exchange::Node::Open(std::move(o), **db, credentials->signing_key,
                                   credentials->authority_key);
  if (!node.ok()) return Fail(node.error());
  if (auto started = (*node)->Start(); !started.ok()) return Fail(started.error());
  std::printf("Khur node of %s: agency systems call http://%s:%u/r1/..., other nodes %u (mTLS)\n",
              credentials->subsystem.ToString().c_str(), client_address.c_str(),
              (*node)->client_port(), (*node)->provider_port());
  std::fflush(stdout);
  int signal = 0;
  sigwait(&stop_signals, &signal);
  spdlog::info("signal {} received: stopping the node", signal);
  (*node)->Stop();
  return 0;
}

}  // namespace

void KhurCommands::Add(CLI::App& cli) {
  auto* authority = cli.add_subcommand("authority", "Khur's central authority");
  token_ = authority->add_subcommand(
      "token", "Print a one-time registration token for a subsystem's node (valid a day)");
  token_->add_option("--subsystem", subsystem_, "INSTANCE/CLASS/MEMBER/SUBSYSTEM")->required();
  authority->require_subcommand(1);

  auto* node = cli.add_subcommand("node", "A Khur security server in front of one subsystem");
  node_register_ = node->add_subcommand(
      "register", "Enroll with the authority: keys, certificate and configuration into --node-dir");
  node_register_->add_option("--node-dir", node_dir_, "Where the node keeps its files")->required();
  node_register_->add_option("--authority", authority_url_, "The authority's URL")->required();
  node_register_->add_option("--token", token_text_, "The one-time token")->required();
  node_register_->add_option("--subsystem", subsystem_, "INSTANCE/CLASS/MEMBER/SUBSYSTEM")
      ->required();
  node_register_
      ->add_option("--address", address_, "https://host:port where other nodes will reach this one")
      ->required();
  node_register_->add_option("--host", hosts_, "Host name or IP for the certificate (repeatable)");
  node_run_ = node->add_subcommand("run", "Run an enrolled node");
  node_run_->add_option("--node-dir", node_dir_, "The enrolled node's directory")->required();
  node_run_->add_option("--authority", authority_url_,
                        "The authority's URL, to fetch fresh configuration from");
  node_run_
      ->add_option("--client-address", client_address_,
                   "Address of the agency systems' interface (keep it internal)")
      ->capture_default_str();
  node_run_->add_option("--client-port", client_port_, "Port of the agency systems' /r1/")
      ->capture_default_str();
  node_run_->add_option("--provider-port", provider_port_, "Port other nodes call (mTLS)")
      ->capture_default_str();
  node_run_->add_option("--threads", threads_, "Worker threads per listener")
      ->capture_default_str();
  node_run_->add_option("--backend", backends_,
                        "SERVICE=URL: where a service of this subsystem is served (repeatable)");
  node_run_->add_option("--backend-key-file", backend_key_file_,
                        "The registries' caller key (serve --registry-key-file), sent to them");
  node->require_subcommand(1);

  auto* log = cli.add_subcommand("log", "A Khur node's message log");
  log_verify_ = log->add_subcommand(
      "verify", "Re-check the hash chain and every signature; name the first bad record");
  log_verify_->add_option("--agency", agency_, "A node of `ulus up` (its agency code)");
  log_verify_->add_option("--node-dir", node_dir_, "Or the node's directory");
  log_archive_ = log->add_subcommand("archive", "Move old records into an archive file");
  log_archive_->add_option("--agency", agency_, "A node of `ulus up` (its agency code)");
  log_archive_->add_option("--node-dir", node_dir_, "Or the node's directory");
  log_archive_->add_option("--up-to", archive_up_to_, "Last record to archive")->required();
  log_archive_->add_option("--file", archive_path_, "The archive file to write")->required();
  log->require_subcommand(1);
}

bool KhurCommands::Run(const PlatformOptions& options, int& exit_code) {
  if (*token_) {
    exit_code = IssueToken(options, subsystem_);
    return true;
  }
  if (*node_register_) {
    auto subsystem = exchange::ClientId::Parse(subsystem_, "subsystem");
    if (!subsystem.ok()) {
      exit_code = Fail(subsystem.error());
      return true;
    }
    auto enrolled =
        exchange::EnrollNode(authority_url_, token_text_, *subsystem, address_, node_dir_, hosts_);
    exit_code = enrolled.ok() ? 0 : Fail(enrolled.error());
    if (enrolled.ok()) std::printf("enrolled %s into %s\n", subsystem_.c_str(), node_dir_.c_str());
    return true;
  }
  if (*node_run_) {
    exit_code = RunNode(node_dir_, authority_url_, client_address_, client_port_, provider_port_,
                        threads_, backends_, backend_key_file_);
    return true;
  }
  if (*log_verify_ || *log_archive_) {
    auto dir = NodeDir(options, node_dir_, agency_);
    if (!dir.ok()) {
      exit_code = Fail(dir.error());
      return true;
    }
    exit_code = *log_verify_ ? VerifyLog(*dir) : ArchiveLog(*dir, archive_up_to_, archive_path_);
    return true;
  }
  return false;
}

}  // namespace ulus::app
