#include "ulus/registry/synthetic.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <map>
#include <numeric>
#include <unordered_map>

#include "utf8.hpp"

namespace ulus::registry {

namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Randomness. Our own generator and distributions, so that a seed gives the same country with
// any standard library (std::uniform_*_distribution differ between implementations).

__extension__ using Uint128 = unsigned __int128;

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// xoshiro256** (Blackman and Vigna): fast, 256 bits of state, passes BigCrush.
class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream) {
    uint64_t s = seed ^ (stream * 0xD1B54A32D192ED03ULL);
    for (auto& word : s_) word = SplitMix64(s);
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Uniform() < p; }

  // Uniform in [0, n), n > 0 (Lemire's multiply-shift; the tiny bias at n << 2^64 is harmless).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<Uint128>(Next()) * n) >> 64);
  }
  size_t Index(size_t n) { return static_cast<size_t>(Below(n)); }
  // Uniform integer in [lo, hi].
  int Between(int lo, int hi) {
    if (hi <= lo) return lo;
    return lo + static_cast<int>(Below(static_cast<uint64_t>(hi - lo + 1)));
  }

  // Standard normal (Box-Muller; libm's log/cos/sqrt are correctly rounded or within 1 ulp, and
  // the values are rounded to whole units before use).
  double Normal() {
    double u1 = Uniform();
    while (u1 <= 0) u1 = Uniform();
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  // Poisson by inversion, for small means.
  int Poisson(double mean) {
    if (mean <= 0) return 0;
    const double l = std::exp(-mean);
    int k = 0;
    double p = Uniform();
    while (p > l && k < 50) {
      p *= Uniform();
      ++k;
    }
    return k;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<uint64_t, 4> s_{};
};

// A weighted choice among named options.
struct Choice {
  std::vector<std::string> keys;
  std::vector<double> cumulative;

  void Add(std::string key, double weight) {
    keys.push_back(std::move(key));
    cumulative.push_back((cumulative.empty() ? 0 : cumulative.back()) + weight);
  }
  [[nodiscard]] bool empty() const { return keys.empty(); }
  size_t Pick(Rng& rng) const {
    const double u = rng.Uniform() * cumulative.back();
    const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), u);
    return std::min(static_cast<size_t>(it - cumulative.begin()), keys.size() - 1);
  }
  const std::string& PickKey(Rng& rng) const { return keys[Pick(rng)]; }
};

struct AgeTable {
  struct Row {
    int from = 0;
    int to = 0;
    double value = 0;
  };
  std::vector<Row> rows;
  [[nodiscard]] double At(int age) const {
    for (const auto& r : rows) {
      if (age >= r.from && age <= r.to) return r.value;
    }
    return 0;
  }
};

struct Triangular {
  double min = 0;
  double mode = 0;
  double max = 0;
  double Sample(Rng& rng) const {
    const double u = rng.Uniform();
    const double f = (mode - min) / (max - min);
    if (u < f) return min + std::sqrt(u * (max - min) * (mode - min));
    return max - std::sqrt((1 - u) * (max - min) * (max - mode));
  }
};

struct NormalSpec {
  double mean = 0;
  double sd = 1;
  double min = 0;
  double max = 0;
  double Sample(Rng& rng) const { return std::clamp(mean + sd * rng.Normal(), min, max); }
};

// ---------------------------------------------------------------------------------------------
// Reading synthetic.yaml

class Params {
 public:
  explicit Params(const json& root) : root_(root) {}

  static Error Fail(const std::string& path, const std::string& what) {
    return Error::InvalidArgument("synthetic.yaml: '" + path + "' " + what, path);
  }

  Result<const json*> Node(const std::string& path) const {
    const json* node = &root_;
    size_t start = 0;
    while (start <= path.size()) {
      const size_t dot = path.find('.', start);
      const std::string key = path.substr(start, dot == std::string::npos ? dot : dot - start);
      if (!node->is_object()) return Fail(path, "is required");
      auto it = node->find(key);
      if (it == node->end() || it->is_null()) return Fail(path, "is required");
      node = &*it;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    return node;
  }

  Result<double> Num(const std::string& path) const {
    ULUS_ASSIGN_OR_RETURN(const json* n, Node(path));
    if (!n->is_number()) return Fail(path, "must be a number");
    return n->get<double>();
  }
  Result<double> Share(const std::string& path) const {
    ULUS_ASSIGN_OR_RETURN(const double v, Num(path));
    if (v < 0 || v > 1) return Fail(path, "must be a share between 0 and 1");
    return v;
  }
  Result<int> Int(const std::string& path) const {
    ULUS_ASSIGN_OR_RETURN(const double v, Num(path));
    return static_cast<int>(v);
  }
  Result<std::string> Str(const std::string& path) const {
    ULUS_ASSIGN_OR_RETURN(const json* n, Node(path));
    if (!n->is_string()) return Fail(path, "must be a string");
    return n->get<std::string>();
  }
  Result<std::vector<std::string>> Strings(const std::string& path) const {
    ULUS_ASSIGN_OR_RETURN(const json* n, Node(path));
    std::vector<std::string> out;
    if (!n->is_array() || n->empty()) return Fail(path, "must be a non-empty list of strings");
    for (const auto& v : *n) {
      if (!v.is_string()) return Fail(path, "must be a non-empty list of strings");
      out.push_back(v.get<std::string>());
    }
    return out;
  }
  Result<Choice> Shares(const std::string& path) const {
    ULUS_ASSIGN_OR_RETURN(const json* n, Node(path));
    if (!n->is_object() || n->empty()) return Fail(path, "must be a map of option to share");
    Choice c;
    for (const auto& [key, v] : n->items()) {
      if (!v.is_number() || v.get<double>() < 0) {
        return Fail(path + "." + key, "must be a non-negative number");
      }
      c.Add(key, v.get<double>());
    }
    if (c.cumulative.back() <= 0) return Fail(path, "must have a positive share");
    return c;
  }
  Result<std::map<std::string, double, std::less<>>> Map(const std::string& path) const {
    ULUS_ASSIGN_OR_RETURN(const Choice c, Shares(path));
    std::map<std::string, double, std::less<>> out;
    double prev = 0;
    for (size_t i = 0; i < c.keys.size(); ++i) {
      out[c.keys[i]] = c.cumulative[i] - prev;
      prev = c.cumulative[i];
    }
    return out;
  }
  Result<AgeTable> Ages(const std::string& path) const {
    ULUS_ASSIGN_OR_RETURN(const json* n, Node(path));
    return AgesOf(*n, path);
  }
  static Result<AgeTable> AgesOf(const json& n, const std::string& path) {
    AgeTable t;
    if (!n.is_array() || n.empty())
      return Fail(path, "must be a list of [from_age, to_age, value]");
    for (const auto& row : n) {
      if (!row.is_array() || row.size() != 3 || !row[0].is_number() || !row[1].is_number() ||
          !row[2].is_number() || row[1].get<int>() < row[0].get<int>()) {
        return Fail(path, "must be a list of [from_age, to_age, value]");
      }
      t.rows.push_back({row[0].get<int>(), row[1].get<int>(), row[2].get<double>()});
    }
    return t;
  }
  Result<Triangular> Tri(const std::string& path) const {
    Triangular t;
    ULUS_ASSIGN_OR_RETURN(t.min, Num(path + ".min"));
    ULUS_ASSIGN_OR_RETURN(t.mode, Num(path + ".mode"));
    ULUS_ASSIGN_OR_RETURN(t.max, Num(path + ".max"));
    if (!(t.min <= t.mode && t.mode <= t.max && t.min < t.max)) {
      return Fail(path, "needs min <= mode <= max");
    }
    return t;
  }
  Result<NormalSpec> Normal(const std::string& path, const char* min_key,
                            const char* max_key) const {
    NormalSpec s;
    ULUS_ASSIGN_OR_RETURN(s.mean, Num(path + ".mean"));
    ULUS_ASSIGN_OR_RETURN(s.sd, Num(path + ".sd"));
    if (min_key != nullptr) {
      ULUS_ASSIGN_OR_RETURN(s.min, Num(path + "." + min_key));
    }
    ULUS_ASSIGN_OR_RETURN(s.max, Num(path + "." + max_key));
    return s;
  }
  Result<std::pair<double, double>> Pair(const std::string& path) const {
    ULUS_ASSIGN_OR_RETURN(const json* n, Node(path));
    if (!n->is_array() || n->size() != 2 || !(*n)[0].is_number() || !(*n)[1].is_number()) {
      return Fail(path, "must be [mean, sd]");
    }
    return std::pair<double, double>((*n)[0].get<double>(), (*n)[1].get<double>());
  }

 private:
  const json& root_;
};

enum class Settlement { kCapital, kUrban, kRural };

}  // namespace

// ---------------------------------------------------------------------------------------------

struct SyntheticCountry::Profile {
  bool mongolian = true;
  CivilDate reference;
  int64_t reference_days = 0;

  // Population cells (5-year band x sex) for stratified sampling.
  struct Cell {
    int from = 0;
    int to = 0;
    Sex sex = Sex::kMale;
    double share = 0;
  };
  std::vector<Cell> cells;

  // Households
  double mean_size = 3.5;
  NormalSpec spouse_gap;
  Triangular mother_age;
  double sibling_share = 0.7;
  double sibling_decay = 0.5;
  int max_children = 8;
  AgeTable married_women;
  double mothers_married_boost = 1;
  double divorced_single_mothers = 0.5;
  double widowed_women_55 = 0.7;
  double widowed_men_65 = 0.5;
  Triangular marriage_age_women;

  // Names
  struct NamePool {
    Choice choice;
    std::vector<size_t> index;  // into Pack::given_names
  };
  NamePool names[2][2];               // [sex][0 adult, 1 child]
  std::vector<std::string> genitive;  // per given name (Mongolian)
  Choice clans;
  double clan_share = 0;
  double migrant_letters_share = 0;
  Choice capital_migrant_letters;  // aimag first letters weighted by population
  double patronymic_share = 0;
  Choice adult_surname_patterns;
  Choice newborn_surname_patterns;
  int newborn_from_year = 2005;
  double patronymic_kazakh_share = 0;
  double wife_takes_surname = 0;
  Choice russian_surnames;  // indices into Pack::surnames as keys
  Choice endingless_surnames;

  // Employment and income
  double employment_k = 1;
  AgeTable employment_age;
  double female_factor = 1;
  Choice sectors_urban;
  Choice sectors_rural;
  std::map<std::string, double, std::less<>> formal_share;
  double tenure_mean = 6;
  int tenure_max = 35;
  std::vector<std::string> public_employers;
  std::vector<std::string> private_words;
  std::vector<std::string> private_suffixes;
  std::map<std::string, std::vector<std::string>, std::less<>> positions;
  std::string farm_employer;
  std::string farm_sector;
  std::string self_employed_employer;
  double wage_mean_male = 0;
  double wage_mean_female = 0;
  double wage_sigma = 0.7;
  double minimum_wage = 0;
  double wage_growth = 0;
  std::map<std::string, double, std::less<>> sector_factor;
  std::vector<int> insurance_years;
  double employee_rate = 0;
  double employer_rate = 0;
  double insurance_cap = 0;
  double voluntary_share = 0;

  // Health
  Choice blood_types;
  double rh_negative = 0;
  struct Condition {
    std::string code;
    AgeTable ages;
  };
  std::vector<Condition> conditions;
  std::string clinic_capital;
  std::string clinic_urban;
  std::string clinic_rural;
  int vaccination_max_age = 17;
  struct Dose {
    std::string vaccine;
    int dose = 1;
    int age_days = 0;
    double conditional = 1;  // chance given the previous dose was given
  };
  std::vector<Dose> schedule;

  // Education
  int school_start = 6;
  int school_grades = 12;
  struct Level {
    std::string level;
    int from = 0;
    int to = 0;
    double share = 0;
  };
  std::vector<Level> levels;
  int completed_from = 24;
  int completed_to = 64;
  double completed_university = 0;
  double completed_vocational = 0;
  std::string kindergarten_name;
  std::string school_name;
  std::string vocational_name;
  std::vector<std::string> universities;

  // Disability
  double disability_k = 0;
  AgeTable disability_age;
  Choice adult_groups;
  std::string child_group;
  Choice disability_causes;
  int review_years = 3;

  // Property, land, vehicles
  double owned_share = 0;
  double spouse_owner_share = 0;
  Choice dwellings[3];  // by Settlement
  std::map<std::string, std::pair<double, double>, std::less<>> area_m2;
  double residential_share = 0;
  double residential_ha[3] = {0, 0, 0};
  double pasture_share = 0;
  std::pair<double, double> pasture_ha;
  double agricultural_share = 0;
  std::pair<double, double> agricultural_ha;
  struct Make {
    std::string make;
    std::string model;
    std::string category;
  };
  std::vector<Make> makes[2];  // 0 urban, 1 rural
  Choice make_choice[2];
  NormalSpec vehicle_age;
  int max_vehicles = 4;

  // Deaths, contacts, addresses
  Choice death_causes;
  int widowed_min_years = 0;
  int widowed_max_years = 25;
  double phone_share = 0.9;
  std::string phone_prefix;
  std::vector<std::string> mobile_prefixes;
  int mobile_digits = 7;
  std::string citizenship;
  std::vector<std::string> capital_streets;
  std::vector<std::string> urban_streets;
  std::string rural_locality;
  std::string capital_locality;
  int subunits_urban = 10;
  int subunits_rural = 6;

