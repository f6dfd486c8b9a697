// The Consent BB HTTP API over ConsentService. Who may see what is decided here, from the
// caller that ConsentAuth establishes.
#include <charconv>
#include <string>
#include <utility>

#include "ulus/identity/consent.hpp"

namespace ulus::identity {
namespace {

using http::Method;
using http::Request;
using http::Response;
using nlohmann::json;
using Kind = ConsentCaller::Kind;

constexpr size_t kDefaultLimit = 20;
constexpr size_t kMaxLimit = 100;
constexpr size_t kMaxTokenBytes = size_t{16} * 1024;

Error Forbidden(std::string message) {
  return {ErrorCode::kPermissionDenied, std::move(message), {}};
}

// The same answer whether the record does not exist or is someone else's.
Error NoRecord(std::string_view id) {
  return Error::NotFound("there is no consent record '" + std::string(id) + "'");
}

Error NoAgreement(std::string_view id) {
  return Error::NotFound("there is no data agreement '" + std::string(id) + "'");
}

Result<size_t> Number(const Request& request, const char* name, size_t fallback, size_t max) {
  const auto text = request.Query(name);
  if (!text) return fallback;
  size_t value = 0;
  const auto* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end || value > max) {
    return Error::InvalidArgument(
        std::string(name) + " must be a whole number from 0 to " + std::to_string(max), name);
  }
  return value;
}

struct Page {
  size_t offset = 0;
  size_t limit = kDefaultLimit;
};

Result<Page> PageOf(const Request& request) {
  Page page;
  ULUS_ASSIGN_OR_RETURN(page.offset, Number(request, "offset", 0, size_t{1} << 40));
  ULUS_ASSIGN_OR_RETURN(page.limit, Number(request, "limit", kDefaultLimit, kMaxLimit));
  return page;
}

json AgreementAnswer(const DataAgreement& a) {
  return json{{"dataAgreement", ToJson(a)}, {"revision", ToJson(a.revision)}};
}

json RecordAnswer(const ConsentRecord& r) {
  return json{{"consentRecord", ToJson(r)}, {"revision", ToJson(r.revision)}};
}

// Body {"<key>": {...}} as GovStack sends it, or the object itself.
Result<json> Wrapped(const Request& request, const char* key) {
  ULUS_ASSIGN_OR_RETURN(auto body, request.Json());
  if (!body.is_object()) return Error::InvalidArgument("the request body must be a JSON object");
  if (const auto it = body.find(key); it != body.end()) {
    if (!it->is_object()) {
      return Error::InvalidArgument("\"" + std::string(key) + "\" must be an object", key);
    }
    return *it;
  }
  return body;
}

json PagingParameters() {
  return json::array(
      {{{"name", "offset"}, {"in", "query"}, {"schema", {{"type", "integer"}, {"minimum", 0}}}},
       {{"name", "limit"},
        {"in", "query"},
        {"schema", {{"type", "integer"}, {"minimum", 0}, {"maximum", kMaxLimit}}}}});
}

json Op(std::string id, std::string summary, std::string tag, json extra = json::object()) {
  json op{{"operationId", std::move(id)}, {"summary", std::move(summary)}, {"tags", {tag}}};
  op.update(extra);
  return op;
}

class ConsentApi {
 public:
  ConsentApi(ConsentService& service, ConsentAuth auth)
      : service_(service), auth_(std::move(auth)) {}

  Result<ConsentCaller> Caller(const Request& request) const {
    ULUS_ASSIGN_OR_RETURN(auto caller, auth_(request));
    if (caller.kind == Kind::kIndividual &&
        (caller.national_id.empty() || caller.account_id.empty())) {
      return Error::Internal("consent authentication gave an individual without ids");
    }
    if (caller.kind == Kind::kAgency && caller.agency.empty()) {
      return Error::Internal("consent authentication gave an agency client without an agency");
    }
    return caller;
  }

