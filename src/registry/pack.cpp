#include "ulus/registry/pack.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

namespace ulus::registry {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Names one pack file in errors: "mn/regions.yaml".
class FileContext {
 public:
  FileContext(const fs::path& dir, std::string relative)
      : display_((dir.filename().empty() ? dir.parent_path().filename() : dir.filename()).string() +
                 "/" + relative),
        path_(dir / relative) {}

  [[nodiscard]] const fs::path& path() const { return path_; }
  [[nodiscard]] const std::string& display() const { return display_; }

  [[nodiscard]] Error Fail(const std::string& key, const std::string& what) const {
    if (key.empty()) return Error::InvalidArgument(display_ + ": " + what);
    return Error::InvalidArgument(display_ + ": '" + key + "' " + what, key);
  }

  [[nodiscard]] Result<std::string> String(const json& obj, const std::string& key,
                                           const std::string& path, bool required = true) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
      if (!required) return std::string();
      return Fail(Join(path, key), "is required");
    }
    if (!it->is_string()) return Fail(Join(path, key), "must be a string");
    return it->get<std::string>();
  }

  [[nodiscard]] Result<double> Number(const json& obj, const std::string& key,
                                      const std::string& path,
                                      std::optional<double> fallback) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
      if (fallback) return *fallback;
      return Fail(Join(path, key), "is required");
    }
    if (!it->is_number()) return Fail(Join(path, key), "must be a number");
    return it->get<double>();
  }

  [[nodiscard]] Result<LocalizedText> Text(const json& obj, const std::string& key,
                                           const std::string& path, bool required = true) const {
    LocalizedText text;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
      if (!required) return text;
      return Fail(Join(path, key), "is required: a map of language to text");
    }
    if (it->is_string()) {
      text["en"] = it->get<std::string>();
      return text;
    }
    if (!it->is_object()) return Fail(Join(path, key), "must be a map of language to text");
    for (const auto& [lang, value] : it->items()) {
      if (!value.is_string()) return Fail(Join(path, key) + "." + lang, "must be a string");
      text[lang] = value.get<std::string>();
    }
    return text;
  }

  [[nodiscard]] Result<std::vector<std::string>> Strings(const json& obj, const std::string& key,
                                                         const std::string& path) const {
    std::vector<std::string> out;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return out;
    if (it->is_string()) {
      out.push_back(it->get<std::string>());
      return out;
    }
    if (!it->is_array()) return Fail(Join(path, key), "must be a list of strings");
    for (const auto& v : *it) {
      if (!v.is_string()) return Fail(Join(path, key), "must be a list of strings");
      out.push_back(v.get<std::string>());
    }
    return out;
  }

  static std::string Join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

 private:
  std::string display_;
  fs::path path_;
};

std::string Index(const std::string& key, size_t i) {
  return key + "[" + std::to_string(i) + "]";
}

// YAML scalars carry no type; quoted ones are strings, plain ones are read as null, booleans,
// integers or floats when they spell one, and as strings otherwise (dates stay strings).
json ScalarToJson(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;
  if (s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (!s.empty()) {
    int64_t i = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
    if (ec == std::errc() && p == s.data() + s.size()) return i;
    double d = 0;
    auto [pd, ecd] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ecd == std::errc() && pd == s.data() + s.size() &&
        s.find_first_of("0123456789") != std::string::npos && s.find_first_of("eE") == s.npos) {
      return d;
    }
  }
  return s;
}

json YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Scalar: return ScalarToJson(node);
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(YamlToJson(item));
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = YamlToJson(kv.second);
      return out;
    }
  }
  return nullptr;
}