  // Regions
  Choice regions;
  std::vector<Choice> subregions;  // per region (empty when none)
};

namespace {

using Profile = SyntheticCountry::Profile;

// Share of people 15+ (or all ages) weighted by an age profile, from the pyramid; used to scale
// age profiles so that the national rate matches the published one.
double WeightedShare(const std::vector<Profile::Cell>& cells, const AgeTable& profile,
                     double female_factor, int min_age) {
  double num = 0;
  double den = 0;
  for (const auto& c : cells) {
    const double per_age = c.share / (c.to - c.from + 1);
    for (int a = c.from; a <= c.to; ++a) {
      if (a < min_age) continue;
      const double f = c.sex == Sex::kFemale ? female_factor : 1.0;
      num += per_age * profile.At(a) * f;
      den += per_age;
    }
  }
  return den > 0 ? num / den : 0;
}

Status ParseProfile(const Pack& pack, Profile& p) {
  const Params in(pack.synthetic);
  p.mongolian = pack.naming_style == "mongolian";
  ULUS_ASSIGN_OR_RETURN(const std::string ref, in.Str("reference_date"));
  const auto ref_date = ParseIsoDate(ref);
  if (!ref_date) return Params::Fail("reference_date", "must be a date YYYY-MM-DD");
  p.reference = *ref_date;
  p.reference_days = DaysFromCivil(p.reference);

  double total = 0;
  for (const auto& b : pack.population) total += b.male + b.female;
  for (const auto& b : pack.population) {
    p.cells.push_back({b.from_age, b.to_age, Sex::kMale, b.male / total});
    p.cells.push_back({b.from_age, b.to_age, Sex::kFemale, b.female / total});
  }

  ULUS_ASSIGN_OR_RETURN(p.mean_size, in.Num("households.mean_size"));
  if (p.mean_size < 1) return Params::Fail("households.mean_size", "must be at least 1");
  ULUS_ASSIGN_OR_RETURN(p.spouse_gap, in.Normal("households.spouse_age_gap", "min", "max"));
  ULUS_ASSIGN_OR_RETURN(p.mother_age, in.Tri("households.mother_age_at_birth"));
  ULUS_ASSIGN_OR_RETURN(p.sibling_share, in.Share("households.sibling_share"));
  ULUS_ASSIGN_OR_RETURN(p.sibling_decay, in.Share("households.sibling_decay"));
  ULUS_ASSIGN_OR_RETURN(p.max_children, in.Int("households.max_children"));
  ULUS_ASSIGN_OR_RETURN(p.married_women, in.Ages("households.married_women"));
  ULUS_ASSIGN_OR_RETURN(p.mothers_married_boost, in.Num("households.mothers_married_boost"));
  ULUS_ASSIGN_OR_RETURN(p.divorced_single_mothers,
                        in.Share("households.divorced_share_single_mothers"));
  ULUS_ASSIGN_OR_RETURN(p.widowed_women_55, in.Share("households.widowed_share_single_55plus"));
  ULUS_ASSIGN_OR_RETURN(p.widowed_men_65, in.Share("households.widowed_share_single_men_65plus"));
  ULUS_ASSIGN_OR_RETURN(p.marriage_age_women, in.Tri("households.marriage_age_women"));

  // Given names: adults draw from "adult" + "any", children (born within 18 years of the
  // reference date) from "child" + "any".
  for (size_t i = 0; i < pack.given_names.size(); ++i) {
    const auto& n = pack.given_names[i];
    const int sex = n.sex == Sex::kMale ? 0 : 1;
    for (int group = 0; group < 2; ++group) {
      const bool fits = n.age_group == "any" || (group == 0 && n.age_group == "adult") ||
                        (group == 1 && n.age_group == "child");
      if (!fits) continue;
      p.names[sex][group].choice.Add(n.name, n.weight);
      p.names[sex][group].index.push_back(i);
    }
    p.genitive.push_back(p.mongolian ? MongolianGenitive(n.name) : std::string());
  }
  for (int s = 0; s < 2; ++s) {
    for (int g = 0; g < 2; ++g) {
      if (p.names[s][g].choice.empty()) {
        return Error::InvalidArgument("names/given.csv: no names for one sex and age group");
      }
    }
  }

  if (p.mongolian) {
    for (const auto& c : pack.clan_names) p.clans.Add(c.name, c.weight);
    if (p.clans.empty()) return Error::InvalidArgument("names/clans.csv: no clan names");
    ULUS_ASSIGN_OR_RETURN(p.clan_share, in.Share("names.clan_name_share"));
    ULUS_ASSIGN_OR_RETURN(p.migrant_letters_share, in.Share("names.migrant_letters_share"));
    for (const auto& r : pack.regions) {
      if (!r.subregions.empty() || r.register_letters.empty()) continue;
      p.capital_migrant_letters.Add(r.register_letters.front(), static_cast<double>(r.population));
    }
    if (p.capital_migrant_letters.empty()) {
      return Error::InvalidArgument("regions.yaml: no regions with register letters");
    }
  } else {
    ULUS_ASSIGN_OR_RETURN(p.patronymic_share, in.Share("names.patronymic_share"));
    ULUS_ASSIGN_OR_RETURN(p.adult_surname_patterns, in.Shares("names.adult_surname_patterns"));
    ULUS_ASSIGN_OR_RETURN(p.newborn_surname_patterns, in.Shares("names.newborn_surname_patterns"));
    ULUS_ASSIGN_OR_RETURN(p.newborn_from_year, in.Int("names.newborn_from_year"));
    ULUS_ASSIGN_OR_RETURN(p.patronymic_kazakh_share,
                          in.Share("names.patronymic_kazakh_style_share"));
    ULUS_ASSIGN_OR_RETURN(p.wife_takes_surname, in.Share("names.wife_takes_husband_surname"));
    for (size_t i = 0; i < pack.surnames.size(); ++i) {
      const auto& s = pack.surnames[i];
      // Only Kazakh-origin surnames: the given-name lists are Kazakh (see the doc).
      if (s.pattern == "endingless") {
        p.endingless_surnames.Add(std::to_string(i), s.weight);
      } else if (s.pattern.starts_with("-") && s.male != s.female) {
        const bool kazakh = s.source_ids.find("S_KZ") != std::string::npos;
        if (kazakh) p.russian_surnames.Add(std::to_string(i), s.weight);
      }
    }
    if (p.russian_surnames.empty() || p.endingless_surnames.empty()) {
      return Error::InvalidArgument(
          "names/surnames.csv: needs surnames with -ов/-ев/-ин patterns and endingless ones");
    }
  }

  ULUS_ASSIGN_OR_RETURN(const double rate, in.Share("employment.rate_15plus"));
  ULUS_ASSIGN_OR_RETURN(p.employment_age, in.Ages("employment.age_profile"));
  ULUS_ASSIGN_OR_RETURN(p.female_factor, in.Num("employment.female_factor"));
  const double raw = WeightedShare(p.cells, p.employment_age, p.female_factor, 15);
  if (raw <= 0) return Params::Fail("employment.age_profile", "gives nobody a job");
  p.employment_k = rate / raw;
  ULUS_ASSIGN_OR_RETURN(p.sectors_urban, in.Shares("employment.sectors_urban"));
  ULUS_ASSIGN_OR_RETURN(p.sectors_rural, in.Shares("employment.sectors_rural"));
  ULUS_ASSIGN_OR_RETURN(p.formal_share, in.Map("employment.formal_share"));
  ULUS_ASSIGN_OR_RETURN(p.tenure_mean, in.Num("employment.job_tenure_years.mean"));
  ULUS_ASSIGN_OR_RETURN(p.tenure_max, in.Int("employment.job_tenure_years.max"));
  ULUS_ASSIGN_OR_RETURN(p.public_employers, in.Strings("employment.public_employers"));
  ULUS_ASSIGN_OR_RETURN(p.private_words, in.Strings("employment.private_words"));
  ULUS_ASSIGN_OR_RETURN(p.private_suffixes, in.Strings("employment.private_suffixes"));
  p.farm_sector = p.mongolian ? "herder" : "farm";
  ULUS_ASSIGN_OR_RETURN(p.farm_employer, in.Str("employment." + p.farm_sector + "_employer"));
  ULUS_ASSIGN_OR_RETURN(p.self_employed_employer, in.Str("employment.self_employed_employer"));
  for (const auto* sectors : {&p.sectors_urban, &p.sectors_rural}) {
    for (const auto& s : sectors->keys) {
      if (!p.formal_share.contains(s)) {
        return Params::Fail("employment.formal_share." + s, "is required");
      }
      ULUS_ASSIGN_OR_RETURN(p.positions[s], in.Strings("employment.positions." + s));
    }
  }

  ULUS_ASSIGN_OR_RETURN(const int base_year, in.Int("wages.base_year"));
  ULUS_ASSIGN_OR_RETURN(const double average, in.Num("wages.average_monthly"));
  ULUS_ASSIGN_OR_RETURN(const double ratio, in.Num("wages.male_female_ratio"));
  ULUS_ASSIGN_OR_RETURN(p.wage_sigma, in.Num("wages.lognormal_sigma"));
  ULUS_ASSIGN_OR_RETURN(p.minimum_wage, in.Num("wages.minimum_wage"));
  ULUS_ASSIGN_OR_RETURN(p.wage_growth, in.Num("wages.annual_growth"));
  ULUS_ASSIGN_OR_RETURN(p.sector_factor, in.Map("wages.sector_factor"));
  for (const auto& [sector, positions] : p.positions) {
    if (!p.sector_factor.contains(sector)) {
      return Params::Fail("wages.sector_factor." + sector, "is required");
    }
  }
  // Wages are drawn at the level of the year before the reference date; men are ~53 % of the
  // employed (ESTIMATE), which splits the published mean by the published ratio.
  const double to_current = std::pow(1 + p.wage_growth, p.reference.year - 1 - base_year);
  constexpr double kMaleShareOfEmployed = 0.53;
  p.wage_mean_female =
      average * to_current / (kMaleShareOfEmployed * ratio + (1 - kMaleShareOfEmployed));
  p.wage_mean_male = p.wage_mean_female * ratio;

  ULUS_ASSIGN_OR_RETURN(const json* years, in.Node("social_insurance.years"));
  if (!years->is_array() || years->empty()) {
    return Params::Fail("social_insurance.years", "must list years");
  }
  for (const auto& y : *years) {
    if (!y.is_number_integer()) return Params::Fail("social_insurance.years", "must list years");
    p.insurance_years.push_back(y.get<int>());
  }
  ULUS_ASSIGN_OR_RETURN(p.employee_rate, in.Share("social_insurance.employee_rate"));
  ULUS_ASSIGN_OR_RETURN(p.employer_rate, in.Share("social_insurance.employer_rate"));
  ULUS_ASSIGN_OR_RETURN(const double cap, in.Num("social_insurance.base_cap_minimum_wages"));
  p.insurance_cap = cap * p.minimum_wage;
  ULUS_ASSIGN_OR_RETURN(p.voluntary_share, in.Share("social_insurance.voluntary_share_informal"));

  ULUS_ASSIGN_OR_RETURN(p.blood_types, in.Shares("health.blood_types"));
  ULUS_ASSIGN_OR_RETURN(p.rh_negative, in.Share("health.rh_negative"));
  ULUS_ASSIGN_OR_RETURN(const json* conditions, in.Node("health.conditions"));
  if (!conditions->is_array()) return Params::Fail("health.conditions", "must be a list");
  for (size_t i = 0; i < conditions->size(); ++i) {
    const json& c = (*conditions)[i];
    const std::string path = "health.conditions[" + std::to_string(i) + "]";
    if (!c.is_object() || !c.contains("code") || !c["code"].is_string() || !c.contains("ages")) {
      return Params::Fail(path, "needs code and ages");
    }
    ULUS_ASSIGN_OR_RETURN(auto ages, Params::AgesOf(c["ages"], path + ".ages"));
    p.conditions.push_back({c["code"].get<std::string>(), std::move(ages)});
  }
  ULUS_ASSIGN_OR_RETURN(p.clinic_capital, in.Str("health.clinic_capital"));
  ULUS_ASSIGN_OR_RETURN(p.clinic_urban, in.Str("health.clinic_urban"));
  ULUS_ASSIGN_OR_RETURN(p.clinic_rural, in.Str("health.clinic_rural"));

  ULUS_ASSIGN_OR_RETURN(p.vaccination_max_age, in.Int("vaccination.max_age"));
  ULUS_ASSIGN_OR_RETURN(const json* schedule, in.Node("vaccination.schedule"));
  if (!schedule->is_array()) return Params::Fail("vaccination.schedule", "must be a list");
  std::map<std::string, double> last_coverage;
  for (size_t i = 0; i < schedule->size(); ++i) {
    const json& d = (*schedule)[i];
    const std::string path = "vaccination.schedule[" + std::to_string(i) + "]";
    if (!d.is_object() || !d.value("vaccine", json()).is_string() ||
        !d.value("dose", json()).is_number_integer() ||
        !d.value("age_days", json()).is_number_integer() ||
        !d.value("coverage", json()).is_number()) {
      return Params::Fail(path, "needs vaccine, dose, age_days and coverage");
    }
    Profile::Dose dose;
    dose.vaccine = d["vaccine"].get<std::string>();
    dose.dose = d["dose"].get<int>();
    dose.age_days = d["age_days"].get<int>();
    const double coverage = d["coverage"].get<double>();
    auto prev = last_coverage.find(dose.vaccine);
    dose.conditional = prev == last_coverage.end() ? coverage : coverage / prev->second;
    if (dose.conditional > 1 || dose.conditional < 0) {
      return Params::Fail(path + ".coverage", "must not exceed the previous dose's coverage");
    }
    last_coverage[dose.vaccine] = coverage;
    p.schedule.push_back(std::move(dose));
  }

  ULUS_ASSIGN_OR_RETURN(p.school_start, in.Int("education.school_start_age"));
  ULUS_ASSIGN_OR_RETURN(p.school_grades, in.Int("education.school_grades"));
  ULUS_ASSIGN_OR_RETURN(const json* levels, in.Node("education.levels"));
  if (!levels->is_array()) return Params::Fail("education.levels", "must be a list");
  for (size_t i = 0; i < levels->size(); ++i) {
    const json& l = (*levels)[i];
    if (!l.is_object() || !l.value("level", json()).is_string() ||
        !l.value("from_age", json()).is_number() || !l.value("to_age", json()).is_number() ||
        !l.value("share", json()).is_number()) {
      return Params::Fail("education.levels[" + std::to_string(i) + "]",
                          "needs level, from_age, to_age and share");
    }
    p.levels.push_back({l["level"].get<std::string>(), l["from_age"].get<int>(),
                        l["to_age"].get<int>(), l["share"].get<double>()});
  }
  ULUS_ASSIGN_OR_RETURN(const json* completed_ages, in.Node("education.completed_ages"));
  if (!completed_ages->is_array() || completed_ages->size() != 2) {
    return Params::Fail("education.completed_ages", "must be [from_age, to_age]");
  }
  p.completed_from = (*completed_ages)[0].get<int>();
  p.completed_to = (*completed_ages)[1].get<int>();
  ULUS_ASSIGN_OR_RETURN(p.completed_university, in.Share("education.completed.university"));
  ULUS_ASSIGN_OR_RETURN(p.completed_vocational, in.Share("education.completed.vocational"));
  ULUS_ASSIGN_OR_RETURN(p.kindergarten_name, in.Str("education.institutions.kindergarten"));
  ULUS_ASSIGN_OR_RETURN(p.school_name, in.Str("education.institutions.school"));
  ULUS_ASSIGN_OR_RETURN(p.vocational_name, in.Str("education.institutions.vocational"));
  ULUS_ASSIGN_OR_RETURN(p.universities, in.Strings("education.institutions.university"));

  ULUS_ASSIGN_OR_RETURN(const double prevalence, in.Share("disability.prevalence"));
  ULUS_ASSIGN_OR_RETURN(p.disability_age, in.Ages("disability.age_profile"));
  p.disability_k = prevalence / WeightedShare(p.cells, p.disability_age, 1.0, 0);
  ULUS_ASSIGN_OR_RETURN(p.adult_groups, in.Shares("disability.adult_groups"));
  ULUS_ASSIGN_OR_RETURN(p.child_group, in.Str("disability.child_group"));
  ULUS_ASSIGN_OR_RETURN(p.disability_causes, in.Shares("disability.causes"));
  ULUS_ASSIGN_OR_RETURN(p.review_years, in.Int("disability.review_years"));

  ULUS_ASSIGN_OR_RETURN(p.owned_share, in.Share("property.owned_share"));
  ULUS_ASSIGN_OR_RETURN(p.spouse_owner_share,
                        in.Share("property.head_or_spouse_owner_spouse_share"));
  ULUS_ASSIGN_OR_RETURN(p.dwellings[0], in.Shares("property.dwellings.capital"));
  ULUS_ASSIGN_OR_RETURN(p.dwellings[1], in.Shares("property.dwellings.urban"));
  ULUS_ASSIGN_OR_RETURN(p.dwellings[2], in.Shares("property.dwellings.rural"));
  for (const auto& choice : p.dwellings) {
    for (const auto& type : choice.keys) {
      ULUS_ASSIGN_OR_RETURN(p.area_m2[type], in.Pair("property.area_m2." + type));
    }
  }
  ULUS_ASSIGN_OR_RETURN(p.area_m2["other"], in.Pair("property.area_m2.other"));

  ULUS_ASSIGN_OR_RETURN(p.residential_share, in.Share("land.residential_share"));
  ULUS_ASSIGN_OR_RETURN(p.residential_ha[0], in.Num("land.residential_ha.capital"));
  ULUS_ASSIGN_OR_RETURN(p.residential_ha[1], in.Num("land.residential_ha.urban"));
  ULUS_ASSIGN_OR_RETURN(p.residential_ha[2], in.Num("land.residential_ha.rural"));
  ULUS_ASSIGN_OR_RETURN(p.pasture_share, in.Share("land.pasture_share_herders"));
  ULUS_ASSIGN_OR_RETURN(p.pasture_ha, in.Pair("land.pasture_ha"));
  ULUS_ASSIGN_OR_RETURN(p.agricultural_share, in.Share("land.agricultural_share_rural"));
  ULUS_ASSIGN_OR_RETURN(p.agricultural_ha, in.Pair("land.agricultural_ha"));

  const char* make_keys[2] = {"vehicles.urban_makes", "vehicles.rural_makes"};
  for (int k = 0; k < 2; ++k) {
    ULUS_ASSIGN_OR_RETURN(const json* makes, in.Node(make_keys[k]));
    if (!makes->is_array() || makes->empty()) return Params::Fail(make_keys[k], "must be a list");
    for (const auto& m : *makes) {
      if (!m.is_object() || !m.value("make", json()).is_string() ||
          !m.value("model", json()).is_string() || !m.value("category", json()).is_string() ||
          !m.value("share", json()).is_number()) {
        return Params::Fail(make_keys[k], "entries need make, model, category and share");
      }
      p.makes[k].push_back({m["make"].get<std::string>(), m["model"].get<std::string>(),
                            m["category"].get<std::string>()});
      p.make_choice[k].Add(std::to_string(p.makes[k].size() - 1), m["share"].get<double>());
    }
  }
  ULUS_ASSIGN_OR_RETURN(p.vehicle_age.mean, in.Num("vehicles.age_years.mean"));
  ULUS_ASSIGN_OR_RETURN(p.vehicle_age.sd, in.Num("vehicles.age_years.sd"));
  ULUS_ASSIGN_OR_RETURN(p.vehicle_age.max, in.Num("vehicles.age_years.max"));
  p.vehicle_age.min = 0;
  ULUS_ASSIGN_OR_RETURN(p.max_vehicles, in.Int("vehicles.max_per_household"));

  ULUS_ASSIGN_OR_RETURN(p.death_causes, in.Shares("deaths.causes"));
  ULUS_ASSIGN_OR_RETURN(p.widowed_min_years, in.Int("deaths.widowed_years_ago.min"));
  ULUS_ASSIGN_OR_RETURN(p.widowed_max_years, in.Int("deaths.widowed_years_ago.max"));
  ULUS_ASSIGN_OR_RETURN(p.phone_share, in.Share("contacts.phone_share_15plus"));
  ULUS_ASSIGN_OR_RETURN(p.phone_prefix, in.Str("contacts.phone_prefix"));
  ULUS_ASSIGN_OR_RETURN(p.mobile_prefixes, in.Strings("contacts.mobile_prefixes"));
  ULUS_ASSIGN_OR_RETURN(p.mobile_digits, in.Int("contacts.mobile_digits"));
  ULUS_ASSIGN_OR_RETURN(p.citizenship, in.Str("contacts.citizenship"));
  ULUS_ASSIGN_OR_RETURN(p.capital_streets, in.Strings("addresses.capital_streets"));
  ULUS_ASSIGN_OR_RETURN(p.urban_streets, in.Strings("addresses.urban_streets"));
  ULUS_ASSIGN_OR_RETURN(p.rural_locality, in.Str("addresses.rural_locality"));
  ULUS_ASSIGN_OR_RETURN(p.capital_locality, in.Str("addresses.capital_locality"));
  ULUS_ASSIGN_OR_RETURN(p.subunits_urban, in.Int("addresses.subunits_urban"));
  ULUS_ASSIGN_OR_RETURN(p.subunits_rural, in.Int("addresses.subunits_rural"));

  for (const auto& r : pack.regions) {
    p.regions.Add(r.code, r.weight);
    Choice subs;
    for (const auto& s : r.subregions) subs.Add(s.code, s.weight);
    p.subregions.push_back(std::move(subs));
  }
  return Ok();
}

// ---------------------------------------------------------------------------------------------
// Text helpers

// Writes one JSON object field by field; values we generate never need escaping, but names and
// templates come from pack files, so strings are escaped anyway.
class JsonOut {
 public:
  static constexpr size_t kTypicalRecordBytes = 320;

