#include "ulus/registry/country_seed.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ulus/registry/synthetic.hpp"

namespace ulus::registry {
namespace {

using nlohmann::json;

// Records queued for one writer before the generator waits: enough to keep the writer busy
// while the generator makes the next blocks, small enough to bound memory.
constexpr size_t kMaxQueuedRecords = 200'000;
// A loading SQLite connection: a big page cache, the file read through mmap, no fsync per commit
// and no journal, so each page is written once instead of to the WAL and again into the file.
// The load is of an empty store that is worthless until it completes (a failed seed leaves a
// store to delete and seed again), so neither durability nor rollback is needed in between; at
// the end the connection returns to WAL and synchronous=FULL, and the checkpoint after the run
// is recorded fsyncs the file.
constexpr std::string_view kLoadPragmas = "PRAGMA cache_size=-524288; PRAGMA synchronous=OFF;";
constexpr std::string_view kAfterLoadPragmas =
    "PRAGMA cache_size=-2000; PRAGMA synchronous=FULL; PRAGMA mmap_size=0;";
constexpr std::string_view kSeedActor = "ulus-seed";

// Writes one agency's records on a thread of its own: its store is a file of its own, so the
// writers never wait for each other. Push is called by the generating thread only.
class AgencyWriter {
 public:
  // With `build_indexes` (a store of its own) the writer also builds its store's indexes as soon
  // as its records are in, while other writers may still be loading.
  AgencyWriter(RecordStore& store, const Pack& pack, const SeedOptions& options, std::string reason,
               bool build_indexes)
      : store_(store), pack_(pack), options_(options), reason_(std::move(reason)) {
    thread_ = std::thread([this, build_indexes] {
      Status s = Run(build_indexes);
      std::lock_guard lock(mu_);
      status_ = std::move(s);
      failed_ = !status_.ok();
      finished_ = true;
      queue_.clear();
      cv_.notify_all();
    });
  }
  AgencyWriter(const AgencyWriter&) = delete;
  AgencyWriter& operator=(const AgencyWriter&) = delete;
  ~AgencyWriter() {
    if (thread_.joinable()) {
      Finish();
      thread_.join();
    }
  }

