#include "ulus/registry/schema.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>

#include "ulus/core/id.hpp"

namespace ulus::registry {

namespace {

using nlohmann::json;

constexpr std::string_view kKnownFormats = "date, date-time, national-id, email, phone, uuid";
constexpr size_t kMaxEmailLength = 254;
constexpr size_t kMinPhoneDigits = 7;
constexpr size_t kMaxPhoneDigits = 15;

// Keys a field may carry. GovStack's own `triggers` and `id` are accepted and ignored; any
// other unknown key is refused so a typo ("requird") does not silently drop a rule.
const std::set<std::string, std::less<>>& KnownFieldKeys() {
  static const std::set<std::string, std::less<>> kKeys = {
      "type",       "format",     "title",      "description", "enum",     "minimum",
      "maximum",    "minLength",  "maxLength",  "minItems",    "maxItems", "pattern",
      "x-ref",      "x-personal", "primaryKey", "readOnly",    "example",  "items",
      "properties", "required",   "triggers",   "id",          "default"};
  return kKeys;
}

std::string FormatNumber(double v) {
  if (std::isfinite(v) && std::floor(v) == v && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<int64_t>(v));
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

std::string JsonTypeName(const json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number_float()) return "number";
  return v.type_name();
}

std::string Short(const json& v) {
  std::string s = v.dump();
  constexpr size_t kMax = 60;
  if (s.size() > kMax) s = s.substr(0, kMax) + "...";
  return s;
}

// ---------------------------------------------------------------------------------------------
// Parsing

class SchemaParser {
 public:
  explicit SchemaParser(std::string registry) : registry_(std::move(registry)) {}

  Error Fail(const std::string& path, const std::string& what) const {
    return Error::InvalidArgument("registry '" + registry_ + "': " + path + " " + what, path);
  }

  Result<LocalizedText> ParseText(const json& v, const std::string& path) const {
    LocalizedText text;
    if (v.is_string()) {
      text["en"] = v.get<std::string>();
      return text;
    }
    if (!v.is_object()) return Fail(path, "must be a string or a map of language to text");
    for (const auto& [lang, value] : v.items()) {
      if (!value.is_string()) return Fail(path + "." + lang, "must be a string");
      text[lang] = value.get<std::string>();
    }
    return text;
  }

