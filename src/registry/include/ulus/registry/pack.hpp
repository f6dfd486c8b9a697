#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/result.hpp"
#include "ulus/core/working_days.hpp"
#include "ulus/registry/civil_date.hpp"
#include "ulus/registry/id_number.hpp"
#include "ulus/registry/schema.hpp"

namespace ulus::registry {

// An agency (an X-Road member) that owns registries. Its registries are served by `subsystem`,
// so the agency's client id is INSTANCE/member_class/member_code/subsystem.
struct Agency {
  std::string code;  // the pack's short code, used by registry files (e.g. "GASR")
  LocalizedText abbreviation;
  LocalizedText name;
  std::string member_class;  // GOV, COM, NGO...
  std::string member_code;
  std::string subsystem;
};

// An administrative region (aimag, oblys, capital, city of republican significance) or, as a
// subregion, a district of one. `weight` is the region's share of its parent's population (of
// the country for top-level regions), computed when the pack loads.
struct Region {
  std::string code;
  std::string kind;
  LocalizedText name;
  LocalizedText center;
  int64_t population = 0;
  std::string population_basis;  // e.g. "2020 census"
  double weight = 0;
  std::vector<std::string> source_ids;
  std::vector<std::string> register_letters;  // Mongolia: first letters of register numbers
  std::string plate_code;                     // vehicle plates' region code
  double urban_share = 0;
  double vehicles_per_1000 = 0;
  int subunit_count = 0;  // khoroos of a district, bags of a soum...
  std::vector<Region> subregions;
};

// Which registries one X-Road client (INSTANCE/CLASS/MEMBER/SUBSYSTEM) may read and write.
// "*" stands for every registry. Writing implies reading.
struct AccessRule {
  std::string client;
  std::vector<std::string> read;
  std::vector<std::string> write;
};

enum class Access { kRead, kWrite };

// A non-working day of the pack's calendar, as published (see holidays.csv).
struct Holiday {
  CivilDate date;
  std::string name_local;
  std::string name_en;
  std::string kind;  // holiday, day_off_transferred_weekend_rule, ..., removed
  std::string status;
  std::string note;
  std::string source_ids;
};

struct WorkingCalendar {
  std::vector<int> weekend_days;   // ISO weekdays, 6 = Saturday, 7 = Sunday
  std::string holiday_on_weekend;  // "next_working_day" or "none"
  std::vector<Holiday> holidays;
  nlohmann::json rules;  // everything else in calendar.yaml (appeal deadlines...), as given

  // Weekends and holidays (kind != "removed") are not working days.
  [[nodiscard]] bool IsWorkingDay(CivilDate date) const;
  // The same calendar for counting deadlines (services, appeals), without the registry types.
  [[nodiscard]] WorkingDays Days() const;
};

struct GivenName {
  std::string name;
  std::string latin;
  Sex sex = Sex::kMale;
  std::string age_group;  // "adult", "child" or "any": whom the generator gives the name to
  double weight = 1;
  std::string source_ids;
};

struct Surname {
  std::string male;
  std::string female;
  std::string latin;
  std::string pattern;  // "-ов/-ова", "endingless", ...
  double weight = 1;
  std::string source_ids;
};

struct ClanName {
  std::string name;
  std::string latin;
  double weight = 1;
  std::string source_ids;
};

// Population of one 5-year age band (persons), from population.csv.
struct AgeSexBand {
  int from_age = 0;
  int to_age = 0;  // inclusive; the open band "100+" is stored as 100-104
  double male = 0;
  double female = 0;
};

// A country pack: everything that makes Ulus one country's platform, read from packs/<cc>/.
// Plain data, immutable after LoadPack; safe to share between threads.
struct Pack {
  std::filesystem::path dir;
  std::string code;
  LocalizedText name;
  std::vector<std::string> languages;
  std::string default_language;
  std::string currency;
  std::string xroad_instance;
  // The country's civil time as an offset from UTC (pack.yaml `utc_offset: "+08:00"`): which day
  // it is for deadlines and dates. Neither Mongolia nor Kazakhstan keeps daylight saving time.
  std::chrono::minutes utc_offset{0};
  IdRule id_rule;
  std::string naming_style;  // "mongolian" or "kazakh": how generated people are named
  std::vector<Agency> agencies;
  std::vector<Region> regions;
  std::vector<AccessRule> access;
  WorkingCalendar calendar;
  std::vector<GivenName> given_names;
  std::vector<Surname> surnames;
  std::vector<ClanName> clan_names;
  std::vector<AgeSexBand> population;
  // synthetic.yaml as JSON: parameters of the synthetic population, read by SyntheticCountry.
  nlohmann::json synthetic;
  std::vector<RegistrySchema> registries;  // sorted by name

  [[nodiscard]] const RegistrySchema* FindRegistry(std::string_view name) const;
  [[nodiscard]] const Agency* FindAgency(std::string_view code) const;
  [[nodiscard]] const Region* FindRegion(std::string_view code) const;  // also subregions
  // The X-Road client id of an agency's subsystem: "MN/GOV/GASR/civil-registry".
  [[nodiscard]] std::string ClientId(const Agency& agency) const;
  // True when `client` (the Information-Mediator-Client / X-Road-Client header value) may read
  // or write `registry` under the pack's access rules.
  [[nodiscard]] bool MayAccess(std::string_view client, std::string_view registry,
                               Access mode) const;
};

struct LoadOptions {
  // Mongolia's register-number check code, for deployments that hold the algorithm.
  MnCheckCode mn_check_code;
};

// True for an X-Road client id: INSTANCE/CLASS/MEMBER/SUBSYSTEM, four non-empty parts.
bool IsClientId(std::string_view s);

// Reads packs/<cc>/: pack.yaml, regions.yaml, access.yaml, calendar.yaml, holidays.csv,
// population.csv, synthetic.yaml, names/*.csv and registries/*.yaml. Errors name the file and
// the key at fault.
Result<Pack> LoadPack(const std::filesystem::path& dir, const LoadOptions& options = {});

}  // namespace ulus::registry