  explicit JsonOut(std::string& out) : out_(out) {
    out_.reserve(kTypicalRecordBytes);
    out_.push_back('{');
  }
  void Str(std::string_view key, std::string_view value) {
    Key(key);
    Quoted(value);
  }
  void StrIf(std::string_view key, std::string_view value) {
    if (!value.empty()) Str(key, value);
  }
  void Date(std::string_view key, CivilDate d) {
    Key(key);
    out_.push_back('"');
    AppendIsoDate(out_, d);
    out_.push_back('"');
  }
  void Int(std::string_view key, int64_t v) {
    Key(key);
    char buf[24];
    auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    out_.append(buf, p);
  }
  void Fixed(std::string_view key, double v, int decimals) {
    Key(key);
    char buf[48];
    auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed, decimals);
    out_.append(buf, p);
  }
  void Bool(std::string_view key, bool v) {
    Key(key);
    out_.append(v ? "true" : "false");
  }
  void StrArray(std::string_view key, const std::vector<std::string_view>& values) {
    Key(key);
    out_.push_back('[');
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out_.push_back(',');
      Quoted(values[i]);
    }
    out_.push_back(']');
  }
  void End() { out_.push_back('}'); }

 private:
  void Key(std::string_view key) {
    char* at = Grow(key.size() + 4);
    if (!first_) *at++ = ',';
    first_ = false;
    *at++ = '"';
    at = std::copy(key.begin(), key.end(), at);
    *at++ = '"';
    *at++ = ':';
    out_.resize(static_cast<size_t>(at - out_.data()));
  }
  // Appends without escaping when nothing needs it, which is nearly always.
  void Quoted(std::string_view s) {
    const bool plain = std::none_of(s.begin(), s.end(), [](char c) {
      return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
    });
    if (plain) {
      char* at = Grow(s.size() + 2);
      *at++ = '"';
      at = std::copy(s.begin(), s.end(), at);
      *at++ = '"';
      out_.resize(static_cast<size_t>(at - out_.data()));
      return;
    }
    out_.push_back('"');
    for (char c : s) {
      if (c == '"' || c == '\\') {
        out_.push_back('\\');
        out_.push_back(c);
      } else if (static_cast<unsigned char>(c) < 0x20) {
        static constexpr char kHex[] = "0123456789abcdef";
        out_.append("\\u00");
        out_.push_back(kHex[(c >> 4) & 0xF]);
        out_.push_back(kHex[c & 0xF]);
      } else {
        out_.push_back(c);
      }
    }
    out_.push_back('"');
  }
  // Makes room for `n` more bytes and returns where they start; the caller resizes back down.
  char* Grow(size_t n) {
    const size_t size = out_.size();
    if (out_.capacity() < size + n) out_.reserve(std::max(out_.capacity() * 2, size + n));
    out_.resize(size + n);
    return out_.data() + size;
  }

  std::string& out_;
  bool first_ = true;
};

// Fills {n}, {region}, {center}, {district}, {khoroo} in a template.
struct Placeholders {
  int n = 1;
  std::string_view region;
  std::string_view center;
  std::string_view district;
  int khoroo = 1;
};

std::string Fill(std::string_view tmpl, const Placeholders& ph) {
  std::string out;
  out.reserve(tmpl.size() + 16);
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '{') {
      const size_t close = tmpl.find('}', i);
      if (close != std::string_view::npos) {
        const std::string_view key = tmpl.substr(i + 1, close - i - 1);
        if (key == "n") {
          out += std::to_string(ph.n);
        } else if (key == "region") {
          out += ph.region;
        } else if (key == "center") {
          out += ph.center;
        } else if (key == "district") {
          out += ph.district;
        } else if (key == "khoroo") {
          out += std::to_string(ph.khoroo);
        } else {
          out += tmpl.substr(i, close - i + 1);
        }
        i = close;
        continue;
      }
    }
    out.push_back(tmpl[i]);
  }
  return out;
}

void AppendPadded(std::string& out, uint64_t v, int width) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  for (auto len = static_cast<int>(p - buf); len < width; ++len) out.push_back('0');
  out.append(buf, p);
}

bool IsVowel(char32_t c) {
  static constexpr std::u32string_view kVowels = U"аеёиоуыэюяөүәіұ";
  return kVowels.find(c) != std::u32string_view::npos;
}

