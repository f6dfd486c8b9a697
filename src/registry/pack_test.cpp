#include "ulus/registry/pack.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

namespace ulus::registry {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kPacks = ULUS_PACKS_DIR;

// Every registry the issue lists, with the agency that owns it in each pack.
constexpr const char* kRegistries[] = {
    "person",    "household",  "household_member", "address",  "birth",
    "marriage",  "death",      "social_insurance", "health",   "vaccination",
    "education", "employment", "disability",       "property", "land",
    "vehicle"};

const Pack& Mn() {
  static const Pack pack = [] {
    auto p = LoadPack(kPacks / "mn");
    EXPECT_TRUE(p.ok()) << p.error().ToString();
    return std::move(p).value();
  }();
  return pack;
}

const Pack& Kz() {
  static const Pack pack = [] {
    auto p = LoadPack(kPacks / "kz");
    EXPECT_TRUE(p.ok()) << p.error().ToString();
    return std::move(p).value();
  }();
  return pack;
}

TEST(Pack, LoadsMongolia) {
  const Pack& p = Mn();
  EXPECT_EQ(p.code, "mn");
  EXPECT_EQ(p.default_language, "mn");
  EXPECT_EQ(p.languages, (std::vector<std::string>{"mn", "en"}));
  EXPECT_EQ(p.xroad_instance, "MN");
  EXPECT_EQ(p.utc_offset, std::chrono::hours(8));
  EXPECT_EQ(p.id_rule.format, IdFormat::kMnRegisterNumber);
  EXPECT_EQ(p.regions.size(), 22U);  // 21 aimags and the capital
  const Region* ub = p.FindRegion("11");
  ASSERT_NE(ub, nullptr);
  EXPECT_EQ(Localize(ub->name, "mn"), "Улаанбаатар");
  EXPECT_EQ(ub->subregions.size(), 9U);
  int khoroos = 0;
  for (const auto& d : ub->subregions) khoroos += d.subunit_count;
  EXPECT_EQ(khoroos, 204);
  double total = 0;
  for (const auto& r : p.regions) total += r.weight;
  EXPECT_NEAR(total, 1.0, 1e-9);
  EXPECT_NEAR(ub->weight, 1539810.0 / 3296866.0, 0.01);
  EXPECT_GT(p.calendar.holidays.size(), 20U);
  EXPECT_EQ(p.given_names.size(), 120U);
  EXPECT_FALSE(p.clan_names.empty());
  EXPECT_EQ(p.population.size(), 21U);
}

TEST(Pack, LoadsKazakhstan) {
  const Pack& p = Kz();
  EXPECT_EQ(p.code, "kz");
  EXPECT_EQ(p.languages, (std::vector<std::string>{"kk", "ru", "en"}));
  EXPECT_EQ(p.id_rule.format, IdFormat::kKzIin);
  EXPECT_EQ(p.regions.size(), 20U);  // 17 oblys and 3 cities
  const Region* almaty = p.FindRegion("KZ-75");
  ASSERT_NE(almaty, nullptr);
  EXPECT_EQ(Localize(almaty->name, "ru"), "город Алматы");
  EXPECT_GT(almaty->vehicles_per_1000, 300);
  EXPECT_EQ(p.surnames.size(), 68U);
}

TEST(Pack, EveryRegistryOfTheIssueExistsWithAnAgency) {
  for (const Pack* p : {&Mn(), &Kz()}) {
    for (const char* name : kRegistries) {
      const RegistrySchema* r = p->FindRegistry(name);
      ASSERT_NE(r, nullptr) << p->code << " lacks " << name;
      const Agency* agency = p->FindAgency(r->agency);
      ASSERT_NE(agency, nullptr) << name;
      EXPECT_FALSE(Localize(agency->name, p->default_language).empty());
      EXPECT_EQ(r->primary_key, "id") << name;
      for (const auto& lang : p->languages) {
        EXPECT_FALSE(Localize(r->title, lang).empty()) << name << " " << lang;
        EXPECT_TRUE(r->title.contains(lang)) << name << " has no title in " << lang;
      }
      for (const auto& f : r->fields) {
        for (const auto& lang : p->languages) {
          EXPECT_TRUE(f.title.contains(lang)) << p->code << " " << name << "." << f.name;
        }
      }
      // The registry's own agency may write it.
      EXPECT_TRUE(p->MayAccess(p->ClientId(*agency), name, Access::kWrite)) << name;
    }
    EXPECT_EQ(p->registries.size(), std::size(kRegistries));
  }
}

TEST(Pack, AccessRulesFollowTheClientId) {
  const Pack& p = Mn();
  EXPECT_TRUE(p.MayAccess("MN/GOV/GASR/civil-registry", "person", Access::kWrite));
  EXPECT_TRUE(p.MayAccess("MN/GOV/GASR/civil-registry", "person", Access::kRead));
  EXPECT_TRUE(p.MayAccess("MN/GOV/MDDIC/platform", "vehicle", Access::kRead));
  EXPECT_FALSE(p.MayAccess("MN/GOV/MDDIC/platform", "vehicle", Access::kWrite));
  EXPECT_TRUE(p.MayAccess("MN/GOV/GOSI/social-insurance", "employment", Access::kRead));
  EXPECT_FALSE(p.MayAccess("MN/GOV/GOSI/social-insurance", "employment", Access::kWrite));
  EXPECT_FALSE(p.MayAccess("MN/GOV/TDC/vehicle-registry", "health", Access::kRead));
  EXPECT_FALSE(p.MayAccess("MN/GOV/GASR/other-subsystem", "person", Access::kRead));
  EXPECT_FALSE(p.MayAccess("KZ/GOV/GASR/civil-registry", "person", Access::kRead));
  EXPECT_TRUE(Kz().MayAccess("KZ/GOV/MLSP/labour-social", "social_insurance", Access::kRead));
}

TEST(Pack, CalendarKnowsHolidaysAndWeekends) {
  const WorkingCalendar& kz = Kz().calendar;
  EXPECT_FALSE(kz.IsWorkingDay(CivilDate{2025, 3, 21}));  // Nauryz
  EXPECT_FALSE(kz.IsWorkingDay(CivilDate{2025, 3, 10}));  // transferred day off
  EXPECT_FALSE(kz.IsWorkingDay(CivilDate{2025, 3, 15}));  // Saturday
  EXPECT_TRUE(kz.IsWorkingDay(CivilDate{2025, 3, 12}));
  // The same calendar counts deadlines: a day's work asked on Thursday 20 March 2025 is due on
  // Wednesday 26 March, after Nauryz (21-25 March, the weekend and two transferred days off).
  const WorkingDays days = kz.Days();
  const auto asked = std::chrono::sys_days(std::chrono::year(2025) / std::chrono::March / 20);
  EXPECT_EQ(days.Add(asked, 1),
            std::chrono::sys_days(std::chrono::year(2025) / std::chrono::March / 26));
  EXPECT_TRUE(kz.IsWorkingDay(CivilDate{2026, 8, 31}));  // 30 Aug no longer a holiday
  EXPECT_EQ(kz.holiday_on_weekend, "next_working_day");
  EXPECT_EQ(Mn().calendar.holiday_on_weekend, "none");
  for (const auto& h : Mn().calendar.holidays) EXPECT_FALSE(h.source_ids.empty());
}

TEST(Pack, SchemasValidateRecordsNamingTheField) {
  const RegistrySchema* mn_person = Mn().FindRegistry("person");
  ASSERT_NE(mn_person, nullptr);
  json person = {{"id", "УБ91032512"}, {"family_name", "Батын"},     {"given_name", "Болд"},
                 {"sex", "M"},         {"birth_date", "1991-03-25"}, {"citizenship", "MN"},
                 {"status", "alive"},  {"birth_region", "11"},       {"phone", "+97699112233"}};
  EXPECT_TRUE(ValidateRecord(*mn_person, person, Mn().id_rule).ok());
  json bad = person;
  bad["birth_date"] = "1991-02-30";
  Status st = ValidateRecord(*mn_person, bad, Mn().id_rule);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().field, "birth_date");
  bad = person;
  bad["birth_region"] = "99";
  EXPECT_EQ(ValidateRecord(*mn_person, bad, Mn().id_rule).error().field, "birth_region");
  bad = person;
  bad["id"] = "УБ91133212";
  st = ValidateRecord(*mn_person, bad, Mn().id_rule);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().field, "id");
  EXPECT_TRUE(st.error().message.find("not a valid date") != std::string::npos);

  const RegistrySchema* kz_vehicle = Kz().FindRegistry("vehicle");
  ASSERT_NE(kz_vehicle, nullptr);
  json vehicle = {{"id", "VH-1"},
                  {"owner", "791028302728"},
                  {"plate_number", "123 ABC 02"},
                  {"make", "Toyota"},
                  {"year", 2015},
                  {"category", "B"},
                  {"registered_date", "2016-05-01"}};
  EXPECT_TRUE(ValidateRecord(*kz_vehicle, vehicle, Kz().id_rule).ok());
  vehicle["owner"] = "791028302721";
  st = ValidateRecord(*kz_vehicle, vehicle, Kz().id_rule);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().field, "owner");
  EXPECT_EQ(st.error().message, "field 'owner': IIN check digit is 1, expected 8");
  vehicle["owner"] = "791028302728";
  vehicle["plate_number"] = "A123BC";
  EXPECT_EQ(ValidateRecord(*kz_vehicle, vehicle, Kz().id_rule).error().field, "plate_number");
}

