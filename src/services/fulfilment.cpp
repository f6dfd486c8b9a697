#include "fulfilment.hpp"

#include <algorithm>
#include <chrono>
#include <future>
#include <optional>
#include <set>
#include <system_error>

#include "ulus/core/clock.hpp"

namespace ulus::services::fulfilment {
namespace {

using nlohmann::json;

// Records of a registry reached through references, read one by one: a person refers to a few.
constexpr size_t kMaxLinkedRecords = 20;

std::string_view TypeName(documents::FieldType type) {
  switch (type) {
    case documents::FieldType::kDate: return "date";
    case documents::FieldType::kInteger: return "integer";
    case documents::FieldType::kBoolean: return "boolean";
    case documents::FieldType::kString: break;
  }
  return "string";
}

// One reference inside an expression: registry.field, form.name, application.id|date.
struct Reference {
  std::string scope;  // a registry name, "form" or "application"
  std::string name;
};

std::optional<Reference> ParseReference(std::string_view text) {
  const auto dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == text.size()) return std::nullopt;
  const auto name = text.substr(dot + 1);
  if (name.find_first_of(". {}") != std::string_view::npos) return std::nullopt;
  return Reference{std::string(text.substr(0, dot)), std::string(name)};
}

// An expression as parsed: a single reference (keeps its type), count:registry, officer, or a
// text of literal parts and references.
struct Expression {
  enum Kind { kReference, kCount, kOfficer, kText } kind = kText;
  std::vector<std::string> literals;  // kText: literals[i] precedes refs[i]; one more at the end
  std::vector<Reference> refs;        // kReference: one
  std::string registry;               // kCount
};

Result<Expression> Parse(std::string_view text) {
  Expression e;
  if (text == "officer") {
    e.kind = Expression::kOfficer;
    return e;
  }
  if (text.starts_with("count:")) {
    e.kind = Expression::kCount;
    e.registry = std::string(text.substr(6));
    return e;
  }
  if (text.find('{') == std::string_view::npos) {
    auto ref = ParseReference(text);
    if (!ref) return Error::InvalidArgument("'" + std::string(text) + "' is not registry.field");
    e.kind = Expression::kReference;
    e.refs.push_back(*ref);
    return e;
  }
  std::string literal;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{') {
      if (text[i] == '}') return Error::InvalidArgument("a '}' without its '{'");
      literal += text[i];
      continue;
    }
    const auto close = text.find('}', i);
    if (close == std::string_view::npos) return Error::InvalidArgument("a '{' without its '}'");
    auto ref = ParseReference(text.substr(i + 1, close - i - 1));
    if (!ref) {
      return Error::InvalidArgument("'" + std::string(text.substr(i, close - i + 1)) +
                                    "' is not {registry.field}");
    }
    e.literals.push_back(std::move(literal));
    literal.clear();
    e.refs.push_back(*ref);
    i = close;
  }
  e.literals.push_back(std::move(literal));
  return e;
}

std::string Trimmed(std::string text) {
  const auto junk = [](char c) { return c == ' ' || c == ',' || c == ';'; };
  while (!text.empty() && junk(text.back())) text.pop_back();
  size_t start = 0;
  while (start < text.size() && junk(text[start])) ++start;
  return text.substr(start);
}

std::string AsText(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return {};
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  return value.dump();
}

// The registry an expression repeats over: the referenced registry with the most records.
const std::vector<json>* RepeatOver(const std::vector<Reference>& refs, const PulledData& data) {
  const std::vector<json>* most = nullptr;
  for (const auto& ref : refs) {
    auto it = data.records.find(ref.scope);
    if (it == data.records.end()) continue;
    if (most == nullptr || it->second.size() > most->size()) most = &it->second;
  }
  return most;
}

json ValueOf(const Reference& ref, const ClaimInputs& in, const json* current,
             const std::string& current_registry) {
  if (ref.scope == "form") {
    auto it = in.form->find(ref.name);
    return it == in.form->end() ? json() : *it;
  }
  if (ref.scope == "application") {
    return ref.name == "id" ? json(in.application_id) : json(in.date);
  }
  const json* record = nullptr;
  if (current != nullptr && ref.scope == current_registry) {
    record = current;
  } else if (auto it = in.data->records.find(ref.scope);
             it != in.data->records.end() && !it->second.empty()) {
    record = &it->second.front();
  }
  if (record == nullptr) return json();
  auto field = record->find(ref.name);
  return field == record->end() ? json() : *field;
}

std::string RegistryOf(const std::vector<json>* records, const PulledData& data) {
  for (const auto& [name, list] : data.records) {
    if (&list == records) return name;
  }
  return {};
}

}  // namespace

