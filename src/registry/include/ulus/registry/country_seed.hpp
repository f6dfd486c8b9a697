#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "ulus/core/result.hpp"
#include "ulus/registry/agency_stores.hpp"
#include "ulus/registry/pack.hpp"

namespace ulus::registry {

struct SeedOptions {
  size_t people = 100'000;
  uint64_t seed = 1;
  // Rows per transaction in each agency's store: large, so commits (and fsyncs) are rare.
  size_t transaction_rows = 25'000;
  // Which generated records are validated against their schemas before they are stored: every
  // one when 1; when N > 1, each writer's first kAlwaysValidated and every Nth after; none when 0.
  size_t validate_every = 1;
  static constexpr size_t kAlwaysValidated = 20'000;
  // Called on the generating thread with the living people made so far (of `people`).
  std::function<void(size_t done)> progress;
};

struct SeedReport {
  size_t people = 0;
  size_t records = 0;
  std::map<std::string, size_t> records_by_registry;
  double seconds = 0;        // all of it
  double index_seconds = 0;  // of which building indexes after loading (longest store)
};

// A finished seeding run, as recorded in the stores (registry_seed).
struct SeedRun {
  std::string pack;
  uint64_t seed = 0;
  int64_t people = 0;
  int64_t records = 0;
  int64_t finished_at = 0;  // microseconds since the Unix epoch
};

// Loads a synthetic country (SyntheticCountry) into empty agency stores: generation on the
// calling thread, one writer thread per store, big transactions, and one outbox event per
// registry and transaction ("registry.<name>.loaded" with the count and first and last id)
// instead of one per record. Deterministic: the same pack, seed and people give the same
// records (recorded_at differs). Refuses stores that already hold records.
Result<SeedReport> SeedCountry(const Pack& pack, AgencyStores& stores, const SeedOptions& options);

// The seeding run recorded in the stores, if any: a country already lives there.
Result<std::optional<SeedRun>> FindSeedRun(AgencyStores& stores);
// True when any of the stores holds a record.
Result<bool> HoldsRecords(AgencyStores& stores);

}  // namespace ulus::registry