  Result<ConsentCaller> Individual(const Request& request) const {
    ULUS_ASSIGN_OR_RETURN(auto caller, Caller(request));
    if (caller.kind != Kind::kIndividual) {
      return Forbidden("only the individual can give, read or withdraw their consent");
    }
    return caller;
  }

  // Agreements are managed by the operator and by the controlling agency's clients.
  static bool MayManage(const ConsentCaller& caller, const DataAgreement& a) {
    return caller.kind == Kind::kOperator ||
           (caller.kind == Kind::kAgency && caller.agency == a.controller);
  }

  Result<Response> CreateAgreement(Request& request) {
    ULUS_ASSIGN_OR_RETURN(auto caller, Caller(request));
    if (caller.kind == Kind::kIndividual) {
      return Forbidden("data agreements are made by agencies and the platform operator");
    }
    ULUS_ASSIGN_OR_RETURN(auto doc, Wrapped(request, "dataAgreement"));
    ULUS_ASSIGN_OR_RETURN(auto agreement, DataAgreementFromJson(doc));
    if (!MayManage(caller, agreement)) {
      return Forbidden("an agency can make data agreements only with itself as controller ('" +
                       caller.agency + "')");
    }
    const std::string actor =
        caller.kind == Kind::kAgency ? caller.client_id : "operator:" + caller.account_id;
    ULUS_ASSIGN_OR_RETURN(auto made, service_.CreateAgreement(std::move(agreement), actor));
    return Response::Json(AgreementAnswer(made));
  }

  Result<Response> ConfigAgreement(Request& request) {
    ULUS_ASSIGN_OR_RETURN(auto caller, Caller(request));
    const auto id = request.Param("dataAgreementId");
    auto agreement = service_.Agreement(id);
    if (!agreement.ok()) return std::move(agreement).error();
    if (!MayManage(caller, *agreement)) return NoAgreement(id);
    return Response::Json(AgreementAnswer(*agreement));
  }

  Result<Response> ConfigAgreements(Request& request) {
    ULUS_ASSIGN_OR_RETURN(auto caller, Caller(request));
    if (caller.kind == Kind::kIndividual) {
      return Forbidden("the agreement configuration is for agencies and the platform operator");
    }
    ULUS_ASSIGN_OR_RETURN(auto page, PageOf(request));
    const std::string controller = caller.kind == Kind::kAgency ? caller.agency : "";
    ULUS_ASSIGN_OR_RETURN(auto list, service_.Agreements(controller, page.offset, page.limit));
    json items = json::array();
    for (const auto& a : list) items.push_back(ToJson(a));
    return Response::Json(
        {{"dataAgreements", std::move(items)}, {"offset", page.offset}, {"limit", page.limit}});
  }

  // Anyone signed in may read an agreement: it is what they are asked to consent to.
  Result<Response> ServiceAgreement(Request& request) {
    ULUS_TRY(Caller(request));
    ULUS_ASSIGN_OR_RETURN(auto agreement, service_.Agreement(request.Param("dataAgreementId")));
    return Response::Json(AgreementAnswer(agreement));
  }

  Result<Response> Grant(Request& request) {
    ULUS_ASSIGN_OR_RETURN(auto caller, Individual(request));
    std::optional<int64_t> period;
    if (!request.body().empty()) {
      ULUS_ASSIGN_OR_RETURN(auto body, request.Json());
      if (const auto it = body.find("periodDays"); body.is_object() && it != body.end()) {
        if (!it->is_number_integer()) {
          return Error::InvalidArgument("periodDays must be a whole number", "periodDays");
        }
        period = it->get<int64_t>();
      }
    }
    ULUS_ASSIGN_OR_RETURN(auto granted, service_.Grant(caller.national_id, caller.account_id,
                                                       request.Param("dataAgreementId"), period));
    json answer = RecordAnswer(granted.record);
    answer["consentToken"] = granted.token;  // Ulus extension: what the agency presents
    return Response::Json(answer);
  }