Result<PulledData> Pull(const ServiceDefinition& service,
                        const std::map<std::string, RegistrySource, std::less<>>& registries,
                        DataExchange& exchange, const PullContext& context) {
  // Every read is a Khur exchange of a few milliseconds (two nodes, each logging durably), so
  // reads that do not depend on each other go out at once: first every registry found by the
  // applicant's ID, then those reached through references, as soon as what refers to them is in.
  const size_t n = service.data.size();
  std::vector<const RegistrySource*> sources(n, nullptr);
  for (size_t i = 0; i < n; ++i) {
    auto it = registries.find(service.data[i]);
    if (it == registries.end()) return Error::Internal("no registry source for " + service.data[i]);
    sources[i] = &it->second;
  }
  // What each registry waits for: the registries of this service that refer to it.
  std::vector<std::vector<size_t>> waits_for(n);
  for (size_t i = 0; i < n; ++i) {
    if (!sources[i]->subject_field.empty()) continue;
    for (size_t j = 0; j < n; ++j) {
      for (const auto& [field, target] : sources[j]->refs) {
        if (target == sources[i]->name && j != i) waits_for[i].push_back(j);
      }
    }
  }
  std::vector<std::optional<Result<std::vector<Pulled>>>> results(n);
  std::vector<bool> done(n, false);
  // The values a registry is looked up by.
  auto keys_of = [&](size_t i) {
    std::vector<std::string> keys;
    if (!sources[i]->subject_field.empty()) {
      keys.push_back(context.subject);
      return keys;
    }
    std::set<std::string> seen;
    for (size_t j : waits_for[i]) {
      for (const auto& pulled : **results[j]) {
        for (const auto& record : pulled.records) {
          for (const auto& [field, target] : sources[j]->refs) {
            if (target != sources[i]->name) continue;
            auto v = record.find(field);
            if (v != record.end() && v->is_string() && seen.insert(v->get<std::string>()).second) {
              keys.push_back(v->get<std::string>());
            }
          }
        }
      }
    }
    return keys;
  };
  auto read = [&](size_t i, const std::vector<std::string>& keys) -> Result<std::vector<Pulled>> {
    const RegistrySource& registry = *sources[i];
    if (keys.size() > kMaxLinkedRecords) {
      return Error{ErrorCode::kFailedPrecondition,
                   "your records refer to more than " + std::to_string(kMaxLinkedRecords) + " " +
                       registry.name + " records; an officer must help",
                   registry.name};
    }
    std::vector<Pulled> out;
    for (const auto& key : keys) {
      PullRequest request{
          .registry = &registry,
          .field = registry.subject_field.empty() ? registry.primary_key : registry.subject_field,
          .value = key,
          .subject = context.subject,
          .purpose = context.purpose,
          .user_id = context.user_id,
          .consent_token = registry.consent_required ? context.consent_token : ""};
      ULUS_ASSIGN_OR_RETURN(auto pulled, exchange.Pull(request));
      out.push_back(std::move(pulled));
    }
    return out;
  };
  for (size_t remaining = n; remaining > 0;) {
    std::vector<size_t> wave;
    for (size_t i = 0; i < n; ++i) {
      if (done[i]) continue;
      const bool ready =
          std::all_of(waits_for[i].begin(), waits_for[i].end(), [&](size_t j) { return done[j]; });
      if (ready) wave.push_back(i);
    }
    if (wave.empty())
      return Error::Internal("the registries of " + service.id + " refer in a circle");
    std::vector<std::vector<std::string>> keys;
    for (size_t i : wave) keys.push_back(keys_of(i));
    // The first read on this thread, the others beside it.
    // Without a thread to spare (std::system_error) a read runs here after the first.
    std::vector<std::future<Result<std::vector<Pulled>>>> others;
    for (size_t w = 1; w < wave.size(); ++w) {
      try {
        others.push_back(std::async(std::launch::async, read, wave[w], std::cref(keys[w])));
      } catch (const std::system_error&) {
        others.push_back(std::async(std::launch::deferred, read, wave[w], std::cref(keys[w])));
      }
    }
    results[wave[0]] = read(wave[0], keys[0]);
    for (size_t w = 1; w < wave.size(); ++w) results[wave[w]] = others[w - 1].get();
    for (size_t i : wave) {
      if (!results[i]->ok()) return results[i]->error();
      done[i] = true;
      --remaining;
    }
  }
  // Assembled in the service's order, whatever order the reads finished in.
  PulledData out;
  for (size_t i = 0; i < n; ++i) {
    const std::string& name = sources[i]->name;
    auto& records = out.records[name];
    for (auto& pulled : **results[i]) {
      for (auto& record : pulled.records) {
        auto id = record.find(sources[i]->primary_key);
        out.sources.push_back({{"registry", name},
                               {"record", id == record.end() ? json() : *id},
                               {"exchange", pulled.x_road_id}});
        records.push_back(std::move(record));
      }
    }
    const bool optional = std::find(service.optional_data.begin(), service.optional_data.end(),
                                    name) != service.optional_data.end();
    if (records.empty() && !optional) {
      return Error{ErrorCode::kFailedPrecondition,
                   "the " + name + " registry holds no record about you", name};
    }
  }
  return out;
}