Result<json> ReadYaml(const FileContext& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file.path(), ec)) return file.Fail("", "file not found");
  try {
    const YAML::Node root = YAML::LoadFile(file.path().string());
    json out = YamlToJson(root);
    if (!out.is_object()) return file.Fail("", "must be a YAML map at the top level");
    return out;
  } catch (const YAML::Exception& e) {
    return file.Fail("",
                     "is not valid YAML: line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

// A CSV file with a header row; quoted fields may hold commas, quotes ("") and newlines.
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  [[nodiscard]] int Column(std::string_view name) const {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return static_cast<int>(i);
    }
    return -1;
  }
};

Result<CsvTable> ReadCsv(const FileContext& file) {
  std::ifstream in(file.path(), std::ios::binary);
  if (!in) return file.Fail("", "file not found");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;
  bool any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field.push_back(c);
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (any || !field.empty()) {
        record.push_back(std::move(field));
        records.push_back(std::move(record));
      }
      record.clear();
      field.clear();
      any = false;
    } else {
      field.push_back(c);
      any = true;
    }
  }
  if (quoted) return file.Fail("", "has an unterminated quoted field");
  if (any || !field.empty()) {
    record.push_back(std::move(field));
    records.push_back(std::move(record));
  }
  if (records.empty()) return file.Fail("", "is empty; it needs a header row");
  CsvTable table;
  table.header = std::move(records.front());
  for (size_t r = 1; r < records.size(); ++r) {
    if (records[r].size() != table.header.size()) {
      return file.Fail("row " + std::to_string(r + 1), "has " + std::to_string(records[r].size()) +
                                                           " fields; the header has " +
                                                           std::to_string(table.header.size()));
    }
    table.rows.push_back(std::move(records[r]));
  }
  return table;
}

Result<int> RequireColumn(const FileContext& file, const CsvTable& table, std::string_view name) {
  const int c = table.Column(name);
  if (c < 0) return file.Fail(std::string(name), "column is missing");
  return c;
}

std::string Cell(const std::vector<std::string>& row, int column) {
  return column < 0 ? std::string() : row[static_cast<size_t>(column)];
}

Result<double> ParseDouble(const FileContext& file, const std::string& key, const std::string& s) {
  double d = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || p != s.data() + s.size()) {
    return file.Fail(key, "must be a number; got '" + s + "'");
  }
  return d;
}

// ---------------------------------------------------------------------------------------------

