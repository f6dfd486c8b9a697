#include "ulus/registry/synthetic.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace ulus::registry {
namespace {

using nlohmann::json;

const Pack& LoadOnce(const char* code) {
  static std::map<std::string, Pack> packs;
  auto it = packs.find(code);
  if (it == packs.end()) {
    auto p = LoadPack(std::filesystem::path(ULUS_PACKS_DIR) / code);
    EXPECT_TRUE(p.ok()) << p.error().ToString();
    it = packs.emplace(code, std::move(p).value()).first;
  }
  return it->second;
}

std::vector<SyntheticRecord> Generate(const Pack& pack, uint64_t seed, size_t people) {
  auto country = SyntheticCountry::Create(pack, seed);
  EXPECT_TRUE(country.ok()) << country.error().ToString();
  std::vector<SyntheticRecord> all;
  size_t last_progress = 0;
  country->Generate(
      people,
      [&](std::vector<SyntheticRecord>&& batch) {
        for (auto& r : batch) all.push_back(std::move(r));
      },
      [&](size_t done) {
        EXPECT_GT(done, last_progress);
        last_progress = done;
      });
  EXPECT_EQ(last_progress, people);
  return all;
}

std::string Digest(const std::vector<SyntheticRecord>& records) {
  std::string all;
  for (const auto& r : records) {
    all += r.registry;
    all += '|';
    all += r.id;
    all += '|';
    all += r.json;
    all += '|';
    all += r.subject_id;
    all += '|';
    all += r.valid_from;
    all += '\n';
  }
  return all;
}

TEST(MongolianGenitive, FollowsTheRules) {
  // Examples from ../shared/data/naming_conventions.json.
  EXPECT_EQ(MongolianGenitive("Дорж"), "Доржийн");
  EXPECT_EQ(MongolianGenitive("Нацаг"), "Нацагийн");
  EXPECT_EQ(MongolianGenitive("Батсайхан"), "Батсайханы");
  EXPECT_EQ(MongolianGenitive("Даваа"), "Даваагийн");
  EXPECT_EQ(MongolianGenitive("Ухнаа"), "Ухнаагийн");
  EXPECT_EQ(MongolianGenitive("Цахиа"), "Цахиагийн");
  EXPECT_EQ(MongolianGenitive("Лувсаннамсрай"), "Лувсаннамсрайн");
  EXPECT_EQ(MongolianGenitive("Болд"), "Болдын");
  EXPECT_EQ(MongolianGenitive("Намбар"), "Намбарын");
  EXPECT_EQ(MongolianGenitive("Төмөр"), "Төмөрийн");
  EXPECT_EQ(MongolianGenitive("Эрдэнэ"), "Эрдэнийн");
  EXPECT_EQ(MongolianGenitive("Жамба"), "Жамбын");
  EXPECT_EQ(MongolianGenitive("Бат-Эрдэнэ"), "Бат-Эрдэнийн");
  EXPECT_EQ(MongolianGenitive("Анударь"), "Анударийн");
  EXPECT_EQ(MongolianGenitive("Номин"), "Номины");
  EXPECT_EQ(MongolianGenitive("Тэмүүлэн"), "Тэмүүлэний");
  EXPECT_EQ(MongolianGenitive("Заяа"), "Заяагийн");
}

TEST(SyntheticCountry, SameSeedSameCountryDifferentSeedDifferent) {
  const Pack& mn = LoadOnce("mn");
  const auto a = Generate(mn, 42, 4500);
  const auto b = Generate(mn, 42, 4500);
  const auto c = Generate(mn, 43, 4500);
  EXPECT_EQ(Digest(a), Digest(b));
  EXPECT_NE(Digest(a), Digest(c));
  // A larger country begins with the same households (blocks are independent of N).
  const auto d = Generate(mn, 42, 6000);
  const std::string prefix = Digest(a).substr(0, Digest(a).rfind("\n", Digest(a).size() / 2));
  EXPECT_TRUE(Digest(d).starts_with(prefix));
}

struct Census {
  std::map<std::string, size_t> per_registry;
  std::unordered_set<std::string> people;
  std::unordered_set<std::string> households;
  std::unordered_set<std::string> addresses;
  std::map<int, double> age_band_share;
  std::map<std::string, double> region_share;  // of living people
  size_t living = 0;
  size_t deceased = 0;
  size_t employed = 0;
  size_t adults15 = 0;
  size_t disabled = 0;
  double mean_household = 0;
};

// Validates every record against its schema and checks ids and references; returns counts.
Census Check(const Pack& pack, const std::vector<SyntheticRecord>& records) {
  Census c;
  std::set<std::pair<std::string, std::string>> ids;
  std::unordered_map<std::string, std::string> household_region;
  std::vector<json> parsed;
  parsed.reserve(records.size());
  for (const auto& r : records) {
    const RegistrySchema* schema = pack.FindRegistry(r.registry);
    EXPECT_NE(schema, nullptr) << r.registry;
    json data = json::parse(r.json);
    Status st = ValidateRecord(*schema, data, pack.id_rule);
    EXPECT_TRUE(st.ok()) << r.registry << " " << r.json << ": " << st.error().ToString();
    EXPECT_EQ(data[schema->primary_key], r.id);
    if (!schema->subject.empty()) {
      EXPECT_EQ(data[schema->subject], r.subject_id) << r.json;
    }
    EXPECT_TRUE(ParseIsoDate(r.valid_from).has_value()) << r.valid_from;
    EXPECT_TRUE(ids.insert({std::string(r.registry), r.id}).second) << r.registry << " " << r.id;
    ++c.per_registry[std::string(r.registry)];
    if (r.registry == "person") c.people.insert(r.id);
    if (r.registry == "household") {
      c.households.insert(r.id);
      household_region[r.id] = data["region"];
    }
    if (r.registry == "address") c.addresses.insert(r.id);
    parsed.push_back(std::move(data));
  }
  // Every reference points at a record that exists.
  for (size_t i = 0; i < records.size(); ++i) {
    const RegistrySchema* schema = pack.FindRegistry(records[i].registry);
    for (const auto& f : schema->fields) {
      if (f.ref.empty() || !parsed[i].contains(f.name)) continue;
      const std::string value = parsed[i][f.name];
      const auto& target = f.ref == "person"      ? c.people
                           : f.ref == "household" ? c.households
                                                  : c.addresses;
      EXPECT_TRUE(target.contains(value)) << records[i].registry << "." << f.name << " " << value;
    }
  }
  const CivilDate reference = *ParseIsoDate(pack.synthetic["reference_date"].get<std::string>());
  std::unordered_set<std::string> employed;
  for (size_t i = 0; i < records.size(); ++i) {
    const json& d = parsed[i];
    if (records[i].registry == "employment") employed.insert(d["person"]);
    if (records[i].registry == "disability") ++c.disabled;
  }
  std::map<int, size_t> bands;
  std::map<std::string, size_t> regions;
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].registry != "person") continue;
    const json& d = parsed[i];
    if (d["status"] == "deceased") {
      ++c.deceased;
      continue;
    }
    ++c.living;
    const int age = AgeOn(*ParseIsoDate(d["birth_date"].get<std::string>()), reference);
    ++bands[std::min(age / 5, 20)];
    if (age >= 15) {
      ++c.adults15;
      if (employed.contains(records[i].id)) ++c.employed;
    }
    ++regions[household_region[d["household"]]];
  }
  for (const auto& [band, n] : bands) {
    c.age_band_share[band] = static_cast<double>(n) / static_cast<double>(c.living);
  }
  for (const auto& [region, n] : regions) {
    c.region_share[region] = static_cast<double>(n) / static_cast<double>(c.living);
  }
  c.mean_household = static_cast<double>(c.living) / static_cast<double>(c.households.size());
  return c;
}

