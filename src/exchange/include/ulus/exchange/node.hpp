#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/crypto/keys.hpp"
#include "ulus/exchange/global_config.hpp"
#include "ulus/exchange/identifiers.hpp"
#include "ulus/exchange/message_log.hpp"
#include "ulus/exchange/protocol.hpp"
#include "ulus/http/client.hpp"
#include "ulus/http/server.hpp"
#include "ulus/store/database.hpp"

namespace ulus::exchange {

// The header a node signs with: SerializeBatchSignature() of the message's digest.
inline constexpr std::string_view kHeaderSignature = "Khur-Signature";
// On a provider's answer: the lower-case names of the response headers its signature covers.
inline constexpr std::string_view kHeaderSignedHeaders = "Khur-Signed-Headers";

// Checks a consent token for one use: the token, whom it must be about, for what purpose, and the
// calling subsystem (whose member must be the consent's data user). The app wires Dan's consent
// verification here; exchange does not link identity. kPermissionDenied / kUnauthenticated refuse.
using ConsentVerifier = std::function<Status(std::string_view token, std::string_view subject,
                                             std::string_view purpose, const ClientId& client)>;

struct NodeOptions {
  // The subsystem this node serves: it calls services for it (client side) and offers its
  // services (provider side).
  ClientId subsystem;
  // Where the agency's own information systems call /r1/ (plain HTTP; keep it on loopback or an
  // internal network, as X-Road's client interface).
  http::ServerOptions client_listener;
  // Where other nodes call this one: mutual TLS with the authority's CA (the caller sets the
  // certificate, key and tls_client_ca_file).
  http::ServerOptions provider_listener;
  // For calls to other nodes: this node's certificate and key, and the CA bundle to trust.
  std::string tls_certificate_file;
  std::string tls_private_key_file;
  std::string ca_file;
  // The provider side: where each service code is served, as a base URL the rest of the path is
  // appended to ("person" -> "http://127.0.0.1:8080/data/person"). Unlisted services of this
  // subsystem answer Server.ServerProxy.UnknownService.
  std::map<std::string, std::string, std::less<>> service_backends;
  // Headers added to every backend call (the registries' caller key).
  std::vector<std::pair<std::string, std::string>> backend_headers;
  // Backends in the node's own process: a service whose base URL starts with "local:" is
  // called through this function with the rest of the URL as its path prefix
  // ("local:/data/person"), without an HTTP hop. The embedded default serves its registries so.
  std::function<Result<http::ClientResponse>(http::Method, std::string_view target,
                                             std::string_view body, const HeaderList& headers)>
      local_backend;
  // The global configuration: fetched from `config_url` every `config_refresh` and kept in
  // `config_file` (the newest copy, read at start so a restart needs no authority).
  std::string config_url;
  std::string config_file;
  std::chrono::seconds config_refresh{60};
  // Deadlines: connecting to another node or a backend, and a whole call to either.
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds provider_timeout{30'000};
  std::chrono::milliseconds backend_timeout{30'000};
  ConsentVerifier consent;
  // How long a provider remembers answers for retries with the same X-Road-Id.
  std::chrono::hours reply_retention{24};
  // Operational monitoring records kept in memory for the JSON API.
  size_t monitoring_capacity = 10'000;
};

// X-Road's four timestamps of one exchange as this node saw it, with sizes and outcome.
struct MonitoringRecord {
  std::string side;  // "client" or "provider"
  std::string client;
  std::string service;
  std::string x_road_id;
  std::string request_id;
  std::string user_id;
  int64_t request_in_ms = 0;    // Unix ms: the request reached this node
  int64_t request_out_ms = 0;   // it left for the provider node (client side) or the backend
  int64_t response_in_ms = 0;   // the answer came back
  int64_t response_out_ms = 0;  // the answer left this node
  uint64_t request_size = 0;
  uint64_t response_size = 0;
  int status = 0;
  bool succeeded = false;
  std::string fault;  // the X-Road-Error type when one was raised
};

// A record of the data tracker: who read or changed data about a person, when, why.
struct DataUsageRecord {
  int64_t id = 0;
  TimePoint at;
  std::string subject;
  std::string client;   // INSTANCE/CLASS/MEMBER/SUBSYSTEM of the reader
  std::string user_id;  // X-Road-UserId: the officer
  std::string service;
  std::string method;
  std::string path;
  std::string purpose;
  std::string x_road_id;
  int status = 0;
};

// A security server in front of one agency subsystem (X-Road's architecture): the agency's systems
// call /r1/{service} on its client listener; the node checks the global configuration, signs the
// request (batch signature), sends it over mutual TLS to the provider's node, verifies and logs the
// signed answer and passes it back. As a provider it authenticates the calling node by its
// certificate, checks signature, access rights, subject, purpose and consent, dedupes X-Road-Ids,
// calls the backend, signs and logs the answer durably before releasing it.
class Node {
 public:
  // Opens the node's store (migrations "exchange_log", "exchange_node"). Does not listen yet.
  // `db`, `signer` and `clock` must outlive the node.
  static Result<std::unique_ptr<Node>> Open(NodeOptions options, store::Database& db,
                                            const crypto::Signer& signer,
                                            crypto::PublicKey authority_key,
                                            const Clock& clock = Clock::System());
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Loads the kept configuration (if any), fetches a fresh one when config_url is set, starts
  // both listeners and the refresh thread. A node without a valid configuration still starts and
  // answers OutdatedGlobalConf until it gets one.
  Status Start();
  void Stop();
  [[nodiscard]] uint16_t client_port() const;
  [[nodiscard]] uint16_t provider_port() const;

  // Installs a signed configuration (see ConfigHolder::Install) and keeps it in config_file.
  Status InstallConfig(std::string_view jws);
  // Fetches config_url once and installs it.
  Status RefreshConfig();

  [[nodiscard]] MessageLog& log();
  // Newest first; `before_id` 0 starts at the newest.
  Result<std::vector<DataUsageRecord>> DataUsage(std::string_view subject, int64_t before_id,
                                                 size_t limit);
  // Newest last, at most `limit`, with request_in_ms >= since_ms.
  [[nodiscard]] std::vector<MonitoringRecord> Monitoring(int64_t since_ms, size_t limit) const;

  struct Impl;

 private:
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

nlohmann::json ToJson(const MonitoringRecord& record);
nlohmann::json ToJson(const DataUsageRecord& record);

}  // namespace ulus::exchange
