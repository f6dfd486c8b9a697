#include "ulus/registry/schema.hpp"

#include <gtest/gtest.h>

namespace ulus::registry {
namespace {

using nlohmann::json;

json Document() {
  return json::parse(R"({
    "name": "sample",
    "version": "1.0",
    "agency": "GASR",
    "title": {"en": "Sample", "mn": "Жишээ"},
    "subject": "person",
    "schema": {
      "type": "object",
      "properties": {
        "id": {"type": "string", "primaryKey": true, "readOnly": true},
        "person": {"type": "string", "format": "national-id", "x-ref": "person",
                   "x-personal": true},
        "sex": {"type": "string", "enum": ["M", "F"]},
        "born": {"type": "string", "format": "date"},
        "seen_at": {"type": "string", "format": "date-time"},
        "email": {"type": "string", "format": "email"},
        "phone": {"type": "string", "format": "phone"},
        "token": {"type": "string", "format": "uuid"},
        "children": {"type": "integer", "minimum": 0, "maximum": 20},
        "area": {"type": "number", "minimum": 0.5},
        "active": {"type": "boolean"},
        "name": {"type": "string", "minLength": 1, "maxLength": 5},
        "code": {"type": "string", "pattern": "^[A-Z][0-9]{2}$"},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]},
                 "maxItems": 2},
        "place": {"type": "object", "properties": {"region": {"type": "string"},
                                                   "khoroo": {"type": "integer"}},
                  "required": ["region"]}
      },
      "required": ["id", "person", "sex"]
    }
  })");
}

RegistrySchema Schema() {
  auto parsed = ParseRegistrySchema(Document());
  EXPECT_TRUE(parsed.ok()) << parsed.error().ToString();
  return std::move(parsed).value();
}

json Good() {
  return json{{"id", "S-1"},
              {"person", "УБ91032512"},
              {"sex", "F"},
              {"born", "1991-03-25"},
              {"seen_at", "2026-01-02T03:04:05.123+08:00"},
              {"email", "bold@example.mn"},
              {"phone", "+97699112233"},
              {"token", "0190e4a0-7b1c-7cc1-8a55-0123456789ab"},
              {"children", 2},
              {"area", 12.5},
              {"active", true},
              {"name", "Болд"},
              {"code", "I10"},
              {"tags", {"a", "b"}},
              {"place", {{"region", "11"}, {"khoroo", 3}}}};
}

// The field named in the error, or "" when the record is valid.
std::string FieldAtFault(const json& record, ValidationMode mode = ValidationMode::kFull,
                         IdFormat format = IdFormat::kMnRegisterNumber) {
  static const RegistrySchema schema = Schema();
  Status st = ValidateRecord(schema, record, format, mode);
  if (st.ok()) return "";
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  return st.error().field;
}

json With(std::string key, json value) {
  json r = Good();
  r[key] = std::move(value);
  return r;
}

json Without(const std::string& key) {
  json r = Good();
  r.erase(key);
  return r;
}

TEST(RegistrySchema, ParsesFieldsAndKeys) {
  const RegistrySchema s = Schema();
  EXPECT_EQ(s.name, "sample");
  EXPECT_EQ(s.primary_key, "id");
  EXPECT_EQ(s.subject, "person");
  EXPECT_EQ(s.fields.size(), 15U);
  const FieldSchema* person = s.FindField("person");
  ASSERT_NE(person, nullptr);
  EXPECT_EQ(person->format, FieldFormat::kNationalId);
  EXPECT_EQ(person->ref, "person");
  EXPECT_TRUE(person->personal);
  EXPECT_TRUE(person->required);
  EXPECT_EQ(Localize(s.title, "mn"), "Жишээ");
  EXPECT_EQ(Localize(s.title, "kk"), "Sample");  // falls back to English
  EXPECT_EQ(s.document, Document());
}