Status LoadManifest(const fs::path& dir, const LoadOptions& options, Pack& pack) {
  const FileContext file(dir, "pack.yaml");
  ULUS_ASSIGN_OR_RETURN(const json doc, ReadYaml(file));
  ULUS_ASSIGN_OR_RETURN(pack.code, file.String(doc, "code", ""));
  ULUS_ASSIGN_OR_RETURN(pack.name, file.Text(doc, "name", ""));
  ULUS_ASSIGN_OR_RETURN(pack.languages, file.Strings(doc, "languages", ""));
  if (pack.languages.empty()) return file.Fail("languages", "must list at least one language");
  ULUS_ASSIGN_OR_RETURN(pack.default_language, file.String(doc, "default_language", ""));
  if (std::find(pack.languages.begin(), pack.languages.end(), pack.default_language) ==
      pack.languages.end()) {
    return file.Fail("default_language", "must be one of 'languages'");
  }
  ULUS_ASSIGN_OR_RETURN(pack.currency, file.String(doc, "currency", ""));
  ULUS_ASSIGN_OR_RETURN(pack.xroad_instance, file.String(doc, "xroad_instance", ""));
  ULUS_ASSIGN_OR_RETURN(const std::string offset, file.String(doc, "utc_offset", "", false));
  if (!offset.empty()) {
    int hours = 0;
    int minutes = 0;
    char sign = 0;
    char end = 0;
    if (offset.size() != 6 ||
        std::sscanf(offset.c_str(), "%c%2d:%2d%c", &sign, &hours, &minutes, &end) != 3 ||
        (sign != '+' && sign != '-') || hours > 14 || minutes > 59) {
      return file.Fail("utc_offset", "must be like \"+08:00\"");
    }
    pack.utc_offset = std::chrono::minutes((sign == '-' ? -1 : 1) * (hours * 60 + minutes));
  }
  ULUS_ASSIGN_OR_RETURN(const std::string id_format, file.String(doc, "id_format", ""));
  const auto format = ParseIdFormat(id_format);
  if (!format) {
    return file.Fail("id_format",
                     "'" + id_format + "' is unknown (known: mn_register_number, kz_iin)");
  }
  pack.id_rule.format = *format;
  pack.id_rule.mn_check_code = options.mn_check_code;
  ULUS_ASSIGN_OR_RETURN(pack.naming_style, file.String(doc, "naming_style", ""));
  if (pack.naming_style != "mongolian" && pack.naming_style != "kazakh") {
    return file.Fail("naming_style", "must be mongolian or kazakh");
  }
  auto agencies = doc.find("agencies");
  if (agencies == doc.end() || !agencies->is_array() || agencies->empty()) {
    return file.Fail("agencies", "is required: a list of agencies");
  }
  std::set<std::string> codes;
  for (size_t i = 0; i < agencies->size(); ++i) {
    const json& a = (*agencies)[i];
    const std::string path = Index("agencies", i);
    if (!a.is_object()) return file.Fail(path, "must be a map");
    Agency agency;
    ULUS_ASSIGN_OR_RETURN(agency.code, file.String(a, "code", path));
    if (!codes.insert(agency.code).second) {
      return file.Fail(path + ".code", "'" + agency.code + "' is used twice");
    }
    ULUS_ASSIGN_OR_RETURN(agency.name, file.Text(a, "name", path));
    ULUS_ASSIGN_OR_RETURN(agency.abbreviation, file.Text(a, "abbreviation", path, false));
    ULUS_ASSIGN_OR_RETURN(agency.member_class, file.String(a, "member_class", path));
    ULUS_ASSIGN_OR_RETURN(agency.member_code, file.String(a, "member_code", path));
    ULUS_ASSIGN_OR_RETURN(agency.subsystem, file.String(a, "subsystem", path));
    pack.agencies.push_back(std::move(agency));
  }
  return Ok();
}

Result<Region> ParseRegion(const FileContext& file, const json& r, const std::string& path) {
  if (!r.is_object()) return file.Fail(path, "must be a map");
  Region region;
  ULUS_ASSIGN_OR_RETURN(region.code, file.String(r, "code", path));
  ULUS_ASSIGN_OR_RETURN(region.kind, file.String(r, "kind", path));
  ULUS_ASSIGN_OR_RETURN(region.name, file.Text(r, "name", path));
  ULUS_ASSIGN_OR_RETURN(region.center, file.Text(r, "center", path, false));
  ULUS_ASSIGN_OR_RETURN(const double population, file.Number(r, "population", path, {}));
  if (population <= 0) return file.Fail(path + ".population", "must be a positive number");
  region.population = static_cast<int64_t>(population);
  ULUS_ASSIGN_OR_RETURN(region.population_basis, file.String(r, "population_basis", path, false));
  ULUS_ASSIGN_OR_RETURN(region.source_ids, file.Strings(r, "source_ids", path));
  ULUS_ASSIGN_OR_RETURN(region.register_letters, file.Strings(r, "register_letters", path));
  for (const auto& letter : region.register_letters) {
    char32_t cp = 0;
    // A register letter is one Mongolian Cyrillic capital (2 UTF-8 bytes).
    if (letter.size() == 2) {
      cp = static_cast<char32_t>(((static_cast<unsigned char>(letter[0]) & 0x1F) << 6) |
                                 (static_cast<unsigned char>(letter[1]) & 0x3F));
    }
    if (!IsMnRegisterLetter(cp)) {
      return file.Fail(path + ".register_letters",
                       "'" + letter + "' is not a Mongolian Cyrillic capital letter");
    }
  }
  ULUS_ASSIGN_OR_RETURN(region.plate_code, file.String(r, "plate_code", path, false));
  ULUS_ASSIGN_OR_RETURN(region.urban_share, file.Number(r, "urban_share", path, 0.0));
  if (region.urban_share < 0 || region.urban_share > 1) {
    return file.Fail(path + ".urban_share", "must be between 0 and 1");
  }
  ULUS_ASSIGN_OR_RETURN(region.vehicles_per_1000, file.Number(r, "vehicles_per_1000", path, 0.0));
  ULUS_ASSIGN_OR_RETURN(const double subunits, file.Number(r, "subunit_count", path, 0.0));
  region.subunit_count = static_cast<int>(subunits);
  if (auto it = r.find("subregions"); it != r.end() && !it->is_null()) {
    if (!it->is_array()) return file.Fail(path + ".subregions", "must be a list");
    int64_t total = 0;
    for (size_t i = 0; i < it->size(); ++i) {
      ULUS_ASSIGN_OR_RETURN(auto sub, ParseRegion(file, (*it)[i], Index(path + ".subregions", i)));
      total += sub.population;
      region.subregions.push_back(std::move(sub));
    }
    for (auto& sub : region.subregions) {
      sub.weight = static_cast<double>(sub.population) / static_cast<double>(total);
    }
  }
  return region;
}