TEST(Pack, MnCheckCodeIsPluggable) {
  LoadOptions options;
  options.mn_check_code = [](std::string_view) { return 0; };
  auto p = LoadPack(kPacks / "mn", options);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(ValidateNationalId(p->id_rule, "УБ91032510").ok());
  EXPECT_FALSE(ValidateNationalId(p->id_rule, "УБ91032512").ok());
}

// A copy of the Mongolian pack in a temporary directory, to break on purpose.
class BrokenPack : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ulus_pack_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "mn");
    fs::copy(kPacks / "mn", dir_ / "mn", fs::copy_options::recursive);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Replace(const std::string& file, const std::string& from, const std::string& to) {
    const fs::path path = dir_ / "mn" / file;
    std::ifstream in(path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string text = buffer.str();
    const size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    std::ofstream(path) << text;
  }

  Error Load() {
    auto p = LoadPack(dir_ / "mn");
    EXPECT_FALSE(p.ok());
    return p.ok() ? Error{} : p.error();
  }

  fs::path dir_;
};

TEST_F(BrokenPack, UnknownIdFormat) {
  Replace("pack.yaml", "id_format: mn_register_number", "id_format: ssn");
  const Error e = Load();
  EXPECT_EQ(e.field, "id_format");
  EXPECT_EQ(e.message,
            "mn/pack.yaml: 'id_format' 'ssn' is unknown (known: mn_register_number, "
            "kz_iin)");
}