char32_t Lower(char32_t c) {
  if (c >= U'А' && c <= U'Я') return c + 32;
  if (c == U'Ё') return U'ё';
  if (c == U'Ө') return U'ө';
  if (c == U'Ү') return U'ү';
  return c;
}

// Kazakh patronymics and surnames built from a (father's) given name.
std::string RussianStyle(std::string_view name, std::u32string_view consonant_suffix,
                         std::u32string_view soft_suffix) {
  std::u32string w = utf8::ToU32(name);
  if (w.empty()) return std::string(name);
  const char32_t last = Lower(w.back());
  static constexpr std::u32string_view kSoft = U"жшчщц";
  if (last == U'й') {
    w.pop_back();
    w += soft_suffix;
  } else if (IsVowel(last) || kSoft.find(last) != std::u32string_view::npos) {
    w += soft_suffix;
  } else {
    w += consonant_suffix;
  }
  return utf8::FromU32(w);
}

// ---------------------------------------------------------------------------------------------
// National ids: unique across the whole generation.

// An open-addressing set of 64-bit keys (never 0), growing at half load.
class KeyCounter {
 public:
  // Returns the number of times `key` was seen before, then counts it once more.
  uint32_t Bump(uint64_t key) {
    if ((size_ + 1) * 2 > keys_.size()) Grow();
    size_t i = Slot(key);
    while (keys_[i] != 0 && keys_[i] != key) i = (i + 1) & (keys_.size() - 1);
    if (keys_[i] == 0) {
      keys_[i] = key;
      ++size_;
    }
    return counts_[i]++;
  }

 private:
  size_t Slot(uint64_t key) const {
    uint64_t s = key;
    return static_cast<size_t>(SplitMix64(s)) & (keys_.size() - 1);
  }
  void Grow() {
    std::vector<uint64_t> old_keys = std::move(keys_);
    std::vector<uint32_t> old_counts = std::move(counts_);
    const size_t capacity = std::max<size_t>(1024, old_keys.size() * 2);
    keys_.assign(capacity, 0);
    counts_.assign(capacity, 0);
    for (size_t j = 0; j < old_keys.size(); ++j) {
      if (old_keys[j] == 0) continue;
      size_t i = Slot(old_keys[j]);
      while (keys_[i] != 0) i = (i + 1) & (keys_.size() - 1);
      keys_[i] = old_keys[j];
      counts_[i] = old_counts[j];
    }
  }

  std::vector<uint64_t> keys_;
  std::vector<uint32_t> counts_;
  size_t size_ = 0;
};

// Letters a synthetic register number's second letter is drawn from: the capitals without the
// signs Ъ, Ь and Ы, which do not start Mongolian words (ESTIMATE: the code list is not public).
constexpr std::u32string_view kSecondLetters = U"АБВГДЕЁЖЗИЙКЛМНОӨПРСТУҮФХЦЧШЩЭЮЯ";

class IdAllocator {
 public:
  explicit IdAllocator(const IdRule& rule) : rule_(rule) {}

  // Mongolia: letters from the region (second letter from the soum/khoroo), then the first free
  // serial for (letters, birth date, sex); 50 serials per combination, then the next letter.
  std::string Mongolian(char32_t first, size_t second_index, CivilDate birth, Sex sex) {
    const int serials = rule_.mn_check_code ? 5 : 50;
    const auto day = static_cast<uint64_t>(DaysFromCivil(birth) + 100000);
    for (size_t attempt = 0; attempt < kSecondLetters.size(); ++attempt) {
      const char32_t second = kSecondLetters[(second_index + attempt) % kSecondLetters.size()];
      const uint64_t key = (static_cast<uint64_t>(first) << 44) ^
                           (static_cast<uint64_t>(second) << 24) ^ (day << 1) ^
                           (sex == Sex::kMale ? 1U : 0U);
      const uint32_t used = counter_.Bump(key | (1ULL << 63));
      if (static_cast<int>(used) >= serials) continue;
      auto id = MakeMnRegisterNumber(first, second, birth, sex, static_cast<int>(used),
                                     rule_.mn_check_code);
      if (id.ok()) return std::move(id).value();
    }
    return {};  // not reached: 32 letters x 50 serials per birth date and sex
  }

  // Kazakhstan: registration serials run per (birth date, sex) from a date-dependent start,
  // skipping the serials whose check digit would be 10.
  std::string Kazakh(CivilDate birth, Sex sex) {
    const int64_t day = DaysFromCivil(birth) + 100000;
    const uint64_t key = (static_cast<uint64_t>(day) << 1) | (sex == Sex::kMale ? 1U : 0U);
    const int start = static_cast<int>((static_cast<uint64_t>(day) * 7919U) % 3000U);
    while (true) {
      const uint32_t used = counter_.Bump(key | (1ULL << 62));
      const int serial = (start + static_cast<int>(used)) % 10000;
      if (used >= 10000) return {};  // not reached: more births on one day than serials
      auto id = MakeKzIin(birth, sex, serial);
      if (id.ok()) return std::move(id).value();
    }
  }

 private:
  const IdRule& rule_;
  KeyCounter counter_;
};

// ---------------------------------------------------------------------------------------------
// One block of people.

enum class Rel { kHead, kSpouse, kChild, kParent, kGrandchild, kSibling, kOther };

std::string_view RelName(Rel r) {
  switch (r) {
    case Rel::kHead: return "head";
    case Rel::kSpouse: return "spouse";
    case Rel::kChild: return "child";
    case Rel::kParent: return "parent";
    case Rel::kGrandchild: return "grandchild";
    case Rel::kSibling: return "sibling";
    case Rel::kOther: return "other_relative";
  }
  return "other_relative";
}

enum class Marital { kNever, kMarried, kDivorced, kWidowed };

std::string_view MaritalName(Marital m) {
  switch (m) {
    case Marital::kNever: return "never_married";
    case Marital::kMarried: return "married";
    case Marital::kDivorced: return "divorced";
    case Marital::kWidowed: return "widowed";
  }
  return "never_married";
}

struct Person {
  int age = 0;
  Sex sex = Sex::kMale;
  CivilDate birth;
  int mother = -1;
  int father = -1;
  int spouse = -1;
  int children = 0;
  int unit = -1;
  Rel rel = Rel::kHead;
  Marital marital = Marital::kNever;
  CivilDate marriage_date;
  bool deceased = false;
  CivilDate death;
  size_t given = 0;  // index into Pack::given_names
  std::string family_name;
  std::string surname_male;  // Kazakh family line: both forms of the surname
  std::string surname_female;
  std::string patronymic;
  std::string clan;
  std::string id;
  std::string sector;  // empty: not employed
  double wage = 0;
  bool formal = false;
  CivilDate job_start;
};

struct Unit {
  std::vector<int> members;
  int head = -1;
  int anchor_woman = -1;  // the wife or mother whose age places the unit's generation
  bool family = false;    // a couple or a parent with children (can host others)
  bool absorbed = false;
};

constexpr int kMaxAge = 105;
// Households that others move into stop taking people at this size, so merging fills many
// families a little rather than a few a lot.
constexpr size_t kMaxHostMembers = 6;

class BlockBuilder {
 public:
  BlockBuilder(const Pack& pack, const Profile& p, uint64_t seed, uint64_t block, IdAllocator& ids)
      : pack_(pack), p_(p), rng_(seed, block + 1), ids_(ids) {}

  // Makes `n` living people and returns their households' records.
  std::vector<SyntheticRecord> Build(size_t n, uint64_t& next_household) {
    SamplePeople(n);
    AssignMothers();
    FormCouples();
    FormUnits(n);
    std::vector<SyntheticRecord> out;
    out.reserve(n * 12);
    // Units were made in the pyramid's order (youngest adults first); shuffle so that a
    // block's first households are not all young people.
    std::vector<int> order;
    for (int u = 0; u < static_cast<int>(units_.size()); ++u) {
      if (!units_[static_cast<size_t>(u)].absorbed) order.push_back(u);
    }
    for (const int u : Shuffled(std::move(order))) {
      EmitHousehold(units_[static_cast<size_t>(u)], next_household++, out);
    }
    return out;
  }

 private:
  // -- people ----------------------------------------------------------------------------------

  CivilDate BirthFor(int age) {
    const CivilDate anniversary{p_.reference.year - age, p_.reference.month, p_.reference.day};
    const int64_t last = DaysFromCivil(anniversary);
    return CivilFromDays(last - 1 - static_cast<int64_t>(rng_.Below(365)));
  }

  // Systematic sampling over the pyramid's cells: every block matches the pyramid to within one
  // person per cell.
  void SamplePeople(size_t n) {
    const double offset = rng_.Uniform();
    double cumulative = 0;
    int64_t taken = 0;
    for (const auto& cell : p_.cells) {
      cumulative += cell.share * static_cast<double>(n);
      const auto upto = static_cast<int64_t>(std::floor(cumulative + offset));
      for (; taken < upto && people_.size() < n; ++taken) {
        Person person;
        person.sex = cell.sex;
        person.age = std::min(rng_.Between(cell.from, cell.to), kMaxAge - 1);
        person.birth = BirthFor(person.age);
        people_.push_back(std::move(person));
      }
    }
    while (people_.size() < n) {  // rounding at the very end of the table
      Person person;
      person.sex = rng_.Chance(0.5) ? Sex::kMale : Sex::kFemale;
      person.age = rng_.Between(20, 40);
      person.birth = BirthFor(person.age);
      people_.push_back(std::move(person));
    }
    for (int i = 0; i < static_cast<int>(people_.size()); ++i) {
      const Person& person = people_[static_cast<size_t>(i)];
      if (person.age >= 18) {
        (person.sex == Sex::kFemale ? women_ : men_)[static_cast<size_t>(person.age)].push_back(i);
      }
    }
  }

  Person& At(int i) { return people_[static_cast<size_t>(i)]; }