  Result<Response> MyRecordForAgreement(Request& request) {
    ULUS_ASSIGN_OR_RETURN(auto caller, Individual(request));
    const auto agreement_id = request.Param("dataAgreementId");
    ULUS_ASSIGN_OR_RETURN(auto record, service_.CurrentRecord(caller.national_id, agreement_id));
    if (!record) {
      return Error::NotFound("you have no consent record for data agreement '" +
                             std::string(agreement_id) + "'");
    }
    return Response::Json(RecordAnswer(*record));
  }

  Result<Response> MyRecords(Request& request) {
    ULUS_ASSIGN_OR_RETURN(auto caller, Individual(request));
    ULUS_ASSIGN_OR_RETURN(auto page, PageOf(request));
    ULUS_ASSIGN_OR_RETURN(auto list, service_.Records(caller.national_id, page.offset, page.limit));
    json items = json::array();
    for (const auto& r : list) items.push_back(ToJson(r));
    return Response::Json(
        {{"consentRecords", std::move(items)}, {"offset", page.offset}, {"limit", page.limit}});
  }

  Result<ConsentRecord> OwnRecord(const ConsentCaller& caller, std::string_view id) {
    auto record = service_.Record(id);
    if (!record.ok()) {
      if (record.error().code == ErrorCode::kNotFound) return NoRecord(id);
      return std::move(record).error();
    }
    if (record->individual_id != caller.national_id) return NoRecord(id);
    return record;
  }

  Result<Response> MyRecord(Request& request) {
    ULUS_ASSIGN_OR_RETURN(auto caller, Individual(request));
    ULUS_ASSIGN_OR_RETURN(auto record, OwnRecord(caller, request.Param("consentRecordId")));
    return Response::Json(RecordAnswer(record));
  }

  // GovStack updates a record by PUT; the one change an individual makes is optIn false.
  Result<Response> UpdateMyRecord(Request& request) {
    ULUS_ASSIGN_OR_RETURN(auto caller, Individual(request));
    const auto id = request.Param("consentRecordId");
    ULUS_TRY(OwnRecord(caller, id));
    ULUS_ASSIGN_OR_RETURN(auto doc, Wrapped(request, "consentRecord"));
    const auto opt_in = doc.find("optIn");
    if (opt_in == doc.end() || !opt_in->is_boolean()) {
      return Error::InvalidArgument("optIn must be given as true or false", "optIn");
    }
    if (opt_in->get<bool>()) {
      return Error::InvalidArgument(
          "to give consent again, POST /service/individual/record/data-agreement/{id}/", "optIn");
    }
    auto withdrawn = service_.Withdraw(id, caller.national_id);
    if (!withdrawn.ok()) {
      if (withdrawn.error().code == ErrorCode::kNotFound) return NoRecord(id);
      return std::move(withdrawn).error();
    }
    return Response::Json(RecordAnswer(*withdrawn));
  }