TEST_F(BrokenPack, RegistryOfUnknownAgency) {
  Replace("registries/vehicle.yaml", "agency: TDC", "agency: NOPE");
  const Error e = Load();
  EXPECT_EQ(e.field, "agency");
  EXPECT_EQ(e.message, "mn/registries/vehicle.yaml: 'agency' 'NOPE' is not an agency of pack.yaml");
}

TEST_F(BrokenPack, BadFieldFormat) {
  Replace("registries/person.yaml", "format: date", "format: datum");
  const Error e = Load();
  EXPECT_EQ(e.field, "schema.properties.birth_date.format");
  EXPECT_TRUE(e.message.starts_with("mn/registries/person.yaml: registry 'person': "));
}

TEST_F(BrokenPack, ReferenceToMissingRegistry) {
  Replace("registries/household_member.yaml", "x-ref: household", "x-ref: households");
  const Error e = Load();
  EXPECT_EQ(e.field, "schema.properties.household.x-ref");
  EXPECT_TRUE(e.message.find("'households', which the pack does not have") != std::string::npos);
}

TEST_F(BrokenPack, AccessRuleForUnknownRegistry) {
  Replace("access.yaml", "read: [person, address, vehicle]", "read: [person, cars]");
  const Error e = Load();
  EXPECT_EQ(e.field, "rules[7].read");
  EXPECT_TRUE(e.message.starts_with("mn/access.yaml: "));
}

TEST_F(BrokenPack, InvalidYaml) {
  Replace("regions.yaml", "regions:", "regions: [");
  const Error e = Load();
  EXPECT_TRUE(e.message.starts_with("mn/regions.yaml: is not valid YAML: line ")) << e.message;
}

TEST_F(BrokenPack, MissingFile) {
  fs::remove(dir_ / "mn" / "holidays.csv");
  EXPECT_EQ(Load().message, "mn/holidays.csv: file not found");
}

}  // namespace
}  // namespace ulus::registry