  // Hands records over; waits while the queue is full. Dropped once the writer has failed.
  void Push(std::vector<SyntheticRecord>&& records) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return queued_ < kMaxQueuedRecords || finished_; });
    if (finished_) return;
    queued_ += records.size();
    queue_.push_back(std::move(records));
    cv_.notify_all();
  }

  void Finish() {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }

  Status Join() {
    Finish();
    if (thread_.joinable()) thread_.join();
    return status_;
  }

  // Read after Join.
  [[nodiscard]] const std::map<std::string, size_t>& counts() const { return counts_; }
  [[nodiscard]] double index_seconds() const { return index_seconds_; }

 private:
  // Next batch, or false when the generator is done and the queue is empty.
  bool Pop(std::vector<SyntheticRecord>& out) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !queue_.empty() || closed_; });
    if (queue_.empty()) return false;
    out = std::move(queue_.front());
    queue_.pop_front();
    queued_ -= out.size();
    cv_.notify_all();
    return true;
  }

  Status Run(bool build_indexes) {
    ULUS_ASSIGN_OR_RETURN(auto conn, store_.database().Acquire());
    const bool sqlite = conn->backend() == store::Backend::kSqlite;
    if (sqlite) {
      ULUS_TRY(conn->ExecuteScript(kLoadPragmas));
      // Leaving WAL needs the only connection to the file; if another process has it open (a
      // server on the same data directory) SQLite stays in WAL and the load is merely slower.
      ULUS_TRY(conn->Query("PRAGMA journal_mode=OFF"));
    }
    Status loaded = Load(*conn);
    if (build_indexes) {
      // Even after a failure: a store must not stay without its indexes.
      const auto start = std::chrono::steady_clock::now();
      Status built = store_.BuildIndexes(*conn);
      index_seconds_ =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (loaded.ok()) loaded = std::move(built);
    }
    if (!sqlite) return loaded;
    // The connection goes back to the pool: it must leave with the usual settings.
    auto mode = conn->QueryOne("PRAGMA journal_mode=WAL");
    Status restored = conn->ExecuteScript(kAfterLoadPragmas);
    if (!mode.ok()) return std::move(mode).error();
    if (mode->Text(0) != "wal") return Error::Internal("could not put the store back in WAL mode");
    if (!loaded.ok()) return loaded;
    return restored;
  }

  Status Load(store::Connection& conn) {
    std::vector<SyntheticRecord> batch;
    while (Pop(batch)) {
      for (auto& record : batch) {
        if (ShouldValidate()) ULUS_TRY(Validate(record));
        pending_[record.registry].push_back(
            LoadRow{.id = std::move(record.id),
                    .valid_from = std::move(record.valid_from),
                    .subject = record.subject_id.empty()
                                   ? std::nullopt
                                   : std::optional<std::string>(std::move(record.subject_id)),
                    .data = std::move(record.json)});
        ++pending_rows_;
      }
      if (pending_rows_ >= options_.transaction_rows) ULUS_TRY(Flush(conn));
    }
    return Flush(conn);
  }

  bool ShouldValidate() {
    const size_t n = seen_++;
    const size_t every = options_.validate_every;
    return every == 1 || (every > 1 && (n < SeedOptions::kAlwaysValidated || n % every == 0));
  }

  Status Validate(const SyntheticRecord& record) {
    auto it = schemas_.find(record.registry);
    if (it == schemas_.end()) {
      const RegistrySchema* schema = pack_.FindRegistry(record.registry);
      if (schema == nullptr) {
        return Error::Internal("the generator made a record of unknown registry '" +
                               std::string(record.registry) + "'");
      }
      it = schemas_.emplace(record.registry, schema).first;
    }
    json parsed = json::parse(record.json, nullptr, false);
    if (parsed.is_discarded()) {
      return Error::Internal("generated record '" + record.id + "' of registry '" +
                             std::string(record.registry) + "' is not JSON");
    }
    auto valid = ValidateRecord(*it->second, parsed, pack_.id_rule, ValidationMode::kFull);
    if (!valid.ok()) {
      Error e = std::move(valid).error();
      e.code = ErrorCode::kInternal;  // the generator's fault, not the user's
      e.message = "generated record '" + record.id + "' of registry '" +
                  std::string(record.registry) + "' breaks its schema: " + e.message;
      return e;
    }
    return Ok();
  }

  Status Flush(store::Connection& conn) {
    if (pending_rows_ == 0) return Ok();
    ULUS_TRY(conn.Begin());
    for (auto& [registry, rows] : pending_) {
      if (rows.empty()) continue;
      const json event = {{"registry", registry},
                          {"count", rows.size()},
                          {"first", rows.front().id},
                          {"last", rows.back().id}};
      const std::string name(registry);
      ULUS_TRY(store_.Load(conn, name, rows, std::string(kSeedActor), reason_));
      ULUS_TRY(store_.outbox().Append(conn, "registry." + name + ".loaded", name, event.dump()));
      counts_[name] += rows.size();
      rows.clear();
    }
    pending_rows_ = 0;
    return conn.Commit();
  }

  RecordStore& store_;
  const Pack& pack_;
  const SeedOptions& options_;
  const std::string reason_;
  // Used by the writer thread only.
  std::unordered_map<std::string_view, const RegistrySchema*> schemas_;
  std::map<std::string_view, std::vector<LoadRow>> pending_;
  size_t pending_rows_ = 0;
  size_t seen_ = 0;                       // records handled, for sampled validation
  std::map<std::string, size_t> counts_;  // read after Join
  double index_seconds_ = 0;              // read after Join

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<SyntheticRecord>> queue_;  // guarded by mu_
  size_t queued_ = 0;                               // guarded by mu_
  bool closed_ = false;                             // guarded by mu_: no more pushes
  bool finished_ = false;                           // guarded by mu_: the thread has ended
  bool failed_ = false;                             // guarded by mu_
  Status status_;                                   // set before finished_
  std::thread thread_;
};

Result<bool> StoreHoldsRecords(RecordStore& store) {
  ULUS_ASSIGN_OR_RETURN(auto conn, store.database().Acquire());
  ULUS_ASSIGN_OR_RETURN(
      const int64_t n,
      conn->QueryInt("SELECT COUNT(*) FROM (SELECT 1 FROM record_version LIMIT 1) t"));
  return n > 0;
}

// Builds every store's indexes, the stores in parallel.
Status BuildIndexes(AgencyStores& stores) {
  const auto all = stores.Distinct();
  std::vector<Status> results(all.size());
  std::vector<std::thread> threads;
  threads.reserve(all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = all[i]->BuildIndexes(); });
  }
  for (auto& t : threads) t.join();
  for (auto& r : results) {
    if (!r.ok()) return r;
  }
  return Ok();
}

}  // namespace