Result<json> BuildClaims(const ServiceDefinition& service,
                         const documents::Template& document_template, const ClaimInputs& in) {
  json claims = json::object();
  for (const auto& [field_name, text] : service.claims) {
    const documents::TemplateField* field = document_template.Field(field_name);
    if (field == nullptr) return Error::Internal("claim " + field_name + " is not a field");
    ULUS_ASSIGN_OR_RETURN(const Expression e, Parse(text));
    json value;
    switch (e.kind) {
      case Expression::kOfficer: {
        auto it = in.officer == nullptr ? json::const_iterator() : in.officer->find(field_name);
        if (in.officer == nullptr || it == in.officer->end()) {
          if (field->required) {
            return Error::InvalidArgument("the approval must give " + field_name, field_name);
          }
          continue;
        }
        value = *it;
        break;
      }
      case Expression::kCount: {
        auto it = in.data->records.find(e.registry);
        value = it == in.data->records.end() ? 0 : static_cast<int64_t>(it->second.size());
        break;
      }
      case Expression::kReference: {
        const auto* over = RepeatOver(e.refs, *in.data);
        if (over == nullptr || over->size() <= 1) {
          value = ValueOf(e.refs.front(), in, nullptr, {});
          break;
        }
        // A date, number or yes/no holds one value: the newest record's (the registries list
        // by primary key, which grows with time).
        if (field->type != documents::FieldType::kString) {
          value = ValueOf(e.refs.front(), in, &over->back(), e.refs[0].scope);
          break;
        }
        // Several records (vehicles, parcels): each one's value, joined.
        std::string joined;
        for (const auto& record : *over) {
          const std::string part = AsText(ValueOf(e.refs.front(), in, &record, e.refs[0].scope));
          if (part.empty()) continue;
          joined += joined.empty() ? part : "; " + part;
        }
        value = joined;
        break;
      }
      case Expression::kText: {
        const auto* over = RepeatOver(e.refs, *in.data);
        const std::string registry = RegistryOf(over, *in.data);
        std::vector<const json*> rows;
        if (over == nullptr || over->size() <= 1) {
          rows.push_back(nullptr);
        } else {
          for (const auto& record : *over) rows.push_back(&record);
        }
        std::string joined;
        for (const json* row : rows) {
          std::string part;
          for (size_t i = 0; i < e.refs.size(); ++i) {
            part += e.literals[i];
            part += AsText(ValueOf(e.refs[i], in, row, registry));
          }
          part = Trimmed(part + e.literals.back());
          if (part.empty()) continue;
          joined += joined.empty() ? part : "; " + part;
        }
        value = joined;
        break;
      }
    }
    if (value.is_null() || (value.is_string() && value.get<std::string>().empty())) {
      if (!field->required) continue;
      return Error{ErrorCode::kFailedPrecondition,
                   "the registries hold no " + field_name + " for this document", field_name};
    }
    if (field->type == documents::FieldType::kString && !value.is_string()) value = AsText(value);
    claims[field_name] = std::move(value);
  }
  ULUS_TRY(document_template.Check(claims));
  return claims;
}

