#include "ulus/services/applications_api.hpp"

#include "query_params.hpp"
#include "ulus/services/catalogue_api.hpp"

namespace ulus::services {
namespace {

using nlohmann::json;
using std::chrono::sys_days;

constexpr size_t kMaxDepth = 8;

std::string Day(const std::optional<sys_days>& day) {
  return day ? FormatIsoDay(*day) : std::string();
}

Result<json> Body(const http::Request& request) {
  ULUS_ASSIGN_OR_RETURN(json body, request.Json());
  if (!body.is_object()) return Error::InvalidArgument("the body is a JSON object", "body");
  if (!http::JsonDepthAtMost(body, kMaxDepth)) {
    return Error::InvalidArgument("the body nests too deeply", "body");
  }
  return body;
}

std::string Text(const json& body, const char* name) {
  auto it = body.find(name);
  return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json ObjectOf(const json& body, const char* name) {
  auto it = body.find(name);
  return it != body.end() && it->is_object() ? *it : json::object();
}

// GovStack's statusModel.
json GovStackStatus(ApplicationState state) {
  switch (state) {
    case ApplicationState::kSubmitted:
    case ApplicationState::kInReview: return {{"code", "PENDING"}, {"title", "Pending"}};
    case ApplicationState::kInformationRequested:
      return {{"code", "SENDBACK"}, {"title", "Sent back to the applicant"}};
    case ApplicationState::kCompleted: return {{"code", "APPROVED"}, {"title", "Approved"}};
    case ApplicationState::kRejected: return {{"code", "REJECTED"}, {"title", "Rejected"}};
    case ApplicationState::kWithdrawn:
      return {{"code", "REJECTED"}, {"title", "Withdrawn by the applicant"}};
  }
  return {{"code", "PENDING"}};
}

struct Shared {
  ApplicationService& service;
  identity::OidcProvider& oidc;
  identity::AccountDirectory& accounts;
  ApplicationsApiOptions options;
  ServiceDirectory directory{service.catalogue(), options.country};

  std::string Language(const http::Request& request) const {
    auto lang = request.Query("lang").value_or("");
    for (const auto& l : options.languages) {
      if (l == lang) return lang;
    }
    return options.languages.empty() ? std::string("en") : options.languages.front();
  }

  Result<Actor> Authenticate(const http::Request& request) const {
    const auto started = std::chrono::steady_clock::now();
    ULUS_ASSIGN_OR_RETURN(auto caller,
                          identity::AuthenticateApiCaller(request, oidc, accounts, "services"));
    service.NoteTokenCheck(std::chrono::steady_clock::now() - started);
    Actor actor;
    if (caller.IsClient()) {
      // An agency's back-end works its agency's applications (GovStack's operator system).
      if (caller.client_agency.empty()) {
        return Error::PermissionDenied("this client acts for no agency");
      }
      actor.account = "client:" + caller.client_id;
      actor.officer_of.push_back(caller.client_agency);
      return actor;
    }
    actor.account = caller.account_id;
    actor.national_id = caller.national_id;
    actor.officer_of = caller.OfficerOf();
    actor.desk = caller.HasRole("desk");
    return actor;
  }

  json ApplicationJson(const Application& a, std::string_view lang) const {
    const auto* definition = service.catalogue().Find(a.service);
    json out = {{"id", a.id},
                {"service", a.service},
                {"serviceId", ServiceUuid(options.country, a.service)},
                {"serviceTitle", definition ? Translate(definition->title, lang) : a.service},
                {"agency", a.agency},
                {"applicant", a.applicant},
                {"state", StateName(a.state)},
                {"form", a.form},
                {"created", FormatRfc3339(a.created)},
                {"updated", FormatRfc3339(a.updated)},
                {"filedBy", a.filed_by},
                {"version", a.version},
                {"late", service.Late(a)},
                {"sources", a.sources}};
    if (a.due) out["due"] = Day(a.due);
    if (a.state_due) out["stateDue"] = Day(a.state_due);
    if (!a.assignee.empty()) out["assignee"] = a.assignee;
    if (!a.confirmation.empty()) out["confirmation"] = a.confirmation;
    if (!a.reason.empty()) out["reason"] = a.reason;
    if (!a.document.empty()) {
      out["document"] = a.document;
      out["links"] = {{"document", "/documents/v1/documents/" + a.document},
                      {"pdf", "/documents/v1/documents/" + a.document + "/pdf"}};
    }
    return out;
  }

  json GovStackFile(const Application& a, std::string_view lang) const {
    const auto* definition = service.catalogue().Find(a.service);
    return {{"fileId", a.id},
            {"applicantId", a.applicant},
            {"registered", FormatRfc3339(a.created)},
            {"serviceId", ServiceUuid(options.country, a.service)},
            {"serviceName", definition ? Translate(definition->title, lang) : a.service},
            {"status", GovStackStatus(a.state)},
            {"ended", IsFinal(a.state)},
            {"applicationData",
             {{"applicantId", a.applicant},
              {"created", FormatRfc3339(a.created)},
              {"formData", {{"data", a.form}}}}}};
  }

  // A GovStack task: the application's next step, named by its state; its id carries the
  // version so a stale completion is refused.
  json Task(const Application& a, std::string_view lang) const {
    const auto* definition = service.catalogue().Find(a.service);
    std::string name = "decide";
    std::string role = "officer";
    if (a.state == ApplicationState::kSubmitted) name = "take-up";
    if (a.state == ApplicationState::kInformationRequested) {
      name = "provide-information";
      role = "applicant";
    }
    json task = {{"taskId", a.id + "." + std::to_string(a.version)},
                 {"mainTaskId", a.id},
                 {"name", name},
                 {"roleId", role},
                 {"created", FormatRfc3339(a.updated)},
                 {"serviceId", ServiceUuid(options.country, a.service)},
                 {"serviceName", definition ? Translate(definition->title, lang) : a.service},
                 {"fileId", a.id},
                 {"status", GovStackStatus(a.state)}};
    if (!a.assignee.empty()) task["assigneeId"] = a.assignee;
    if (a.state_due) task["description"] = "due " + Day(a.state_due);
    return task;
  }

  const ServiceDefinition* FindService(std::string_view id) const { return directory.Find(id); }

  // The open applications an actor has a next step on: their agencies' (officer) or their own
  // waiting for information (applicant).
  Result<std::vector<Application>> TasksOf(const Actor& actor, size_t limit, size_t offset) const {
    std::vector<Application> out;
    for (const auto& agency : actor.officer_of) {
      ULUS_ASSIGN_OR_RETURN(
          auto inbox,
          service.Inbox({.agency = agency, .limit = limit + offset, .offset = 0}, actor));
      out.insert(out.end(), inbox.begin(), inbox.end());
    }
    if (!actor.national_id.empty()) {
      ULUS_ASSIGN_OR_RETURN(auto mine, service.Mine(actor, 200, 0));
      for (auto& a : mine) {
        if (a.state == ApplicationState::kInformationRequested) out.push_back(std::move(a));
      }
    }
    if (offset >= out.size()) return std::vector<Application>();
    out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(offset));
    if (out.size() > limit) out.resize(limit);
    return out;
  }
};

http::Status SubmittedStatus(const Application& a) {
  return IsFinal(a.state) ? http::Status::created : http::Status::accepted;
}

}  // namespace

void MountApplicationsApi(http::Router& router, ApplicationService& service,
                          identity::OidcProvider& oidc, identity::AccountDirectory& accounts,
                          ApplicationsApiOptions options) {
  auto s = std::make_shared<Shared>(Shared{service, oidc, accounts, std::move(options)});
  using http::Method;
  using http::Request;
  using http::Response;

  router.Add(Method::post, "/services/v1/applications", [s](Request& request) -> Result<Response> {
    ULUS_ASSIGN_OR_RETURN(auto actor, s->Authenticate(request));
    ULUS_ASSIGN_OR_RETURN(auto body, Body(request));
    Submission submission{.service = Text(body, "service"),
                          .form = ObjectOf(body, "form"),
                          .consent_token = Text(body, "consentToken"),
                          .idempotency_key = std::string(request.Header("Idempotency-Key"))};
    if (body.contains("form") && !body["form"].is_object()) {
      return Error::InvalidArgument("form is an object of entries", "form");
    }
    ULUS_ASSIGN_OR_RETURN(auto a, s->service.Submit(submission, actor));
    auto response = Response::Json(s->ApplicationJson(a, s->Language(request)), SubmittedStatus(a));
    response.headers.emplace_back("Location", "/services/v1/applications/" + a.id);
    return response;
  });

  router.Add(Method::get, "/services/v1/applications", [s](Request& request) -> Result<Response> {
    ULUS_ASSIGN_OR_RETURN(auto actor, s->Authenticate(request));
    ULUS_ASSIGN_OR_RETURN(auto limit, SizeParam(request, "limit", 20, 200));
    ULUS_ASSIGN_OR_RETURN(auto offset, SizeParam(request, "offset", 0, 1'000'000));
    ULUS_ASSIGN_OR_RETURN(auto list, s->service.Mine(actor, limit, offset));
    json out = json::array();
    for (const auto& a : list) out.push_back(s->ApplicationJson(a, s->Language(request)));
    return Response::Json({{"applications", out}});
  });

  router.Add(Method::get, "/services/v1/applications/{id}",
             [s](Request& request) -> Result<Response> {
               ULUS_ASSIGN_OR_RETURN(auto actor, s->Authenticate(request));
               ULUS_ASSIGN_OR_RETURN(auto a, s->service.Get(request.Param("id"), actor));
               return Response::Json(s->ApplicationJson(a, s->Language(request)));
             });

  router.Add(Method::get, "/services/v1/applications/{id}/history",
             [s](Request& request) -> Result<Response> {
               ULUS_ASSIGN_OR_RETURN(auto actor, s->Authenticate(request));
               ULUS_ASSIGN_OR_RETURN(auto events, s->service.History(request.Param("id"), actor));
               json out = json::array();
               for (const auto& e : events) {
                 out.push_back({{"at", FormatRfc3339(e.at)},
                                {"actor", e.actor},
                                {"action", e.action},
                                {"from", e.from_state},
                                {"to", e.to_state},
                                {"comment", e.comment}});
               }
               return Response::Json({{"events", out}});
             });

  router.Add(Method::post, "/services/v1/applications/{id}/actions",
             [s](Request& request) -> Result<Response> {
               ULUS_ASSIGN_OR_RETURN(auto actor, s->Authenticate(request));
               ULUS_ASSIGN_OR_RETURN(auto body, Body(request));
               Action action{.name = Text(body, "action"),
                             .comment = Text(body, "comment"),
                             .claims = ObjectOf(body, "claims"),
                             .form = ObjectOf(body, "form")};
               if (auto v = body.find("version"); v != body.end()) {
                 if (!v->is_number_integer()) {
                   return Error::InvalidArgument("version is the application's version", "version");
                 }
                 action.expected_version = v->get<int64_t>();
               }
               ULUS_ASSIGN_OR_RETURN(auto a, s->service.Act(request.Param("id"), action, actor));
               return Response::Json(s->ApplicationJson(a, s->Language(request)));
             });

  router.Add(Method::post, "/services/v1/applications/{id}/attachments",
             [s](Request& request) -> Result<Response> {
               ULUS_ASSIGN_OR_RETURN(auto actor, s->Authenticate(request));
               std::string media_type(request.Header("Content-Type"));
               if (auto semi = media_type.find(';'); semi != std::string::npos) {
                 media_type.resize(semi);
               }
               ULUS_ASSIGN_OR_RETURN(
                   auto attachment,
                   s->service.Attach(request.Param("id"), request.Query("name").value_or(""),
                                     media_type, request.body(), actor));
               return Response::Json({{"id", attachment.id},
                                      {"name", attachment.name},
                                      {"mediaType", attachment.media_type},
                                      {"size", attachment.size},
                                      {"sha256", attachment.sha256}},
                                     http::Status::created);
             });

  router.Add(Method::get, "/services/v1/applications/{id}/attachments",
             [s](Request& request) -> Result<Response> {
               ULUS_ASSIGN_OR_RETURN(auto actor, s->Authenticate(request));
               ULUS_ASSIGN_OR_RETURN(auto list, s->service.Attachments(request.Param("id"), actor));
               json out = json::array();
               for (const auto& a : list) {
                 out.push_back({{"id", a.id},
                                {"name", a.name},
                                {"mediaType", a.media_type},
                                {"size", a.size},
                                {"sha256", a.sha256},
                                {"uploadedBy", a.uploaded_by},
                                {"at", FormatRfc3339(a.at)}});
               }
               return Response::Json({{"attachments", out}});
             });

  router.Add(Method::get, "/services/v1/applications/{id}/attachments/{attachment}",
             [s](Request& request) -> Result<Response> {
               ULUS_ASSIGN_OR_RETURN(auto actor, s->Authenticate(request));
               ULUS_ASSIGN_OR_RETURN(
                   auto found, s->service.AttachmentBytes(request.Param("id"),
                                                          request.Param("attachment"), actor));
               auto response = Response::Text(std::move(found.second), found.first.media_type);
               // Shown as a download, never rendered in the platform's origin.
               response.headers.emplace_back("Content-Disposition", "attachment");
               response.headers.emplace_back("X-Content-Type-Options", "nosniff");
               response.headers.emplace_back("Content-Security-Policy", "sandbox");
               response.headers.emplace_back("Cache-Control", "private, no-store");
               return response;
             });

  router.Add(Method::get, "/services/v1/inbox", [s](Request& request) -> Result<Response> {
    ULUS_ASSIGN_OR_RETURN(auto actor, s->Authenticate(request));
    InboxQuery query;
    query.agency = request.Query("agency").value_or("");
    if (query.agency.empty()) {
      if (actor.officer_of.empty()) {
        return Error::PermissionDenied("the inbox is for officers of an agency");
      }
      query.agency = actor.officer_of.front();
    }
    if (auto state = request.Query("state"); state && !state->empty()) {
      query.state = StateFromName(*state);
      if (!query.state) return Error::InvalidArgument("unknown state " + *state, "state");
    }
    query.service = request.Query("service").value_or("");
    query.assignee = request.Query("assignee").value_or("");
    if (query.assignee == "me") query.assignee = actor.account;
    ULUS_ASSIGN_OR_RETURN(query.limit, SizeParam(request, "limit", 50, 200));
    ULUS_ASSIGN_OR_RETURN(query.offset, SizeParam(request, "offset", 0, 1'000'000));
    ULUS_ASSIGN_OR_RETURN(auto list, s->service.Inbox(query, actor));
    json out = json::array();
    for (const auto& a : list) out.push_back(s->ApplicationJson(a, s->Language(request)));
    return Response::Json({{"agency", query.agency}, {"applications", out}});
  });

  router.Add(Method::get, "/services/v1/notices", [s](Request& request) -> Result<Response> {
    ULUS_ASSIGN_OR_RETURN(auto actor, s->Authenticate(request));
    if (actor.national_id.empty()) return Error::PermissionDenied("notices are a person's");
    ULUS_ASSIGN_OR_RETURN(auto limit, SizeParam(request, "limit", 50, 200));
    ULUS_ASSIGN_OR_RETURN(auto offset, SizeParam(request, "offset", 0, 1'000'000));
    const bool unread = request.Query("unread").value_or("") == "true";
    ULUS_ASSIGN_OR_RETURN(auto list, s->service.Notices(actor, unread, limit, offset));
    json out = json::array();
    for (const auto& n : list) {
      out.push_back({{"id", n.id},
                     {"application", n.application},
                     {"service", n.service},
                     {"at", FormatRfc3339(n.at)},
                     {"kind", n.kind},
                     {"state", n.state},
                     {"text", n.text},
                     {"read", n.read}});
    }
    return Response::Json({{"notices", out}});
  });

  router.Add(Method::post, "/services/v1/notices/read", [s](Request& request) -> Result<Response> {
    ULUS_ASSIGN_OR_RETURN(auto actor, s->Authenticate(request));
    if (actor.national_id.empty()) return Error::PermissionDenied("notices are a person's");
    ULUS_ASSIGN_OR_RETURN(auto body, Body(request));
    auto up_to = body.find("upTo");
    if (up_to == body.end() || !up_to->is_number_integer()) {
      return Error::InvalidArgument("upTo is the newest notice id read", "upTo");
    }
    ULUS_TRY(s->service.MarkNoticesRead(actor, up_to->get<int64_t>()));
    return Response::NoContent();
  });

  router.Add(Method::post, "/services/v1/desk/filings", [s](Request& request) -> Result<Response> {
    ULUS_ASSIGN_OR_RETURN(auto actor, s->Authenticate(request));
    ULUS_ASSIGN_OR_RETURN(auto body, Body(request));
    ULUS_ASSIGN_OR_RETURN(
        auto challenge,
        s->service.StartDeskFiling(actor, Text(body, "nationalId"), Text(body, "service")));
    return Response::Json({{"id", challenge.id},
                           {"sentTo", challenge.masked_phone},
                           {"expires", FormatRfc3339(challenge.expires)}},
                          http::Status::created);
  });

  router.Add(
      Method::post, "/services/v1/desk/filings/{id}/confirm",
      [s](Request& request) -> Result<Response> {
        ULUS_ASSIGN_OR_RETURN(auto actor, s->Authenticate(request));
        ULUS_ASSIGN_OR_RETURN(auto body, Body(request));
        Submission submission{.service = Text(body, "service"),
                              .form = ObjectOf(body, "form"),
                              .consent_token = Text(body, "consentToken")};
        ULUS_ASSIGN_OR_RETURN(auto a, s->service.ConfirmDeskFiling(actor, request.Param("id"),
                                                                   Text(body, "code"), submission));
        return Response::Json(s->ApplicationJson(a, s->Language(request)), SubmittedStatus(a));
      });

  // --- GovStack Registration BB -------------------------------------------------------------

  router.Add(Method::post, "/services/{serviceId}/applications",
             [s](Request& request) -> Result<Response> {
               ULUS_ASSIGN_OR_RETURN(auto actor, s->Authenticate(request));
               const auto* definition = s->FindService(request.Param("serviceId"));
               if (definition == nullptr) return Error::NotFound("Service was not found");
               ULUS_ASSIGN_OR_RETURN(auto body, Body(request));
               const std::string applicant = Text(body, "applicantId");
               if (applicant.empty()) {
                 return Error::InvalidArgument("applicantId is required", "applicantId");
               }
               // An applicant applies for themselves; a desk filing goes through its own route.
               if (applicant != actor.national_id && applicant != actor.account) {
                 return Error::PermissionDenied("applicantId must be you");
               }
               const json form_data = ObjectOf(body, "formData");
               Submission submission{
                   .service = definition->id,
                   .form = ObjectOf(form_data, "data"),
                   .consent_token = Text(body, "consentToken"),
                   .idempotency_key = std::string(request.Header("Idempotency-Key"))};
               ULUS_ASSIGN_OR_RETURN(auto a, s->service.Submit(submission, actor));
               return Response::Json(s->GovStackFile(a, s->Language(request)));
             });

  router.Add(Method::get, "/applications", [s](Request& request) -> Result<Response> {
    ULUS_ASSIGN_OR_RETURN(auto actor, s->Authenticate(request));
    ULUS_ASSIGN_OR_RETURN(auto first, SizeParam(request, "firstResult", 0, 1'000'000));
    ULUS_ASSIGN_OR_RETURN(auto max, SizeParam(request, "maxResult", 20, 200));
    std::string service_filter;
    if (auto id = request.Query("serviceId"); id && !id->empty()) {
      const auto* definition = s->FindService(*id);
      if (definition == nullptr) return Response::Json(json::array());
      service_filter = definition->id;
    }
    std::vector<Application> list;
    if (!actor.officer_of.empty()) {
      // An operator sees what their agency has to process.
      ULUS_ASSIGN_OR_RETURN(list, s->service.Inbox({.agency = actor.officer_of.front(),
                                                    .service = service_filter,
                                                    .limit = max,
                                                    .offset = first},
                                                   actor));
    } else {
      ULUS_ASSIGN_OR_RETURN(list, s->service.Mine(actor, max, first));
    }
    json out = json::array();
    for (const auto& a : list) {
      if (!service_filter.empty() && a.service != service_filter) continue;
      out.push_back(s->GovStackFile(a, s->Language(request)));
    }
    return Response::Json(out);
  });

  router.Add(Method::get, "/applications/{fileId}", [s](Request& request) -> Result<Response> {
    ULUS_ASSIGN_OR_RETURN(auto actor, s->Authenticate(request));
    ULUS_ASSIGN_OR_RETURN(auto a, s->service.Get(request.Param("fileId"), actor));
    return Response::Json(s->GovStackFile(a, s->Language(request)));
  });

  // The operator's corrections of the form data.
  router.Add(Method::put, "/applications/{fileId}", [s](Request& request) -> Result<Response> {
    ULUS_ASSIGN_OR_RETURN(auto actor, s->Authenticate(request));
    ULUS_ASSIGN_OR_RETURN(auto body, Body(request));
    const json form_data = ObjectOf(body, "formData");
    ULUS_ASSIGN_OR_RETURN(auto a, s->service.Act(request.Param("fileId"),
                                                 {.name = "amend",
                                                  .comment = Text(body, "applicationName"),
                                                  .form = ObjectOf(form_data, "data")},
                                                 actor));
    return Response::Json(s->GovStackFile(a, s->Language(request)));
  });

  router.Add(Method::get, "/tasks", [s](Request& request) -> Result<Response> {
    ULUS_ASSIGN_OR_RETURN(auto actor, s->Authenticate(request));
    ULUS_ASSIGN_OR_RETURN(auto first, SizeParam(request, "firstResult", 0, 1'000'000));
    ULUS_ASSIGN_OR_RETURN(auto max, SizeParam(request, "maxResult", 20, 200));
    const auto file = request.Query("fileId").value_or("");
    ULUS_ASSIGN_OR_RETURN(auto list, s->TasksOf(actor, max + first, 0));
    json out = json::array();
    size_t skipped = 0;
    for (const auto& a : list) {
      if (!file.empty() && a.id != file) continue;
      if (skipped++ < first) continue;
      if (out.size() >= max) break;
      out.push_back(s->Task(a, s->Language(request)));
    }
    return Response::Json(out);
  });

  // The task id is "<fileId>.<version>".
  auto task_application = [s](Request& request,
                              const Actor& actor) -> Result<std::pair<Application, int64_t>> {
    const std::string id(request.Param("taskId"));
    const auto dot = id.rfind('.');
    if (dot == std::string::npos) return Error::NotFound("Task hasn't found");
    int64_t version = 0;
    for (char c : id.substr(dot + 1)) {
      if (c < '0' || c > '9' || version > 1'000'000'000) {
        return Error::NotFound("Task hasn't found");
      }
      version = version * 10 + (c - '0');
    }
    auto a = s->service.Get(id.substr(0, dot), actor);
    if (!a.ok() || IsFinal(a->state)) return Error::NotFound("Task hasn't found");
    return std::make_pair(*std::move(a), version);
  };

  router.Add(Method::get, "/tasks/{taskId}",
             [s, task_application](Request& request) -> Result<Response> {
               ULUS_ASSIGN_OR_RETURN(auto actor, s->Authenticate(request));
               ULUS_ASSIGN_OR_RETURN(auto found, task_application(request, actor));
               if (found.first.version != found.second) return Error::NotFound("Task hasn't found");
               json task = s->Task(found.first, s->Language(request));
               task["applicationData"] = {{"formData", {{"data", found.first.form}}}};
               return Response::Json(task);
             });

  router.Add(Method::post, "/tasks/{taskId}/complete",
             [s, task_application](Request& request) -> Result<Response> {
               ULUS_ASSIGN_OR_RETURN(auto actor, s->Authenticate(request));
               ULUS_ASSIGN_OR_RETURN(auto found, task_application(request, actor));
               ULUS_ASSIGN_OR_RETURN(auto body, Body(request));
               const json data = ObjectOf(body, "data");
               const Application& a = found.first;
               // The task's own step unless the data names the decision.
               std::string name = Text(data, "action");
               if (name.empty()) {
                 name = a.state == ApplicationState::kSubmitted              ? "take"
                        : a.state == ApplicationState::kInformationRequested ? "respond"
                                                                             : "approve";
               }
               Action action{.name = name,
                             .comment = Text(data, "comment"),
                             .claims = ObjectOf(data, "claims"),
                             .form = ObjectOf(data, "form"),
                             .expected_version = found.second};
               ULUS_ASSIGN_OR_RETURN(auto done, s->service.Act(a.id, action, actor));
               return Response::Json(
                   {{"taskId", std::string(request.Param("taskId"))},
                    {"fileId", done.id},
                    {"serviceId", ServiceUuid(s->options.country, done.service)},
                    {"status", GovStackStatus(done.state)},
                    {"variables", {{"state", {{"data", {{"state", StateName(done.state)}}}}}}}});
             });
}

}  // namespace ulus::services