Status LoadRegions(const fs::path& dir, Pack& pack) {
  const FileContext file(dir, "regions.yaml");
  ULUS_ASSIGN_OR_RETURN(const json doc, ReadYaml(file));
  auto regions = doc.find("regions");
  if (regions == doc.end() || !regions->is_array() || regions->empty()) {
    return file.Fail("regions", "is required: a list of regions");
  }
  int64_t total = 0;
  std::set<std::string> codes;
  for (size_t i = 0; i < regions->size(); ++i) {
    ULUS_ASSIGN_OR_RETURN(auto region, ParseRegion(file, (*regions)[i], Index("regions", i)));
    if (!codes.insert(region.code).second) {
      return file.Fail(Index("regions", i) + ".code", "'" + region.code + "' is used twice");
    }
    for (const auto& sub : region.subregions) {
      if (!codes.insert(sub.code).second) {
        return file.Fail(Index("regions", i) + ".subregions",
                         "code '" + sub.code + "' is used twice");
      }
    }
    if (pack.id_rule.format == IdFormat::kMnRegisterNumber && region.register_letters.empty()) {
      return file.Fail(Index("regions", i) + ".register_letters",
                       "is required for packs whose id_format is mn_register_number");
    }
    total += region.population;
    pack.regions.push_back(std::move(region));
  }
  for (auto& region : pack.regions) {
    region.weight = static_cast<double>(region.population) / static_cast<double>(total);
  }
  return Ok();
}

Status LoadAccess(const fs::path& dir, Pack& pack) {
  const FileContext file(dir, "access.yaml");
  ULUS_ASSIGN_OR_RETURN(const json doc, ReadYaml(file));
  auto rules = doc.find("rules");
  if (rules == doc.end() || !rules->is_array()) {
    return file.Fail("rules", "is required: a list of {client, read, write}");
  }
  for (size_t i = 0; i < rules->size(); ++i) {
    const json& r = (*rules)[i];
    const std::string path = Index("rules", i);
    if (!r.is_object()) return file.Fail(path, "must be a map");
    AccessRule rule;
    ULUS_ASSIGN_OR_RETURN(rule.client, file.String(r, "client", path));
    if (!IsClientId(rule.client)) {
      return file.Fail(path + ".client", "'" + rule.client +
                                             "' is not an X-Road client id "
                                             "INSTANCE/CLASS/MEMBER/SUBSYSTEM");
    }
    if (!rule.client.starts_with(pack.xroad_instance + "/")) {
      return file.Fail(path + ".client",
                       "'" + rule.client + "' is not in instance '" + pack.xroad_instance + "'");
    }
    ULUS_ASSIGN_OR_RETURN(rule.read, file.Strings(r, "read", path));
    ULUS_ASSIGN_OR_RETURN(rule.write, file.Strings(r, "write", path));
    for (const auto* list : {&rule.read, &rule.write}) {
      for (const auto& name : *list) {
        if (name != "*" && pack.FindRegistry(name) == nullptr) {
          return file.Fail(path + (list == &rule.read ? ".read" : ".write"),
                           "names registry '" + name + "', which the pack does not have");
        }
      }
    }
    pack.access.push_back(std::move(rule));
  }
  return Ok();
}