  Result<FieldSchema> ParseField(const std::string& name, const json& v,
                                 const std::string& path) const {
    if (!v.is_object()) return Fail(path, "must be a map describing the field");
    for (const auto& [key, ignored] : v.items()) {
      if (key.starts_with("x-") && key != "x-ref" && key != "x-personal") continue;
      if (!KnownFieldKeys().contains(key)) {
        return Fail(path + "." + key, "is not a known schema keyword");
      }
    }
    FieldSchema f;
    f.name = name;
    const auto type_it = v.find("type");
    if (type_it == v.end() || !type_it->is_string()) {
      return Fail(path + ".type",
                  "is required: one of string, integer, number, boolean, array, object");
    }
    const std::string type = type_it->get<std::string>();
    if (type == "string") {
      f.type = FieldType::kString;
    } else if (type == "integer") {
      f.type = FieldType::kInteger;
    } else if (type == "number") {
      f.type = FieldType::kNumber;
    } else if (type == "boolean") {
      f.type = FieldType::kBoolean;
    } else if (type == "array") {
      f.type = FieldType::kArray;
    } else if (type == "object") {
      f.type = FieldType::kObject;
    } else {
      return Fail(path + ".type", "'" + type +
                                      "' is unknown (one of string, integer, number, boolean, "
                                      "array, object)");
    }
    if (auto it = v.find("format"); it != v.end()) {
      if (!it->is_string()) return Fail(path + ".format", "must be a string");
      const std::string format = it->get<std::string>();
      if (format == "date") {
        f.format = FieldFormat::kDate;
      } else if (format == "date-time") {
        f.format = FieldFormat::kDateTime;
      } else if (format == "national-id") {
        f.format = FieldFormat::kNationalId;
      } else if (format == "email") {
        f.format = FieldFormat::kEmail;
      } else if (format == "phone") {
        f.format = FieldFormat::kPhone;
      } else if (format == "uuid") {
        f.format = FieldFormat::kUuid;
      } else {
        return Fail(path + ".format",
                    "'" + format + "' is unknown (known: " + std::string(kKnownFormats) + ")");
      }
      if (f.type != FieldType::kString) return Fail(path + ".format", "applies to strings only");
    }
    if (auto it = v.find("title"); it != v.end()) {
      ULUS_ASSIGN_OR_RETURN(f.title, ParseText(*it, path + ".title"));
    }
    if (auto it = v.find("description"); it != v.end()) {
      ULUS_ASSIGN_OR_RETURN(f.description, ParseText(*it, path + ".description"));
    }
    if (auto it = v.find("enum"); it != v.end()) {
      if (f.type != FieldType::kString) return Fail(path + ".enum", "applies to strings only");
      if (!it->is_array() || it->empty()) return Fail(path + ".enum", "must be a list of strings");
      for (const auto& e : *it) {
        if (!e.is_string()) return Fail(path + ".enum", "must be a list of strings");
        f.enum_values.push_back(e.get<std::string>());
      }
    }
    for (const char* key : {"minimum", "maximum"}) {
      if (auto it = v.find(key); it != v.end()) {
        if (!it->is_number()) return Fail(path + "." + key, "must be a number");
        if (f.type != FieldType::kInteger && f.type != FieldType::kNumber) {
          return Fail(path + "." + key, "applies to integer and number fields only");
        }
        (std::string_view(key) == "minimum" ? f.minimum : f.maximum) = it->get<double>();
      }
    }
    const bool is_array = f.type == FieldType::kArray;
    for (const char* key : {"minLength", "maxLength", "minItems", "maxItems"}) {
      auto it = v.find(key);
      if (it == v.end()) continue;
      const bool items_key = std::string_view(key).ends_with("Items");
      if (items_key != is_array || (!is_array && f.type != FieldType::kString)) {
        return Fail(path + "." + key, items_key ? "applies to arrays only"
                                                : "applies to strings only (arrays: minItems)");
      }
      if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
        return Fail(path + "." + key, "must be a non-negative integer");
      }
      (std::string_view(key).starts_with("min") ? f.min_length : f.max_length) = it->get<size_t>();
    }
    if (auto it = v.find("pattern"); it != v.end()) {
      if (!it->is_string() || f.type != FieldType::kString) {
        return Fail(path + ".pattern", "must be a regular expression on a string field");
      }
      f.pattern = it->get<std::string>();
      try {
        f.pattern_regex = std::make_shared<const std::regex>(f.pattern, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return Fail(path + ".pattern",
                    std::string("is not a valid regular expression: ") + e.what());
      }
    }
    if (auto it = v.find("x-ref"); it != v.end()) {
      if (!it->is_string() || it->get<std::string>().empty()) {
        return Fail(path + ".x-ref", "must name a registry");
      }
      if (f.type != FieldType::kString) return Fail(path + ".x-ref", "applies to strings only");
      f.ref = it->get<std::string>();
    }
    for (const auto& [key, target] : {std::pair<const char*, bool*>{"x-personal", &f.personal},
                                      {"primaryKey", &f.primary_key},
                                      {"readOnly", &f.read_only}}) {
      if (auto it = v.find(key); it != v.end()) {
        if (!it->is_boolean()) return Fail(path + "." + key, "must be true or false");
        *target = it->get<bool>();
      }
    }
    if (f.personal && f.type != FieldType::kString) {
      return Fail(path + ".x-personal", "applies to string fields holding a person's id");
    }
    if (auto it = v.find("example"); it != v.end()) f.example = *it;
    if (is_array) {
      auto it = v.find("items");
      if (it == v.end()) return Fail(path + ".items", "is required for arrays");
      ULUS_ASSIGN_OR_RETURN(auto item, ParseField(name, *it, path + ".items"));
      f.items.push_back(std::move(item));
    } else if (v.contains("items")) {
      return Fail(path + ".items", "applies to arrays only");
    }
    if (f.type == FieldType::kObject) {
      ULUS_TRY(ParseProperties(v, path, f.properties, f.nested_required));
    } else if (v.contains("properties")) {
      return Fail(path + ".properties", "applies to objects only");
    }
    return f;
  }

