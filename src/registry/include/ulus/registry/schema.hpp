#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/result.hpp"
#include "ulus/registry/id_number.hpp"

namespace ulus::registry {

// Text in several languages, keyed by language code ("mn", "en", "kk", "ru").
using LocalizedText = std::map<std::string, std::string, std::less<>>;

// The text in `language`, else in English, else any; empty when there is none.
std::string_view Localize(const LocalizedText& text, std::string_view language);

enum class FieldType { kString, kInteger, kNumber, kBoolean, kArray, kObject };

// Our extensions to JSON Schema's `format`: each one is checked by ValidateRecord.
enum class FieldFormat {
  kNone,
  kDate,        // YYYY-MM-DD, a real day
  kDateTime,    // RFC 3339, e.g. 2026-01-01T09:30:00Z
  kNationalId,  // the pack's national id rule (register number, IIN)
  kEmail,
  kPhone,  // E.164: optional '+', 7-15 digits
  kUuid,
};

std::string_view FieldTypeName(FieldType type);
std::string_view FieldFormatName(FieldFormat format);

// One property of a registry schema, parsed from JSON-Schema-like YAML/JSON.
struct FieldSchema {
  std::string name;
  FieldType type = FieldType::kString;
  FieldFormat format = FieldFormat::kNone;
  LocalizedText title;
  LocalizedText description;
  std::vector<std::string> enum_values;  // strings only; empty means any
  std::optional<double> minimum;
  std::optional<double> maximum;
  std::optional<size_t> min_length;  // strings: code points; arrays: minItems
  std::optional<size_t> max_length;  // strings: code points; arrays: maxItems
  std::string pattern;
  // Compiled once when the schema is parsed; shared so schemas stay cheap to copy.
  std::shared_ptr<const std::regex> pattern_regex;
  std::string ref;        // x-ref: the registry whose primary key this field holds
  bool personal = false;  // x-personal: the value names a citizen whose data this record holds
  bool primary_key = false;
  bool read_only = false;
  bool required = false;
  nlohmann::json example;
  std::vector<FieldSchema> items;       // arrays: exactly one element, the item schema
  std::vector<FieldSchema> properties;  // objects: nested fields (may be empty: any object)
  std::vector<std::string> nested_required;
};

// The schema of one registry (one "database" in GovStack's Digital Registries terms): which
// agency owns it, its fields, its primary key and the field naming the data subject. Immutable
// after parsing; safe to share between threads.
struct RegistrySchema {
  std::string name;
  std::string version;
  std::string agency;
  LocalizedText title;
  LocalizedText description;
  std::string primary_key;  // the one field with primaryKey: true (always a string)
  std::string subject;      // the x-personal field naming the citizen the record is about
  std::vector<FieldSchema> fields;
  // The registry document as given (name, version, agency, title, description, schema), kept for
  // the database API which returns schemas as JSON.
  nlohmann::json document;

  [[nodiscard]] const FieldSchema* FindField(std::string_view field) const;
};

// Parses a registry document: {name, version, agency, title, description, subject, schema:
// {type: object, properties: {...}, required: [...]}}. Errors name the key at fault.
Result<RegistrySchema> ParseRegistrySchema(const nlohmann::json& document);

enum class ValidationMode {
  kFull,     // create or replace: required fields must be present
  kPartial,  // update: only the given fields are checked; read-only fields may not be given
};

// Checks a record against its schema: unknown fields, types, formats, enums, ranges, lengths,
// patterns and national ids. Errors are InvalidArgument with `field` set to the field at fault
// ("chronic_conditions[1]" inside arrays, "parent.child" inside objects). Thread-safe.
Status ValidateRecord(const RegistrySchema& schema, const nlohmann::json& record, IdFormat format,
                      ValidationMode mode = ValidationMode::kFull);
Status ValidateRecord(const RegistrySchema& schema, const nlohmann::json& record,
                      const IdRule& id_rule, ValidationMode mode = ValidationMode::kFull);

}  // namespace ulus::registry
