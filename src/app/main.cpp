// The `ulus` command: one binary, a subcommand per role.

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include "khur_commands.hpp"
#include "login_command.hpp"
#include "platform.hpp"
#include "seed_command.hpp"
#include "signals.hpp"
#include "ulus/core/log.hpp"
#include "ulus/store/migration.hpp"
#include "verify_command.hpp"

namespace ulus::app {
namespace {

constexpr int kExitError = 1;

int Fail(const Error& error) {
  std::fprintf(stderr, "ulus: %s\n", error.ToString().c_str());
  return kExitError;
}

int Serve(const PlatformOptions& options, bool greet) {
  const sigset_t stop_signals = BlockStopSignals();
  auto platform = Platform::Open(options);
  if (!platform.ok()) return Fail(platform.error());
  if (auto started = (*platform)->Start(); !started.ok()) return Fail(started.error());

  const std::string scheme = (*platform)->tls() ? "https" : "http";
  const std::string base =
      scheme + "://" + options.server.address + ":" + std::to_string((*platform)->port());
  spdlog::info("serving on {}", base);
  if (greet) {
    auto demo = (*platform)->EnsureDemoAccounts(options.data_dir);
    if (!demo.ok()) {
      (*platform)->Stop();
      return Fail(demo.error());
    }
    const auto& issuer = (*platform)->issuer();
    std::printf(
        "\nUlus is running.\n"
        "  citizen portal    %s/\n"
        "  officer workspace %s/work\n"
        "  log in (Dan)      %s/dan/login\n"
        "  OpenID Connect    %s/.well-known/openid-configuration\n"
        "  health            %s/healthz\n"
        "  metrics           %s/metrics\n"
        "  API description   %s/openapi.json\n"
        "  data              %s\n"
        "  messages (codes)  ulus --data %s messages\n"
        "  Khur authority    %s/khur/authority/conf\n"
        "  data tracker      %s/data/myPersonalDataUsage\n"
        "  service catalogue %s/services/v1/catalogue?q=\n"
        "  verify a document %s/verify\n\n"
        "Khur nodes (agency systems call http://127.0.0.1:<client>/r1/...):\n",
        issuer.c_str(), issuer.c_str(), issuer.c_str(), issuer.c_str(), base.c_str(), base.c_str(),
        base.c_str(), options.database_url.empty() ? options.data_dir.c_str() : "PostgreSQL",
        options.data_dir.c_str(), base.c_str(), base.c_str(), base.c_str(), base.c_str());
    for (const auto& node : (*platform)->khur().nodes()) {
      std::printf("  %-8s %-40s client %u  node (mTLS) %u\n", node.agency.c_str(),
                  node.subsystem.ToString().c_str(), node.client_port, node.provider_port);
    }
    std::printf("\nDemo accounts (also in %s/demo-accounts.json):\n", options.data_dir.c_str());
    for (const auto& account : *demo) {
      const std::string role =
          account.agency.empty() ? account.kind : account.kind + " of " + account.agency;
      std::printf("  %-22s national ID %s  password %s  (%s)\n", role.c_str(),
                  account.national_id.c_str(), account.password.c_str(), account.name.c_str());
    }
    if (auto anchor = (*platform)->documents().TrustAnchor(); anchor.ok()) {
      std::printf(
          "\nDocuments' trust anchor (pin it for offline checks):\n"
          "  ulus verify --fetch %s --anchor %s\n",
          base.c_str(), anchor->Thumbprint().c_str());
    }
    std::printf("\nStop with Ctrl-C.\n\n");
    std::fflush(stdout);
  }

  std::thread stopper([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    spdlog::info("signal {} received: finishing requests in flight", signal);
    (*platform)->Stop();
  });
  (*platform)->Wait();
  // Wait() returns only after Stop(), which only the stopper calls; it has already returned.
  stopper.join();
  spdlog::info("stopped");
  return 0;
}

int Migrate(const PlatformOptions& options) {
  auto db = OpenPlatformDatabase(options);
  if (!db.ok()) return Fail(db.error());
  auto version = store::SchemaVersion(**db, "outbox");
  if (!version.ok()) return Fail(version.error());
  std::printf("migrated: outbox schema version %d\n", *version);
  // Opening the agencies' registry stores migrates them.
  auto pack = registry::LoadPack(options.packs_dir / options.pack);
  if (!pack.ok()) return Fail(pack.error());
  auto stores = registry::AgencyStores::Open(
      *pack, {.data_dir = options.data_dir, .database_url = options.database_url});
  if (!stores.ok()) return Fail(stores.error());
  std::printf("migrated: registry stores of %zu agencies\n", pack->agencies.size());
  return 0;
}

int Seed(const SeedCommandOptions& options) {
  if (auto s = RunSeed(options); !s.ok()) return Fail(s.error());
  return 0;
}

// `ulus up`: a synthetic country first, unless one already lives in the data directory.
int Up(const PlatformOptions& options, SeedCommandOptions seed) {
  seed.packs_dir = options.packs_dir;
  seed.pack = options.pack;
  seed.data_dir = options.data_dir;
  seed.database_url = options.database_url;
  auto seeded = SeedIfEmpty(seed);
  if (!seeded.ok()) return Fail(seeded.error());
  return Serve(options, true);
}

// Filled by the --hsm-* flags of serve and up.
identity::Pkcs11Options hsm;
std::string hsm_pin_file;

int ShowMessages(const PlatformOptions& options, const std::string& to, size_t limit) {
  auto db = OpenPlatformDatabase(options);
  if (!db.ok()) return Fail(db.error());
  identity::LocalOutbox outbox(**db);
  auto list = outbox.List(limit, to);
  if (!list.ok()) return Fail(list.error());
  if (list->empty()) std::printf("No messages.\n");
  for (const auto& m : *list) {
    std::printf("%s  %s to %s\n  %s\n\n", FormatRfc3339(m.at).c_str(),
                std::string(identity::ChannelName(m.channel)).c_str(), m.to.c_str(),
                m.text.c_str());
  }
  return 0;
}

int GrantRole(const PlatformOptions& options, const std::string& national_id,
              const identity::Role& role) {
  auto platform = Platform::Open(options);
  if (!platform.ok()) return Fail(platform.error());
  if (auto s = (*platform)->dan().accounts().GrantRole(national_id, role); !s.ok()) {
    return Fail(s.error());
  }
  std::printf("%s is now %s of %s%s%s.\n", national_id.c_str(), role.role.c_str(),
              role.agency.c_str(), role.centre.empty() ? "" : " at centre ", role.centre.c_str());
  return 0;
}

Result<identity::KeyOwner> ParseKeyOwner(const std::string& text) {
  const auto colon = text.find(':');
  const auto kind = text.substr(0, colon);
  identity::KeyOwner owner;
  if (kind == "platform") {
    owner.kind = identity::KeyOwnerKind::kPlatform;
  } else if (kind == "agency") {
    owner.kind = identity::KeyOwnerKind::kAgency;
  } else if (kind == "person") {
    owner.kind = identity::KeyOwnerKind::kPerson;
  } else {
    return Error::InvalidArgument("--owner must be platform:USE, agency:CODE or person:ACCOUNT",
                                  "owner");
  }
  if (colon == std::string::npos || colon + 1 == text.size()) {
    return Error::InvalidArgument("--owner names no id after the colon", "owner");
  }
  owner.id = text.substr(colon + 1);
  return owner;
}

// `ulus keys list|rotate`: an operator's view of Dan's keys. Rotation takes effect in running
// servers within their signer refresh interval; the old key stays in the JWKS meanwhile.
int ManageKeys(const PlatformOptions& options, const std::string& owner_text,
               const std::optional<std::string>& rotate_alg, std::chrono::hours keep) {
  auto owner = ParseKeyOwner(owner_text);
  if (!owner.ok()) return Fail(owner.error());
  auto platform = Platform::Open(options);
  if (!platform.ok()) return Fail(platform.error());
  auto& keys = (*platform)->dan().keys();
  if (rotate_alg) {
    const auto alg = crypto::AlgFromName(*rotate_alg);
    if (!alg) return Fail(Error::InvalidArgument("--alg must be ES256, RS256 or EdDSA", "alg"));
    auto made = keys.Rotate(*owner, *alg, keep);
    if (!made.ok()) return Fail(made.error());
    std::printf("new current key %s (%s)\n", made->kid.c_str(),
                std::string(crypto::AlgName(made->alg)).c_str());
  }
  auto list = keys.Keys(*owner);
  if (!list.ok()) return Fail(list.error());
  for (const auto& key : *list) {
    std::printf("%-44s %-6s %-8s created %s%s%s\n", key.kid.c_str(),
                std::string(crypto::AlgName(key.alg)).c_str(),
                key.state == identity::KeyState::kCurrent ? "current" : "retired",
                FormatRfc3339(key.created).c_str(), key.publish_until ? ", published until " : "",
                key.publish_until ? FormatRfc3339(*key.publish_until).c_str() : "");
  }
  return 0;
}

void AddServerOptions(CLI::App* cmd, PlatformOptions& options) {
  auto& s = options.server;
  cmd->add_option("--address", s.address, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", s.port, "Port to listen on (0 picks a free one)")
      ->capture_default_str();
  cmd->add_option("--threads", s.threads, "Worker threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--tls-cert", s.tls_certificate_file, "PEM certificate chain (enables TLS)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--tls-key", s.tls_private_key_file, "PEM private key")->check(CLI::ExistingFile);
  cmd->add_option("--max-body", s.body_limit, "Largest request body in bytes")
      ->capture_default_str();
  cmd->add_option("--clients", options.clients_file,
                  "OpenID Connect clients file (YAML) to use instead of the pack's clients.yaml");
  cmd->add_option("--issuer", options.issuer,
                  "Dan's public issuer URL (default: this server's own origin)");
  cmd->add_option("--registry-admin", options.registry_admins,
                  "A client (INSTANCE/CLASS/MEMBER/SUBSYSTEM) that may manage registry schemas "
                  "through the database API, besides pack.yaml's administrators (repeatable)");
  cmd->add_option("--registry-key-file", options.registry_key_file,
                  "Registries answer only callers sending this file's key (Khur's nodes get it "
                  "with `ulus node run --backend-key-file`); up makes its own")
      ->check(CLI::ExistingFile);
  cmd->add_option("--hsm-module", hsm.module_path,
                  "PKCS#11 module holding platform and agency keys (e.g. libsofthsm2.so)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--hsm-token", hsm.token_label, "Label of the PKCS#11 token");
  cmd->add_option("--hsm-pin-file", hsm_pin_file,
                  "File holding the token's user PIN (or set ULUS_HSM_PIN)")
      ->check(CLI::ExistingFile);
}

// Completes the PKCS#11 options from the flags: all or nothing.
Status ResolveHsm(PlatformOptions& options) {
  if (hsm.module_path.empty() && hsm.token_label.empty()) return Ok();
  if (hsm.module_path.empty() || hsm.token_label.empty()) {
    return Error::InvalidArgument("--hsm-module and --hsm-token go together", "hsm-token");
  }
  if (!hsm_pin_file.empty()) {
    std::ifstream in(hsm_pin_file);
    std::getline(in, hsm.pin);
  } else if (const char* pin = std::getenv("ULUS_HSM_PIN"); pin != nullptr) {
    hsm.pin = pin;
  }
  if (hsm.pin.empty()) {
    return Error::InvalidArgument("the token's PIN is missing: --hsm-pin-file or ULUS_HSM_PIN",
                                  "hsm-pin-file");
  }
  options.pkcs11 = hsm;
  return Ok();
}

}  // namespace

int Main(int argc, char** argv) {
  // cairo allocates and frees zlib's 256 KiB window several times per PDF; with glibc's default
  // trim threshold the heap shrinks and regrows around each, which costs milliseconds per page.
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  CLI::App cli{"Ulus: a national digital-government platform"};
  cli.set_version_flag("--version", "ulus 0.1.0");
  PlatformOptions options;
  std::string data_dir = "data";
  std::string log_level = "info";
  bool log_json = false;
  cli.add_option("--data", data_dir, "Directory where the stores live")->capture_default_str();
  cli.add_option("--database", options.database_url,
                 "PostgreSQL URI for the platform's store (default: SQLite in --data)");
  cli.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();
  cli.add_flag("--log-json", log_json, "Log JSON lines instead of text");
  std::string packs_dir = ULUS_PACKS_DIR;
  cli.add_option("--packs", packs_dir, "Directory of the country packs")->capture_default_str();
  cli.add_option("--pack", options.pack, "The country pack to run (mn, kz, ...)")
      ->capture_default_str();
  // Global options may also follow the subcommand: `ulus seed --pack kz --data DIR`.
  cli.fallthrough();

  auto* serve = cli.add_subcommand("serve", "Serve the platform's HTTP API");
  AddServerOptions(serve, options);
  auto* up = cli.add_subcommand(
      "up", "Prepare the embedded default (SQLite in --data) and serve it, printing where to look");
  AddServerOptions(up, options);
  SeedCommandOptions up_seed;
  up->add_option("--people", up_seed.people,
                 "People in the synthetic country seeded when the data directory has none")
      ->capture_default_str();
  up->add_option("--seed", up_seed.seed, "Seed of the synthetic country")->capture_default_str();
  up->add_option("--node-port", options.khur.first_node_port,
                 "First port of the agencies' Khur nodes (two each, kept after the first run)")
      ->capture_default_str();
  up->add_option("--node-threads", options.khur.node_threads, "Worker threads per Khur listener")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1024}));
  KhurCommands khur_commands;
  khur_commands.Add(cli);
  VerifyCommand verify_command;
  verify_command.Add(cli);
  auto* migrate = cli.add_subcommand("migrate", "Bring the stores' schemas up to date and exit");
  SeedCommandOptions seed_options;
  auto* seed = cli.add_subcommand(
      "seed", "Load a deterministic synthetic country into empty registry stores and exit");
  seed->add_option("--people", seed_options.people, "Living people to generate")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{100'000'000}));
  seed->add_option("--seed", seed_options.seed, "Random seed: same seed, same country")
      ->capture_default_str();
  seed->add_option("--validate-every", seed_options.validate_every,
                   "Validate every generated record against its schema (1), a sample (N: the "
                   "first 20,000 per agency and every Nth after) or none (0)")
      ->capture_default_str();
  LoginCommandOptions login_options;
  std::string credentials;
  auto* login = cli.add_subcommand(
      "login", "Log in through Dan in a browser (OpenID Connect, PKCE) and keep the tokens");
  login->add_option("--issuer", login_options.issuer, "The Dan issuer to log in at")
      ->capture_default_str();
  login->add_option("--acr", login_options.acr,
                    "Level of assurance to ask for: low, substantial or high");
  login->add_option("--credentials", credentials,
                    "Where to keep the tokens (default $XDG_CONFIG_HOME/ulus/credentials.json)");
  auto* logout = cli.add_subcommand("logout", "Revoke the saved tokens and forget them");
  logout->add_option("--credentials", credentials, "The tokens file to end");
  std::string message_to;
  size_t message_limit = 20;
  auto* messages = cli.add_subcommand(
      "messages",
      "Show the messages (sign-up codes, notices) the embedded default kept for people");
  messages->add_option("--to", message_to, "Only those to this phone number or address");
  messages->add_option("--limit", message_limit, "How many, newest first")->capture_default_str();
  identity::Role grant_role;
  std::string grant_national_id;
  auto* roles = cli.add_subcommand("roles", "Manage officers' roles from the operator's console");
  auto* grant = roles->add_subcommand("grant", "Give a person's account a role in an agency");
  grant->add_option("--national-id", grant_national_id, "The officer's national ID")->required();
  grant->add_option("--agency", grant_role.agency, "Agency code, or PLATFORM")->required();
  grant->add_option("--role", grant_role.role, "officer, admin, desk or operator")->required();
  grant->add_option("--centre", grant_role.centre, "Only at this one-stop centre");
  roles->require_subcommand(1);
  std::string key_owner = "platform:oidc";
  std::string key_alg = "ES256";
  int key_keep_hours = 24;
  auto* keys = cli.add_subcommand("keys", "Signing keys held by Dan (public halves only)");
  auto* keys_list = keys->add_subcommand("list", "The owner's current and still-published keys");
  keys_list->add_option("--owner", key_owner, "platform:USE, agency:CODE or person:ACCOUNT")
      ->capture_default_str();
  auto* keys_rotate = keys->add_subcommand(
      "rotate", "Make a new current key; the old one stays published for --keep-hours");
  keys_rotate->add_option("--owner", key_owner, "platform:USE, agency:CODE or person:ACCOUNT")
      ->capture_default_str();
  keys_rotate->add_option("--alg", key_alg, "ES256, RS256 or EdDSA")->capture_default_str();
  keys_rotate
      ->add_option("--keep-hours", key_keep_hours,
                   "How long the old key stays published: at least the lifetime of what it signed")
      ->capture_default_str()
      ->check(CLI::Range(0, 24 * 3650));
  keys->require_subcommand(1);
  cli.require_subcommand(1);

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  options.data_dir = data_dir;
  options.packs_dir = packs_dir;
  if (auto s = log::Init(log_level, log_json ? log::Format::kJson : log::Format::kText); !s.ok()) {
    return Fail(s.error());
  }
  if (options.server.tls_certificate_file.empty() != options.server.tls_private_key_file.empty()) {
    return Fail(Error::InvalidArgument("--tls-cert and --tls-key go together", "tls-key"));
  }

  if (auto s = ResolveHsm(options); !s.ok()) return Fail(s.error());
  if (*serve) return Serve(options, false);
  if (*up) {
    options.khur.run_nodes = true;
    return Up(options, up_seed);
  }
  if (int code = 0; khur_commands.Run(options, code)) return code;
  if (int code = 0; verify_command.Run(code)) return code;
  if (*migrate) return Migrate(options);
  if (*messages) return ShowMessages(options, message_to, message_limit);
  if (*keys) {
    return ManageKeys(options, key_owner,
                      *keys_rotate ? std::optional<std::string>(key_alg) : std::nullopt,
                      std::chrono::hours(key_keep_hours));
  }
  if (*roles) return GrantRole(options, grant_national_id, grant_role);
  if (*login || *logout) {
    login_options.credentials = credentials;
    const auto status = *login ? RunLogin(login_options) : RunLogout(login_options);
    return status.ok() ? 0 : Fail(status.error());
  }
  if (*seed) {
    seed_options.packs_dir = options.packs_dir;
    seed_options.pack = options.pack;
    seed_options.data_dir = options.data_dir;
    seed_options.database_url = options.database_url;
    return Seed(seed_options);
  }
  return 0;
}

}  // namespace ulus::app

int main(int argc, char** argv) {
  return ulus::app::Main(argc, argv);
}
