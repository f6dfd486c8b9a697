#pragma once

#include <cstdint>

#include "ulus/core/clock.hpp"
#include "ulus/http/router.hpp"
#include "ulus/registry/catalog.hpp"

namespace ulus::registry {

// The header naming the calling X-Road client (INSTANCE/CLASS/MEMBER/SUBSYSTEM). Until the
// exchange layer authenticates it, whoever can reach the API can claim any client: serve it on
// loopback or behind the exchange node only.
inline constexpr std::string_view kClientHeader = "Information-Mediator-Client";
// Every write states its ground and, optionally, the day it takes effect (default: today, UTC).
// Also accepted as "reason" and "validFrom" beside "write" in a JSON body.
inline constexpr std::string_view kReasonHeader = "Ulus-Reason";
inline constexpr std::string_view kValidFromHeader = "Ulus-Valid-From";

// With RegistryApiOptions::caller_key, every call must carry it in this header: only the
// exchange nodes have it, so the client they authenticated is the one named.
inline constexpr std::string_view kCallerKeyHeader = "Ulus-Caller-Key";

struct RegistryApiOptions {
  int64_t default_page_size = 10;
  int64_t max_page_size = 1000;
  // updateEntries changes at most this many records in one call (one transaction).
  int64_t max_update_entries = 10'000;
  // When set, calls without it in kCallerKeyHeader are refused (401): the registries then trust
  // the Information-Mediator-Client header only from Khur's nodes, which authenticated the caller.
  std::string caller_key;
};

// The GovStack Digital Registries data API (every registry of the catalog, under
// /data/{registryName}/{versionNumber}/...) with a history endpoint and as-of reads, and the
// database API (/databases, /database/{id}, /database/modify) for schema administration.
// Both spellings of the data API's paths are served (updateEntries and update-entries...).
// Thread-safe; must outlive the server it is mounted on.
class RegistryApi {
 public:
  explicit RegistryApi(RegistryCatalog& catalog, RegistryApiOptions options = {},
                       const Clock& clock = Clock::System())
      : catalog_(catalog), options_(options), clock_(clock) {}

  void Mount(http::Router& router);

 private:
  struct Call;
  Result<Call> Begin(http::Request& request, Access access) const;

  Result<http::Response> List(http::Request& request);
  Result<http::Response> Create(http::Request& request);
  Result<http::Response> Exists(http::Request& request);
  Result<http::Response> Read(http::Request& request);
  Result<http::Response> Update(http::Request& request);
  Result<http::Response> UpdateEntries(http::Request& request);
  Result<http::Response> UpdateOrCreate(http::Request& request);
  Result<http::Response> Delete(http::Request& request);
  Result<http::Response> ReadValue(http::Request& request);
  Result<http::Response> History(http::Request& request);

  Result<http::Response> Databases(http::Request& request);
  Result<http::Response> Database(http::Request& request);
  Result<http::Response> ModifyDatabase(http::Request& request);
  Result<http::Response> DeleteDatabase(http::Request& request);

  RegistryCatalog& catalog_;
  const RegistryApiOptions options_;
  const Clock& clock_;
};

}  // namespace ulus::registry
