#include "ulus/registry/registry_api.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ulus/core/id.hpp"

namespace ulus::registry {
namespace {

using http::Method;
using http::Request;
using http::Response;
using nlohmann::json;

constexpr int64_t kMicrosPerDay = 86'400'000'000;
constexpr size_t kMaxReasonBytes = 2000;
constexpr std::string_view kJsonType = "application/json";

Error Unauthenticated(std::string message) {
  return Error{ErrorCode::kUnauthenticated, std::move(message), std::string(kClientHeader)};
}

// Compares without an early exit, so the time taken says nothing about the key.
bool SameKey(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = static_cast<unsigned char>(
        diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  }
  return diff == 0;
}

Result<std::string> ClientOf(const Request& request, std::string_view caller_key) {
  if (!caller_key.empty() && !SameKey(request.Header(kCallerKeyHeader), caller_key)) {
    return Error{ErrorCode::kUnauthenticated,
                 "these registries answer only through Khur: call them as "
                 "/r1/{instance}/{class}/{member}/{subsystem}/{registry}/... on your agency's node",
                 std::string(kCallerKeyHeader)};
  }
  const auto client = request.Header(kClientHeader);
  if (client.empty()) {
    return Unauthenticated("the request names no client: send the header " +
                           std::string(kClientHeader) + ": INSTANCE/CLASS/MEMBER/SUBSYSTEM");
  }
  if (!IsClientId(client) || client.size() > 255) {
    return Unauthenticated(std::string(kClientHeader) +
                           " must be an X-Road client id INSTANCE/CLASS/MEMBER/SUBSYSTEM");
  }
  return std::string(client);
}

Response JsonText(std::string body, http::Status status = http::Status::ok) {
  Response r;
  r.status = status;
  r.content_type = std::string(kJsonType);
  r.body = std::move(body);
  return r;
}

// {"content": <stored JSON>} without parsing and re-serializing the record.
Response ContentResponse(const std::string& data) {
  std::string body;
  body.reserve(data.size() + 12);
  body += "{\"content\":";
  body += data;
  body += '}';
  return JsonText(std::move(body));
}

Result<json> ParseStored(const RecordVersion& v) {
  json parsed = json::parse(v.data, nullptr, false);
  if (parsed.is_discarded()) {
    return Error::Internal("record '" + v.id + "' of registry '" + v.registry +
                           "' is not stored as JSON");
  }
  return parsed;
}

// body[key].content, which must be an object when present.
Result<const json*> ContentOf(const json& body, const char* key, bool required) {
  const std::string path = std::string(key) + ".content";
  if (!body.is_object()) return Error::InvalidArgument("the request body must be a JSON object");
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) {
    if (!required) return static_cast<const json*>(nullptr);
    return Error::InvalidArgument(
        "the request body needs \"" + std::string(key) + "\": {\"content\": {...}}", path);
  }
  if (!it->is_object()) {
    return Error::InvalidArgument("\"" + std::string(key) + "\" must be an object", key);
  }
  auto content = it->find("content");
  if (content == it->end() || !content->is_object()) {
    return Error::InvalidArgument(path + " must be an object of fields", path);
  }
  return &*content;
}

CivilDate Today(const Clock& clock) {
  const int64_t micros = ToUnixMicros(clock.Now());
  int64_t days = micros / kMicrosPerDay;
  if (micros % kMicrosPerDay < 0) --days;
  return CivilFromDays(days);
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// Who, why and from when: the reason is required (a register change without a ground is not
// acceptable), valid-from defaults to today and may not lie in the future.
Result<Change> ChangeOf(const Request& request, const json* body, const std::string& client,
                        CivilDate today) {
  Change change{
      .actor = client, .reason = Trim(request.Header(kReasonHeader)), .valid_from = today};
  std::string valid_from = Trim(request.Header(kValidFromHeader));
  if (body != nullptr && body->is_object()) {
    if (auto it = body->find("reason"); change.reason.empty() && it != body->end()) {
      if (!it->is_string()) return Error::InvalidArgument("reason must be text", "reason");
      change.reason = Trim(it->get<std::string>());
    }
    if (auto it = body->find("validFrom"); valid_from.empty() && it != body->end()) {
      if (!it->is_string()) {
        return Error::InvalidArgument("validFrom must be a date YYYY-MM-DD", "validFrom");
      }
      valid_from = it->get<std::string>();
    }
  }
  if (change.reason.empty()) {
    return Error::InvalidArgument("every change to a register needs its ground: send the " +
                                      std::string(kReasonHeader) +
                                      " header or \"reason\" in the body",
                                  "reason");
  }
  if (change.reason.size() > kMaxReasonBytes) {
    return Error::InvalidArgument(
        "the reason is longer than " + std::to_string(kMaxReasonBytes) + " bytes", "reason");
  }
  if (!valid_from.empty()) {
    auto day = ParseIsoDate(valid_from);
    if (!day) {
      return Error::InvalidArgument("validFrom '" + valid_from + "' is not a date YYYY-MM-DD",
                                    "validFrom");
    }
    if (*day > today) {
      return Error::InvalidArgument("validFrom " + valid_from +
                                        " lies in the future; a register records what is valid "
                                        "now or was valid before",
                                    "validFrom");
    }
    change.valid_from = *day;
  }
  return change;
}

Result<std::optional<CivilDate>> AsOfOf(const Request& request) {
  auto text = request.Query("asOf");
  if (!text) return std::optional<CivilDate>();
  auto day = ParseIsoDate(*text);
  if (!day) {
    return Error::InvalidArgument("asOf '" + *text + "' is not a date YYYY-MM-DD", "asOf");
  }
  return std::optional<CivilDate>(*day);
}

std::string_view TypeWord(FieldType type) {
  switch (type) {
    case FieldType::kString: return "text";
    case FieldType::kInteger: return "an integer";
    case FieldType::kNumber: return "a number";
    case FieldType::kBoolean: return "true or false";
    case FieldType::kArray: return "a list";
    case FieldType::kObject: return "an object";
  }
  return "a value";
}

// Checks one value a query compares a field with: its type, and the formats whose violation
// would only ever match nothing (a malformed national id is a mistake worth naming).
Status CheckQueryValue(const FieldSchema& f, const json& v, const IdRule& id_rule) {
  if (v.is_null()) return Ok();
  bool ok = false;
  switch (f.type) {
    case FieldType::kString: ok = v.is_string(); break;
    case FieldType::kInteger: ok = v.is_number_integer(); break;
    case FieldType::kNumber: ok = v.is_number(); break;
    case FieldType::kBoolean: ok = v.is_boolean(); break;
    case FieldType::kArray:
    case FieldType::kObject:
      return Error::InvalidArgument("field '" + f.name + "' holds " +
                                        std::string(TypeWord(f.type)) + " and cannot be queried",
                                    f.name);
  }
  if (!ok) {
    return Error::InvalidArgument(
        "field '" + f.name + "' must be " + std::string(TypeWord(f.type)) + "; got " + v.dump(),
        f.name);
  }
  if (f.type == FieldType::kString && f.format == FieldFormat::kNationalId) {
    auto valid = ValidateNationalId(id_rule, v.get_ref<const std::string&>());
    if (!valid.ok()) {
      return Error::InvalidArgument("field '" + f.name + "': " + valid.error().message, f.name);
    }
  }
  return Ok();
}

Error UnknownField(const RegistrySchema& schema, std::string_view field) {
  return Error::InvalidArgument("unknown field '" + std::string(field) + "': registry '" +
                                    schema.name + "' has no such field",
                                std::string(field));
}

RecordFilter::Target TargetOf(const RegistrySchema& schema, std::string_view field) {
  if (field == schema.primary_key) return RecordFilter::Target::kRecordId;
  if (!schema.subject.empty() && field == schema.subject) return RecordFilter::Target::kSubject;
  return RecordFilter::Target::kField;
}

Result<std::vector<RecordFilter>> FiltersOf(const RegistrySchema& schema, const json& content,
                                            const IdRule& id_rule) {
  std::vector<RecordFilter> filters;
  for (const auto& [key, value] : content.items()) {
    const FieldSchema* f = schema.FindField(key);
    if (f == nullptr) return UnknownField(schema, key);
    ULUS_TRY(CheckQueryValue(*f, value, id_rule));
    RecordFilter filter;
    filter.target = value.is_null() ? RecordFilter::Target::kField : TargetOf(schema, key);
    filter.field = key;
    filter.value = value;
    filters.push_back(std::move(filter));
  }
  return filters;
}

// The record id when `filters` is exactly "primary key equals X": reads then take the index.
std::optional<std::string> OnlyId(const std::vector<RecordFilter>& filters) {
  if (filters.size() != 1 || filters[0].target != RecordFilter::Target::kRecordId ||
      filters[0].op != RecordFilter::Op::kEquals || !filters[0].value.is_string()) {
    return std::nullopt;
  }
  return filters[0].value.get<std::string>();
}

// Current, live records matching `filters` inside a write, at most `limit`.
Result<std::vector<RecordVersion>> FindForWrite(RecordWriter& w, const RegistrySchema& schema,
                                                const std::vector<RecordFilter>& filters,
                                                int64_t limit) {
  if (auto id = OnlyId(filters)) {
    std::vector<RecordVersion> out;
    auto current = w.Current(schema.name, *id);
    if (current.ok() && !current->deleted) out.push_back(std::move(current).value());
    if (!current.ok() && current.error().code != ErrorCode::kNotFound) {
      return std::move(current).error();
    }
    return out;
  }
  RecordQuery query;
  query.filters = filters;
  query.limit = limit;
  query.count = false;
  return w.Find(schema.name, query);
}

std::optional<std::string> SubjectOf(const RegistrySchema& schema, const json& record) {
  if (schema.subject.empty()) return std::nullopt;
  auto it = record.find(schema.subject);
  if (it == record.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// JSON merge patch (RFC 7396) on the top level: null removes a field.
json Merge(json record, const json& patch) {
  for (const auto& [key, value] : patch.items()) {
    if (value.is_null()) {
      record.erase(key);
    } else {
      record[key] = value;
    }
  }
  return record;
}

// The write content as a patch: its primary key may repeat the record's id but not change it.
Result<json> PatchOf(const RegistrySchema& schema, const json& write,
                     const std::optional<std::string>& id, const IdRule& id_rule) {
  json patch = write;
  if (auto it = patch.find(schema.primary_key); it != patch.end()) {
    if (id && it->is_string() && it->get<std::string>() == *id) {
      patch.erase(it);
    } else if (id) {
      return Error::InvalidArgument(
          "field '" + schema.primary_key + "' identifies the record and cannot be changed",
          schema.primary_key);
    }
  }
  ULUS_TRY(ValidateRecord(schema, patch, id_rule, ValidationMode::kPartial));
  return patch;
}

std::optional<std::string> StringField(const json& content, const std::string& field) {
  auto it = content.find(field);
  if (it == content.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// The id of a record about to be created: its primary key, or a new UUIDv7 when the key is a
// uuid the caller left out.
Result<std::string> IdForCreate(const RegistrySchema& schema, json& content, const Clock& clock) {
  if (auto id = StringField(content, schema.primary_key)) return *id;
  const FieldSchema* pk = schema.FindField(schema.primary_key);
  if (!content.contains(schema.primary_key) && pk != nullptr && pk->format == FieldFormat::kUuid) {
    std::string id = NewUuidV7(clock);
    content[schema.primary_key] = id;
    return id;
  }
  return Error::InvalidArgument("field '" + schema.primary_key + "' is required",
                                schema.primary_key);
}

// Prefixes a validation error with the record it is about, keeping the field.
Error AboutRecord(Error e, const std::string& id) {
  e.message = "record '" + id + "': " + e.message;
  return e;
}

// Applies a merge patch to the stored version `current`, validates the whole result and writes it
// as the record's next version. Returns the record as written.
Result<json> PatchRecord(RecordWriter& w, const RegistrySchema& schema, const IdRule& id_rule,
                         const RecordVersion& current, const json& patch, const Change& change) {
  ULUS_ASSIGN_OR_RETURN(json record, ParseStored(current));
  json updated = Merge(std::move(record), patch);
  auto valid = ValidateRecord(schema, updated, id_rule, ValidationMode::kFull);
  if (!valid.ok()) return AboutRecord(std::move(valid).error(), current.id);
  ULUS_TRY(w.Put(schema.name, current.id, SubjectOf(schema, updated), updated.dump(), change,
                 RecordWriter::Expect::kExisting));
  return updated;
}

// ---------------------------------------------------------------------------------------------
// Query strings (list): every parameter, percent-decoded.

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> Decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

struct QueryParam {
  std::string key;
  std::string value;
  std::string_view raw;  // "key=value" as sent, for building page links
};

Result<std::vector<QueryParam>> QueryParams(std::string_view target) {
  std::vector<QueryParam> out;
  const auto question = target.find('?');
  if (question == std::string_view::npos) return out;
  auto query = target.substr(question + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = Decode(pair.substr(0, eq));
    auto value =
        eq == std::string_view::npos ? std::optional<std::string>("") : Decode(pair.substr(eq + 1));
    if (!key || !value) {
      return Error::InvalidArgument("the query string has a malformed %-escape in '" +
                                    std::string(pair.substr(0, 100)) + "'");
    }
    out.push_back({std::move(*key), std::move(*value), pair});
  }
  return out;
}

Result<int64_t> PositiveInt(const std::string& text, const char* name) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size() || n < 1) {
    return Error::InvalidArgument(
        std::string(name) + " must be a positive integer; got '" + text + "'", name);
  }
  return n;
}

// A query-string value for `f`, typed as the field is.
Result<json> TypedValue(const FieldSchema& f, const std::string& text) {
  switch (f.type) {
    case FieldType::kString: return json(text);
    case FieldType::kInteger: {
      int64_t n = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ec == std::errc() && p == text.data() + text.size()) return json(n);
      break;
    }
    case FieldType::kNumber: {
      double d = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
      if (ec == std::errc() && p == text.data() + text.size() && std::isfinite(d)) return json(d);
      break;
    }
    case FieldType::kBoolean:
      if (text == "true") return json(true);
      if (text == "false") return json(false);
      break;
    case FieldType::kArray:
    case FieldType::kObject: break;
  }
  return Error::InvalidArgument(
      "query." + f.name + " must be " + std::string(TypeWord(f.type)) + "; got '" + text + "'",
      f.name);
}

std::string PageLink(std::string_view path, const std::vector<QueryParam>& params, int64_t page) {
  std::string link(path);
  char sep = '?';
  for (const auto& p : params) {
    if (p.key == "page") continue;
    link += sep;
    link += p.raw;
    sep = '&';
  }
  link += sep;
  link += "page=" + std::to_string(page);
  return link;
}

std::string Rfc3339Micros(int64_t micros) {
  return FormatRfc3339(FromUnixMicros(micros));
}

// ---------------------------------------------------------------------------------------------
// OpenAPI

json HeaderParam() {
  return {{"name", std::string(kClientHeader)},
          {"in", "header"},
          {"required", true},
          {"description",
           "The calling X-Road client, INSTANCE/CLASS/MEMBER/SUBSYSTEM (e.g. "
           "MN/GOV/GASR/civil-registry). The country pack's access rules say which registries "
           "it may read or write. Missing: 401; not allowed: 403."},
          {"schema", {{"type", "string"}}}};
}

json PathParams() {
  return json::array(
      {HeaderParam(),
       {{"name", "registryName"},
        {"in", "path"},
        {"required", true},
        {"description", "The registry, e.g. person. Unknown: 404."},
        {"schema", {{"type", "string"}}}},
       {{"name", "versionNumber"},
        {"in", "path"},
        {"required", true},
        {"description",
         "The registry's schema version, e.g. 1.0 (see GET /databases). Other: 404."},
        {"schema", {{"type", "string"}}}}});
}

json IdParam() {
  return {{"name", "ID"},
          {"in", "path"},
          {"required", true},
          {"description", "The record's primary key."},
          {"schema", {{"type", "string"}}}};
}

json AsOfParam() {
  return {{"name", "asOf"},
          {"in", "query"},
          {"required", false},
          {"description",
           "Read the registry as it was on this day: the newest version whose validFrom is on or "
           "before it (a deleted record reads as absent)."},
          {"schema", {{"type", "string"}, {"format", "date"}}}};
}

json ChangeParams() {
  return json::array(
      {{{"name", std::string(kReasonHeader)},
        {"in", "header"},
        {"required", false},
        {"description",
         "The ground of the change (e.g. a court decision number). Required for every write: "
         "here or as \"reason\" in the body; missing: 400."},
        {"schema", {{"type", "string"}, {"maxLength", kMaxReasonBytes}}}},
       {{"name", std::string(kValidFromHeader)},
        {"in", "header"},
        {"required", false},
        {"description",
         "The day the new content takes effect (or \"validFrom\" in the body). Default: today "
         "(UTC). May not lie in the future."},
        {"schema", {{"type", "string"}, {"format", "date"}}}}});
}

json JsonBody(const json& schema) {
  return {{"required", true}, {"content", {{"application/json", {{"schema", schema}}}}}};
}

json Ref(const char* name) {
  return {{"$ref", std::string("#/components/schemas/") + name}};
}

json JsonResponse(const char* description, const json& schema) {
  return {{"description", description}, {"content", {{"application/json", {{"schema", schema}}}}}};
}

json Op(const char* id, const char* summary, const char* description, json parameters) {
  return {{"operationId", id},
          {"summary", summary},
          {"description", description},
          {"tags", json::array({"Registry data"})},
          {"parameters", std::move(parameters)}};
}

json Concat(json a, const json& b) {
  for (const auto& x : b) a.push_back(x);
  return a;
}

json ContentSchema(const char* description) {
  return {{"type", "object"},
          {"description", description},
          {"required", json::array({"content"})},
          {"properties", {{"content", Ref("Record")}}}};
}

json WriteBodySchema(bool query_required) {
  json required = json::array({"write"});
  if (query_required) required.push_back("query");
  json s = {{"type", "object"},
            {"required", required},
            {"properties",
             {{"query",
               {{"type", "object"},
                {"description", "Selects the record(s): every field given must match."},
                {"properties", {{"content", Ref("Record")}}}}},
              {"write",
               {{"type", "object"},
                {"description",
                 "The fields to set (a JSON merge patch on the top level: null removes a "
                 "field)."},
                {"properties", {{"content", Ref("Record")}}}}},
              {"reason", {{"type", "string"}, {"description", "The change's ground."}}},
              {"validFrom", {{"type", "string"}, {"format", "date"}}}}}};
  return s;
}

json QueryBodySchema() {
  return {{"type", "object"},
          {"required", json::array({"query"})},
          {"properties",
           {{"query",
             {{"type", "object"},
              {"required", json::array({"content"})},
              {"properties", {{"content", Ref("Record")}}}}}}}};
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct RegistryApi::Call {
  std::string client;
  std::shared_ptr<const CatalogEntry> entry;
  [[nodiscard]] const RegistrySchema& schema() const { return entry->schema; }
  [[nodiscard]] RecordStore& store() const { return *entry->store; }
};

Result<RegistryApi::Call> RegistryApi::Begin(Request& request, Access access) const {
  Call call;
  ULUS_ASSIGN_OR_RETURN(call.client, ClientOf(request, options_.caller_key));
  const auto name = request.Param("registryName");
  call.entry = catalog_.Find(name);
  if (!call.entry) return Error::NotFound("there is no registry '" + std::string(name) + "'");
  const auto version = request.Param("versionNumber");
  if (version != call.entry->schema.version) {
    return Error::NotFound("registry '" + std::string(name) + "' is served at version " +
                           call.entry->schema.version + ", not '" + std::string(version) + "'");
  }
  if (!catalog_.MayAccess(call.client, *call.entry, access)) {
    return Error::PermissionDenied("client '" + call.client + "' may not " +
                                   (access == Access::kRead ? "read" : "write") + " registry '" +
                                   std::string(name) + "'");
  }
  return call;
}

Result<Response> RegistryApi::List(Request& request) {
  ULUS_ASSIGN_OR_RETURN(Call call, Begin(request, Access::kRead));
  const RegistrySchema& schema = call.schema();
  ULUS_ASSIGN_OR_RETURN(auto params, QueryParams(request.target()));
  RecordQuery query;
  int64_t page = 1;
  int64_t page_size = options_.default_page_size;
  std::optional<std::string> search;
  std::string search_field;
  for (const auto& p : params) {
    if (p.key == "page") {
      ULUS_ASSIGN_OR_RETURN(page, PositiveInt(p.value, "page"));
    } else if (p.key == "pageSize") {
      ULUS_ASSIGN_OR_RETURN(page_size, PositiveInt(p.value, "pageSize"));
      if (page_size > options_.max_page_size) {
        return Error::InvalidArgument(
            "pageSize may be at most " + std::to_string(options_.max_page_size), "pageSize");
      }
    } else if (p.key == "search") {
      search = p.value;
    } else if (p.key == "filter") {
      if (!p.value.empty() && schema.FindField(p.value) == nullptr) {
        return UnknownField(schema, p.value);
      }
      search_field = p.value;
    } else if (p.key == "ordering") {
      std::string_view o = p.value;
      if (o.empty() || o == "ascending" || o == "asc") {
        query.descending = false;
      } else if (o == "descending" || o == "desc") {
        query.descending = true;
      } else {
        query.descending = o.front() == '-';
        if (query.descending) o.remove_prefix(1);
        const FieldSchema* f = schema.FindField(o);
        if (f == nullptr) return UnknownField(schema, o);
        if (o != schema.primary_key) query.order_field = std::string(o);
      }
    } else if (p.key == "asOf") {
      auto day = ParseIsoDate(p.value);
      if (!day) {
        return Error::InvalidArgument("asOf '" + p.value + "' is not a date YYYY-MM-DD", "asOf");
      }
      query.as_of = *day;
    } else if (p.key.starts_with("query.")) {
      const std::string field = p.key.substr(6);
      const FieldSchema* f = schema.FindField(field);
      if (f == nullptr) return UnknownField(schema, field);
      ULUS_ASSIGN_OR_RETURN(json value, TypedValue(*f, p.value));
      ULUS_TRY(CheckQueryValue(*f, value, catalog_.pack().id_rule));
      query.filters.push_back({.target = TargetOf(schema, field),
                               .op = RecordFilter::Op::kEquals,
                               .field = field,
                               .value = std::move(value)});
    }
    // Other parameters are ignored, as HTTP APIs usually do.
  }
  if (search && !search->empty()) {
    RecordFilter f{.target = search_field.empty() ? RecordFilter::Target::kAnyText
                                                  : TargetOf(schema, search_field),
                   .op = RecordFilter::Op::kContains,
                   .field = search_field,
                   .value = *search};
    query.filters.push_back(std::move(f));
  }
  query.limit = page_size;
  query.offset = (page - 1) * page_size;
  ULUS_ASSIGN_OR_RETURN(auto found, call.store().List(schema.name, query));

  std::string body = "{\"count\":" + std::to_string(found.total) + ",\"next\":";
  const std::string path(request.path());
  body += query.offset + page_size < found.total ? json(PageLink(path, params, page + 1)).dump()
                                                 : "null";
  body += ",\"previous\":";
  body += page > 1 ? json(PageLink(path, params, page - 1)).dump() : "null";
  body += ",\"results\":[";
  for (size_t i = 0; i < found.records.size(); ++i) {
    if (i > 0) body += ',';
    body += found.records[i].data;
  }
  body += "]}";
  return JsonText(std::move(body));
}

Result<Response> RegistryApi::Create(Request& request) {
  ULUS_ASSIGN_OR_RETURN(Call call, Begin(request, Access::kWrite));
  const RegistrySchema& schema = call.schema();
  ULUS_ASSIGN_OR_RETURN(json body, request.Json());
  ULUS_ASSIGN_OR_RETURN(const json* write, ContentOf(body, "write", true));
  ULUS_ASSIGN_OR_RETURN(Change change, ChangeOf(request, &body, call.client, Today(clock_)));
  json content = *write;
  ULUS_ASSIGN_OR_RETURN(std::string id, IdForCreate(schema, content, clock_));
  ULUS_TRY(ValidateRecord(schema, content, catalog_.pack().id_rule, ValidationMode::kFull));
  const auto subject = SubjectOf(schema, content);
  const std::string data = content.dump();
  auto work = [&](RecordWriter& w) -> Status {
    ULUS_TRY(w.Put(schema.name, id, subject, data, change, RecordWriter::Expect::kNew));
    return Ok();
  };
  ULUS_TRY(call.store().Write(work));
  return ContentResponse(data);
}

Result<Response> RegistryApi::Exists(Request& request) {
  ULUS_ASSIGN_OR_RETURN(Call call, Begin(request, Access::kRead));
  const RegistrySchema& schema = call.schema();
  ULUS_ASSIGN_OR_RETURN(json body, request.Json());
  ULUS_ASSIGN_OR_RETURN(const json* content, ContentOf(body, "query", true));
  RecordQuery query;
  ULUS_ASSIGN_OR_RETURN(query.filters, FiltersOf(schema, *content, catalog_.pack().id_rule));
  ULUS_ASSIGN_OR_RETURN(query.as_of, AsOfOf(request));
  query.limit = 1;
  query.count = false;
  ULUS_ASSIGN_OR_RETURN(auto found, call.store().List(schema.name, query));
  const bool exists = !found.records.empty();
  return Response::Json(
      {{"answer",
        {{"status", exists},
         {"message", exists ? "Object found from database" : "Object not found from database"}}}});
}

Result<Response> RegistryApi::Read(Request& request) {
  ULUS_ASSIGN_OR_RETURN(Call call, Begin(request, Access::kRead));
  const RegistrySchema& schema = call.schema();
  ULUS_ASSIGN_OR_RETURN(json body, request.Json());
  ULUS_ASSIGN_OR_RETURN(const json* content, ContentOf(body, "query", true));
  ULUS_ASSIGN_OR_RETURN(auto filters, FiltersOf(schema, *content, catalog_.pack().id_rule));
  ULUS_ASSIGN_OR_RETURN(auto as_of, AsOfOf(request));
  if (auto id = OnlyId(filters)) {
    auto found = as_of ? call.store().ReadAsOf(schema.name, *id, *as_of)
                       : call.store().Read(schema.name, *id);
    if (!found.ok()) return std::move(found).error();
    return ContentResponse(found->data);
  }
  if (filters.empty()) {
    return Error::InvalidArgument("query.content names no field to find the record by",
                                  "query.content");
  }
  RecordQuery query;
  query.filters = std::move(filters);
  query.as_of = as_of;
  query.limit = 2;
  query.count = false;
  ULUS_ASSIGN_OR_RETURN(auto found, call.store().List(schema.name, query));
  if (found.records.empty()) return Error::NotFound("no record found");
  if (found.records.size() > 1) {
    return Error::Conflict(
        "more than one record matches the query; add fields to it, or list with query.<field>");
  }
  return ContentResponse(found.records.front().data);
}

Result<Response> RegistryApi::Update(Request& request) {
  ULUS_ASSIGN_OR_RETURN(Call call, Begin(request, Access::kWrite));
  const RegistrySchema& schema = call.schema();
  const IdRule& id_rule = catalog_.pack().id_rule;
  ULUS_ASSIGN_OR_RETURN(json body, request.Json());
  ULUS_ASSIGN_OR_RETURN(const json* write, ContentOf(body, "write", true));
  ULUS_ASSIGN_OR_RETURN(const json* selector, ContentOf(body, "query", false));
  ULUS_ASSIGN_OR_RETURN(Change change, ChangeOf(request, &body, call.client, Today(clock_)));
  std::vector<RecordFilter> filters;
  if (selector != nullptr) {
    ULUS_ASSIGN_OR_RETURN(filters, FiltersOf(schema, *selector, id_rule));
  } else if (auto id = StringField(*write, schema.primary_key)) {
    filters.push_back(
        {.target = RecordFilter::Target::kRecordId, .field = schema.primary_key, .value = *id});
  }
  if (filters.empty()) {
    return Error::InvalidArgument(
        "say which record to update: query.content, or the primary key '" + schema.primary_key +
            "' in write.content",
        "query.content");
  }
  ULUS_ASSIGN_OR_RETURN(json patch, PatchOf(schema, *write, OnlyId(filters), id_rule));
  json updated;
  auto work = [&](RecordWriter& w) -> Status {
    ULUS_ASSIGN_OR_RETURN(auto matches, FindForWrite(w, schema, filters, 2));
    if (matches.empty()) return Error::NotFound("no record matches the query");
    if (matches.size() > 1) {
      return Error::Conflict("more than one record matches the query; use updateEntries");
    }
    ULUS_ASSIGN_OR_RETURN(updated, PatchRecord(w, schema, id_rule, matches.front(), patch, change));
    return Ok();
  };
  ULUS_TRY(call.store().Write(work));
  return Response::Json({{"content", updated}});
}

Result<Response> RegistryApi::UpdateEntries(Request& request) {
  ULUS_ASSIGN_OR_RETURN(Call call, Begin(request, Access::kWrite));
  const RegistrySchema& schema = call.schema();
  const IdRule& id_rule = catalog_.pack().id_rule;
  ULUS_ASSIGN_OR_RETURN(json body, request.Json());
  ULUS_ASSIGN_OR_RETURN(const json* write, ContentOf(body, "write", true));
  // Without a query every record would change: too easy to do by mistake.
  ULUS_ASSIGN_OR_RETURN(const json* selector, ContentOf(body, "query", true));
  ULUS_ASSIGN_OR_RETURN(Change change, ChangeOf(request, &body, call.client, Today(clock_)));
  ULUS_ASSIGN_OR_RETURN(auto filters, FiltersOf(schema, *selector, id_rule));
  ULUS_ASSIGN_OR_RETURN(json patch, PatchOf(schema, *write, OnlyId(filters), id_rule));
  int64_t count = 0;
  auto work = [&](RecordWriter& w) -> Status {
    count = 0;
    ULUS_ASSIGN_OR_RETURN(auto matches,
                          FindForWrite(w, schema, filters, options_.max_update_entries + 1));
    if (static_cast<int64_t>(matches.size()) > options_.max_update_entries) {
      return Error{ErrorCode::kTooLarge,
                   "the query matches more than " + std::to_string(options_.max_update_entries) +
                       " records; narrow it",
                   "query.content"};
    }
    for (const auto& current : matches) {
      ULUS_TRY(PatchRecord(w, schema, id_rule, current, patch, change));
      ++count;
    }
    return Ok();
  };
  ULUS_TRY(call.store().Write(work));
  return Response::Json({{"count", count}});
}

Result<Response> RegistryApi::UpdateOrCreate(Request& request) {
  ULUS_ASSIGN_OR_RETURN(Call call, Begin(request, Access::kWrite));
  const RegistrySchema& schema = call.schema();
  const IdRule& id_rule = catalog_.pack().id_rule;
  ULUS_ASSIGN_OR_RETURN(json body, request.Json());
  ULUS_ASSIGN_OR_RETURN(const json* write, ContentOf(body, "write", true));
  ULUS_ASSIGN_OR_RETURN(const json* selector, ContentOf(body, "query", false));
  ULUS_ASSIGN_OR_RETURN(Change change, ChangeOf(request, &body, call.client, Today(clock_)));
  std::vector<RecordFilter> filters;
  if (selector != nullptr) {
    ULUS_ASSIGN_OR_RETURN(filters, FiltersOf(schema, *selector, id_rule));
  } else if (auto id = StringField(*write, schema.primary_key)) {
    filters.push_back(
        {.target = RecordFilter::Target::kRecordId, .field = schema.primary_key, .value = *id});
  }
  json result;
  auto work = [&](RecordWriter& w) -> Status {
    std::vector<RecordVersion> matches;
    if (!filters.empty()) {
      ULUS_ASSIGN_OR_RETURN(matches, FindForWrite(w, schema, filters, 2));
    }
    if (matches.size() > 1) {
      return Error::Conflict("more than one record matches the query; use updateEntries");
    }
    if (matches.empty()) {
      // Create from what the query said the record is, and what to write.
      result = selector != nullptr ? Merge(*selector, *write) : *write;
      ULUS_ASSIGN_OR_RETURN(std::string id, IdForCreate(schema, result, clock_));
      ULUS_TRY(ValidateRecord(schema, result, id_rule, ValidationMode::kFull));
      ULUS_TRY(w.Put(schema.name, id, SubjectOf(schema, result), result.dump(), change,
                     RecordWriter::Expect::kNew));
      return Ok();
    }
    const RecordVersion& current = matches.front();
    ULUS_ASSIGN_OR_RETURN(json patch, PatchOf(schema, *write, current.id, id_rule));
    ULUS_ASSIGN_OR_RETURN(result, PatchRecord(w, schema, id_rule, current, patch, change));
    return Ok();
  };
  ULUS_TRY(call.store().Write(work));
  return Response::Json({{"content", result}});
}

Result<Response> RegistryApi::Delete(Request& request) {
  ULUS_ASSIGN_OR_RETURN(Call call, Begin(request, Access::kWrite));
  const RegistrySchema& schema = call.schema();
  // DELETE usually has no body; the reason comes in a header, or in a JSON body if one is sent.
  json body;
  if (!request.body().empty()) {
    ULUS_ASSIGN_OR_RETURN(body, request.Json());
  }
  ULUS_ASSIGN_OR_RETURN(Change change, ChangeOf(request, &body, call.client, Today(clock_)));
  const std::string id(request.Param("ID"));
  auto work = [&](RecordWriter& w) -> Status {
    ULUS_TRY(w.Delete(schema.name, id, change));
    return Ok();
  };
  ULUS_TRY(call.store().Write(work));
  return Response::NoContent();
}

Result<Response> RegistryApi::ReadValue(Request& request) {
  ULUS_ASSIGN_OR_RETURN(Call call, Begin(request, Access::kRead));
  const RegistrySchema& schema = call.schema();
  const std::string_view field_ext = request.Param("fieldExt");
  const auto dot = field_ext.rfind('.');
  if (dot == std::string_view::npos || dot == 0) {
    return Error::InvalidArgument(
        "the path must end with {field}.{ext}, e.g. given_name.json or given_name.txt", "field");
  }
  const std::string field(field_ext.substr(0, dot));
  const std::string ext(field_ext.substr(dot + 1));
  if (schema.FindField(field) == nullptr) return UnknownField(schema, field);
  if (ext != "json" && ext != "txt") {
    return Error::InvalidArgument("extension '" + ext + "' is not served; use json or txt", "ext");
  }
  ULUS_ASSIGN_OR_RETURN(auto as_of, AsOfOf(request));
  const std::string id(request.Param("ID"));
  ULUS_ASSIGN_OR_RETURN(RecordVersion found, as_of ? call.store().ReadAsOf(schema.name, id, *as_of)
                                                   : call.store().Read(schema.name, id));
  ULUS_ASSIGN_OR_RETURN(json record, ParseStored(found));
  auto it = record.find(field);
  if (it == record.end() || it->is_null()) {
    return Error::NotFound("record '" + id + "' has no value for field '" + field + "'");
  }
  if (ext == "txt") {
    return Response::Text(it->is_string() ? it->get<std::string>() : it->dump());
  }
  return Response::Json({{"value", *it}});
}

Result<Response> RegistryApi::History(Request& request) {
  ULUS_ASSIGN_OR_RETURN(Call call, Begin(request, Access::kRead));
  const std::string id(request.Param("ID"));
  ULUS_ASSIGN_OR_RETURN(auto versions, call.store().History(call.schema().name, id));
  json out = {{"registry", call.schema().name}, {"id", id}, {"versions", json::array()}};
  for (const auto& v : versions) {
    ULUS_ASSIGN_OR_RETURN(json content, ParseStored(v));
    out["versions"].push_back({{"version", v.version},
                               {"validFrom", v.valid_from},
                               {"recordedAt", Rfc3339Micros(v.recorded_at)},
                               {"actor", v.actor},
                               {"reason", v.reason},
                               {"deleted", v.deleted},
                               {"content", std::move(content)}});
  }
  return Response::Json(out);
}

// ---------------------------------------------------------------------------------------------
// Database API

namespace {

json DatabaseInfo(const CatalogEntry& e, const Pack& pack) {
  const auto& s = e.schema;
  const Agency* agency = pack.FindAgency(s.agency);
  const std::string_view lang = pack.default_language;
  json info = {
      {"id", s.name},
      {"name", s.name},
      {"version", s.version},
      {"title", std::string(Localize(s.title, lang))},
      {"description", std::string(Localize(s.description, lang))},
      {"institution", agency != nullptr ? std::string(Localize(agency->name, lang)) : s.agency},
      {"agency", s.agency},
      {"primaryKey", s.primary_key},
      {"subject", s.subject.empty() ? json(nullptr) : json(s.subject)},
      {"schema", s.document.value("schema", json::object())},
      {"source", e.from_pack ? "pack" : "run-time"},
      {"modifiedAt", e.modified_at == 0 ? json(nullptr) : json(Rfc3339Micros(e.modified_at))},
      {"byUserName", e.modified_by.empty() ? json(nullptr) : json(e.modified_by)},
      {"isDraft", false},
      {"isDisabled", false},
      {"isArchived", false},
  };
  return info;
}

}  // namespace

Result<Response> RegistryApi::Databases(Request& request) {
  ULUS_ASSIGN_OR_RETURN(std::string client, ClientOf(request, options_.caller_key));
  const Pack& pack = catalog_.pack();
  json databases = json::array();
  for (const auto& e : catalog_.All()) databases.push_back(DatabaseInfo(*e, pack));
  return Response::Json({{"code", pack.code},
                         {"name", std::string(Localize(pack.name, pack.default_language))},
                         {"databases", std::move(databases)}});
}

Result<Response> RegistryApi::Database(Request& request) {
  ULUS_ASSIGN_OR_RETURN(std::string client, ClientOf(request, options_.caller_key));
  const auto id = request.Param("id");
  auto entry = catalog_.Find(id);
  if (!entry) return Error::NotFound("there is no registry '" + std::string(id) + "'");
  return Response::Json(DatabaseInfo(*entry, catalog_.pack()));
}

Result<Response> RegistryApi::ModifyDatabase(Request& request) {
  ULUS_ASSIGN_OR_RETURN(std::string client, ClientOf(request, options_.caller_key));
  if (!catalog_.IsAdministrator(client)) {
    return Error::PermissionDenied("client '" + client +
                                   "' is not an administrator of the registries' schemas");
  }
  ULUS_ASSIGN_OR_RETURN(json body, request.Json());
  if (!body.is_object()) return Error::InvalidArgument("the request body must be a JSON object");
  // GovStack names the database "code"; a registry document names it "name". Either will do.
  std::string name;
  for (const char* key : {"code", "name"}) {
    if (auto it = body.find(key); it != body.end() && it->is_string())
      name = it->get<std::string>();
  }
  if (name.empty()) return Error::InvalidArgument("code is required: the registry's name", "code");
  auto current = catalog_.Find(name);
  json document = current ? current->schema.document : json::object();
  document["name"] = name;
  for (const char* key : {"version", "agency", "title", "description", "subject", "access"}) {
    if (auto it = body.find(key); it != body.end()) document[key] = *it;
  }
  if (!document.contains("version")) document["version"] = "1.0";
  if (!document.contains("title")) {
    if (auto it = body.find("catalogName"); it != body.end()) document["title"] = *it;
  }
  auto schema = body.find("schema");
  if (schema == body.end() || !schema->is_object()) {
    return Error::InvalidArgument("schema is required: {type: object, properties: {...}}",
                                  "schema");
  }
  document["schema"] = *schema;
  if (document.contains("subject") && document["subject"].is_null()) document.erase("subject");
  ULUS_ASSIGN_OR_RETURN(auto entry, catalog_.Put(document, client));
  return Response::Json(entry->schema.document.value("schema", json::object()));
}

Result<Response> RegistryApi::DeleteDatabase(Request& request) {
  ULUS_ASSIGN_OR_RETURN(std::string client, ClientOf(request, options_.caller_key));
  if (!catalog_.IsAdministrator(client)) {
    return Error::PermissionDenied("client '" + client +
                                   "' is not an administrator of the registries' schemas");
  }
  ULUS_TRY(catalog_.Remove(request.Param("id"), client));
  return Response::Json(json("Success"));
}

// ---------------------------------------------------------------------------------------------

void RegistryApi::Mount(http::Router& router) {
  auto bind = [this](Result<Response> (RegistryApi::*method)(Request&)) {
    return [this, method](Request& r) { return (this->*method)(r); };
  };
  const std::string base = "/data/{registryName}/{versionNumber}";
  const json record_response = JsonResponse(
      "The record.", {{"type", "object"}, {"properties", {{"content", Ref("Record")}}}});

  router.AddSchema("Record", {{"type", "object"},
                              {"description",
                               "A registry record: the fields of the registry's schema (see "
                               "GET /database/{id})."},
                              {"additionalProperties", true}});

  json list_params = PathParams();
  for (const auto& [name, description] : std::vector<std::pair<const char*, const char*>>{
           {"search",
            "Text to find (a case-sensitive substring) in the field named by filter, "
            "or in any text field."},
           {"filter", "The field search looks in."},
           {"ordering",
            "ascending or descending (by primary key), or a field name, '-' first for "
            "descending."},
           {"page", "Page number, from 1."},
           {"pageSize", "Records per page, 1-1000 (default 10)."}}) {
    list_params.push_back(
        {{"name", name},
         {"in", "query"},
         {"required", false},
         {"description", description},
         {"schema", {{"type", std::string(name).starts_with("page") ? "integer" : "string"}}}});
  }
  list_params.push_back({{"name", "query.<field>"},
                         {"in", "query"},
                         {"required", false},
                         {"description",
                          "Only records whose <field> equals the value (typed as the field is). "
                          "Repeat for more fields."},
                         {"schema", {{"type", "string"}}}});
  list_params.push_back(AsOfParam());
  json list_op =
      Op("list", "list",
         "Lists live records, one page at a time, optionally searched and filtered.", list_params);
  const json page_schema = {{"type", "object"},
                            {"required", json::array({"count", "results"})},
                            {"properties",
                             {{"count", {{"type", "integer"}}},
                              {"next",
                               {{"type", "string"},
                                {"nullable", true},
                                {"description", "Path and query of the next page."}}},
                              {"previous", {{"type", "string"}, {"nullable", true}}},
                              {"results", {{"type", "array"}, {"items", Ref("Record")}}}}}};
  list_op["responses"] = {{"200", JsonResponse("A page of records.", page_schema)}};
  router.Add(Method::get, base, bind(&RegistryApi::List), list_op);

  const json write_params = Concat(PathParams(), ChangeParams());
  json create_op = Op("create", "create",
                      "Creates a record (version 1). A uuid primary key left out is generated. "
                      "409 when the id exists.",
                      write_params);
  create_op["requestBody"] =
      JsonBody({{"type", "object"},
                {"required", json::array({"write"})},
                {"properties",
                 {{"write", ContentSchema("The new record.")},
                  {"reason", {{"type", "string"}}},
                  {"validFrom", {{"type", "string"}, {"format", "date"}}}}}});
  create_op["responses"] = {{"200", record_response}};
  router.Add(Method::post, base + "/create", bind(&RegistryApi::Create), create_op);

  json exists_op = Op("exists", "exists", "Says whether a live record matches every field given.",
                      Concat(PathParams(), json::array({AsOfParam()})));
  exists_op["requestBody"] = JsonBody(QueryBodySchema());
  exists_op["responses"] = {
      {"200", JsonResponse("The answer.", {{"type", "object"},
                                           {"properties",
                                            {{"answer",
                                              {{"type", "object"},
                                               {"properties",
                                                {{"status", {{"type", "boolean"}}},
                                                 {"message", {{"type", "string"}}}}}}}}}})}};
  router.Add(Method::post, base + "/exists", bind(&RegistryApi::Exists), exists_op);

  json read_op = Op("read", "read",
                    "Returns the one record matching every field given (by primary key: one index "
                    "lookup). 404 when none, 409 when several match. With asOf, the registry as "
                    "it was on that day.",
                    Concat(PathParams(), json::array({AsOfParam()})));
  read_op["requestBody"] = JsonBody(QueryBodySchema());
  read_op["responses"] = {{"200", record_response}};
  router.Add(Method::post, base + "/read", bind(&RegistryApi::Read), read_op);

  json update_op = Op("update", "update",
                      "Writes a new version of the one record the query (or write.content's "
                      "primary key) selects, merging write.content into it.",
                      write_params);
  update_op["requestBody"] = JsonBody(WriteBodySchema(false));
  update_op["responses"] = {{"200", record_response}};
  router.Add(Method::put, base + "/update", bind(&RegistryApi::Update), update_op);

  json entries_op = Op("updateEntries", "updateEntries",
                       "Merges write.content into every record the query selects (at most 10,000), "
                       "all in one transaction. Also served as update-entries.",
                       write_params);
  entries_op["requestBody"] = JsonBody(WriteBodySchema(true));
  entries_op["responses"] = {
      {"200",
       JsonResponse("How many records changed.",
                    {{"type", "object"}, {"properties", {{"count", {{"type", "integer"}}}}}})}};
  router.Add(Method::put, base + "/updateEntries", bind(&RegistryApi::UpdateEntries), entries_op);
  entries_op["operationId"] = "updateEntriesKebab";
  router.Add(Method::put, base + "/update-entries", bind(&RegistryApi::UpdateEntries), entries_op);

  json uoc_op = Op("updateOrCreate", "updateOrCreate",
                   "Updates the one record the query selects, or creates it from query.content "
                   "and write.content when none does. Also served as update-or-create.",
                   write_params);
  uoc_op["requestBody"] = JsonBody(WriteBodySchema(false));
  uoc_op["responses"] = {{"200", record_response}};
  router.Add(Method::post, base + "/updateOrCreate", bind(&RegistryApi::UpdateOrCreate), uoc_op);
  uoc_op["operationId"] = "updateOrCreateKebab";
  router.Add(Method::post, base + "/update-or-create", bind(&RegistryApi::UpdateOrCreate), uoc_op);

  json delete_op =
      Op("delete", "delete", "Deletes a record by writing a tombstone version; its history stays.",
         Concat(Concat(PathParams(), json::array({IdParam()})), ChangeParams()));
  delete_op["responses"] = {{"204", {{"description", "Deleted."}}}};
  router.Add(Method::delete_, base + "/{ID}/delete", bind(&RegistryApi::Delete), delete_op);

  json value_op =
      Op("readValue", "readValue",
         "One field of a record: {\"value\": ...} for .json, the bare value for .txt. "
         "Also served as read-value.",
         Concat(PathParams(), json::array({IdParam(),
                                           {{"name", "fieldExt"},
                                            {"in", "path"},
                                            {"required", true},
                                            {"description", "{field}.{ext}: e.g. given_name.json"},
                                            {"schema", {{"type", "string"}}}},
                                           AsOfParam()})));
  value_op["responses"] = {
      {"200", JsonResponse("The value.",
                           {{"type", "object"}, {"properties", {{"value", json::object()}}}})}};
  router.Add(Method::get, base + "/{ID}/readValue/{fieldExt}", bind(&RegistryApi::ReadValue),
             value_op);
  value_op["operationId"] = "readValueKebab";
  router.Add(Method::get, base + "/{ID}/read-value/{fieldExt}", bind(&RegistryApi::ReadValue),
             value_op);

  json history_op = Op("history", "history",
                       "Every version of a record, newest first: content, who (actor), when "
                       "(recordedAt), why (reason), from when (validFrom), and tombstones.",
                       Concat(PathParams(), json::array({IdParam()})));
  history_op["responses"] = {
      {"200", JsonResponse("The versions.",
                           {{"type", "object"},
                            {"properties",
                             {{"registry", {{"type", "string"}}},
                              {"id", {{"type", "string"}}},
                              {"versions",
                               {{"type", "array"},
                                {"items",
                                 {{"type", "object"},
                                  {"properties",
                                   {{"version", {{"type", "integer"}}},
                                    {"validFrom", {{"type", "string"}, {"format", "date"}}},
                                    {"recordedAt", {{"type", "string"}, {"format", "date-time"}}},
                                    {"actor", {{"type", "string"}}},
                                    {"reason", {{"type", "string"}}},
                                    {"deleted", {{"type", "boolean"}}},
                                    {"content", Ref("Record")}}}}}}}}}})}};
  router.Add(Method::get, base + "/{ID}/history", bind(&RegistryApi::History), history_op);

  // Database (schema) API.
  auto db_op = [](const char* id, const char* description, json parameters) {
    json op = {{"operationId", id},
               {"summary", id},
               {"description", description},
               {"tags", json::array({"Registry schemas"})},
               {"parameters", std::move(parameters)}};
    return op;
  };
  const json id_param = {{"name", "id"},
                         {"in", "path"},
                         {"required", true},
                         {"description",
                          "The registry's name (GovStack uses an integer; Ulus "
                          "registries are named)."},
                         {"schema", {{"type", "string"}}}};
  router.Add(
      Method::get, "/databases", bind(&RegistryApi::Databases),
      db_op("databases", "Every registry served, with its schema.", json::array({HeaderParam()})));
  router.Add(
      Method::get, "/database/{id}", bind(&RegistryApi::Database),
      db_op("database", "One registry with its schema.", json::array({HeaderParam(), id_param})));
  json modify_op = db_op("modifyDatabase",
                         "Creates or replaces a registry's schema (administrators only, as "
                         "listed in pack.yaml's administrators or by --registry-admin). Body: "
                         "code (the registry's name), schema, and version, agency, title, "
                         "description, subject, access {read, write: [clients]} as in a pack's "
                         "registry file. Kept, versioned, in the agency's store.",
                         json::array({HeaderParam()}));
  modify_op["requestBody"] = JsonBody({{"type", "object"},
                                       {"required", json::array({"code", "schema"})},
                                       {"properties",
                                        {{"code", {{"type", "string"}}},
                                         {"version", {{"type", "string"}}},
                                         {"agency", {{"type", "string"}}},
                                         {"subject", {{"type", "string"}}},
                                         {"schema", {{"type", "object"}}},
                                         {"access", {{"type", "object"}}}}}});
  router.Add(Method::post, "/database/modify", bind(&RegistryApi::ModifyDatabase), modify_op);
  router.Add(Method::delete_, "/database/{id}", bind(&RegistryApi::DeleteDatabase),
             db_op("deleteDatabase",
                   "Stops serving a registry (administrators only). Its records stay in the "
                   "store; putting the schema back serves them again.",
                   json::array({HeaderParam(), id_param})));
}

}  // namespace ulus::registry
