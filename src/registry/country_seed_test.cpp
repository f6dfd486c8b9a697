#include "ulus/registry/country_seed.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "ulus/registry/agency_stores.hpp"
#include "ulus/registry/pack.hpp"
#include "ulus/store/outbox.hpp"

namespace ulus::registry {
namespace {

namespace fs = std::filesystem;

constexpr size_t kPeople = 2000;

const Pack& Mongolia() {
  static const Pack pack = [] {
    auto p = LoadPack(fs::path(ULUS_PACKS_DIR) / "mn");
    EXPECT_TRUE(p.ok()) << p.error().ToString();
    return std::move(p).value();
  }();
  return pack;
}

// A temporary data directory with the pack's agency stores in it.
class SeededDir {
 public:
  SeededDir() {
    std::string pattern = (fs::temp_directory_path() / "ulus-seed-XXXXXX").string();
    EXPECT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto stores = AgencyStores::Open(Mongolia(), StoreLocation{.data_dir = dir_});
    EXPECT_TRUE(stores.ok()) << stores.error().ToString();
    if (stores.ok()) stores_ = std::move(stores).value();
  }
  ~SeededDir() {
    stores_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  SeededDir(const SeededDir&) = delete;
  SeededDir& operator=(const SeededDir&) = delete;

  Result<SeedReport> Seed(uint64_t seed) {
    SeedOptions options;
    options.people = kPeople;
    options.seed = seed;
    options.transaction_rows = 1000;  // several transactions, even at this size
    return SeedCountry(Mongolia(), *stores_, options);
  }

  // FNV-1a over (registry, id, data) of every record in a fixed order, and the record count.
  std::pair<uint64_t, int64_t> Digest() {
    uint64_t h = 1469598103934665603ULL;
    int64_t count = 0;
    auto mix = [&](const std::string& s) {
      for (char c : s) {
        h ^= static_cast<uint8_t>(c);
        h *= 1099511628211ULL;
      }
      h ^= 0xff;
      h *= 1099511628211ULL;
    };
    for (const auto& agency : Mongolia().agencies) {
      auto conn = stores_->ForAgency(agency.code)->database().Acquire();
      EXPECT_TRUE(conn.ok());
      auto rows = (*conn)->Query(
          "SELECT registry, record_id, data FROM record_version ORDER BY registry, record_id");
      EXPECT_TRUE(rows.ok()) << rows.error().ToString();
      for (const auto& row : *rows) {
        mix(row.Text(0));
        mix(row.Text(1));
        mix(row.Text(2));
        ++count;
      }
    }
    return {h, count};
  }

  AgencyStores& stores() { return *stores_; }

 private:
  fs::path dir_;
  std::unique_ptr<AgencyStores> stores_;
};

TEST(CountrySeed, SameSeedSameCountryOtherSeedOtherCountry) {
  SeededDir a;
  SeededDir b;
  SeededDir c;
  auto ra = a.Seed(7);
  ASSERT_TRUE(ra.ok()) << ra.error().ToString();
  ASSERT_TRUE(b.Seed(7).ok());
  ASSERT_TRUE(c.Seed(8).ok());
  const auto da = a.Digest();
  EXPECT_EQ(da.second, static_cast<int64_t>(ra->records));
  EXPECT_GE(ra->records_by_registry["person"], kPeople);
  EXPECT_EQ(da, b.Digest());
  EXPECT_NE(da.first, c.Digest().first);
}

TEST(CountrySeed, RecordsTheRunAndAnnouncesBatches) {
  SeededDir dir;
  auto report = dir.Seed(1);
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  auto run = FindSeedRun(dir.stores());
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(run->has_value());
  EXPECT_EQ((*run)->pack, "mn");
  EXPECT_EQ((*run)->people, static_cast<int64_t>(kPeople));
  EXPECT_EQ((*run)->records, static_cast<int64_t>(report->records));

  // One event per registry and transaction, not one per record.
  RecordStore* civil = dir.stores().ForAgency("GASR");
  store::Outbox outbox(civil->database());
  auto events = outbox.Poll("test", 10'000, "registry.person.loaded");
  ASSERT_TRUE(events.ok());
  ASSERT_FALSE(events->empty());
  size_t announced = 0;
  for (const auto& e : *events) {
    announced += nlohmann::json::parse(e.payload)["count"].get<size_t>();
  }
  EXPECT_EQ(announced, report->records_by_registry["person"]);
  EXPECT_LT(events->size(), announced / 100);

  // A country already lives here: seeding again is refused and changes nothing.
  const auto before = dir.Digest();
  auto again = dir.Seed(2);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(dir.Digest(), before);
}

}  // namespace
}  // namespace ulus::registry