  // Reads `properties` and `required` of an object schema at `path`.
  Status ParseProperties(const json& v, const std::string& path, std::vector<FieldSchema>& fields,
                         std::vector<std::string>& required) const {
    if (auto it = v.find("properties"); it != v.end()) {
      if (!it->is_object()) return Fail(path + ".properties", "must be a map of fields");
      for (const auto& [name, field] : it->items()) {
        ULUS_ASSIGN_OR_RETURN(auto parsed, ParseField(name, field, path + ".properties." + name));
        fields.push_back(std::move(parsed));
      }
    }
    if (auto it = v.find("required"); it != v.end()) {
      if (!it->is_array()) return Fail(path + ".required", "must be a list of field names");
      for (const auto& r : *it) {
        if (!r.is_string()) return Fail(path + ".required", "must be a list of field names");
        const std::string name = r.get<std::string>();
        auto f = std::find_if(fields.begin(), fields.end(),
                              [&](const FieldSchema& x) { return x.name == name; });
        if (f == fields.end()) {
          return Fail(path + ".required", "names '" + name + "', which is not a property");
        }
        f->required = true;
        required.push_back(name);
      }
    }
    return Ok();
  }

 private:
  std::string registry_;
};

bool IsIdentifier(std::string_view s) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Validation

bool IsAsciiDigit(char c) {
  return c >= '0' && c <= '9';
}

bool ParseFixedDigits(std::string_view s, size_t at, size_t n, int& out) {
  out = 0;
  if (at + n > s.size()) return false;
  for (size_t i = at; i < at + n; ++i) {
    if (!IsAsciiDigit(s[i])) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

bool IsDateTime(std::string_view s) {
  if (s.size() < 20) return false;
  if (!ParseIsoDate(s.substr(0, 10))) return false;
  if (s[10] != 'T' && s[10] != 't') return false;
  int hh = 0;
  int mm = 0;
  int ss = 0;
  if (!ParseFixedDigits(s, 11, 2, hh) || s[13] != ':' || !ParseFixedDigits(s, 14, 2, mm) ||
      s[16] != ':' || !ParseFixedDigits(s, 17, 2, ss)) {
    return false;
  }
  if (hh > 23 || mm > 59 || ss > 60) return false;  // 60: a leap second
  size_t i = 19;
  if (s[i] == '.') {
    ++i;
    const size_t start = i;
    while (i < s.size() && IsAsciiDigit(s[i])) ++i;
    if (i == start) return false;
  }
  if (i >= s.size()) return false;
  if (s[i] == 'Z' || s[i] == 'z') return i + 1 == s.size();
  if (s[i] != '+' && s[i] != '-') return false;
  int oh = 0;
  int om = 0;
  return i + 6 == s.size() && ParseFixedDigits(s, i + 1, 2, oh) && s[i + 3] == ':' &&
         ParseFixedDigits(s, i + 4, 2, om) && oh <= 23 && om <= 59;
}

bool IsEmail(std::string_view s) {
  if (s.size() > kMaxEmailLength) return false;
  const size_t at = s.find('@');
  if (at == std::string_view::npos || at == 0 || s.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  for (char c : s.substr(0, at)) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '"' || c == ',' || c == '<' || c == '>') {
      return false;
    }
  }
  const std::string_view domain = s.substr(at + 1);
  if (domain.empty() || domain.find('.') == std::string_view::npos) return false;
  size_t label = 0;
  for (char c : domain) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsAsciiDigit(c) ||
                    c == '-' || static_cast<unsigned char>(c) >= 0x80;
    if (!ok) return false;
    ++label;
  }
  return label > 0;
}

bool IsPhone(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.size() < kMinPhoneDigits || s.size() > kMaxPhoneDigits) return false;
  for (char c : s) {
    if (!IsAsciiDigit(c)) return false;
  }
  return true;
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

class RecordValidator {
 public:
  RecordValidator(const RegistrySchema& schema, const IdRule& id_rule)
      : schema_(schema), id_rule_(id_rule) {}

