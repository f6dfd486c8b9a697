#include "ulus/services/catalogue_api.hpp"

#include <cstdio>

#include "query_params.hpp"
#include "ulus/crypto/digest.hpp"

namespace ulus::services {

using nlohmann::json;

namespace {

constexpr size_t kDefaultLimit = 20;
constexpr size_t kMaxLimit = 200;
constexpr size_t kMaxQueryBytes = 500;

std::string_view ApplicantsName(Applicants a) {
  switch (a) {
    case Applicants::kAnyone: return "anyone";
    case Applicants::kAdult: return "adult";
    case Applicants::kParent: return "parent";
    case Applicants::kOwner: return "owner";
    case Applicants::kPensioner: return "pensioner";
  }
  return "anyone";
}

// The e-form as the applicant fills it in.
json FormJson(const ServiceDefinition& s, std::string_view lang) {
  json fields = json::array();
  for (const auto& f : s.form) {
    fields.push_back({{"name", f.name},
                      {"type", f.type},
                      {"label", Translate(f.label, lang)},
                      {"required", f.required},
                      {"maxLength", f.max_length}});
  }
  return fields;
}

json ServiceJson(const ServiceDefinition& s, std::string_view lang, std::string_view country) {
  return {{"id", s.id},
          {"form", FormJson(s, lang)},
          {"serviceId", ServiceUuid(country, s.id)},
          {"agency", s.agency},
          {"title", Translate(s.title, lang)},
          {"description", Translate(s.description, lang)},
          {"lifeEvents", s.life_events},
          {"applicants", ApplicantsName(s.applicants)},
          {"data", s.data},
          {"workflow", s.workflow == WorkflowKind::kAutomatic ? "automatic" : "review"},
          {"deadlineDays", s.deadline_days},
          {"fee", s.fee},
          {"document", s.document}};
}

// GovStack's EForm: the service's form as JSON Schema (draft 2020-12).
json EFormJson(const ServiceDefinition& s, std::string_view lang, std::string_view country) {
  json properties = json::object();
  json required = json::array();
  for (const auto& f : s.form) {
    json p = {{"title", Translate(f.label, lang)}};
    if (f.type == "date") {
      p["type"] = "string";
      p["format"] = "date";
    } else {
      p["type"] = f.type;
    }
    if (f.type == "string") p["maxLength"] = f.max_length;
    properties[f.name] = std::move(p);
    if (f.required) required.push_back(f.name);
  }
  return {{"eFormId", EFormUuid(country, s.id)},
          {"name", Translate(s.title, lang)},
          {"description", Translate(s.description, lang)},
          {"version", "1"},
          {"latest", true},
          {"schema",
           {{"$schema", "https://json-schema.org/draft/2020-12/schema"},
            {"type", "object"},
            {"properties", std::move(properties)},
            {"required", std::move(required)},
            {"additionalProperties", false}}}};
}

// GovStack's `service` object.
json GovStackService(const ServiceDefinition& s, std::string_view lang, std::string_view country) {
  return {{"id", ServiceUuid(country, s.id)},
          {"name", Translate(s.title, lang)},
          {"version", "1"},
          {"type", "Public"},
          {"isExecutable", true},
          {"isClosed", false},
          {"description", Translate(s.description, lang)}};
}

}  // namespace

std::string ServiceUuid(std::string_view country, std::string_view service_id) {
  auto digest =
      crypto::Sha256("ulus:service:" + std::string(country) + ":" + std::string(service_id));
  digest[6] = static_cast<uint8_t>((digest[6] & 0x0F) | 0x80);  // version 8
  digest[8] = static_cast<uint8_t>((digest[8] & 0x3F) | 0x80);  // RFC 9562 variant
  std::string out;
  char hex[3];
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    std::snprintf(hex, sizeof(hex), "%02x", digest[i]);
    out += hex;
  }
  return out;
}

ServiceDirectory::ServiceDirectory(const Catalogue& catalogue, std::string country)
    : catalogue_(catalogue), country_(std::move(country)) {
  for (const auto& s : catalogue.services()) {
    by_uuid_.emplace(ServiceUuid(country_, s.id), &s);
    by_eform_.emplace(EFormUuid(country_, s.id), &s);
  }
}

const ServiceDefinition* ServiceDirectory::Find(std::string_view id) const {
  if (const auto* s = catalogue_.Find(id)) return s;
  auto it = by_uuid_.find(id);
  return it == by_uuid_.end() ? nullptr : it->second;
}

const ServiceDefinition* ServiceDirectory::FindByEForm(std::string_view eform_id) const {
  auto it = by_eform_.find(eform_id);
  return it == by_eform_.end() ? nullptr : it->second;
}

