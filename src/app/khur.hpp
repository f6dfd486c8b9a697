#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ulus/core/result.hpp"
#include "ulus/crypto/keys.hpp"
#include "ulus/exchange/authority.hpp"
#include "ulus/exchange/certificates.hpp"
#include "ulus/exchange/global_config.hpp"
#include "ulus/exchange/node.hpp"
#include "ulus/http/router.hpp"
#include "ulus/identity/dan.hpp"
#include "ulus/registry/pack.hpp"
#include "ulus/store/database.hpp"

namespace ulus::app {

// Khur inside the platform process: the central authority, mounted on the platform's router,
// and, for `ulus up`, one security server (node) per agency of the pack on loopback, each with
// its own SQLite store and keys in <data>/nodes/<AGENCY>/.
struct KhurOptions {
  std::filesystem::path data_dir;
  bool run_nodes = false;
  // Node i listens on first_node_port + 2i (its agency systems' /r1/) and + 2i + 1 (other
  // nodes, mutual TLS). Kept in <data>/nodes/ports.json after the first run.
  uint16_t first_node_port = 8100;
  size_t node_threads = 3;  // the exchange path is asynchronous: few threads serve many calls
  std::chrono::seconds config_refresh{60};
  // Sent by the nodes to the registries (see RegistryApiOptions::caller_key).
  std::string registry_caller_key;
};

// A running agency node, for printing and for tests.
struct NodeInfo {
  std::string agency;
  exchange::ClientId subsystem;
  uint16_t client_port = 0;
  uint16_t provider_port = 0;
};

// The pack as Khur's authority sees it: agencies as members and subsystems, every registry a
// service (subject_required when it names a citizen, consent_required when the pack's
// exchange.yaml lists it), access.yaml's rules as rights.
Result<exchange::PackExchange> PackExchangeOf(const registry::Pack& pack,
                                              const std::filesystem::path& pack_dir);

class Khur {
 public:
  // Opens the authority over `db` (keys and CA in <data>/authority/) and mounts its routes and
  // /data/myPersonalDataUsage on `router`. `dan` checks citizens' tokens and consent tokens.
  static Result<std::unique_ptr<Khur>> Open(const KhurOptions& options, const registry::Pack& pack,
                                            const std::filesystem::path& pack_dir,
                                            store::Database& db, identity::Dan& dan,
                                            http::Router& router);
  ~Khur();

  // Once the platform listens at `platform_origin`: enrolls the nodes that are not enrolled yet
  // (a token from this authority, then the node's registration over HTTP, as a remote node
  // would) and starts every node, its registries served by `platform_origin`.
  Status StartNodes(const std::string& platform_origin);
  // The registries' routes, for the nodes to call in-process instead of over HTTP. `router` must
  // outlive the nodes.
  void ServeRegistriesFrom(const http::Router& router) { registry_router_ = &router; }
  void Stop();
  [[nodiscard]] const std::vector<NodeInfo>& nodes() const { return infos_; }
  exchange::Authority& authority() { return *authority_; }

  // The data tracker across this process's nodes: records about `subject`, newest first.
  // `service_code` filters to one registry's service when not empty.
  Result<std::vector<std::pair<std::string, exchange::DataUsageRecord>>> DataUsage(
      const std::string& subject, const std::string& service_code, size_t offset, size_t limit);

  struct RunningNode;

 private:
  Khur() = default;
  Result<http::Response> MyPersonalDataUsage(http::Request& request);

  KhurOptions options_;
  const registry::Pack* pack_ = nullptr;
  identity::Dan* dan_ = nullptr;
  exchange::PackExchange exchange_;
  std::unique_ptr<crypto::SigningKey> authority_key_;
  std::unique_ptr<exchange::CertificateAuthority> ca_;
  std::unique_ptr<exchange::Authority> authority_;
  std::vector<std::unique_ptr<RunningNode>> running_;
  std::vector<NodeInfo> infos_;
  const http::Router* registry_router_ = nullptr;
};

// Loads or makes the authority's configuration-signing key (<dir>/authority.key, 0600).
Result<crypto::SigningKey> LoadOrCreateAuthorityKey(const std::filesystem::path& dir);

}  // namespace ulus::app