TEST(RegistrySchema, RejectsBadDocumentsNamingTheKey) {
  auto fails = [](const std::function<void(json&)>& change) {
    json d = Document();
    change(d);
    auto r = ParseRegistrySchema(d);
    return r.ok() ? std::string("ok") : r.error().field + ": " + r.error().message;
  };
  EXPECT_EQ(fails([](json& d) { d["schema"]["properties"]["born"]["format"] = "dat"; }),
            "schema.properties.born.format: registry 'sample': schema.properties.born.format "
            "'dat' is unknown (known: date, date-time, national-id, email, phone, uuid)");
  EXPECT_EQ(fails([](json& d) { d["schema"]["properties"]["sex"]["requird"] = true; }),
            "schema.properties.sex.requird: registry 'sample': schema.properties.sex.requird is "
            "not a known schema keyword");
  EXPECT_TRUE(fails([](json& d) {
                d["schema"]["properties"]["sex"]["primaryKey"] = true;
              }).find("exactly one primary key") != std::string::npos);
  EXPECT_TRUE(fails([](json& d) {
                d["schema"]["properties"]["id"].erase("primaryKey");
              }).find("must mark exactly one field with primaryKey") != std::string::npos);
  EXPECT_TRUE(fails([](json& d) {
                d["schema"]["required"].push_back("nope");
              }).starts_with("schema.required: "));
  EXPECT_TRUE(fails([](json& d) { d["subject"] = "sex"; }).find("not marked x-personal") !=
              std::string::npos);
  EXPECT_TRUE(fails([](json& d) { d["version"] = 1.0; }).starts_with("version: "));
  EXPECT_TRUE(fails([](json& d) { d.erase("agency"); }).starts_with("agency: "));
  EXPECT_TRUE(fails([](json& d) { d["name"] = "Bad Name"; }).starts_with("name: "));
  EXPECT_TRUE(fails([](json& d) {
                d["schema"]["properties"]["code"]["pattern"] = "([";
              }).find("not a valid regular expression") != std::string::npos);
  EXPECT_TRUE(fails([](json& d) {
                d["schema"]["properties"]["children"]["enum"] = {1};
              }).find("applies to strings only") != std::string::npos);
  EXPECT_TRUE(fails([](json& d) {
                d["schema"]["properties"]["id"]["type"] = "integer";
              }).find("must be string for a primary key") != std::string::npos);
  EXPECT_TRUE(fails([](json& d) {
                d["schema"]["properties"]["tags"].erase("items");
              }).starts_with("schema.properties.tags.items: "));
  EXPECT_EQ(fails([](json& d) {
              d["schema"]["properties"]["x"] = {{"type", "string"}, {"x-ui-hint", "wide"}};
            }),
            "ok");  // x- extensions of our own are allowed
}

TEST(ValidateRecord, AcceptsAGoodRecord) {
  EXPECT_EQ(FieldAtFault(Good()), "");
}

TEST(ValidateRecord, NamesTheFieldAtFault) {
  EXPECT_EQ(FieldAtFault(With("nickname", "x")), "nickname");
  EXPECT_EQ(FieldAtFault(Without("sex")), "sex");
  EXPECT_EQ(FieldAtFault(With("sex", nullptr)), "sex");
  EXPECT_EQ(FieldAtFault(With("sex", "X")), "sex");
  EXPECT_EQ(FieldAtFault(With("sex", 1)), "sex");
  EXPECT_EQ(FieldAtFault(With("born", "1991-02-30")), "born");
  EXPECT_EQ(FieldAtFault(With("born", "25.03.1991")), "born");
  EXPECT_EQ(FieldAtFault(With("seen_at", "2026-01-02 03:04:05")), "seen_at");
  EXPECT_EQ(FieldAtFault(With("seen_at", "2026-01-02T25:04:05Z")), "seen_at");
  EXPECT_EQ(FieldAtFault(With("email", "bold.example.mn")), "email");
  EXPECT_EQ(FieldAtFault(With("email", "bold@mn")), "email");
  EXPECT_EQ(FieldAtFault(With("phone", "99-11-22-33")), "phone");
  EXPECT_EQ(FieldAtFault(With("token", "not-a-uuid")), "token");
  EXPECT_EQ(FieldAtFault(With("children", 2.5)), "children");
  EXPECT_EQ(FieldAtFault(With("children", -1)), "children");
  EXPECT_EQ(FieldAtFault(With("children", 21)), "children");
  EXPECT_EQ(FieldAtFault(With("children", "2")), "children");
  EXPECT_EQ(FieldAtFault(With("area", 0.25)), "area");
  EXPECT_EQ(FieldAtFault(With("active", "yes")), "active");
  EXPECT_EQ(FieldAtFault(With("name", "")), "name");
  EXPECT_EQ(FieldAtFault(With("name", "Батболдоо")), "name");  // 9 characters, 18 bytes
  EXPECT_EQ(FieldAtFault(With("code", "I1")), "code");
  EXPECT_EQ(FieldAtFault(With("tags", "a")), "tags");
  EXPECT_EQ(FieldAtFault(With("tags", {"a", "c"})), "tags[1]");
  EXPECT_EQ(FieldAtFault(With("tags", {"a", "b", "a"})), "tags");
  EXPECT_EQ(FieldAtFault(With("place", {{"khoroo", 3}})), "place.region");
  EXPECT_EQ(FieldAtFault(With("place", {{"region", "11"}, {"soum", 1}})), "place.soum");
  EXPECT_EQ(FieldAtFault(json::array()), "");  // not an object: no field to name
  EXPECT_FALSE(ValidateRecord(Schema(), json::array(), IdFormat::kKzIin).ok());
}