  std::vector<int> Shuffled(std::vector<int> v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng_.Index(i)]);
    return v;
  }

  // Each child gets a mother aged 18-45 at the birth; siblings cluster by preferring women who
  // already have children. Children with no fitting woman stay motherless (skip-generation).
  void AssignMothers() {
    std::vector<int> children;
    for (int i = 0; i < static_cast<int>(people_.size()); ++i) {
      if (At(i).age < 18) children.push_back(i);
    }
    std::array<std::vector<int>, kMaxAge> mothers;
    const int min_gap = static_cast<int>(p_.mother_age.min);
    const int max_gap = static_cast<int>(p_.mother_age.max);
    for (const int child : Shuffled(children)) {
      const int age = At(child).age;
      const int target = age + static_cast<int>(std::lround(p_.mother_age.Sample(rng_)));
      int mother = -1;
      static constexpr int kSiblingOffsets[] = {0, 1, -1, 2, -2, 3, -3};
      if (rng_.Chance(p_.sibling_share)) {
        for (const int d : kSiblingOffsets) {
          const int a = target + d;
          if (a - age < min_gap || a - age > max_gap || a >= kMaxAge) continue;
          auto& list = mothers[static_cast<size_t>(a)];
          if (list.empty()) continue;
          // Each further child is less likely, so families thin out like real ones.
          const int m = list[rng_.Index(list.size())];
          const int had = At(m).children;
          if (had < p_.max_children && rng_.Chance(std::pow(p_.sibling_decay, had - 1))) {
            mother = m;
            break;
          }
        }
      }
      for (int d = 0; mother < 0 && d <= 6; ++d) {
        for (const int a : {target + d, target - d}) {
          if (a - age < min_gap || a - age > max_gap || a >= kMaxAge || a < 18) continue;
          const auto& list = women_[static_cast<size_t>(a)];
          if (list.empty()) continue;
          for (int tries = 0; tries < 3 && mother < 0; ++tries) {
            const int m = list[rng_.Index(list.size())];
            if (At(m).children < p_.max_children) mother = m;
          }
          if (mother >= 0 || d == 0) break;
        }
      }
      if (mother < 0) continue;
      At(child).mother = mother;
      if (At(mother).children++ == 0)
        mothers[static_cast<size_t>(At(mother).age)].push_back(mother);
    }
  }

  // A day in [from, to], never on or after the reference date.
  CivilDate RandomDateBetween(CivilDate from, CivilDate to) {
    const int64_t a = std::min(DaysFromCivil(from), p_.reference_days - 1);
    const int64_t b = std::min(DaysFromCivil(to), p_.reference_days - 1);
    if (b <= a) return from;
    return CivilFromDays(a + static_cast<int64_t>(rng_.Below(static_cast<uint64_t>(b - a + 1))));
  }

  CivilDate AddYears(CivilDate d, int years) {
    CivilDate out{d.year + years, d.month, d.day};
    if (!IsValidCivilDate(out.year, out.month, out.day)) out.day = 28;
    return out;
  }

  CivilDate EarliestChildBirth(int woman) {
    CivilDate earliest = p_.reference;
    for (size_t i = 0; i < people_.size(); ++i) {
      if (people_[i].mother == woman && people_[i].birth < earliest) earliest = people_[i].birth;
    }
    return earliest;
  }

  int TakeMan(int target_age) {
    for (int d = 0; d <= 8; ++d) {
      for (const int a : {target_age + d, target_age - d}) {
        if (a < 18 || a >= kMaxAge) continue;
        auto& list = men_[static_cast<size_t>(a)];
        if (list.empty()) continue;
        const size_t k = rng_.Index(list.size());
        const int man = list[k];
        list[k] = list.back();
        list.pop_back();
        return man;
      }
    }
    return -1;
  }

  void Marry(int wife, int husband) {
    Person& w = At(wife);
    Person& h = At(husband);
    w.spouse = husband;
    h.spouse = wife;
    w.marital = h.marital = Marital::kMarried;
    // The wedding: at the drawn marriage age, before her first child, after both turned 18.
    CivilDate date = AddYears(w.birth, static_cast<int>(p_.marriage_age_women.Sample(rng_)));
    if (w.children > 0) {
      const CivilDate first = EarliestChildBirth(wife);
      if (first < date) date = CivilFromDays(DaysFromCivil(first) - 30 - rng_.Between(0, 600));
    }
    const CivilDate adult = std::max(AddYears(w.birth, 18), AddYears(h.birth, 18));
    date = std::clamp(date, adult, p_.reference);
    w.marriage_date = h.marriage_date = date;
  }

  void FormCouples() {
    std::vector<int> women;
    for (int i = 0; i < static_cast<int>(people_.size()); ++i) {
      if (At(i).sex == Sex::kFemale && At(i).age >= 18) women.push_back(i);
    }
    for (const int w : Shuffled(women)) {
      Person& woman = At(w);
      double chance = p_.married_women.At(woman.age);
      if (woman.children > 0) chance = std::min(0.97, chance * p_.mothers_married_boost);
      if (!rng_.Chance(chance)) continue;
      const int target = woman.age + static_cast<int>(std::lround(p_.spouse_gap.Sample(rng_)));
      const int man = TakeMan(std::max(18, target));
      if (man >= 0) Marry(w, man);
    }
    // Fathers: the mother's husband, when old enough.
    for (auto& child : people_) {
      if (child.mother < 0) continue;
      const int husband = At(child.mother).spouse;
      if (husband >= 0 && At(husband).age - child.age >= 18) child.father = husband;
    }
    // Marital status of the unmarried, and the deceased spouses of the widowed.
    const size_t living = people_.size();
    for (size_t i = 0; i < living; ++i) {
      Person& person = people_[i];
      if (person.age < 18 || person.marital == Marital::kMarried) continue;
      if (person.sex == Sex::kFemale && person.age >= 55 && rng_.Chance(p_.widowed_women_55)) {
        AddDeceasedSpouse(static_cast<int>(i));
      } else if (person.sex == Sex::kMale && person.age >= 65 && rng_.Chance(p_.widowed_men_65)) {
        AddDeceasedSpouse(static_cast<int>(i));
      } else if (person.sex == Sex::kFemale && person.children > 0) {
        person.marital =
            rng_.Chance(p_.divorced_single_mothers) ? Marital::kDivorced : Marital::kNever;
      }
    }
  }

  void AddDeceasedSpouse(int survivor) {
    Person dead;
    const Person& s = At(survivor);
    dead.sex = s.sex == Sex::kFemale ? Sex::kMale : Sex::kFemale;
    const double gap = p_.spouse_gap.Sample(rng_);
    const int dead_age_now =
        s.age + static_cast<int>(std::lround(s.sex == Sex::kFemale ? gap : -gap));
    dead.birth = BirthFor(std::clamp(dead_age_now, 20, kMaxAge - 1));
    const int years_ago =
        rng_.Between(p_.widowed_min_years, std::min(p_.widowed_max_years, std::max(0, s.age - 25)));
    const CivilDate death_from = std::max(AddYears(p_.reference, -years_ago - 1),
                                          AddYears(std::max(dead.birth, s.birth), 20));
    dead.deceased = true;
    dead.death = RandomDateBetween(death_from, AddYears(death_from, 1));
    dead.death = std::min(dead.death, CivilFromDays(p_.reference_days - 1));
    dead.age = AgeOn(dead.birth, dead.death);
    dead.marital = Marital::kMarried;
    const CivilDate adult = std::max(AddYears(dead.birth, 18), AddYears(s.birth, 18));
    dead.marriage_date = RandomDateBetween(adult, std::min(AddYears(adult, 12), dead.death));
    dead.spouse = survivor;
    people_.push_back(std::move(dead));
    Person& survivor_ref = At(survivor);
    survivor_ref.spouse = static_cast<int>(people_.size() - 1);
    survivor_ref.marital = Marital::kWidowed;
    survivor_ref.marriage_date = people_.back().marriage_date;
  }

  // -- households ------------------------------------------------------------------------------

  // Family units (couples, parents with children) and single adults; then singles, elderly and
  // young couples move in with a family of the right generation until the number of households
  // gives the published mean size.
  void FormUnits(size_t living) {
    std::vector<int> unit_of(people_.size(), -1);
    auto new_unit = [&](int head) {
      units_.push_back(Unit{});
      units_.back().head = head;
      return static_cast<int>(units_.size() - 1);
    };
    auto add = [&](int unit, int person, Rel rel) {
      units_[static_cast<size_t>(unit)].members.push_back(person);
      At(person).rel = rel;
      At(person).unit = unit;
      unit_of[static_cast<size_t>(person)] = unit;
    };
    for (int i = 0; i < static_cast<int>(living); ++i) {
      Person& person = At(i);
      if (person.age < 18 || unit_of[static_cast<size_t>(i)] >= 0) continue;
      if (person.marital == Marital::kMarried && person.spouse >= 0) {
        const int husband = person.sex == Sex::kMale ? i : person.spouse;
        const int wife = person.sex == Sex::kMale ? person.spouse : i;
        const int u = new_unit(husband);
        add(u, husband, Rel::kHead);
        add(u, wife, Rel::kSpouse);
        units_[static_cast<size_t>(u)].anchor_woman = wife;
        units_[static_cast<size_t>(u)].family = true;
      } else {
        const int u = new_unit(i);
        add(u, i, Rel::kHead);
        if (person.sex == Sex::kFemale) units_[static_cast<size_t>(u)].anchor_woman = i;
        units_[static_cast<size_t>(u)].family = person.children > 0;
      }
    }
    std::vector<int> orphans;
    for (int i = 0; i < static_cast<int>(living); ++i) {
      Person& person = At(i);
      if (person.age >= 18) continue;
      if (person.mother >= 0) {
        add(unit_of[static_cast<size_t>(person.mother)], i, Rel::kChild);
      } else {
        orphans.push_back(i);
      }
    }
    // Hosts by the age of their anchor woman (or head).
    std::array<std::vector<int>, kMaxAge> hosts;
    for (int u = 0; u < static_cast<int>(units_.size()); ++u) {
      const Unit& unit = units_[static_cast<size_t>(u)];
      if (!unit.family) continue;
      const int anchor = unit.anchor_woman >= 0 ? unit.anchor_woman : unit.head;
      hosts[static_cast<size_t>(At(anchor).age)].push_back(u);
    }
    // Two random candidates, the smaller wins ("power of two choices"): spreads newcomers.
    auto find_host = [&](int min_age, int max_age, int self) {
      min_age = std::max(min_age, 18);
      max_age = std::min(max_age, kMaxAge - 1);
      if (max_age < min_age) return -1;
      int best = -1;
      int found = 0;
      for (int tries = 0; tries < 12 && found < 2; ++tries) {
        const auto& list = hosts[static_cast<size_t>(rng_.Between(min_age, max_age))];
        if (list.empty()) continue;
        const int u = list[rng_.Index(list.size())];
        const Unit& host = units_[static_cast<size_t>(u)];
        if (u == self || host.absorbed || host.members.size() >= kMaxHostMembers) continue;
        ++found;
        if (best < 0 || host.members.size() < units_[static_cast<size_t>(best)].members.size()) {
          best = u;
        }
      }
      return best;
    };
    // Motherless children live with grandparents' generation, else with any family.
    for (const int child : orphans) {
      const int age = At(child).age;
      int host = find_host(age + 38, age + 70, -1);
      Rel rel = Rel::kGrandchild;
      if (host < 0) {
        host = find_host(age + 18, age + 60, -1);
        rel = Rel::kOther;
      }
      if (host < 0) {
        host = new_unit(child);  // a child-headed household: rare, kept rather than lost
        add(host, child, Rel::kHead);
        continue;
      }
      add(host, child, rel);
    }
    const auto target =
        static_cast<size_t>(std::max(1.0, std::round(static_cast<double>(living) / p_.mean_size)));
    size_t households = units_.size();
    auto absorb = [&](int u, int host, Rel head_rel, Rel other_rel, Rel child_rel) {
      Unit& unit = units_[static_cast<size_t>(u)];
      for (const int m : std::vector<int>(unit.members)) {
        const Rel rel = m == unit.head ? head_rel : At(m).age < 18 ? child_rel : other_rel;
        add(host, m, rel);
      }
      unit.members.clear();
      unit.absorbed = true;
      --households;
    };
    // Singles by age, for pairing (siblings or relatives sharing a home).
    std::array<std::vector<int>, kMaxAge> singles;
    for (int u = 0; u < static_cast<int>(units_.size()); ++u) {
      const Unit& unit = units_[static_cast<size_t>(u)];
      if (unit.members.size() == 1 && At(unit.head).age >= 18) {
        singles[static_cast<size_t>(At(unit.head).age)].push_back(u);
      }
    }
    auto find_single = [&](int age, int self) {
      for (int tries = 0; tries < 8; ++tries) {
        const int a = std::clamp(age + rng_.Between(-8, 8), 18, kMaxAge - 1);
        const auto& list = singles[static_cast<size_t>(a)];
        if (list.empty()) continue;
        const int u = list[rng_.Index(list.size())];
        const Unit& other = units_[static_cast<size_t>(u)];
        if (u != self && !other.absorbed && other.members.size() == 1) return u;
      }
      return -1;
    };
    auto move_in_with_parents = [&](int u, int host) {
      const int head_index = units_[static_cast<size_t>(u)].head;
      absorb(u, host, Rel::kChild, Rel::kChild, Rel::kGrandchild);
      const int mother = units_[static_cast<size_t>(host)].anchor_woman;
      Person& h = At(head_index);
      if (mother >= 0 && At(mother).age - h.age >= 18 && At(mother).age - h.age <= 45) {
        h.mother = mother;
        const int father = At(mother).spouse;
        if (father >= 0 && !At(father).deceased && At(father).age - h.age >= 18) {
          h.father = father;
        }
      }
    };
    // Passes in order of how common each arrangement is; the first three are taken only by a
    // share of those who could (ESTIMATE, see docs/synthetic-country.md), so that some young
    // people, elderly people and siblings keep homes of their own.
    constexpr double kYoungWithParents = 0.75;
    constexpr double kElderlyWithChildren = 0.6;
    constexpr double kSinglesPairing = 0.25;
    std::vector<int> order(units_.size());
    std::iota(order.begin(), order.end(), 0);
    order = Shuffled(std::move(order));
    for (int pass = 0; pass < 6 && households > target; ++pass) {
      for (const int u : order) {
        if (households <= target) break;
        Unit& unit = units_[static_cast<size_t>(u)];
        if (unit.absorbed) continue;
        const Person& head = At(unit.head);
        const bool single = unit.members.size() == 1 && head.age >= 18;
        const bool couple_only = unit.members.size() == 2 && unit.anchor_woman >= 0 &&
                                 At(unit.anchor_woman).spouse == unit.head;
        int host = -1;
        if (pass == 0 && single && head.age <= 30 && rng_.Chance(kYoungWithParents)) {
          host = find_host(head.age + 18, head.age + 45, u);
          if (host >= 0) move_in_with_parents(u, host);
        } else if (pass == 1 && single && head.age >= 60 && rng_.Chance(kElderlyWithChildren)) {
          host = find_host(head.age - 45, head.age - 20, u);
          if (host >= 0) absorb(u, host, Rel::kParent, Rel::kParent, Rel::kOther);
        } else if (pass == 2 && single && rng_.Chance(kSinglesPairing)) {
          host = find_single(head.age, u);
          if (host >= 0) {
            const int other = units_[static_cast<size_t>(host)].head;
            const Rel rel = std::abs(At(other).age - head.age) <= 12 ? Rel::kSibling : Rel::kOther;
            absorb(u, host, rel, rel, Rel::kOther);
          }
        } else if (pass == 3 && single) {
          if (head.age <= 30) {
            host = find_host(head.age + 18, head.age + 45, u);
            if (host >= 0) move_in_with_parents(u, host);
          } else if (head.age >= 60) {
            host = find_host(head.age - 45, head.age - 20, u);
            if (host >= 0) absorb(u, host, Rel::kParent, Rel::kParent, Rel::kOther);
          }
          if (host < 0) {
            host = find_host(head.age - 12, head.age + 12, u);
            if (host >= 0) absorb(u, host, Rel::kSibling, Rel::kSibling, Rel::kOther);
          }
        } else if (pass == 4 && couple_only && head.age >= 55) {
          host = find_host(head.age - 45, head.age - 20, u);
          if (host >= 0) absorb(u, host, Rel::kParent, Rel::kParent, Rel::kOther);
        } else if (pass == 5 && unit.anchor_woman >= 0 && At(unit.anchor_woman).age <= 32 &&
                   !single) {
          host = find_host(head.age + 18, head.age + 45, u);
          if (host >= 0) absorb(u, host, Rel::kChild, Rel::kOther, Rel::kGrandchild);
        }
      }
    }
    // Deceased spouses belong to their survivor's household (as former members).
    for (size_t i = living; i < people_.size(); ++i) {
      Person& dead = people_[i];
      dead.unit = At(dead.spouse).unit;
      dead.rel = Rel::kSpouse;
    }
  }

  // -- names and ids -----------------------------------------------------------------------------

  const GivenName& Given(const Person& person) const { return pack_.given_names[person.given]; }

  size_t DrawGiven(Sex sex, int age) {
    const auto& pool = p_.names[sex == Sex::kMale ? 0 : 1][age < 18 ? 1 : 0];
    return pool.index[pool.choice.Pick(rng_)];
  }

  std::string RandomMaleGiven(int age) {
    return pack_.given_names[DrawGiven(Sex::kMale, age)].name;
  }

  void NameMongolian(Person& person) {
    // Ovog: the father's given name in the genitive; a single mother's child often carries
    // the mother's name instead (ESTIMATE: half of them).
    if (person.father >= 0) {
      person.family_name = p_.genitive[At(person.father).given];
      person.clan = At(person.father).clan;
      return;
    }
    if (person.mother >= 0 && person.age < 18 && rng_.Chance(0.5)) {
      person.family_name = p_.genitive[At(person.mother).given];
      person.clan = At(person.mother).clan;
      return;
    }
    person.family_name = MongolianGenitive(RandomMaleGiven(person.age + 30));
    if (rng_.Chance(p_.clan_share)) person.clan = p_.clans.PickKey(rng_);
  }

  void SetSurnameFromPattern(Person& person, const std::string& pattern,
                             const std::string& father_given) {
    if (pattern == "russian_style") {
      if (!father_given.empty() && person.birth.year >= p_.newborn_from_year) {
        person.surname_male = RussianStyle(father_given, U"ов", U"ев");
        person.surname_female = RussianStyle(father_given, U"ова", U"ева");
      } else {
        const auto& s = pack_.surnames[std::stoul(p_.russian_surnames.PickKey(rng_))];
        person.surname_male = s.male;
        person.surname_female = s.female;
      }
    } else if (pattern == "endingless") {
      if (!father_given.empty()) {
        person.surname_male = person.surname_female = father_given;
      } else {
        const auto& s = pack_.surnames[std::stoul(p_.endingless_surnames.PickKey(rng_))];
        person.surname_male = person.surname_female = s.male;
      }
    } else {
      const std::string base =
          father_given.empty() ? RandomMaleGiven(person.age + 30) : father_given;
      person.surname_male = base + "ұлы";
      person.surname_female = base + "қызы";
    }
  }

  void NameKazakh(Person& person) {
    const Person* father = person.father >= 0 ? &At(person.father) : nullptr;
    const std::string father_given = father != nullptr ? Given(*father).name : std::string();
    if (father != nullptr && person.birth.year < p_.newborn_from_year) {
      person.surname_male = father->surname_male;
      person.surname_female = father->surname_female;
    } else if (father != nullptr) {
      const std::string& pattern = p_.newborn_surname_patterns.PickKey(rng_);
      if (pattern == "russian_style" && !father->surname_male.ends_with("ұлы")) {
        person.surname_male = father->surname_male;
        person.surname_female = father->surname_female;
      } else {
        SetSurnameFromPattern(person, pattern, father_given);
      }
    } else if (person.mother >= 0 && person.age < 18) {
      const Person& mother = At(person.mother);
      person.surname_male = mother.surname_male;
      person.surname_female = mother.surname_female;
      if (person.surname_female.ends_with("қызы")) {
        person.surname_male = person.surname_female.substr(
                                  0, person.surname_female.size() - std::string("қызы").size()) +
                              "ұлы";
      }
    } else {
      const Choice& patterns = person.birth.year >= p_.newborn_from_year
                                   ? p_.newborn_surname_patterns
                                   : p_.adult_surname_patterns;
      SetSurnameFromPattern(person, patterns.PickKey(rng_), std::string());
    }
    person.family_name = person.sex == Sex::kMale ? person.surname_male : person.surname_female;
    if (rng_.Chance(p_.patronymic_share)) {
      const std::string given =
          father_given.empty() ? RandomMaleGiven(person.age + 30) : father_given;
      const bool male = person.sex == Sex::kMale;
      if (rng_.Chance(p_.patronymic_kazakh_share) || person.family_name.ends_with("ұлы") ||
          person.family_name.ends_with("қызы")) {
        person.patronymic = given + (male ? "ұлы" : "қызы");
      } else {
        person.patronymic =
            male ? RussianStyle(given, U"ович", U"евич") : RussianStyle(given, U"овна", U"евна");
      }
    }
  }

  // Wives may take the husband's surname (Kazakh style only).
  void MaybeTakeHusbandsSurname(Person& wife) {
    if (wife.spouse < 0) return;
    const Person& husband = At(wife.spouse);
    if (husband.surname_male.ends_with("ұлы")) return;
    if (!rng_.Chance(p_.wife_takes_surname)) return;
    wife.surname_male = husband.surname_male;
    wife.surname_female = husband.surname_female;
    wife.family_name = wife.surname_female;
  }

  char32_t FirstLetter(const Region& region, int age) {
    const auto& letters = region.register_letters;
    if (!region.subregions.empty() && age >= 16 && rng_.Chance(p_.migrant_letters_share)) {
      const std::string& l = p_.capital_migrant_letters.PickKey(rng_);
      return utf8::ToU32(l).front();
    }
    return utf8::ToU32(letters[rng_.Index(letters.size())]).front();
  }

  // -- records -----------------------------------------------------------------------------------

  struct HouseholdContext {
    uint64_t index = 0;
    std::string hh_id;
    std::string address_id;
    size_t region = 0;
    const Region* region_ptr = nullptr;
    const Region* subregion = nullptr;
    Settlement settlement = Settlement::kRural;
    int subunit = 1;
    std::string dwelling;
    bool owned = false;
    CivilDate formed;
    Placeholders ph;
    std::map<std::string_view, int> counters;
  };

  std::string RecordId(HouseholdContext& hh, std::string_view prefix) {
    std::string id(prefix);
    id.push_back('-');
    AppendPadded(id, hh.index + 1, 10);
    id.push_back('-');
    AppendPadded(id, static_cast<uint64_t>(++hh.counters[prefix]), 2);
    return id;
  }

  void Push(std::vector<SyntheticRecord>& out, std::string_view registry, std::string id,
            std::string body, std::string_view subject, CivilDate valid_from) {
    SyntheticRecord r;
    r.registry = registry;
    r.id = std::move(id);
    r.json = std::move(body);
    r.subject_id = std::string(subject);
    r.valid_from = FormatIsoDate(valid_from);
    out.push_back(std::move(r));
  }

  std::string_view RegionName(const Region& r) const {
    return Localize(r.name, pack_.default_language);
  }

  void EmitHousehold(Unit& unit, uint64_t index, std::vector<SyntheticRecord>& out) {
    HouseholdContext hh;
    hh.index = index;
    hh.hh_id = "HH-";
    AppendPadded(hh.hh_id, index + 1, 10);
    hh.address_id = "AD-";
    AppendPadded(hh.address_id, index + 1, 10);
    hh.region = p_.regions.Pick(rng_);
    hh.region_ptr = &pack_.regions[hh.region];
    const Region& region = *hh.region_ptr;
    if (!p_.subregions[hh.region].empty()) {
      hh.subregion = &region.subregions[p_.subregions[hh.region].Pick(rng_)];
    }
    const bool big_city =
        region.kind == "capital_city" || region.kind == "city_of_republican_significance";
    if (big_city) {
      hh.settlement = Settlement::kCapital;
    } else {
      hh.settlement = rng_.Chance(region.urban_share) ? Settlement::kUrban : Settlement::kRural;
    }
    const int subunits = hh.subregion != nullptr && hh.subregion->subunit_count > 0
                             ? hh.subregion->subunit_count
                         : hh.settlement == Settlement::kRural ? p_.subunits_rural
                                                               : p_.subunits_urban;
    hh.subunit = rng_.Between(1, subunits);
    const auto settlement_index = static_cast<size_t>(hh.settlement);
    hh.dwelling = p_.dwellings[settlement_index].PickKey(rng_);
    hh.owned = rng_.Chance(p_.owned_share);
    hh.ph.region = RegionName(region);
    hh.ph.center = Localize(region.center, pack_.default_language);
    hh.ph.district = hh.subregion != nullptr ? RegionName(*hh.subregion) : std::string_view();
    hh.ph.khoroo = hh.subunit;
    const Person& head = At(unit.head);
    hh.formed = head.marital == Marital::kMarried
                    ? head.marriage_date
                    : RandomDateBetween(AddYears(head.birth, 18), p_.reference);
    if (head.age < 18) hh.formed = head.birth;

    // Names and ids, parents before children.
    std::vector<int> members = unit.members;
    std::stable_sort(members.begin(), members.end(),
                     [&](int a, int b) { return At(a).age > At(b).age; });
    for (const int m : members) At(m).given = DrawGiven(At(m).sex, At(m).age);
    std::vector<int> deceased;
    for (const int m : members) {
      const int sp = At(m).spouse;
      if (sp >= 0 && At(sp).deceased) {
        deceased.push_back(sp);
        At(sp).given = DrawGiven(At(sp).sex, 40);
      }
    }
    auto name = [&](int i) {
      Person& person = At(i);
      if (p_.mongolian) {
        NameMongolian(person);
      } else {
        NameKazakh(person);
      }
    };
    for (const int m : members) {
      if (At(m).father < 0 && At(m).mother < 0) name(m);
    }
    for (const int d : deceased) name(d);
    for (const int m : members) {
      if (At(m).father >= 0 || At(m).mother >= 0) name(m);
    }
    if (!p_.mongolian) {
      for (const int m : members) {
        if (At(m).sex == Sex::kFemale && At(m).marital == Marital::kMarried) {
          MaybeTakeHusbandsSurname(At(m));
        }
      }
    }
    const char32_t second_base =
        kSecondLetters[(hh.region * 7 + static_cast<size_t>(hh.subunit) * 3 +
                        (hh.subregion != nullptr ? 11 : 0)) %
                       kSecondLetters.size()];
    const size_t second_index = kSecondLetters.find(second_base);
    auto allocate = [&](Person& person) {
      if (p_.mongolian) {
        const bool migrant_second = rng_.Chance(0.15);  // issued in another soum/khoroo
        person.id =
            ids_.Mongolian(FirstLetter(region, person.age),
                           migrant_second ? rng_.Index(kSecondLetters.size()) : second_index,
                           person.birth, person.sex);
      } else {
        person.id = ids_.Kazakh(person.birth, person.sex);
      }
    };
    for (const int m : members) allocate(At(m));
    for (const int d : deceased) allocate(At(d));

    EmitAddress(hh, out);
    {
      std::string body;
      JsonOut j(body);
      j.Str("id", hh.hh_id);
      j.Str("head", head.id);
      j.Str("region", region.code);
      if (p_.mongolian && hh.subregion != nullptr) j.Str("district", hh.subregion->code);
      j.Str("address", hh.address_id);
      j.Str("settlement", hh.settlement == Settlement::kRural ? "rural" : "urban");
      j.Str("dwelling", hh.dwelling);
      j.Str("tenure", hh.owned ? "owned" : (rng_.Chance(0.8) ? "rented" : "other"));
      j.Date("formed_date", hh.formed);
      j.End();
      Push(out, "household", hh.hh_id, std::move(body), head.id, hh.formed);
    }
    for (const int m : members) EmitPerson(hh, At(m), out);
    for (const int d : deceased) EmitPerson(hh, At(d), out);
    for (const int m : members) {
      const Person& person = At(m);
      if (person.sex == Sex::kMale && person.marital == Marital::kMarried && person.spouse >= 0) {
        EmitMarriage(hh, person, At(person.spouse), out);
      } else if (person.marital == Marital::kWidowed && person.spouse >= 0) {
        const Person& dead = At(person.spouse);
        EmitMarriage(hh, person.sex == Sex::kMale ? person : dead,
                     person.sex == Sex::kMale ? dead : person, out);
      }
    }
    EmitAssets(hh, unit, members, out);
  }

  void EmitAddress(HouseholdContext& hh, std::vector<SyntheticRecord>& out) {
    const Region& region = *hh.region_ptr;
    std::string locality;
    std::string street;
    Placeholders ph = hh.ph;
    ph.n = rng_.Between(1, 40);
    if (hh.settlement == Settlement::kCapital) {
      locality = Fill(p_.capital_locality, ph);
      street = Fill(p_.capital_streets[rng_.Index(p_.capital_streets.size())], ph);
    } else if (hh.settlement == Settlement::kUrban) {
      locality = std::string(hh.ph.center.empty() ? hh.ph.region : hh.ph.center);
      street = Fill(p_.urban_streets[rng_.Index(p_.urban_streets.size())], ph);
    } else {
      ph.n = rng_.Between(1, 25);
      locality = Fill(p_.rural_locality, ph);
    }
    std::string body;
    JsonOut j(body);
    j.Str("id", hh.address_id);
    j.Str("region", region.code);
    if (p_.mongolian) {
      if (hh.subregion != nullptr) j.Str("district", hh.subregion->code);
      j.Int("khoroo", hh.subunit);
    }
    j.Str("locality", locality);
    j.StrIf("street", street);
    const bool flat = hh.dwelling == "apartment";
    j.Str("building", std::to_string(rng_.Between(1, flat ? 120 : 400)));
    if (flat) j.Str("apartment", std::to_string(rng_.Between(1, 150)));
    j.Str("settlement", hh.settlement == Settlement::kRural ? "rural" : "urban");
    j.End();
    Push(out, "address", hh.address_id, std::move(body), {}, hh.formed);
  }

  std::string Phone() {
    std::string phone = p_.phone_prefix;
    phone += p_.mobile_prefixes[rng_.Index(p_.mobile_prefixes.size())];
    for (int i = 0; i < p_.mobile_digits; ++i)
      phone.push_back(static_cast<char>('0' + rng_.Below(10)));
    return phone;
  }

  void EmitPerson(HouseholdContext& hh, Person& person, std::vector<SyntheticRecord>& out) {
    const Region& region = *hh.region_ptr;
    const std::string_view birth_region = person.age >= 16 && rng_.Chance(0.25)
                                              ? pack_.regions[p_.regions.Pick(rng_)].code
                                              : region.code;
    {
      std::string body;
      JsonOut j(body);
      j.Str("id", person.id);
      j.Str("family_name", person.family_name);
      if (p_.mongolian) j.StrIf("clan_name", person.clan);
      if (!p_.mongolian) j.StrIf("patronymic", person.patronymic);
      j.Str("given_name", Given(person).name);
      j.Str("sex", person.sex == Sex::kMale ? "M" : "F");
      j.Date("birth_date", person.birth);
      j.Str("birth_region", birth_region);
      j.Str("citizenship", p_.citizenship);
      j.Str("marital_status", MaritalName(person.marital));
      j.Str("status", person.deceased ? "deceased" : "alive");
      if (person.deceased) j.Date("death_date", person.death);
      if (!person.deceased) {
        j.Str("household", hh.hh_id);
        j.Str("address", hh.address_id);
      }
      if (!person.deceased && person.age >= 15 && rng_.Chance(p_.phone_share)) {
        j.Str("phone", Phone());
      }
      j.End();
      Push(out, "person", person.id, std::move(body), person.id, person.birth);
    }
    {
      const CivilDate registered = CivilFromDays(DaysFromCivil(person.birth) + rng_.Between(3, 40));
      std::string body;
      JsonOut j(body);
      const std::string id = RecordId(hh, "BR");
      j.Str("id", id);
      j.Str("person", person.id);
      j.Date("birth_date", person.birth);
      j.Str("birth_region", birth_region);
      if (person.mother >= 0) j.Str("mother", At(person.mother).id);
      if (person.father >= 0) j.Str("father", At(person.father).id);
      j.Int("weight_grams",
            static_cast<int64_t>(std::clamp(3300 + 500 * rng_.Normal(), 1000.0, 5500.0)));
      j.Date("registered_date", std::min(registered, p_.reference));
      j.End();
      Push(out, "birth", id, std::move(body), person.id, person.birth);
    }
    {
      std::string body;
      JsonOut j(body);
      const std::string id = RecordId(hh, "HM");
      j.Str("id", id);
      j.Str("household", hh.hh_id);
      j.Str("person", person.id);
      j.Str("relationship", RelName(person.rel));
      const CivilDate from = std::max(hh.formed, person.birth);
      j.Date("from", from);
      if (person.deceased) j.Date("to", std::max(person.death, from));
      j.End();
      Push(out, "household_member", id, std::move(body), person.id, from);
    }
    if (person.deceased) {
      EmitDeath(hh, person, out);
      return;
    }
    EmitHealth(hh, person, out);
    if (person.age <= p_.vaccination_max_age) EmitVaccinations(hh, person, out);
    const bool studying = EmitEducation(hh, person, out);
    const bool disabled = EmitDisability(hh, person, out);
    if (person.age >= 15) EmitEmployment(hh, person, studying, disabled, out);
  }

  void EmitDeath(HouseholdContext& hh, const Person& person, std::vector<SyntheticRecord>& out) {
    std::string body;
    JsonOut j(body);
    const std::string id = RecordId(hh, "DT");
    j.Str("id", id);
    j.Str("person", person.id);
    j.Date("death_date", person.death);
    j.Str("region", hh.region_ptr->code);
    j.Str("cause_code", p_.death_causes.PickKey(rng_));
    j.Date(
        "registered_date",
        std::min(CivilFromDays(DaysFromCivil(person.death) + rng_.Between(1, 20)), p_.reference));
    j.End();
    Push(out, "death", id, std::move(body), person.id, person.death);
  }

  void EmitMarriage(HouseholdContext& hh, const Person& husband, const Person& wife,
                    std::vector<SyntheticRecord>& out) {
    std::string body;
    JsonOut j(body);
    const std::string id = RecordId(hh, "MR");
    j.Str("id", id);
    j.Str("spouse1", husband.id);
    j.Str("spouse2", wife.id);
    j.Date("marriage_date", husband.marriage_date);
    j.Str("region", hh.region_ptr->code);
    j.Str("status", "registered");
    j.End();
    Push(out, "marriage", id, std::move(body), husband.id, husband.marriage_date);
  }

  std::string Clinic(HouseholdContext& hh) {
    Placeholders ph = hh.ph;
    ph.n = rng_.Between(1, 12);
    const std::string& tmpl = hh.settlement == Settlement::kCapital ? p_.clinic_capital
                              : hh.settlement == Settlement::kUrban ? p_.clinic_urban
                                                                    : p_.clinic_rural;
    return Fill(tmpl, ph);
  }

  void EmitHealth(HouseholdContext& hh, const Person& person, std::vector<SyntheticRecord>& out) {
    std::vector<std::string_view> conditions;
    for (const auto& c : p_.conditions) {
      if (rng_.Chance(c.ages.At(person.age))) conditions.push_back(c.code);
    }
    const CivilDate registered =
        RandomDateBetween(std::max(person.birth, AddYears(p_.reference, -10)), p_.reference);
    std::string body;
    JsonOut j(body);
    const std::string id = RecordId(hh, "HE");
    j.Str("id", id);
    j.Str("person", person.id);
    j.Str("blood_type", p_.blood_types.PickKey(rng_));
    j.Str("rh", rng_.Chance(p_.rh_negative) ? "negative" : "positive");
    if (!conditions.empty()) j.StrArray("chronic_conditions", conditions);
    j.Str("clinic", Clinic(hh));
    j.Date("registered_date", registered);
    j.End();
    Push(out, "health", id, std::move(body), person.id, registered);
  }

  void EmitVaccinations(HouseholdContext& hh, const Person& person,
                        std::vector<SyntheticRecord>& out) {
    std::map<std::string_view, bool> given;
    const std::string clinic = Clinic(hh);
    for (const auto& dose : p_.schedule) {
      auto it = given.find(dose.vaccine);
      if (it != given.end() && !it->second) continue;
      const bool gets = rng_.Chance(dose.conditional);
      const CivilDate date = CivilFromDays(DaysFromCivil(person.birth) + dose.age_days +
                                           (dose.age_days > 0 ? rng_.Between(0, 30) : 0));
      if (!gets || date >= p_.reference) {
        given[dose.vaccine] = false;
        continue;
      }
      given[dose.vaccine] = true;
      std::string body;
      JsonOut j(body);
      const std::string id = RecordId(hh, "VC");
      j.Str("id", id);
      j.Str("person", person.id);
      j.Str("vaccine", dose.vaccine);
      j.Int("dose", dose.dose);
      j.Date("date", date);
      j.Str("clinic", clinic);
      j.End();
      Push(out, "vaccination", id, std::move(body), person.id, date);
    }
  }

  void EmitEnrolment(HouseholdContext& hh, const Person& person, std::string_view level,
                     std::string institution, int grade, CivilDate from,
                     std::optional<CivilDate> to, std::vector<SyntheticRecord>& out) {
    std::string body;
    JsonOut j(body);
    const std::string id = RecordId(hh, "ED");
    j.Str("id", id);
    j.Str("person", person.id);
    j.Str("institution", institution);
    j.Str("level", level);
    if (grade > 0) j.Int("grade", grade);
    j.Date("from", from);
    if (to) j.Date("to", *to);
    j.Str("status", to ? "graduated" : "enrolled");
    j.End();
    Push(out, "education", id, std::move(body), person.id, from);
  }

  std::string Institution(HouseholdContext& hh, std::string_view level) {
    Placeholders ph = hh.ph;
    ph.n = rng_.Between(1, hh.settlement == Settlement::kRural ? 3 : 120);
    if (level == "kindergarten") return Fill(p_.kindergarten_name, ph);
    if (level == "school") return Fill(p_.school_name, ph);
    if (level == "vocational") return Fill(p_.vocational_name, ph);
    return p_.universities[rng_.Index(p_.universities.size())];
  }

  // Returns true when the person is a full-time student (school or university).
  bool EmitEducation(HouseholdContext& hh, const Person& person,
                     std::vector<SyntheticRecord>& out) {
    const int school_year = p_.reference.month >= 9 ? p_.reference.year : p_.reference.year - 1;
    for (const auto& level : p_.levels) {
      if (person.age < level.from || person.age > level.to || !rng_.Chance(level.share)) continue;
      int grade = 0;
      int years_in = 0;
      if (level.level == "school") {
        grade = std::clamp(person.age - p_.school_start + 1, 1, p_.school_grades);
        years_in = grade - 1;
      } else if (level.level == "university" || level.level == "vocational") {
        constexpr int kUniversityYears = 5;
        constexpr int kVocationalYears = 3;
        grade = std::clamp(person.age - level.from + 1, 1,
                           level.level == "university" ? kUniversityYears : kVocationalYears);
        years_in = grade - 1;
      } else {
        years_in = std::max(0, person.age - level.from);
      }
      const CivilDate from{school_year - years_in, 9, 1};
      EmitEnrolment(hh, person, level.level, Institution(hh, level.level), grade,
                    std::max(from, person.birth), std::nullopt, out);
      return level.level != "kindergarten";
    }
    if (person.age >= p_.completed_from && person.age <= p_.completed_to) {
      if (rng_.Chance(p_.completed_university)) {
        EmitEnrolment(hh, person, "university", Institution(hh, "university"), 0,
                      CivilDate{person.birth.year + 18, 9, 1},
                      CivilDate{person.birth.year + 22, 6, 30}, out);
      } else if (rng_.Chance(p_.completed_vocational)) {
        EmitEnrolment(hh, person, "vocational", Institution(hh, "vocational"), 0,
                      CivilDate{person.birth.year + 16, 9, 1},
                      CivilDate{person.birth.year + 19, 6, 30}, out);
      }
    }
    return false;
  }

  bool EmitDisability(HouseholdContext& hh, const Person& person,
                      std::vector<SyntheticRecord>& out) {
    if (!rng_.Chance(p_.disability_k * p_.disability_age.At(person.age))) return false;
    const bool child = person.age < 18;
    const std::string group = child ? p_.child_group : p_.adult_groups.PickKey(rng_);
    const bool permanent = group == "full" || group == "I";
    const int span = permanent ? std::min(person.age, 15) : p_.review_years;
    CivilDate assessed = CivilFromDays(
        p_.reference_days - 1 -
        static_cast<int64_t>(rng_.Below(static_cast<uint64_t>(std::max(1, span) * 365))));
    assessed = std::max(assessed, person.birth);
    std::string body;
    JsonOut j(body);
    const std::string id = RecordId(hh, "DS");
    j.Str("id", id);
    j.Str("person", person.id);
    j.Str("group", group);
    if (p_.mongolian && !child) {
      j.Int("capacity_loss_percent", permanent ? rng_.Between(70, 100) : rng_.Between(50, 69));
    }
    j.Str("cause", child ? (rng_.Chance(0.7) ? "congenital" : "illness")
                         : p_.disability_causes.PickKey(rng_));
    j.Date("assessed_date", assessed);
    if (!permanent) j.Date("review_date", AddYears(assessed, p_.review_years));
    j.End();
    Push(out, "disability", id, std::move(body), person.id, assessed);
    return true;
  }

  std::string Employer(HouseholdContext& hh, const std::string& sector) {
    if (sector == "public") {
      Placeholders ph = hh.ph;
      ph.n = rng_.Between(1, 80);
      return Fill(p_.public_employers[rng_.Index(p_.public_employers.size())], ph);
    }
    if (sector == "private") {
      std::string name = p_.private_words[rng_.Index(p_.private_words.size())];
      name += ' ';
      name += p_.private_words[rng_.Index(p_.private_words.size())];
      name += ' ';
      name += p_.private_suffixes[rng_.Index(p_.private_suffixes.size())];
      return name;
    }
    if (sector == p_.farm_sector) return p_.farm_employer;
    return p_.self_employed_employer;
  }

  void EmitEmployment(HouseholdContext& hh, Person& person, bool studying, bool disabled,
                      std::vector<SyntheticRecord>& out) {
    double chance = p_.employment_k * p_.employment_age.At(person.age) *
                    (person.sex == Sex::kFemale ? p_.female_factor : 1.0);
    if (studying) chance *= 0.25;
    if (disabled) chance *= 0.3;  // ~30 % of working-age disabled people work (S_KZ_DISABILITY)
    if (!rng_.Chance(std::min(chance, 0.98))) return;
    const Choice& sectors =
        hh.settlement == Settlement::kRural ? p_.sectors_rural : p_.sectors_urban;
    person.sector = sectors.PickKey(rng_);
    person.formal = rng_.Chance(p_.formal_share.find(person.sector)->second);
    const double mean = (person.sex == Sex::kMale ? p_.wage_mean_male : p_.wage_mean_female) *
                        p_.sector_factor.find(person.sector)->second;
    double wage =
        mean * std::exp(p_.wage_sigma * rng_.Normal() - 0.5 * p_.wage_sigma * p_.wage_sigma);
    if (person.formal) wage = std::max(wage, p_.minimum_wage);
    wage = std::max(std::round(wage / 100) * 100, 100.0);
    person.wage = wage;
    const int max_years = std::min(p_.tenure_max, person.age - 15);
    const double years =
        std::min<double>(max_years, -p_.tenure_mean * std::log(1 - rng_.Uniform()));
    person.job_start =
        std::max(AddYears(person.birth, 15),
                 CivilFromDays(p_.reference_days - 1 - static_cast<int64_t>(years * 365.25)));
    const auto& positions = p_.positions.find(person.sector)->second;
    std::string body;
    JsonOut j(body);
    const std::string id = RecordId(hh, "EM");
    const std::string employer = Employer(hh, person.sector);
    j.Str("id", id);
    j.Str("person", person.id);
    j.Str("employer", employer);
    j.Str("sector", person.sector);
    j.Str("position", positions[rng_.Index(positions.size())]);
    j.Int("monthly_wage", static_cast<int64_t>(wage));
    j.Bool("formal", person.formal);
    j.Date("start", person.job_start);
    j.End();
    Push(out, "employment", id, std::move(body), person.id, person.job_start);
    const bool voluntary = !person.formal && rng_.Chance(p_.voluntary_share);
    if (!person.formal && !voluntary) return;
    for (const int year : p_.insurance_years) {
      const CivilDate year_start{year, 1, 1};
      const CivilDate year_end{year, 12, 31};
      // Only whole past years, and only those the job had started in.
      if (person.job_start > year_end || year_end >= p_.reference) continue;
      const int months = person.job_start < year_start ? 12 : 13 - person.job_start.month;
      const double scale = std::pow(1 + p_.wage_growth, p_.reference.year - 1 - year);
      double base = voluntary ? p_.minimum_wage : wage / scale;
      base = std::min(std::round(base / 100) * 100, p_.insurance_cap);
      std::string si;
      JsonOut s(si);
      const std::string si_id = RecordId(hh, "SI");
      s.Str("id", si_id);
      s.Str("person", person.id);
      s.Str("employer",
            voluntary ? std::string_view(p_.self_employed_employer) : std::string_view(employer));
      s.Int("year", year);
      s.Int("months", months);
      s.Str("insurance_type", voluntary ? "voluntary" : "mandatory");
      s.Int("monthly_wage_base", static_cast<int64_t>(base));
      s.Int("employee_contribution",
            static_cast<int64_t>(std::round(base * p_.employee_rate * months)));
      s.Int("employer_contribution",
            voluntary ? 0 : static_cast<int64_t>(std::round(base * p_.employer_rate * months)));
      s.End();
      Push(out, "social_insurance", si_id, std::move(si), person.id,
           std::max(year_start, person.job_start));
    }
  }

  void EmitAssets(HouseholdContext& hh, const Unit& unit, const std::vector<int>& members,
                  std::vector<SyntheticRecord>& out) {
    const Region& region = *hh.region_ptr;
    const Person& head = At(unit.head);
    if (head.age < 18) return;
    const Person& owner =
        (head.spouse >= 0 && !At(head.spouse).deceased && rng_.Chance(p_.spouse_owner_share))
            ? At(head.spouse)
            : head;
    const CivilDate adult = AddYears(owner.birth, 18);
    if (hh.owned && hh.dwelling != "other") {
      const auto [mean, sd] = p_.area_m2.find(hh.dwelling)->second;
      const double area = std::max(10.0, mean + sd * rng_.Normal());
      const CivilDate acquired = RandomDateBetween(std::max(hh.formed, adult), p_.reference);
      std::string cadastral;
      if (p_.mongolian) {
        cadastral = region.code;
        AppendPadded(cadastral, static_cast<uint64_t>(hh.subunit), 2);
        AppendPadded(cadastral, hh.index % 1000000, 6);
      } else {
        cadastral = region.plate_code + "-";
        AppendPadded(cadastral, rng_.Below(1000), 3);
        cadastral += '-';
        AppendPadded(cadastral, rng_.Below(1000), 3);
        cadastral += '-';
        AppendPadded(cadastral, hh.index % 1000, 3);
      }
      std::string body;
      JsonOut j(body);
      const std::string id = RecordId(hh, "PR");
      j.Str("id", id);
      j.Str("owner", owner.id);
      j.Str("type", hh.dwelling);
      j.Fixed("area_m2", area, 1);
      j.Str("region", region.code);
      j.Str("address", hh.address_id);
      j.Str("cadastral_number", cadastral);
      j.Date("acquired_date", acquired);
      j.End();
      Push(out, "property", id, std::move(body), owner.id, acquired);
    }
    auto land = [&](const char* use, const char* right, double ha) {
      const CivilDate from = RandomDateBetween(std::max(hh.formed, adult), p_.reference);
      std::string body;
      JsonOut j(body);
      const std::string id = RecordId(hh, "LD");
      std::string cadastral = region.code + "-";
      AppendPadded(cadastral, hh.index + 1, 9);
      cadastral += '-';
      AppendPadded(cadastral, static_cast<uint64_t>(hh.counters["LD"]), 2);
      j.Str("id", id);
      j.Str("holder", owner.id);
      j.Str("use", use);
      j.Str("right", right);
      j.Fixed("area_ha", std::max(ha, 0.01), 3);
      j.Str("region", region.code);
      j.Str("cadastral_number", cadastral);
      j.Date("from", from);
      j.End();
      Push(out, "land", id, std::move(body), owner.id, from);
    };
    const auto settlement_index = static_cast<size_t>(hh.settlement);
    if ((hh.dwelling == "house" || hh.dwelling == "ger") && rng_.Chance(p_.residential_share)) {
      land("residential", "ownership", p_.residential_ha[settlement_index]);
    }
    bool farming = false;
    for (const int m : members) farming = farming || At(m).sector == p_.farm_sector;
    if (farming && rng_.Chance(p_.pasture_share)) {
      land("pasture", p_.mongolian ? "possession" : "use",
           p_.pasture_ha.first + p_.pasture_ha.second * rng_.Normal());
    }
    if (hh.settlement == Settlement::kRural && rng_.Chance(p_.agricultural_share)) {
      land("agricultural", p_.mongolian ? "possession" : (rng_.Chance(0.5) ? "use" : "ownership"),
           p_.agricultural_ha.first + p_.agricultural_ha.second * std::fabs(rng_.Normal()));
    }
    // Vehicles: about the region's rate per person, a few percent being company cars (ESTIMATE).
    constexpr double kPrivateShare = 0.85;
    const double mean =
        static_cast<double>(members.size()) * region.vehicles_per_1000 / 1000.0 * kPrivateShare;
    const int count = std::min(rng_.Poisson(mean), p_.max_vehicles);
    std::vector<int> adults;
    for (const int m : members) {
      if (At(m).age >= 18) adults.push_back(m);
    }
    const int rural = hh.settlement == Settlement::kRural ? 1 : 0;
    for (int v = 0; v < count && !adults.empty(); ++v) {
      const Person& holder =
          v == 0 && rng_.Chance(0.7) ? head : At(adults[rng_.Index(adults.size())]);
      const auto& make = p_.makes[rural][p_.make_choice[rural].Pick(rng_)];
      const int year = p_.reference.year - 1 - static_cast<int>(p_.vehicle_age.Sample(rng_));
      const CivilDate earliest = std::max(CivilDate{year + 1, 1, 1}, AddYears(holder.birth, 18));
      const CivilDate registered =
          RandomDateBetween(std::min(earliest, p_.reference), p_.reference);
      std::string plate;
      if (p_.mongolian) {
        AppendPadded(plate, rng_.Below(10000), 4);
        plate += ' ';
        plate += region.plate_code;
        utf8::Append(plate, kSecondLetters[rng_.Index(kSecondLetters.size())]);
      } else {
        AppendPadded(plate, rng_.Below(1000), 3);
        plate += ' ';
        for (int k = 0; k < 3; ++k) plate.push_back(static_cast<char>('A' + rng_.Below(26)));
        plate += ' ';
        plate += region.plate_code;
      }
      std::string body;
      JsonOut j(body);
      const std::string id = RecordId(hh, "VH");
      j.Str("id", id);
      j.Str("owner", holder.id);
      j.Str("plate_number", plate);
      j.Str("make", make.make);
      j.Str("model", make.model);
      j.Int("year", year);
      j.Str("category", make.category);
      j.Date("registered_date", registered);
      j.End();
      Push(out, "vehicle", id, std::move(body), holder.id, registered);
    }
  }

  const Pack& pack_;
  const Profile& p_;
  Rng rng_;
  IdAllocator& ids_;
  std::vector<Person> people_;
  std::array<std::vector<int>, kMaxAge> women_;
  std::array<std::vector<int>, kMaxAge> men_;
  std::vector<Unit> units_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string MongolianGenitive(std::string_view name) {
  std::u32string w = utf8::ToU32(name);
  if (w.empty()) return std::string(name);
  // Vowel class of the last component: the last back (а о у я ё ю) or front (э ө ү е) vowel;
  // и alone counts as front.
  const size_t hyphen = w.rfind(U'-');
  const size_t start = hyphen == std::u32string::npos ? 0 : hyphen + 1;
  bool back = false;
  for (size_t i = w.size(); i > start; --i) {
    const char32_t c = Lower(w[i - 1]);
    if (c == U'а' || c == U'о' || c == U'у' || c == U'я' || c == U'ё' || c == U'ю') {
      back = true;
      break;
    }
    if (c == U'э' || c == U'ө' || c == U'ү' || c == U'е') break;
  }
  const char32_t last = Lower(w.back());
  const char32_t before = w.size() >= 2 ? Lower(w[w.size() - 2]) : U'\0';
  const std::u32string_view kDiphthongFirst = U"аоэяёеиуү";
  if (last == U'й' && kDiphthongFirst.find(before) != std::u32string_view::npos) {
    return utf8::FromU32(w + U"н");
  }
  static constexpr std::u32string_view kLongPairs[] = {U"аа", U"оо", U"уу", U"ээ", U"өө", U"үү",
                                                       U"иа", U"иу", U"яа", U"ёо", U"еэ", U"юу"};
  const std::u32string tail = {before, last};
  for (const auto pair : kLongPairs) {
    if (tail == pair) return utf8::FromU32(w + U"гийн");
  }
  if (last == U'н') return utf8::FromU32(w + (back ? U"ы" : U"ий"));
  if (last == U'ь' || last == U'и') {
    w.pop_back();
    return utf8::FromU32(w + U"ийн");
  }
  static constexpr std::u32string_view kAlwaysIin = U"гжчшщк";
  if (kAlwaysIin.find(last) != std::u32string_view::npos) return utf8::FromU32(w + U"ийн");
  if (IsVowel(last)) w.pop_back();
  return utf8::FromU32(w + (back ? U"ын" : U"ийн"));
}

