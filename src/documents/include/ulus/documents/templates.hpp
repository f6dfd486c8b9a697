#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/result.hpp"
#include "ulus/core/translations.hpp"

namespace ulus::documents {

using ulus::Translate;
using ulus::Translations;

enum class FieldType { kString, kDate, kInteger, kBoolean };

struct TemplateField {
  std::string name;  // the claim's name in credentialSubject
  FieldType type = FieldType::kString;
  Translations label;
  bool required = true;
  size_t max_length = 500;  // strings only
};

// A kind of document an agency issues: pack data, one file per template in
// packs/<cc>/documents/<id>.yaml. A template never changes meaning under the same version: a
// changed field list is a new version, and each document records the version it was made from.
struct Template {
  std::string id;       // e.g. "address-reference"
  std::string version;  // e.g. "1"
  std::string agency;   // the issuing agency's code
  std::string type;     // the credential type, e.g. "UlusAddressReference"
  Translations title;
  std::vector<TemplateField> fields;
  std::optional<std::chrono::days> validity;  // none: the document does not expire
  // The field holding the holder's birth date, which makes "age_over_NN" disclosures possible.
  std::string birth_date_field;
  // "vaccination": also issue an EU DCC; the template must then have the DCC's fields.
  std::string dcc;

  [[nodiscard]] const TemplateField* Field(std::string_view name) const;
  // Checks `claims` against the fields: every required one present, no unknown one, each of its
  // type (dates as YYYY-MM-DD that exist). kInvalidArgument naming the field otherwise.
  [[nodiscard]] Status Check(const nlohmann::json& claims) const;
};

// The fields a vaccination template needs for the DCC: names, birth date, and the dose's
// disease, vaccine, product, manufacturer, dose number, doses in the series and date.
inline constexpr std::string_view kDccVaccinationFields[] = {
    "family_name", "given_name",   "birth_date", "disease",     "vaccine_type",
    "product",     "manufacturer", "dose",       "total_doses", "date"};

// Reads every *.yaml of `dir` (a pack's documents/ folder). A missing folder is no templates;
// a malformed file, a repeated id or a DCC template without the DCC's fields fails start-up
// with the file named.
Result<std::vector<Template>> LoadTemplates(const std::filesystem::path& dir);

}  // namespace ulus::documents