  Status Fields(const std::vector<FieldSchema>& fields, const json& record,
                const std::string& prefix, ValidationMode mode) const {
    for (const auto& [key, value] : record.items()) {
      const FieldSchema* f = nullptr;
      for (const auto& candidate : fields) {
        if (candidate.name == key) {
          f = &candidate;
          break;
        }
      }
      // Top-level keys are their own path; avoid building a string per field per record.
      std::string nested_path;
      if (!prefix.empty()) nested_path = prefix + key;
      const std::string& path = prefix.empty() ? key : nested_path;
      if (f == nullptr) {
        return Error::InvalidArgument(
            "unknown field '" + path + "': registry '" + schema_.name + "' has no such field",
            path);
      }
      if (mode == ValidationMode::kPartial && f->read_only) {
        return Error::InvalidArgument("field '" + path + "' is read-only", path);
      }
      if (value.is_null()) {
        if (f->required) {
          return Error::InvalidArgument("field '" + path + "' is required and cannot be null",
                                        path);
        }
        continue;
      }
      ULUS_TRY(Value(*f, value, path));
    }
    if (mode == ValidationMode::kFull) {
      for (const auto& f : fields) {
        if (!f.required) continue;
        auto it = record.find(f.name);
        if (it == record.end() || it->is_null()) {
          const std::string path = prefix + f.name;
          return Error::InvalidArgument("field '" + path + "' is required", path);
        }
      }
    }
    return Ok();
  }

  Status Value(const FieldSchema& f, const json& v, const std::string& path) const {
    switch (f.type) {
      case FieldType::kString:
        if (!v.is_string()) return WrongType(path, "a string", v);
        return String(f, v.get_ref<const std::string&>(), path);
      case FieldType::kInteger: {
        double d = 0;
        if (v.is_number_integer()) {
          d = static_cast<double>(v.is_number_unsigned() ? static_cast<double>(v.get<uint64_t>())
                                                         : static_cast<double>(v.get<int64_t>()));
        } else if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()) {
          d = v.get<double>();
        } else {
          return WrongType(path, "an integer", v);
        }
        return Range(f, d, path);
      }
      case FieldType::kNumber:
        if (!v.is_number()) return WrongType(path, "a number", v);
        return Range(f, v.get<double>(), path);
      case FieldType::kBoolean:
        if (!v.is_boolean()) return WrongType(path, "true or false", v);
        return Ok();
      case FieldType::kArray: {
        if (!v.is_array()) return WrongType(path, "a list", v);
        if (f.min_length && v.size() < *f.min_length) {
          return Error::InvalidArgument(
              "field '" + path + "' must have at least " + std::to_string(*f.min_length) + " items",
              path);
        }
        if (f.max_length && v.size() > *f.max_length) {
          return Error::InvalidArgument(
              "field '" + path + "' must have at most " + std::to_string(*f.max_length) + " items",
              path);
        }
        for (size_t i = 0; i < v.size(); ++i) {
          const json& item = v[i];
          const std::string item_path = path + "[" + std::to_string(i) + "]";
          if (item.is_null()) {
            return Error::InvalidArgument("field '" + item_path + "' cannot be null", item_path);
          }
          ULUS_TRY(Value(f.items.front(), item, item_path));
        }
        return Ok();
      }
      case FieldType::kObject:
        if (!v.is_object()) return WrongType(path, "an object", v);
        if (f.properties.empty()) return Ok();
        return Fields(f.properties, v, path + ".", ValidationMode::kFull);
    }
    return Ok();
  }

 private:
  static Error WrongType(const std::string& path, const char* expected, const json& v) {
    return Error::InvalidArgument(
        "field '" + path + "' must be " + expected + "; got " + JsonTypeName(v) + " " + Short(v),
        path);
  }

  static Status Range(const FieldSchema& f, double d, const std::string& path) {
    if (f.minimum && d < *f.minimum) {
      return Error::InvalidArgument("field '" + path + "' must be at least " +
                                        FormatNumber(*f.minimum) + "; got " + FormatNumber(d),
                                    path);
    }
    if (f.maximum && d > *f.maximum) {
      return Error::InvalidArgument("field '" + path + "' must be at most " +
                                        FormatNumber(*f.maximum) + "; got " + FormatNumber(d),
                                    path);
    }
    return Ok();
  }