Status LoadCalendar(const fs::path& dir, Pack& pack) {
  const FileContext file(dir, "calendar.yaml");
  ULUS_ASSIGN_OR_RETURN(json doc, ReadYaml(file));
  auto weekend = doc.find("weekend_days");
  if (weekend == doc.end() || !weekend->is_array()) {
    return file.Fail("weekend_days", "is required: ISO weekdays, e.g. [6, 7]");
  }
  for (const auto& d : *weekend) {
    if (!d.is_number_integer() || d.get<int>() < 1 || d.get<int>() > 7) {
      return file.Fail("weekend_days", "must list ISO weekdays 1-7");
    }
    pack.calendar.weekend_days.push_back(d.get<int>());
  }
  ULUS_ASSIGN_OR_RETURN(pack.calendar.holiday_on_weekend,
                        file.String(doc, "holiday_on_weekend", ""));
  if (pack.calendar.holiday_on_weekend != "next_working_day" &&
      pack.calendar.holiday_on_weekend != "none") {
    return file.Fail("holiday_on_weekend", "must be next_working_day or none");
  }
  pack.calendar.rules = std::move(doc);

  const FileContext csv_file(dir, "holidays.csv");
  ULUS_ASSIGN_OR_RETURN(const CsvTable table, ReadCsv(csv_file));
  ULUS_ASSIGN_OR_RETURN(const int date_col, RequireColumn(csv_file, table, "date"));
  ULUS_ASSIGN_OR_RETURN(const int local_col, RequireColumn(csv_file, table, "name_local"));
  ULUS_ASSIGN_OR_RETURN(const int en_col, RequireColumn(csv_file, table, "name_en"));
  ULUS_ASSIGN_OR_RETURN(const int kind_col, RequireColumn(csv_file, table, "kind"));
  ULUS_ASSIGN_OR_RETURN(const int source_col, RequireColumn(csv_file, table, "source_ids"));
  const int status_col = table.Column("status");
  const int note_col = table.Column("note");
  for (size_t i = 0; i < table.rows.size(); ++i) {
    const auto& row = table.rows[i];
    const auto date = ParseIsoDate(Cell(row, date_col));
    if (!date) {
      return csv_file.Fail("row " + std::to_string(i + 2) + ".date",
                           "'" + Cell(row, date_col) + "' is not a date YYYY-MM-DD");
    }
    pack.calendar.holidays.push_back(Holiday{*date, Cell(row, local_col), Cell(row, en_col),
                                             Cell(row, kind_col), Cell(row, status_col),
                                             Cell(row, note_col), Cell(row, source_col)});
  }
  return Ok();
}

Result<Sex> ParseSex(const FileContext& file, const std::string& key, const std::string& s) {
  if (s == "M") return Sex::kMale;
  if (s == "F") return Sex::kFemale;
  return file.Fail(key, "must be M or F; got '" + s + "'");
}

