#include "seed_command.hpp"

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "ulus/registry/agency_stores.hpp"
#include "ulus/registry/country_seed.hpp"
#include "ulus/registry/pack.hpp"

namespace ulus::app {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kBarWidth = 30;
constexpr auto kRedrawEvery = std::chrono::milliseconds(200);
constexpr size_t kLineSteps = 10;  // without a terminal: a line every 10%

// The generator allocates every record on one thread and the writers free them on others. By
// default glibc gives freed memory back to the kernel soon and faults it in again for the next
// block; on this VM the page faults cost more than the inserts. Keep it instead (the process is
// short-lived).
void KeepFreedMemory() {
  constexpr int kTrimThreshold = 1 << 30;
  constexpr int kTopPad = 256 << 20;
  constexpr int kMmapThreshold = 32 << 20;  // glibc's maximum on 64-bit
  mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
  mallopt(M_TOP_PAD, kTopPad);
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
}

// 3500000 -> "3,500,000".
std::string Grouped(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string Duration(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lds", s);
  }
  return buf;
}

// Progress on stderr, so stdout stays clean for the summary. A bar redrawn in place when stderr
// is a terminal; plain lines at every 10% when it is a file or a pipe (logs, CI).
class ProgressReport {
 public:
  explicit ProgressReport(size_t total) : total_(total), tty_(isatty(STDERR_FILENO) == 1) {}

  void Update(size_t done) {
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
    const double fraction =
        total_ == 0 ? 1 : static_cast<double>(done) / static_cast<double>(total_);
    if (tty_) {
      if (done < total_ && now - last_draw_ < kRedrawEvery) return;
      last_draw_ = now;
      const int filled = static_cast<int>(fraction * kBarWidth);
      std::string bar(static_cast<size_t>(filled), '#');
      bar.append(static_cast<size_t>(kBarWidth - filled), '-');
      const double left = rate > 0 ? static_cast<double>(total_ - done) / rate : 0;
      std::fprintf(stderr, "\r  [%s] %3d%%  %s / %s people  %s/s  eta %s   ", bar.c_str(),
                   static_cast<int>(fraction * 100), Grouped(done).c_str(), Grouped(total_).c_str(),
                   Grouped(static_cast<uint64_t>(rate)).c_str(), Duration(left).c_str());
      std::fflush(stderr);
      return;
    }
    const size_t step = done >= total_ ? kLineSteps : static_cast<size_t>(fraction * kLineSteps);
    if (step <= last_step_) return;
    last_step_ = step;
    std::fprintf(stderr, "seed: %3d%%  %s / %s people  %s/s\n", static_cast<int>(fraction * 100),
                 Grouped(done).c_str(), Grouped(total_).c_str(),
                 Grouped(static_cast<uint64_t>(rate)).c_str());
  }

  void Finish() {
    if (tty_) std::fprintf(stderr, "\n");
  }

 private:
  const size_t total_;
  const bool tty_;
  const Clock::time_point start_ = Clock::now();
  Clock::time_point last_draw_{};
  size_t last_step_ = 0;
};

}  // namespace

Status RunSeed(const SeedCommandOptions& options) {
  KeepFreedMemory();
  ULUS_ASSIGN_OR_RETURN(const registry::Pack pack,
                        registry::LoadPack(options.packs_dir / options.pack));
  // Every agency's writer holds a connection for the whole load; with PostgreSQL they share one
  // database, so its pool needs one per agency and a few to spare.
  registry::StoreLocation location{.data_dir = options.data_dir,
                                   .database_url = options.database_url,
                                   .max_connections = pack.agencies.size() + 2};
  ULUS_ASSIGN_OR_RETURN(auto stores, registry::AgencyStores::Open(pack, location));
  const std::string where =
      options.database_url.empty() ? (options.data_dir / "agencies").string() : "PostgreSQL";
  std::fprintf(stderr, "seeding %s people of pack %s (seed %llu) into %s\n",
               Grouped(options.people).c_str(), pack.code.c_str(),
               static_cast<unsigned long long>(options.seed), where.c_str());

  ProgressReport progress(options.people);
  registry::SeedOptions seed_options;
  seed_options.people = options.people;
  seed_options.seed = options.seed;
  seed_options.validate_every = options.validate_every;
  seed_options.progress = [&](size_t done) { progress.Update(done); };
  auto report = registry::SeedCountry(pack, *stores, seed_options);
  progress.Finish();
  if (!report.ok()) return std::move(report).error();

  const double rate =
      report->seconds > 0 ? static_cast<double>(report->people) / report->seconds : 0;
  std::printf(
      "seeded %s people: %s records in %zu registries, %.1f s (indexes %.1f s), %s people/s "
      "(%s records/s)\n",
      Grouped(report->people).c_str(), Grouped(report->records).c_str(),
      report->records_by_registry.size(), report->seconds, report->index_seconds,
      Grouped(static_cast<uint64_t>(rate)).c_str(),
      Grouped(static_cast<uint64_t>(static_cast<double>(report->records) /
                                    std::max(report->seconds, 1e-9)))
          .c_str());
  for (const auto& [name, n] : report->records_by_registry) {
    std::printf("  %-18s %12s\n", name.c_str(), Grouped(n).c_str());
  }
  std::fflush(stdout);
  return Ok();
}

Result<bool> SeedIfEmpty(const SeedCommandOptions& options) {
  {
    ULUS_ASSIGN_OR_RETURN(const registry::Pack pack,
                          registry::LoadPack(options.packs_dir / options.pack));
    registry::StoreLocation location{
        .data_dir = options.data_dir, .database_url = options.database_url, .max_connections = 2};
    ULUS_ASSIGN_OR_RETURN(auto stores, registry::AgencyStores::Open(pack, location));
    ULUS_ASSIGN_OR_RETURN(auto run, registry::FindSeedRun(*stores));
    if (run) return false;
    ULUS_ASSIGN_OR_RETURN(const bool holds, registry::HoldsRecords(*stores));
    if (holds) {
      // Records without a finished seeding run: an interrupted `ulus seed` (whose half-loaded
      // stores may be unusable), or records written through the API on a server that was
      // never seeded. Neither is for `up` to guess about.
      const std::string where = options.database_url.empty()
                                    ? (options.data_dir / "agencies").string()
                                    : std::string("the PostgreSQL database");
      return Error{ErrorCode::kFailedPrecondition,
                   "the registry stores in " + where +
                       " hold records but no finished synthetic country (an interrupted "
                       "`ulus seed`?): empty them and run again, or use `ulus serve` to serve "
                       "them as they are",
                   "data"};
    }
  }
  ULUS_TRY(RunSeed(options));
  return true;
}

}  // namespace ulus::app