SyntheticCountry::SyntheticCountry(const Pack& pack, uint64_t seed,
                                   std::unique_ptr<const Profile> profile)
    : pack_(&pack), seed_(seed), profile_(std::move(profile)) {}

SyntheticCountry::~SyntheticCountry() = default;
SyntheticCountry::SyntheticCountry(SyntheticCountry&&) noexcept = default;
SyntheticCountry& SyntheticCountry::operator=(SyntheticCountry&&) noexcept = default;

Result<SyntheticCountry> SyntheticCountry::Create(const Pack& pack, uint64_t seed) {
  for (const char* registry :
       {"person", "household", "household_member", "address", "birth", "marriage", "death",
        "social_insurance", "health", "vaccination", "education", "employment", "disability",
        "property", "land", "vehicle"}) {
    if (pack.FindRegistry(registry) == nullptr) {
      return Error::InvalidArgument("the synthetic population needs registry '" +
                                    std::string(registry) + "', which pack '" + pack.code +
                                    "' does not have");
    }
  }
  auto profile = std::make_unique<Profile>();
  ULUS_TRY(ParseProfile(pack, *profile));
  return SyntheticCountry(pack, seed, std::move(profile));
}

void SyntheticCountry::Generate(size_t people,
                                const std::function<void(std::vector<SyntheticRecord>&&)>& sink,
                                const std::function<void(size_t done)>& progress) const {
  IdAllocator ids(pack_->id_rule);
  uint64_t next_household = 0;
  size_t done = 0;
  for (uint64_t block = 0; done < people; ++block) {
    const size_t n = std::min(kBlockPeople, people - done);
    BlockBuilder builder(*pack_, *profile_, seed_, block, ids);
    sink(builder.Build(n, next_household));
    done += n;
    if (progress) progress(done);
  }
}

}  // namespace ulus::registry