  Status String(const FieldSchema& f, const std::string& s, const std::string& path) const {
    if (f.min_length || f.max_length) {
      const size_t n = CodePoints(s);
      if (f.min_length && n < *f.min_length) {
        return Error::InvalidArgument("field '" + path + "' must be at least " +
                                          std::to_string(*f.min_length) + " characters long",
                                      path);
      }
      if (f.max_length && n > *f.max_length) {
        return Error::InvalidArgument("field '" + path + "' must be at most " +
                                          std::to_string(*f.max_length) + " characters long",
                                      path);
      }
    }
    if (!f.enum_values.empty()) {
      bool found = false;
      for (const auto& e : f.enum_values) {
        if (e == s) {
          found = true;
          break;
        }
      }
      if (!found) {
        std::string allowed;
        for (const auto& e : f.enum_values) {
          if (!allowed.empty()) allowed += ", ";
          allowed += e;
        }
        return Error::InvalidArgument(
            "field '" + path + "' must be one of " + allowed + "; got " + Short(json(s)), path);
      }
    }
    switch (f.format) {
      case FieldFormat::kNone: break;
      case FieldFormat::kDate:
        if (!ParseIsoDate(s)) {
          return Error::InvalidArgument(
              "field '" + path + "' must be a date YYYY-MM-DD; got " + Short(json(s)), path);
        }
        break;
      case FieldFormat::kDateTime:
        if (!IsDateTime(s)) {
          return Error::InvalidArgument("field '" + path +
                                            "' must be an RFC 3339 date-time such as "
                                            "2026-01-31T09:30:00Z; got " +
                                            Short(json(s)),
                                        path);
        }
        break;
      case FieldFormat::kNationalId: {
        Status st = ValidateNationalId(id_rule_, s);
        if (!st.ok()) {
          return Error::InvalidArgument("field '" + path + "': " + st.error().message, path);
        }
        break;
      }
      case FieldFormat::kEmail:
        if (!IsEmail(s)) {
          return Error::InvalidArgument(
              "field '" + path + "' must be an email address; got " + Short(json(s)), path);
        }
        break;
      case FieldFormat::kPhone:
        if (!IsPhone(s)) {
          return Error::InvalidArgument("field '" + path +
                                            "' must be a phone number in E.164 form such as "
                                            "+97699112233; got " +
                                            Short(json(s)),
                                        path);
        }
        break;
      case FieldFormat::kUuid:
        if (!IsUuid(s)) {
          return Error::InvalidArgument(
              "field '" + path + "' must be a UUID; got " + Short(json(s)), path);
        }
        break;
    }
    if (f.pattern_regex && !std::regex_search(s, *f.pattern_regex)) {
      return Error::InvalidArgument("field '" + path + "' does not match the pattern " + f.pattern +
                                        "; got " + Short(json(s)),
                                    path);
    }
    return Ok();
  }

  const RegistrySchema& schema_;
  const IdRule& id_rule_;
};

}  // namespace

std::string_view Localize(const LocalizedText& text, std::string_view language) {
  if (auto it = text.find(language); it != text.end()) return it->second;
  if (auto it = text.find("en"); it != text.end()) return it->second;
  if (!text.empty()) return text.begin()->second;
  return {};
}

std::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kString: return "string";
    case FieldType::kInteger: return "integer";
    case FieldType::kNumber: return "number";
    case FieldType::kBoolean: return "boolean";
    case FieldType::kArray: return "array";
    case FieldType::kObject: return "object";
  }
  return "string";
}

std::string_view FieldFormatName(FieldFormat format) {
  switch (format) {
    case FieldFormat::kNone: return "";
    case FieldFormat::kDate: return "date";
    case FieldFormat::kDateTime: return "date-time";
    case FieldFormat::kNationalId: return "national-id";
    case FieldFormat::kEmail: return "email";
    case FieldFormat::kPhone: return "phone";
    case FieldFormat::kUuid: return "uuid";
  }
  return "";
}

