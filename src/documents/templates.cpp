#include "ulus/documents/templates.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "ulus/core/clock.hpp"

namespace ulus::documents {

using nlohmann::json;

namespace {

Error BadTemplate(const std::filesystem::path& file, std::string message) {
  return Error::InvalidArgument("document template " + file.string() + ": " + std::move(message));
}

Translations ReadTranslations(const YAML::Node& node) {
  Translations out;
  if (node.IsScalar()) {
    out["en"] = node.as<std::string>();
  } else if (node.IsMap()) {
    for (const auto& entry : node)
      out[entry.first.as<std::string>()] = entry.second.as<std::string>();
  }
  return out;
}

Result<Template> ReadTemplate(const std::filesystem::path& file) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    return BadTemplate(file, e.what());
  }
  try {
    Template t;
    t.id = root["id"].as<std::string>("");
    t.version = root["version"].as<std::string>("");
    t.agency = root["agency"].as<std::string>("");
    t.type = root["type"].as<std::string>("");
    t.title = ReadTranslations(root["title"]);
    if (t.id.empty() || t.version.empty() || t.agency.empty() || t.type.empty() ||
        t.title.empty()) {
      return BadTemplate(file, "id, version, agency, type and title are required");
    }
    if (const auto days = root["valid_days"]; days) {
      const int n = days.as<int>();
      if (n < 1 || n > 36500) return BadTemplate(file, "valid_days is 1 to 36500");
      t.validity = std::chrono::days(n);
    }
    t.birth_date_field = root["birth_date_field"].as<std::string>("");
    t.dcc = root["dcc"].as<std::string>("");
    std::set<std::string> seen;
    for (const auto& f : root["fields"]) {
      TemplateField field;
      field.name = f["name"].as<std::string>("");
      const auto type = f["type"].as<std::string>("string");
      if (type == "string") {
        field.type = FieldType::kString;
      } else if (type == "date") {
        field.type = FieldType::kDate;
      } else if (type == "integer") {
        field.type = FieldType::kInteger;
      } else if (type == "boolean") {
        field.type = FieldType::kBoolean;
      } else {
        return BadTemplate(file, "field " + field.name + " has unknown type " + type);
      }
      field.label = ReadTranslations(f["label"]);
      field.required = f["required"].as<bool>(true);
      field.max_length = f["max_length"].as<size_t>(500);
      if (field.name.empty() || field.label.empty()) {
        return BadTemplate(file, "every field needs a name and a label");
      }
      if (!seen.insert(field.name).second)
        return BadTemplate(file, "field " + field.name + " twice");
      t.fields.push_back(std::move(field));
    }
    if (t.fields.empty()) return BadTemplate(file, "a template needs fields");
    if (!t.birth_date_field.empty()) {
      const auto* f = t.Field(t.birth_date_field);
      if (f == nullptr || f->type != FieldType::kDate) {
        return BadTemplate(file, "birth_date_field must name a date field");
      }
    }
    if (!t.dcc.empty()) {
      if (t.dcc != "vaccination") return BadTemplate(file, "dcc is \"vaccination\" or absent");
      for (auto name : kDccVaccinationFields) {
        const TemplateField* f = t.Field(name);
        const FieldType want = name == "dose" || name == "total_doses"  ? FieldType::kInteger
                               : name == "birth_date" || name == "date" ? FieldType::kDate
                                                                        : FieldType::kString;
        if (f == nullptr || !f->required || f->type != want) {
          return BadTemplate(file, "a DCC template needs the required field " + std::string(name) +
                                       " of the DCC's type");
        }
      }
    }
    return t;
  } catch (const YAML::Exception& e) {
    return BadTemplate(file, e.what());
  }
}

}  // namespace

const TemplateField* Template::Field(std::string_view name) const {
  for (const auto& f : fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

Status Template::Check(const json& claims) const {
  if (!claims.is_object()) return Error::InvalidArgument("claims must be an object", "claims");
  for (const auto& [name, value] : claims.items()) {
    const TemplateField* field = Field(name);
    if (field == nullptr) {
      return Error::InvalidArgument("template " + id + " has no field " + name, "claims." + name);
    }
    bool ok = false;
    switch (field->type) {
      case FieldType::kString:
        ok = value.is_string() && !value.get<std::string>().empty() &&
             value.get<std::string>().size() <= field->max_length;
        break;
      case FieldType::kDate:
        ok = value.is_string() && ParseIsoDay(value.get<std::string>()).has_value();
        break;
      case FieldType::kInteger: ok = value.is_number_integer(); break;
      case FieldType::kBoolean: ok = value.is_boolean(); break;
    }
    if (!ok) {
      const char* expected = field->type == FieldType::kDate      ? "a date (YYYY-MM-DD)"
                             : field->type == FieldType::kInteger ? "an integer"
                             : field->type == FieldType::kBoolean ? "true or false"
                                                                  : "non-empty text";
      return Error::InvalidArgument(
          name + " must be " + std::string(expected) +
              (field->type == FieldType::kString
                   ? " of at most " + std::to_string(field->max_length) + " bytes"
                   : std::string()),
          "claims." + name);
    }
  }
  for (const auto& field : fields) {
    if (field.required && !claims.contains(field.name)) {
      return Error::InvalidArgument(field.name + " is required by template " + id,
                                    "claims." + field.name);
    }
  }
  return Ok();
}

Result<std::vector<Template>> LoadTemplates(const std::filesystem::path& dir) {
  std::vector<Template> out;
  if (!std::filesystem::is_directory(dir)) return out;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::set<std::string> ids;
  for (const auto& file : files) {
    ULUS_ASSIGN_OR_RETURN(auto t, ReadTemplate(file));
    if (!ids.insert(t.id).second) return BadTemplate(file, "template id " + t.id + " is taken");
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace ulus::documents