TEST(ValidateRecord, AcceptsWholeNumbersAsFloatsAndNullForOptional) {
  EXPECT_EQ(FieldAtFault(With("children", 3.0)), "");
  EXPECT_EQ(FieldAtFault(With("email", nullptr)), "");
  EXPECT_EQ(FieldAtFault(With("tags", json::array())), "");
}

TEST(ValidateRecord, ChecksNationalIdsByThePacksRule) {
  const RegistrySchema schema = Schema();
  Status st = ValidateRecord(schema, With("person", "UB91032512"), IdFormat::kMnRegisterNumber);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().field, "person");
  EXPECT_TRUE(st.error().message.starts_with(
      "field 'person': register number must be 2 Cyrillic capital letters"));
  st = ValidateRecord(schema, With("person", "791028302723"), IdFormat::kKzIin);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "field 'person': IIN check digit is 3, expected 8");
  EXPECT_TRUE(ValidateRecord(schema, With("person", "791028302728"), IdFormat::kKzIin).ok());
}

TEST(ValidateRecord, PartialModeChecksOnlyGivenFieldsAndRefusesReadOnly) {
  EXPECT_EQ(FieldAtFault(json{{"name", "Сүх"}}, ValidationMode::kPartial), "");
  EXPECT_EQ(FieldAtFault(json{{"name", ""}}, ValidationMode::kPartial), "name");
  EXPECT_EQ(FieldAtFault(json{{"id", "S-2"}}, ValidationMode::kPartial), "id");
  EXPECT_EQ(FieldAtFault(json{{"sex", nullptr}}, ValidationMode::kPartial), "sex");
  EXPECT_EQ(FieldAtFault(json{{"name", "Сүх"}}, ValidationMode::kFull), "id");
}

TEST(ValidateRecord, MessagesSayWhatIsWrong) {
  const RegistrySchema schema = Schema();
  auto message = [&](const json& r) {
    return ValidateRecord(schema, r, IdFormat::kMnRegisterNumber).error().message;
  };
  EXPECT_EQ(message(With("sex", "X")), "field 'sex' must be one of M, F; got \"X\"");
  EXPECT_EQ(message(With("children", 21)), "field 'children' must be at most 20; got 21");
  EXPECT_EQ(message(With("born", "1991-02-30")),
            "field 'born' must be a date YYYY-MM-DD; got \"1991-02-30\"");
  EXPECT_EQ(message(With("children", "2")),
            "field 'children' must be an integer; got string \"2\"");
  EXPECT_EQ(message(Without("sex")), "field 'sex' is required");
  EXPECT_EQ(message(With("nickname", "x")),
            "unknown field 'nickname': registry 'sample' has no such field");
}

}  // namespace
}  // namespace ulus::registry