Status LoadNames(const fs::path& dir, Pack& pack) {
  {
    const FileContext file(dir, "names/given.csv");
    ULUS_ASSIGN_OR_RETURN(const CsvTable t, ReadCsv(file));
    ULUS_ASSIGN_OR_RETURN(const int sex_col, RequireColumn(file, t, "sex"));
    ULUS_ASSIGN_OR_RETURN(const int name_col, RequireColumn(file, t, "name"));
    ULUS_ASSIGN_OR_RETURN(const int latin_col, RequireColumn(file, t, "latin"));
    ULUS_ASSIGN_OR_RETURN(const int group_col, RequireColumn(file, t, "generator_age_group"));
    ULUS_ASSIGN_OR_RETURN(const int weight_col, RequireColumn(file, t, "generator_weight"));
    ULUS_ASSIGN_OR_RETURN(const int source_col, RequireColumn(file, t, "source_ids"));
    for (size_t i = 0; i < t.rows.size(); ++i) {
      const auto& row = t.rows[i];
      const std::string at = "row " + std::to_string(i + 2);
      GivenName n;
      ULUS_ASSIGN_OR_RETURN(n.sex, ParseSex(file, at + ".sex", Cell(row, sex_col)));
      n.name = Cell(row, name_col);
      n.latin = Cell(row, latin_col);
      n.age_group = Cell(row, group_col);
      if (n.age_group != "adult" && n.age_group != "child" && n.age_group != "any") {
        return file.Fail(at + ".generator_age_group", "must be adult, child or any");
      }
      ULUS_ASSIGN_OR_RETURN(n.weight,
                            ParseDouble(file, at + ".generator_weight", Cell(row, weight_col)));
      if (n.name.empty() || n.weight <= 0) {
        return file.Fail(at, "needs a name and a positive generator_weight");
      }
      n.source_ids = Cell(row, source_col);
      pack.given_names.push_back(std::move(n));
    }
  }
  if (pack.naming_style == "kazakh") {
    const FileContext file(dir, "names/surnames.csv");
    ULUS_ASSIGN_OR_RETURN(const CsvTable t, ReadCsv(file));
    ULUS_ASSIGN_OR_RETURN(const int male_col, RequireColumn(file, t, "surname_male"));
    ULUS_ASSIGN_OR_RETURN(const int female_col, RequireColumn(file, t, "surname_female"));
    ULUS_ASSIGN_OR_RETURN(const int latin_col, RequireColumn(file, t, "latin_male"));
    ULUS_ASSIGN_OR_RETURN(const int pattern_col, RequireColumn(file, t, "pattern"));
    ULUS_ASSIGN_OR_RETURN(const int weight_col, RequireColumn(file, t, "generator_weight"));
    ULUS_ASSIGN_OR_RETURN(const int source_col, RequireColumn(file, t, "source_ids"));
    for (size_t i = 0; i < t.rows.size(); ++i) {
      const auto& row = t.rows[i];
      const std::string at = "row " + std::to_string(i + 2);
      Surname s;
      s.male = Cell(row, male_col);
      s.female = Cell(row, female_col);
      s.latin = Cell(row, latin_col);
      s.pattern = Cell(row, pattern_col);
      ULUS_ASSIGN_OR_RETURN(s.weight,
                            ParseDouble(file, at + ".generator_weight", Cell(row, weight_col)));
      s.source_ids = Cell(row, source_col);
      pack.surnames.push_back(std::move(s));
    }
  }
  if (pack.naming_style == "mongolian") {
    const FileContext file(dir, "names/clans.csv");
    ULUS_ASSIGN_OR_RETURN(const CsvTable t, ReadCsv(file));
    ULUS_ASSIGN_OR_RETURN(const int name_col, RequireColumn(file, t, "name"));
    ULUS_ASSIGN_OR_RETURN(const int latin_col, RequireColumn(file, t, "latin"));
    ULUS_ASSIGN_OR_RETURN(const int weight_col, RequireColumn(file, t, "generator_weight"));
    ULUS_ASSIGN_OR_RETURN(const int source_col, RequireColumn(file, t, "source_ids"));
    for (size_t i = 0; i < t.rows.size(); ++i) {
      const auto& row = t.rows[i];
      ClanName c;
      c.name = Cell(row, name_col);
      c.latin = Cell(row, latin_col);
      ULUS_ASSIGN_OR_RETURN(c.weight,
                            ParseDouble(file, "row " + std::to_string(i + 2) + ".generator_weight",
                                        Cell(row, weight_col)));
      c.source_ids = Cell(row, source_col);
      pack.clan_names.push_back(std::move(c));
    }
  }
  const bool has_male = std::any_of(pack.given_names.begin(), pack.given_names.end(),
                                    [](const GivenName& n) { return n.sex == Sex::kMale; });
  const bool has_female = std::any_of(pack.given_names.begin(), pack.given_names.end(),
                                      [](const GivenName& n) { return n.sex == Sex::kFemale; });
  if (!has_male || !has_female) {
    return FileContext(dir, "names/given.csv").Fail("", "needs male and female names");
  }
  return Ok();
}