const FieldSchema* RegistrySchema::FindField(std::string_view field) const {
  for (const auto& f : fields) {
    if (f.name == field) return &f;
  }
  return nullptr;
}

Result<RegistrySchema> ParseRegistrySchema(const nlohmann::json& document) {
  if (!document.is_object()) {
    return Error::InvalidArgument("a registry document must be a JSON object");
  }
  RegistrySchema r;
  auto name_it = document.find("name");
  if (name_it == document.end() || !name_it->is_string() ||
      !IsIdentifier(name_it->get<std::string>())) {
    return Error::InvalidArgument(
        "registry 'name' is required: lower-case letters, digits and '_', starting with a letter",
        "name");
  }
  r.name = name_it->get<std::string>();
  SchemaParser p(r.name);
  auto version_it = document.find("version");
  if (version_it == document.end() || !version_it->is_string()) {
    return p.Fail("version", "is required and must be a string such as \"1.0\"");
  }
  r.version = version_it->get<std::string>();
  auto agency_it = document.find("agency");
  if (agency_it == document.end() || !agency_it->is_string() ||
      agency_it->get<std::string>().empty()) {
    return p.Fail("agency", "is required: the code of the agency that owns the registry");
  }
  r.agency = agency_it->get<std::string>();
  if (auto it = document.find("title"); it != document.end()) {
    ULUS_ASSIGN_OR_RETURN(r.title, p.ParseText(*it, "title"));
  }
  if (auto it = document.find("description"); it != document.end()) {
    ULUS_ASSIGN_OR_RETURN(r.description, p.ParseText(*it, "description"));
  }
  auto schema_it = document.find("schema");
  if (schema_it == document.end() || !schema_it->is_object()) {
    return p.Fail("schema", "is required: {type: object, properties: {...}, required: [...]}");
  }
  const json& schema = *schema_it;
  if (auto it = schema.find("type"); it != schema.end() && *it != "object") {
    return p.Fail("schema.type", "must be object");
  }
  if (!schema.contains("properties")) return p.Fail("schema.properties", "is required");
  std::vector<std::string> required;
  ULUS_TRY(p.ParseProperties(schema, "schema", r.fields, required));
  if (r.fields.empty()) return p.Fail("schema.properties", "must declare at least one field");
  for (const auto& f : r.fields) {
    if (!f.primary_key) continue;
    if (!r.primary_key.empty()) {
      return p.Fail("schema.properties." + f.name + ".primaryKey",
                    "is set on both '" + r.primary_key + "' and '" + f.name +
                        "'; a registry has exactly one primary key");
    }
    if (f.type != FieldType::kString) {
      return p.Fail("schema.properties." + f.name + ".type", "must be string for a primary key");
    }
    r.primary_key = f.name;
  }
  if (r.primary_key.empty()) {
    return p.Fail("schema.properties", "must mark exactly one field with primaryKey: true");
  }
  if (auto it = document.find("subject"); it != document.end() && !it->is_null()) {
    if (!it->is_string()) return p.Fail("subject", "must name a field");
    r.subject = it->get<std::string>();
    const FieldSchema* f = r.FindField(r.subject);
    if (f == nullptr) return p.Fail("subject", "names '" + r.subject + "', which is not a field");
    if (!f->personal) {
      return p.Fail("subject", "names '" + r.subject + "', which is not marked x-personal: true");
    }
  }
  r.document = document;
  return r;
}

Status ValidateRecord(const RegistrySchema& schema, const nlohmann::json& record, IdFormat format,
                      ValidationMode mode) {
  const IdRule rule{format, {}};
  return ValidateRecord(schema, record, rule, mode);
}

Status ValidateRecord(const RegistrySchema& schema, const nlohmann::json& record,
                      const IdRule& id_rule, ValidationMode mode) {
  if (!record.is_object()) {
    return Error::InvalidArgument("a '" + schema.name + "' record must be a JSON object; got " +
                                  std::string(record.type_name()));
  }
  const RecordValidator validator(schema, id_rule);
  return validator.Fields(schema.fields, record, "", mode);
}

}  // namespace ulus::registry