  // An agency checks a consent token presented to it. A token that fails is a 403 with the
  // reason: a 401 would tell the agency its own credentials were refused.
  Result<Response> VerifyToken(Request& request) {
    ULUS_ASSIGN_OR_RETURN(auto caller, Caller(request));
    if (caller.kind == Kind::kIndividual) {
      return Forbidden("consent tokens are verified by agencies and the platform operator");
    }
    ULUS_ASSIGN_OR_RETURN(auto body, request.Json());
    if (!body.is_object()) return Error::InvalidArgument("the request body must be a JSON object");
    auto text = [&](const char* key) {
      const auto it = body.find(key);
      return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    const std::string token = text("consentToken");
    if (token.empty() || token.size() > kMaxTokenBytes) {
      return Error::InvalidArgument("consentToken must be the consent token", "consentToken");
    }
    ConsentCheck check{.subject = text("individualId"),
                       .agreement_id = text("dataAgreementId"),
                       .purpose = text("purpose"),
                       .agency = caller.kind == Kind::kAgency ? caller.agency : text("agency")};
    if (check.subject.empty()) {
      return Error::InvalidArgument("individualId must name the person", "individualId");
    }
    if (check.agency.empty()) {
      return Error::InvalidArgument("agency must name the agency using the data", "agency");
    }
    auto verified = service_.Verify(token, check);
    if (!verified.ok()) {
      Error e = std::move(verified).error();
      if (e.code == ErrorCode::kUnauthenticated) e.code = ErrorCode::kPermissionDenied;
      return e;
    }
    return Response::Json({{"valid", true},
                           {"consentRecord", ToJson(verified->record)},
                           {"dataAgreement", ToJson(verified->agreement)},
                           {"claims", verified->claims}});
  }

  // An agency reads a record of one of its agreements; any other answers 404.
  Result<Response> VerificationRecord(Request& request) {
    ULUS_ASSIGN_OR_RETURN(auto caller, Caller(request));
    const auto id = request.Param("consentRecordId");
    if (caller.kind == Kind::kIndividual) return NoRecord(id);
    auto record = service_.Record(id);
    if (!record.ok()) {
      if (record.error().code == ErrorCode::kNotFound) return NoRecord(id);
      return std::move(record).error();
    }
    ULUS_ASSIGN_OR_RETURN(auto agreement, service_.Agreement(record->agreement_id));
    if (!MayManage(caller, agreement)) return NoRecord(id);
    return Response::Json(RecordAnswer(*record));
  }

  Result<Response> Jwks(Request&) {
    ULUS_ASSIGN_OR_RETURN(auto jwks, service_.Jwks());
    return Response::Json(jwks.ToJson());
  }

 private:
  ConsentService& service_;
  ConsentAuth auth_;
};

}  // namespace

void MountConsentApi(http::Router& router, ConsentService& service, ConsentAuth auth) {
  auto api = std::make_shared<ConsentApi>(service, std::move(auth));
  auto bind = [api](Result<Response> (ConsentApi::*method)(Request&)) {
    return [api, method](Request& request) { return ((*api).*method)(request); };
  };
  const json agreement_body{
      {"required", true},
      {"content",
       {{"application/json",
         {{"schema",
           {{"type", "object"},
            {"properties", {{"dataAgreement", {{"$ref", "#/components/schemas/DataAgreement"}}}}},
            {"required", {"dataAgreement"}}}}}}}}};
  router.AddSchema(
      "DataAgreement",
      {{"type", "object"},
       {"required", {"purpose", "lawfulBasis", "controller", "dataAttributes"}},
       {"properties",
        {{"id", {{"type", "string"}}},
         {"version", {{"type", "string"}}},
         {"controller", {{"type", "object"}, {"properties", {{"id", {{"type", "string"}}}}}}},
         {"purpose", {{"type", "string"}}},
         {"lawfulBasis",
          {{"type", "string"},
           {"enum",
            {"consent", "legal_obligation", "contract", "vital_interest", "public_task",
             "legitimate_interest"}}}},
         {"dataUse", {{"type", "string"}}},
         {"dpia", {{"type", "string"}}},
         {"dataAttributes",
          {{"type", "array"},
           {"items",
            {{"type", "object"},
             {"properties",
              {{"name", {{"type", "string"}}},
               {"sensitivity", {{"type", "string"}}},
               {"category", {{"type", "string"}}}}}}}}},
         {"periodDays", {{"type", "integer"}, {"minimum", 1}, {"maximum", 3650}}},
         {"active", {{"type", "boolean"}}},
         {"forgettable", {{"type", "boolean"}}}}}});

  router.Add(Method::post, "/config/data-agreement/", bind(&ConsentApi::CreateAgreement),
             Op("configDataAgreementCreate", "Create a data agreement (operator or its controller)",
                "consent-config", {{"requestBody", agreement_body}}));
  router.Add(Method::get, "/config/data-agreement/{dataAgreementId}/",
             bind(&ConsentApi::ConfigAgreement),
             Op("configDataAgreementRead", "Read a data agreement you manage", "consent-config"));
  router.Add(Method::get, "/config/data-agreements/", bind(&ConsentApi::ConfigAgreements),
             Op("configDataAgreementList", "List the data agreements you manage", "consent-config",
                {{"parameters", PagingParameters()}}));
  router.Add(Method::get, "/service/data-agreement/{dataAgreementId}/",
             bind(&ConsentApi::ServiceAgreement),
             Op("serviceDataAgreementRead", "Read a data agreement", "consent-service"));
  router.Add(Method::post, "/service/individual/record/data-agreement/{dataAgreementId}/",
             bind(&ConsentApi::Grant),
             Op("serviceIndividualConsentRecordCreate",
                "Give consent to a data agreement; answers the record and a consent token",
                "consent-service",
                {{"requestBody",
                  {{"required", false},
                   {"content",
                    {{"application/json",
                      {{"schema",
                        {{"type", "object"},
                         {"properties", {{"periodDays", {{"type", "integer"}}}}}}}}}}}}}}));
  router.Add(Method::get, "/service/individual/record/data-agreement/{dataAgreementId}/",
             bind(&ConsentApi::MyRecordForAgreement),
             Op("serviceIndividualConsentRecordRead",
                "Your newest consent record for a data agreement", "consent-service"));
  router.Add(Method::get, "/service/individual/record/", bind(&ConsentApi::MyRecords),
             Op("serviceIndividualConsentRecordList", "Your consent records, newest first",
                "consent-service", {{"parameters", PagingParameters()}}));
  router.Add(Method::get, "/service/individual/record/consent-record/",
             bind(&ConsentApi::MyRecords),
             Op("serviceIndividualConsentRecordListAll", "Your consent records, newest first",
                "consent-service", {{"parameters", PagingParameters()}}));
  router.Add(
      Method::get, "/service/individual/record/consent-record/{consentRecordId}/",
      bind(&ConsentApi::MyRecord),
      Op("serviceIndividualConsentRecordGet", "One of your consent records", "consent-service"));
  router.Add(
      Method::put, "/service/individual/record/consent-record/{consentRecordId}/",
      bind(&ConsentApi::UpdateMyRecord),
      Op("serviceIndividualConsentRecordUpdate",
         "Withdraw your consent: {\"consentRecord\": {\"optIn\": false}}", "consent-service"));
  router.Add(Method::post, "/service/verification/consent-token/", bind(&ConsentApi::VerifyToken),
             Op("serviceVerificationConsentToken",
                "Check a consent token for a person, agreement or purpose, and your agency",
                "consent-verification",
                {{"requestBody",
                  {{"required", true},
                   {"content",
                    {{"application/json",
                      {{"schema",
                        {{"type", "object"},
                         {"required", {"consentToken", "individualId"}},
                         {"properties",
                          {{"consentToken", {{"type", "string"}}},
                           {"individualId", {{"type", "string"}}},
                           {"dataAgreementId", {{"type", "string"}}},
                           {"purpose", {{"type", "string"}}},
                           {"agency", {{"type", "string"}}}}}}}}}}}}}}));
  router.Add(Method::get, "/service/verification/consent-record/{consentRecordId}/",
             bind(&ConsentApi::VerificationRecord),
             Op("serviceVerificationConsentRecordRead",
                "Read a consent record of an agreement you control", "consent-verification"));
  router.Add(Method::get, "/service/verification/jwks/", bind(&ConsentApi::Jwks),
             Op("serviceVerificationJwks", "The keys that sign consent tokens (JWK Set)",
                "consent-verification"));
}

}  // namespace ulus::identity