Status LoadPopulation(const fs::path& dir, Pack& pack) {
  const FileContext file(dir, "population.csv");
  ULUS_ASSIGN_OR_RETURN(const CsvTable t, ReadCsv(file));
  ULUS_ASSIGN_OR_RETURN(const int band_col, RequireColumn(file, t, "age_band"));
  ULUS_ASSIGN_OR_RETURN(const int male_col, RequireColumn(file, t, "male"));
  ULUS_ASSIGN_OR_RETURN(const int female_col, RequireColumn(file, t, "female"));
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const auto& row = t.rows[i];
    const std::string at = "row " + std::to_string(i + 2);
    const std::string band = Cell(row, band_col);
    AgeSexBand b;
    const size_t dash = band.find('-');
    const std::string from = band.substr(0, dash == band.npos ? band.find('+') : dash);
    ULUS_ASSIGN_OR_RETURN(const double from_age, ParseDouble(file, at + ".age_band", from));
    b.from_age = static_cast<int>(from_age);
    if (dash != band.npos) {
      ULUS_ASSIGN_OR_RETURN(const double to_age,
                            ParseDouble(file, at + ".age_band", band.substr(dash + 1)));
      b.to_age = static_cast<int>(to_age);
    } else {
      b.to_age = b.from_age + 4;  // "100+": assume nobody is older than 104
    }
    ULUS_ASSIGN_OR_RETURN(b.male, ParseDouble(file, at + ".male", Cell(row, male_col)));
    ULUS_ASSIGN_OR_RETURN(b.female, ParseDouble(file, at + ".female", Cell(row, female_col)));
    if (b.to_age < b.from_age || b.male < 0 || b.female < 0) {
      return file.Fail(at, "is not a valid age band with non-negative counts");
    }
    pack.population.push_back(b);
  }
  if (pack.population.empty()) return file.Fail("", "has no age bands");
  return Ok();
}

Status LoadRegistries(const fs::path& dir, Pack& pack) {
  const fs::path reg_dir = dir / "registries";
  std::error_code ec;
  if (!fs::is_directory(reg_dir, ec)) {
    return FileContext(dir, "registries").Fail("", "directory not found");
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(reg_dir, ec)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    const FileContext file(dir, "registries/" + path.filename().string());
    ULUS_ASSIGN_OR_RETURN(const json doc, ReadYaml(file));
    auto parsed = ParseRegistrySchema(doc);
    if (!parsed.ok()) {
      const Error& e = parsed.error();
      return Error::InvalidArgument(file.display() + ": " + e.message, e.field);
    }
    RegistrySchema schema = std::move(parsed).value();
    if (schema.name != path.stem().string()) {
      return file.Fail("name", "is '" + schema.name + "' but the file is named '" +
                                   path.filename().string() + "'");
    }
    if (pack.FindAgency(schema.agency) == nullptr) {
      return file.Fail("agency", "'" + schema.agency + "' is not an agency of pack.yaml");
    }
    pack.registries.push_back(std::move(schema));
  }
  if (pack.registries.empty()) {
    return FileContext(dir, "registries").Fail("", "has no registry files");
  }
  // References are checked once every registry is known.
  for (const auto& schema : pack.registries) {
    for (const auto& f : schema.fields) {
      const FieldSchema& target = f.type == FieldType::kArray ? f.items.front() : f;
      if (!target.ref.empty() && pack.FindRegistry(target.ref) == nullptr) {
        return FileContext(dir, "registries/" + schema.name + ".yaml")
            .Fail("schema.properties." + f.name + ".x-ref",
                  "names registry '" + target.ref + "', which the pack does not have");
      }
    }
  }
  return Ok();
}