void CheckRealism(const Pack& pack, const Census& c, size_t people, double mean_size,
                  double employment_rate, double disability) {
  EXPECT_EQ(c.living, people);
  // Every registry gets records.
  for (const auto& r : pack.registries) {
    EXPECT_GT(c.per_registry.count(r.name) ? c.per_registry.at(r.name) : 0, 0U) << r.name;
  }
  // Age pyramid: every 5-year band within 1.5 percentage points of the pack's population.
  double total = 0;
  for (const auto& b : pack.population) total += b.male + b.female;
  for (size_t i = 0; i < pack.population.size(); ++i) {
    const double expected = (pack.population[i].male + pack.population[i].female) / total;
    const auto it = c.age_band_share.find(static_cast<int>(i));
    const double got = it == c.age_band_share.end() ? 0 : it->second;
    EXPECT_NEAR(got, expected, 0.015) << "age band " << pack.population[i].from_age;
  }
  EXPECT_NEAR(c.mean_household, mean_size, 0.15);
  // Regions: every one present, close to its population weight.
  for (const auto& r : pack.regions) {
    const auto it = c.region_share.find(r.code);
    ASSERT_NE(it, c.region_share.end()) << r.code;
    EXPECT_NEAR(it->second, r.weight, 0.02 + r.weight * 0.25) << r.code;
  }
  const double rate = static_cast<double>(c.employed) / static_cast<double>(c.adults15);
  EXPECT_NEAR(rate, employment_rate, 0.05);
  const double disabled = static_cast<double>(c.disabled) / static_cast<double>(c.living);
  EXPECT_NEAR(disabled, disability, 0.01);
  // Deceased spouses of the widowed: a few percent on top of the living.
  EXPECT_GT(c.deceased, people / 100);
  EXPECT_LT(c.deceased, people / 10);
}

TEST(SyntheticCountry, MongoliaIsValidAndRealistic) {
  const Pack& mn = LoadOnce("mn");
  const auto records = Generate(mn, 2026, 10000);
  const Census c = Check(mn, records);
  CheckRealism(mn, c, 10000, 3.56, 0.59, 0.033);
  for (const auto& id : c.people) {
    EXPECT_TRUE(ValidateNationalId(IdFormat::kMnRegisterNumber, id).ok()) << id;
  }
}

TEST(SyntheticCountry, KazakhstanIsValidAndRealistic) {
  const Pack& kz = LoadOnce("kz");
  const auto records = Generate(kz, 7, 10000);
  const Census c = Check(kz, records);
  CheckRealism(kz, c, 10000, 3.4, 0.62, 0.035);
  for (const auto& id : c.people) {
    EXPECT_TRUE(ValidateNationalId(IdFormat::kKzIin, id).ok()) << id;
  }
}

TEST(SyntheticCountry, RefusesAPackWithoutTheStandardRegistries) {
  Pack pack = LoadOnce("mn");
  pack.registries.erase(pack.registries.begin());
  EXPECT_FALSE(SyntheticCountry::Create(pack, 1).ok());
  Pack broken = LoadOnce("kz");
  broken.synthetic["wages"].erase("average_monthly");
  auto c = SyntheticCountry::Create(broken, 1);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().field, "wages.average_monthly");
  EXPECT_EQ(c.error().message, "synthetic.yaml: 'wages.average_monthly' is required");
}

}  // namespace
}  // namespace ulus::registry