Status CheckService(const ServiceDefinition& service, const documents::Template* t,
                    const std::vector<RegistrySource>& registries) {
  const auto fail = [&](const std::string& why) {
    return Error::InvalidArgument("service " + service.id + ": " + why, service.id);
  };
  auto registry = [&](std::string_view name) -> const RegistrySource* {
    for (const auto& r : registries) {
      if (r.name == name) return &r;
    }
    return nullptr;
  };
  auto in_data = [&](std::string_view name) {
    return std::find(service.data.begin(), service.data.end(), name) != service.data.end();
  };
  // Every registry is reachable: by subject, or through a reference of one listed before it.
  for (size_t i = 0; i < service.data.size(); ++i) {
    const auto* r = registry(service.data[i]);
    if (r == nullptr) return fail("reads registry " + service.data[i] + ", which is unknown");
    if (!r->subject_field.empty()) continue;
    bool reachable = false;
    for (size_t j = 0; j < i && !reachable; ++j) {
      for (const auto& [field, target] : registry(service.data[j])->refs) {
        reachable = reachable || target == r->name;
      }
    }
    if (!reachable) {
      return fail("reads " + r->name +
                  ", which names no subject, without a registry before "
                  "it that refers to it");
    }
  }
  for (const auto& name : service.optional_data) {
    if (!in_data(name)) return fail("optional_data names " + name + ", which it does not read");
  }
  if (t == nullptr) {
    if (!service.claims.empty()) return fail("has claims but produces no document");
    return Ok();
  }
  for (const auto& field : t->fields) {
    if (field.required && !service.claims.contains(field.name)) {
      return fail("document " + t->id + " needs " + field.name + ", which claims does not fill");
    }
  }
  for (const auto& [name, text] : service.claims) {
    const auto* field = t->Field(name);
    if (field == nullptr) return fail("claims fill " + name + ", not a field of " + t->id);
    auto e = Parse(text);
    if (!e.ok()) return fail("claim " + name + ": " + e.error().message);
    if (e->kind == Expression::kOfficer) {
      if (service.workflow != WorkflowKind::kReview) {
        return fail("claim " + name + " is entered by an officer, but the service is automatic");
      }
      continue;
    }
    if (e->kind == Expression::kCount) {
      if (!in_data(e->registry)) return fail("claim " + name + " counts an unread registry");
      if (field->type != documents::FieldType::kInteger &&
          field->type != documents::FieldType::kString) {
        return fail("claim " + name + " is a count, the field a " +
                    std::string(TypeName(field->type)));
      }
      continue;
    }
    for (const auto& ref : e->refs) {
      std::string type = "string";
      if (ref.scope == "application") {
        if (ref.name != "id" && ref.name != "date") return fail("application." + ref.name);
        type = ref.name == "date" ? "date" : "string";
      } else if (ref.scope == "form") {
        auto f = std::find_if(service.form.begin(), service.form.end(),
                              [&](const FormField& ff) { return ff.name == ref.name; });
        if (f == service.form.end()) return fail("claim " + name + " uses form." + ref.name);
        type = f->type;
      } else {
        const auto* r = registry(ref.scope);
        if (r == nullptr || !in_data(ref.scope)) {
          return fail("claim " + name + " uses registry " + ref.scope + ", which it does not read");
        }
        auto ft = r->field_types.find(ref.name);
        if (ft == r->field_types.end()) {
          return fail("claim " + name + " uses " + ref.scope + "." + ref.name + ", no such field");
        }
        type = ft->second;
      }
      if (e->kind == Expression::kReference && field->type != documents::FieldType::kString &&
          type != TypeName(field->type)) {
        return fail("claim " + name + " is a " + std::string(TypeName(field->type)) +
                    ", filled from a " + type);
      }
    }
    if (e->kind == Expression::kText && field->type != documents::FieldType::kString) {
      return fail("claim " + name + " is a " + std::string(TypeName(field->type)) +
                  ", filled from a text");
    }
  }
  return Ok();
}

Result<json> CheckForm(const ServiceDefinition& service, const json& form) {
  if (!form.is_object()) return Error::InvalidArgument("form is an object of entries", "form");
  json out = json::object();
  for (const auto& [name, value] : form.items()) {
    auto f = std::find_if(service.form.begin(), service.form.end(),
                          [&](const FormField& ff) { return ff.name == name; });
    if (f == service.form.end()) {
      return Error::InvalidArgument("the form of " + service.id + " has no entry " + name,
                                    "form." + name);
    }
    if (value.is_null()) continue;
    const std::string where = "form." + name;
    if (f->type == "integer") {
      if (!value.is_number_integer())
        return Error::InvalidArgument(name + " is a whole number", where);
    } else if (f->type == "boolean") {
      if (!value.is_boolean()) return Error::InvalidArgument(name + " is true or false", where);
    } else {
      if (!value.is_string()) return Error::InvalidArgument(name + " is text", where);
      const auto text = value.get<std::string>();
      if (f->type == "date" && !ParseIsoDay(text)) {
        return Error::InvalidArgument(name + " is a date YYYY-MM-DD", where);
      }
      if (text.size() > f->max_length) {
        return Error::InvalidArgument(
            name + " is at most " + std::to_string(f->max_length) + " bytes", where);
      }
      if (text.find_first_not_of(" \t\r\n") == std::string::npos) continue;
    }
    out[name] = value;
  }
  for (const auto& f : service.form) {
    if (f.required && !out.contains(f.name)) {
      return Error::InvalidArgument("the form needs " + f.name, "form." + f.name);
    }
  }
  return out;
}

}  // namespace ulus::services::fulfilment