bool Lists(const std::vector<std::string>& names, std::string_view registry) {
  return std::any_of(names.begin(), names.end(),
                     [&](const std::string& n) { return n == "*" || n == registry; });
}

}  // namespace

bool IsClientId(std::string_view s) {
  int parts = 0;
  size_t start = 0;
  while (true) {
    const size_t slash = s.find('/', start);
    const size_t end = slash == std::string_view::npos ? s.size() : slash;
    if (end == start) return false;
    ++parts;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts == 4;
}

bool WorkingCalendar::IsWorkingDay(CivilDate date) const {
  const int weekday = IsoWeekday(date);
  if (std::find(weekend_days.begin(), weekend_days.end(), weekday) != weekend_days.end()) {
    return false;
  }
  return std::none_of(holidays.begin(), holidays.end(),
                      [&](const Holiday& h) { return h.date == date && h.kind != "removed"; });
}

WorkingDays WorkingCalendar::Days() const {
  std::vector<std::chrono::sys_days> days_off;
  for (const auto& h : holidays) {
    if (h.kind == "removed") continue;
    days_off.push_back(std::chrono::sys_days(std::chrono::days(DaysFromCivil(h.date))));
  }
  return WorkingDays(weekend_days, std::move(days_off));
}

const RegistrySchema* Pack::FindRegistry(std::string_view registry) const {
  for (const auto& r : registries) {
    if (r.name == registry) return &r;
  }
  return nullptr;
}

const Agency* Pack::FindAgency(std::string_view agency_code) const {
  for (const auto& a : agencies) {
    if (a.code == agency_code) return &a;
  }
  return nullptr;
}

const Region* Pack::FindRegion(std::string_view region_code) const {
  for (const auto& r : regions) {
    if (r.code == region_code) return &r;
    for (const auto& sub : r.subregions) {
      if (sub.code == region_code) return &sub;
    }
  }
  return nullptr;
}

std::string Pack::ClientId(const Agency& agency) const {
  return xroad_instance + "/" + agency.member_class + "/" + agency.member_code + "/" +
         agency.subsystem;
}

bool Pack::MayAccess(std::string_view client, std::string_view registry, Access mode) const {
  for (const auto& rule : this->access) {
    if (rule.client != client) continue;
    if (Lists(rule.write, registry)) return true;
    if (mode == Access::kRead && Lists(rule.read, registry)) return true;
  }
  return false;
}

Result<Pack> LoadPack(const std::filesystem::path& dir, const LoadOptions& options) {
  Pack pack;
  pack.dir = dir;
  ULUS_TRY(LoadManifest(dir, options, pack));
  ULUS_TRY(LoadRegistries(dir, pack));
  ULUS_TRY(LoadRegions(dir, pack));
  ULUS_TRY(LoadAccess(dir, pack));
  ULUS_TRY(LoadCalendar(dir, pack));
  ULUS_TRY(LoadNames(dir, pack));
  ULUS_TRY(LoadPopulation(dir, pack));
  const FileContext synthetic(dir, "synthetic.yaml");
  ULUS_ASSIGN_OR_RETURN(pack.synthetic, ReadYaml(synthetic));
  return pack;
}

}  // namespace ulus::registry