Result<SeedReport> SeedCountry(const Pack& pack, AgencyStores& stores, const SeedOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const int64_t started_at = ToUnixMicros(Clock::System().Now());
  for (RecordStore* store : stores.Distinct()) {
    ULUS_ASSIGN_OR_RETURN(const bool holds, StoreHoldsRecords(*store));
    if (holds) {
      return Error{ErrorCode::kFailedPrecondition,
                   "the registry stores already hold records; seed into an empty --data "
                   "directory (or an empty database)",
                   "data"};
    }
  }
  ULUS_ASSIGN_OR_RETURN(auto country, SyntheticCountry::Create(pack, options.seed));
  // Building the indexes once at the end is several times faster than keeping them up to date
  // row by row; the unique key, built last, still refuses a duplicate id.
  for (RecordStore* store : stores.Distinct()) ULUS_TRY(store->DropIndexesForLoad());

  // Short, because every one of tens of millions of versions repeats it; the run's pack, seed and
  // size are in registry_seed.
  const std::string reason = "synthetic country";
  // One writer per agency; with a shared PostgreSQL database they still write in parallel, each
  // on its own connection, and the indexes are built once they all have finished.
  const bool shared = stores.shared();
  std::map<std::string, std::unique_ptr<AgencyWriter>, std::less<>> writers;
  std::unordered_map<std::string_view, AgencyWriter*> by_registry;
  for (const auto& schema : pack.registries) {
    auto& writer = writers[schema.agency];
    if (!writer) {
      RecordStore* store = stores.ForAgency(schema.agency);
      if (store == nullptr) return Error::Internal("agency '" + schema.agency + "' has no store");
      writer = std::make_unique<AgencyWriter>(*store, pack, options, reason, !shared);
    }
  }

  SeedReport report;
  report.people = options.people;
  Status routing;
  country.Generate(
      options.people,
      [&](std::vector<SyntheticRecord>&& records) {
        if (!routing.ok()) return;
        // Split the block by agency, keeping the generator's order within each.
        std::map<AgencyWriter*, std::vector<SyntheticRecord>> parts;
        for (auto& record : records) {
          auto it = by_registry.find(record.registry);
          if (it == by_registry.end()) {
            const RegistrySchema* schema = pack.FindRegistry(record.registry);
            if (schema == nullptr) {
              routing = Error::Internal("the generator made a record of unknown registry '" +
                                        std::string(record.registry) + "'");
              return;
            }
            it = by_registry.emplace(record.registry, writers[schema->agency].get()).first;
          }
          parts[it->second].push_back(std::move(record));
        }
        for (auto& [writer, part] : parts) writer->Push(std::move(part));
      },
      [&](size_t done) {
        if (options.progress) options.progress(done);
      });

  Status failed = routing;
  for (auto& [agency, writer] : writers) {
    Status s = writer->Join();
    if (!s.ok() && failed.ok()) failed = std::move(s);
  }
  if (shared) {
    // Even after a failure: a store must not stay without its indexes.
    const auto indexing = std::chrono::steady_clock::now();
    Status indexed = BuildIndexes(stores);
    report.index_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - indexing).count();
    if (failed.ok()) failed = std::move(indexed);
  }
  if (!failed.ok()) return std::move(failed).error();
  for (auto& [agency, writer] : writers) {
    report.index_seconds = std::max(report.index_seconds, writer->index_seconds());
  }
  for (auto& [agency, writer] : writers) {
    for (const auto& [registry, n] : writer->counts()) {
      report.records_by_registry[registry] += n;
      report.records += n;
    }
  }

  const int64_t finished_at = ToUnixMicros(Clock::System().Now());
  for (RecordStore* store : stores.Distinct()) {
    const store::Value params[] = {pack.code,
                                   static_cast<int64_t>(options.seed),
                                   static_cast<int64_t>(options.people),
                                   static_cast<int64_t>(report.records),
                                   started_at,
                                   finished_at};
    auto record = [&](store::Connection& tx) -> Status {
      ULUS_TRY(tx.Execute(
          "INSERT INTO registry_seed (pack, seed, people, records, started_at, finished_at) "
          "VALUES ($1, $2, $3, $4, $5, $6)",
          params));
      return Ok();
    };
    ULUS_TRY(store->database().InTransaction(record));
    // SQLite: copying the run's record into the file fsyncs it, and with it every page the
    // load wrote without syncing.
    ULUS_ASSIGN_OR_RETURN(auto conn, store->database().Acquire());
    if (conn->backend() == store::Backend::kSqlite) {
      ULUS_TRY(conn->ExecuteScript("PRAGMA wal_checkpoint(TRUNCATE)"));
    }
  }
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

Result<bool> HoldsRecords(AgencyStores& stores) {
  for (RecordStore* store : stores.Distinct()) {
    ULUS_ASSIGN_OR_RETURN(const bool holds, StoreHoldsRecords(*store));
    if (holds) return true;
  }
  return false;
}

Result<std::optional<SeedRun>> FindSeedRun(AgencyStores& stores) {
  for (RecordStore* store : stores.Distinct()) {
    ULUS_ASSIGN_OR_RETURN(auto conn, store->database().Acquire());
    ULUS_ASSIGN_OR_RETURN(auto rows,
                          conn->Query("SELECT pack, seed, people, records, finished_at FROM "
                                      "registry_seed ORDER BY finished_at DESC LIMIT 1"));
    if (rows.empty()) continue;
    const auto& row = rows.front();
    return std::optional<SeedRun>(SeedRun{.pack = row.Text(0),
                                          .seed = static_cast<uint64_t>(row.Int(1)),
                                          .people = row.Int(2),
                                          .records = row.Int(3),
                                          .finished_at = row.Int(4)});
  }
  return std::optional<SeedRun>();
}

}  // namespace ulus::registry