void MountCatalogueApi(http::Router& router, const Catalogue& catalogue,
                       CatalogueApiOptions options) {
  const auto shared = std::make_shared<const CatalogueApiOptions>(std::move(options));
  auto language = [shared](const http::Request& request) {
    auto lang = request.Query("lang").value_or("");
    for (const auto& l : shared->languages) {
      if (l == lang) return lang;
    }
    return shared->languages.empty() ? std::string("en") : shared->languages.front();
  };
  const auto directory = std::make_shared<const ServiceDirectory>(catalogue, shared->country);
  auto find = [directory](std::string_view id) { return directory->Find(id); };

  router.Add(
      http::Method::get, "/services/v1/catalogue",
      [&catalogue, shared, language](http::Request& request) -> Result<http::Response> {
        CatalogueQuery query;
        query.text = request.Query("q").value_or("");
        if (query.text.size() > kMaxQueryBytes) {
          return Error::InvalidArgument("q is at most 500 bytes", "q");
        }
        query.agency = request.Query("agency").value_or("");
        query.life_event = request.Query("lifeEvent").value_or("");
        ULUS_ASSIGN_OR_RETURN(query.limit, SizeParam(request, "limit", kDefaultLimit, kMaxLimit));
        ULUS_ASSIGN_OR_RETURN(query.offset, SizeParam(request, "offset", 0, 100'000));
        const auto lang = language(request);
        const auto page = catalogue.Search(query);
        json services = json::array();
        for (const auto& hit : page.hits) {
          json item = ServiceJson(*hit.service, lang, shared->country);
          item["score"] = hit.score;
          services.push_back(std::move(item));
        }
        auto response = http::Response::Json({{"total", page.total}, {"services", services}});
        response.headers.emplace_back("Cache-Control", "public, max-age=60");
        return response;
      },
      {{"summary", "Search the service catalogue by words, agency and life event"},
       {"tags", {"services"}}});

  router.Add(http::Method::get, "/services/v1/catalogue/{id}",
             [shared, language, find](http::Request& request) -> Result<http::Response> {
               const auto* s = find(request.Param("id"));
               if (s == nullptr)
                 return Error::NotFound("no service " + std::string(request.Param("id")));
               json out = ServiceJson(*s, language(request), shared->country);
               out["titles"] = s->title;
               out["descriptions"] = s->description;
               return http::Response::Json(out);
             },
             {{"summary", "One service of the catalogue"}, {"tags", {"services"}}});

  router.Add(
      http::Method::get, "/services/v1/life-events",
      [&catalogue, language](http::Request& request) -> Result<http::Response> {
        const auto lang = language(request);
        json out = json::array();
        for (const auto& e : catalogue.life_events()) {
          out.push_back({{"id", e.id},
                         {"title", Translate(e.title, lang)},
                         {"services", catalogue.Search({.life_event = e.id}).total}});
        }
        return http::Response::Json(out);
      },
      {{"summary", "Life events, each with how many services it has"}, {"tags", {"services"}}});

  router.Add(http::Method::get, "/services",
             [&catalogue, shared, language](http::Request& request) -> Result<http::Response> {
               CatalogueQuery query{.text = request.Query("name").value_or(""), .limit = kMaxLimit};
               if (query.text.size() > kMaxQueryBytes) {
                 return Error::InvalidArgument("name is at most 500 bytes", "name");
               }
               const auto lang = language(request);
               json out = json::array();
               // GovStack's list has no paging: every match, in pages of the search's largest size.
               for (size_t offset = 0;; offset += kMaxLimit) {
                 query.offset = offset;
                 const auto page = catalogue.Search(query);
                 for (const auto& hit : page.hits) {
                   out.push_back(GovStackService(*hit.service, lang, shared->country));
                 }
                 if (offset + kMaxLimit >= page.total) break;
               }
               return http::Response::Json(out);
             },
             {{"summary", "GovStack Registration BB: the services, or those whose name matches"},
              {"tags", {"services", "govstack"}}});

  router.Add(
      http::Method::get, "/services/{serviceId}",
      [shared, language, find](http::Request& request) -> Result<http::Response> {
        const auto* s = find(request.Param("serviceId"));
        if (s == nullptr) {
          return Error::NotFound("no service " + std::string(request.Param("serviceId")));
        }
        return http::Response::Json(GovStackService(*s, language(request), shared->country));
      },
      {{"summary", "GovStack Registration BB: one service"}, {"tags", {"services", "govstack"}}});

  // The e-form of each service (GovStack's eForms): one per service, its id a UUID derived
  // like the service's, its schema JSON Schema of the entries.
  auto form_of = [directory](std::string_view form_id) { return directory->FindByEForm(form_id); };
  router.Add(http::Method::get, "/services/{serviceId}/eForms",
             [shared, language, find](http::Request& request) -> Result<http::Response> {
               const auto* s = find(request.Param("serviceId"));
               if (s == nullptr) {
                 return Error::NotFound("no service " + std::string(request.Param("serviceId")));
               }
               json item = EFormJson(*s, language(request), shared->country);
               item.erase("schema");
               return http::Response::Json(json::array({item}));
             },
             {{"summary", "GovStack Registration BB: the service's e-forms"},
              {"tags", {"services", "govstack"}}});
  router.Add(http::Method::get, "/eForms/{eFormId}",
             [shared, language, form_of](http::Request& request) -> Result<http::Response> {
               const auto* s = form_of(request.Param("eFormId"));
               if (s == nullptr) {
                 return Error::NotFound("no e-form " + std::string(request.Param("eFormId")));
               }
               return http::Response::Json(EFormJson(*s, language(request), shared->country));
             },
             {{"summary", "GovStack Registration BB: one e-form with its JSON Schema"},
              {"tags", {"services", "govstack"}}});
}

std::string EFormUuid(std::string_view country, std::string_view service_id) {
  return ServiceUuid(country, std::string(service_id) + "#form");
}

}  // namespace ulus::services
