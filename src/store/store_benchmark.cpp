// Store throughput: inserts in transactions of 1 and of 1000 rows, and point reads by primary
// key, on SQLite (a temporary file) and, when ULUS_TEST_PG_URL is set, on PostgreSQL (a
// temporary schema).
//
//   build/src/store/store_benchmark [--benchmark_filter=...]

#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ulus/store/database.hpp"

namespace ulus::store {
namespace {

constexpr int64_t kReadRows = 10000;
constexpr int64_t kBatch = 1000;

// One backend's database for the whole run, with a table to write and one to read.
class BenchDatabase {
 public:
  static std::unique_ptr<BenchDatabase> Sqlite() {
    std::string dir = (std::filesystem::temp_directory_path() / "ulus-bench-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) return nullptr;
    auto bench = std::make_unique<BenchDatabase>("sqlite");
    bench->dir_ = dir;
    if (!bench->Open("sqlite:" + dir + "/bench.db")) return nullptr;
    return bench;
  }

  static std::unique_ptr<BenchDatabase> Postgres(const std::string& base) {
    auto bench = std::make_unique<BenchDatabase>("postgres");
    bench->schema_ = "ulus_bench_" + std::to_string(getpid());
    DatabaseOptions options;
    options.url = base;
    options.max_connections = 1;
    auto admin = Database::Open(options);
    if (!admin.ok()) {
      Report(admin.error());
      return nullptr;
    }
    bench->admin_ = std::move(admin).value();
    if (!bench->Script(*bench->admin_, "CREATE SCHEMA " + bench->schema_)) return nullptr;
    const std::string url = base + (base.find('?') == std::string::npos ? "?" : "&") +
                            "options=-csearch_path%3D" + bench->schema_;
    if (!bench->Open(url)) return nullptr;
    return bench;
  }

  explicit BenchDatabase(std::string name) : name_(std::move(name)) {}
  ~BenchDatabase() {
    db_.reset();
    if (admin_ != nullptr) Script(*admin_, "DROP SCHEMA " + schema_ + " CASCADE");
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }
  BenchDatabase(const BenchDatabase&) = delete;
  BenchDatabase& operator=(const BenchDatabase&) = delete;

  [[nodiscard]] const std::string& name() const { return name_; }
  Database& db() { return *db_; }
  int64_t NextId() { return next_id_++; }

 private:
  static bool Report(const Error& error) {
    std::fprintf(stderr, "store_benchmark: %s\n", error.ToString().c_str());
    return false;
  }

  static bool Script(Database& db, const std::string& sql) {
    auto conn = db.Acquire();
    if (!conn.ok()) return Report(conn.error());
    auto done = (*conn)->ExecuteScript(sql);
    if (!done.ok()) return Report(done.error());
    return true;
  }

  bool Open(const std::string& url) {
    DatabaseOptions options;
    options.url = url;
    auto db = Database::Open(options);
    if (!db.ok()) return Report(db.error());
    db_ = std::move(db).value();
    if (!Script(*db_,
                "CREATE TABLE written (id BIGINT PRIMARY KEY, name TEXT NOT NULL, n BIGINT NOT "
                "NULL);"
                "CREATE TABLE readable (id BIGINT PRIMARY KEY, name TEXT NOT NULL, n BIGINT NOT "
                "NULL);")) {
      return false;
    }
    Status filled = db_->InTransaction([](Connection& tx) -> Status {
      for (int64_t id = 1; id <= kReadRows; ++id) {
        const Value params[] = {id, "person " + std::to_string(id), id * 7};
        ULUS_TRY(tx.Execute("INSERT INTO readable (id, name, n) VALUES ($1, $2, $3)", params));
      }
      return Ok();
    });
    if (!filled.ok()) return Report(filled.error());
    return true;
  }

  std::string name_;
  std::string dir_;
  std::string schema_;
  std::unique_ptr<Database> admin_;
  std::unique_ptr<Database> db_;
  int64_t next_id_ = 1;
};

Status InsertRows(Connection& tx, BenchDatabase& bench, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    const int64_t id = bench.NextId();
    const Value params[] = {id, std::string("Айгерим Сейтқали"), id};
    ULUS_TRY(tx.Execute("INSERT INTO written (id, name, n) VALUES ($1, $2, $3)", params));
  }
  return Ok();
}

void InsertInTransactions(benchmark::State& state, BenchDatabase* bench, int64_t rows_each) {
  for (auto _ : state) {
    Status done = bench->db().InTransaction(
        [&](Connection& tx) -> Status { return InsertRows(tx, *bench, rows_each); });
    if (!done.ok()) {
      state.SkipWithError(done.error().ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * rows_each);
}

void PointRead(benchmark::State& state, BenchDatabase* bench) {
  auto conn = bench->db().Acquire();
  if (!conn.ok()) {
    state.SkipWithError(conn.error().ToString().c_str());
    return;
  }
  std::minstd_rand rng(42);
  std::uniform_int_distribution<int64_t> ids(1, kReadRows);
  for (auto _ : state) {
    const Value params[] = {ids(rng)};
    auto row = (*conn)->QueryOne("SELECT id, name, n FROM readable WHERE id = $1", params);
    if (!row.ok()) {
      state.SkipWithError(row.error().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(row);
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace
}  // namespace ulus::store

int main(int argc, char** argv) {
  using ulus::store::BenchDatabase;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  std::vector<std::unique_ptr<BenchDatabase>> benches;
  benches.push_back(BenchDatabase::Sqlite());
  if (const char* pg = std::getenv("ULUS_TEST_PG_URL"); pg != nullptr && *pg != '\0') {
    benches.push_back(BenchDatabase::Postgres(pg));
  }
  for (const auto& bench : benches) {
    if (bench == nullptr) return 1;
    BenchDatabase* b = bench.get();
    benchmark::RegisterBenchmark(("Insert1PerTransaction/" + b->name()).c_str(),
                                 ulus::store::InsertInTransactions, b, int64_t{1})
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("Insert1000PerTransaction/" + b->name()).c_str(),
                                 ulus::store::InsertInTransactions, b, ulus::store::kBatch)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("PointReadByKey/" + b->name()).c_str(), ulus::store::PointRead, b)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
