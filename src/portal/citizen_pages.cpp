// The citizen's pages: home, catalogue, applying, applications, documents, "my data", the data
// tracker, notices and consents.

#include <algorithm>
#include <atomic>
#include <charconv>
#include <future>

#include "portal_impl.hpp"
#include "texts.hpp"
#include "ulus/core/clock.hpp"
#include "ulus/crypto/random.hpp"
#include "ulus/http/problem.hpp"
#include "ulus/identity/qr_svg.hpp"
#include "ulus/registry/schema.hpp"

namespace ulus::portal {

namespace {

using nlohmann::json;
using services::ApplicationState;
namespace t = texts;

constexpr size_t kPageSize = 20;

// A value as a form field holds it.
std::string ValueText(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  return value.dump();
}

// A value as a person reads it: yes and no in words.
std::string ShownValue(const Lang& lang, const json& value) {
  if (value.is_boolean()) return std::string(lang(value.get<bool>() ? t::kYes : t::kNo));
  return ValueText(value);
}

std::string IsoDay(std::chrono::sys_days day) {
  return FormatIsoDay(day);
}

}  // namespace

// The application's version a form was rendered with: a stale form is refused, not applied.
Result<int64_t> VersionOf(const http::Form& form) {
  const auto text = form.Value("version");
  int64_t version = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (ec != std::errc() || end != text.data() + text.size() || version <= 0) {
    return Error::InvalidArgument("the form lost the application's version", "version");
  }
  return version;
}

std::string ActionText(const Lang& lang, std::string_view action) {
  static constexpr std::pair<std::string_view, Text> kActions[] = {
      {"submit", t::kActSubmit},
      {"take", t::kActTake},
      {"comment", t::kActComment},
      {"amend", t::kActAmend},
      {"request_information", t::kAskInformation},
      {"respond", t::kRespond},
      {"approve", t::kApprove},
      {"reject", t::kReject},
      {"withdraw", t::kActWithdraw},
      {"complete", t::kCompleted},
  };
  for (const auto& [name, text] : kActions) {
    if (name == action) return std::string(lang(text));
  }
  return std::string(action);
}

std::string Portal::Impl::SourcesList(const Lang& lang, const json& sources) const {
  if (!sources.is_array() || sources.empty()) return {};
  std::string html = "<h2>" + std::string(lang(t::kDataRead)) + "</h2><ul class=\"plain\">";
  for (const auto& source : sources) {
    if (!source.is_object()) continue;
    const std::string name = ValueText(source.value("registry", json()));
    const auto* schema = parts.pack->FindRegistry(name);
    html += "<li>" +
            Escape(schema != nullptr ? std::string(registry::Localize(schema->title, lang.code))
                                     : name) +
            ": " + Escape(ValueText(source.value("record", json()))) + "</li>";
  }
  return html + "</ul>";
}

namespace {}  // namespace

// --- shared pieces -------------------------------------------------------------------------

std::string Portal::Impl::AgencyName(std::string_view agency, std::string_view lang) const {
  for (const auto& a : parts.pack->agencies) {
    if (a.code == agency) return std::string(registry::Localize(a.name, lang));
  }
  return std::string(agency);
}

std::string Portal::Impl::StateText(const Lang& lang, ApplicationState state) const {
  switch (state) {
    case ApplicationState::kSubmitted: return std::string(lang(t::kSubmitted));
    case ApplicationState::kInReview: return std::string(lang(t::kInReview));
    case ApplicationState::kInformationRequested:
      return std::string(lang(t::kInformationRequested));
    case ApplicationState::kCompleted: return std::string(lang(t::kCompleted));
    case ApplicationState::kRejected: return std::string(lang(t::kRejected));
    case ApplicationState::kWithdrawn: return std::string(lang(t::kWithdrawn));
  }
  return {};
}

std::string Portal::Impl::LocalTime(TimePoint at) const {
  return FormatLocalTime(at, parts.pack->utc_offset);
}

std::string Portal::Impl::FormFields(const Lang& lang,
                                     const std::vector<services::FormField>& fields,
                                     const json& values, std::string_view prefix) const {
  std::string html;
  for (const auto& field : fields) {
    const std::string name = std::string(prefix) + field.name;
    const std::string id = "f-" + name;
    std::string value;
    if (values.is_object() && values.contains(field.name)) value = ValueText(values[field.name]);
    std::string label = Translate(field.label, lang.code);
    if (label.empty()) label = field.name;
    if (field.type == "boolean") {
      html += "<label class=\"check\" for=\"" + Escape(id) + "\"><input type=\"checkbox\" id=\"" +
              Escape(id) + "\" name=\"" + Escape(name) + "\" value=\"true\"" +
              (value == "true" ? " checked" : "") + ">" + Escape(label) + "</label>";
      continue;
    }
    html += "<label for=\"" + Escape(id) + "\">" + Escape(label);
    if (field.required) html += " <span>" + std::string(lang(t::kRequired)) + "</span>";
    html += "</label>";
    const std::string type = field.type == "date"      ? "date"
                             : field.type == "integer" ? "number"
                                                       : "text";
    html += "<input type=\"" + type + "\" id=\"" + Escape(id) + "\" name=\"" + Escape(name) +
            "\" value=\"" + Escape(value) + "\"";
    if (field.required) html += " required";
    if (type == "number") html += " step=\"1\"";
    html += ">";
  }
  return html;
}

Result<json> Portal::Impl::ReadFormFields(const http::Form& form,
                                          const std::vector<services::FormField>& fields,
                                          std::string_view prefix) const {
  json out = json::object();
  for (const auto& field : fields) {
    const std::string name = std::string(prefix) + field.name;
    const std::string value = form.Value(name);
    if (field.type == "boolean") {
      out[field.name] = value == "true";
      continue;
    }
    if (value.empty()) continue;  // the services part says which are required, in its words
    if (field.type == "integer") {
      int64_t n = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size()) {
        return Error::InvalidArgument(Translate(field.label, "en") + ": not a whole number",
                                      field.name);
      }
      out[field.name] = n;
      continue;
    }
    out[field.name] = value;
  }
  return out;
}

std::string Portal::Impl::HistoryTable(
    const Lang& lang, const std::vector<services::ApplicationEvent>& events) const {
  std::string html = "<h2>" + std::string(lang(t::kHistory)) + "</h2><table><thead><tr><th>" +
                     std::string(lang(t::kWhen)) + "</th><th>" + std::string(lang(t::kWhat)) +
                     "</th><th>" + std::string(lang(t::kState)) + "</th><th>" +
                     std::string(lang(t::kComment)) + "</th></tr></thead><tbody>";
  for (const auto& e : events) {
    const auto state = services::StateFromName(e.to_state);
    html += "<tr><td>" + Escape(LocalTime(e.at)) + "</td><td>" +
            Escape(ActionText(lang, e.action)) + "</td><td>" +
            Escape(state ? StateText(lang, *state) : e.to_state) + "</td><td>" + Escape(e.comment) +
            "</td></tr>";
  }
  return html + "</tbody></table>";
}

std::string Portal::Impl::EntriesList(const Lang& lang, const services::ServiceDefinition* service,
                                      const json& form, const Text& heading) const {
  if (!form.is_object() || form.empty()) return {};
  std::string html = "<h2>" + std::string(lang(heading)) + "</h2><dl>";
  for (const auto& [name, value] : form.items()) {
    std::string label = name;
    if (service != nullptr) {
      for (const auto& f : service->form) {
        if (f.name == name) label = Translate(f.label, lang.code);
      }
    }
    html += "<dt>" + Escape(label) + "</dt><dd>" + Escape(ShownValue(lang, value)) + "</dd>";
  }
  return html + "</dl>";
}

// --- home and catalogue --------------------------------------------------------------------

Result<http::Response> Portal::Impl::Home(Context& c) {
  const auto& lang = c.lang;
  const auto& catalogue = parts.applications->catalogue();
  std::string body =
      "<form method=\"get\" action=\"/catalogue\" role=\"search\"><label for=\"q\">" +
      std::string(lang(t::kSearchServices)) +
      "</label><input type=\"search\" id=\"q\" name=\"q\"><button type=\"submit\">" +
      std::string(lang(t::kSearch)) + "</button></form>";
  body += "<h2>" + std::string(lang(t::kLifeEvents)) + "</h2><ul class=\"plain\">";
  for (const auto& event : catalogue.life_events()) {
    body +=
        "<li>" +
        Link("/catalogue?event=" + http::FormEncode(event.id), Translate(event.title, lang.code)) +
        "</li>";
  }
  body += "</ul><p>" + Link("/catalogue", lang(t::kAllServices)) + "</p>";
  return Render(c, Area::kCitizen, std::string(lang(t::kWelcome)), std::move(body));
}

Result<http::Response> Portal::Impl::CataloguePage(Context& c) {
  const auto& lang = c.lang;
  const auto& catalogue = parts.applications->catalogue();
  const std::string q = c.request->Query("q").value_or("");
  const std::string event = c.request->Query("event").value_or("");
  const size_t page = PageNumber(*c.request);
  const auto found = catalogue.Search(
      {.text = q, .life_event = event, .limit = kPageSize, .offset = (page - 1) * kPageSize});
  std::string title = std::string(lang(t::kServices));
  for (const auto& e : catalogue.life_events()) {
    if (e.id == event) title = Translate(e.title, lang.code);
  }
  std::string body =
      "<form method=\"get\" action=\"/catalogue\" role=\"search\"><label for=\"q\">" +
      std::string(lang(t::kSearchServices)) +
      "</label><input type=\"search\" id=\"q\" name=\"q\" value=\"" + Escape(q) + "\">";
  if (!event.empty()) {
    body += "<input type=\"hidden\" name=\"event\" value=\"" + Escape(event) + "\">";
  }
  body += "<button type=\"submit\">" + std::string(lang(t::kSearch)) + "</button></form>";
  if (found.hits.empty()) {
    body += "<p>" + std::string(lang(t::kNoServices)) + "</p>";
  } else {
    body += "<p>" + std::string(lang(t::kFound)) + " " + std::to_string(found.total) +
            "</p><ul class=\"plain\">";
    for (const auto& hit : found.hits) {
      const auto& s = *hit.service;
      body += "<li>" + Link("/catalogue/" + s.id, Translate(s.title, lang.code)) + "<br><small>" +
              Escape(AgencyName(s.agency, lang.code)) + " · " +
              std::string(s.workflow == services::WorkflowKind::kAutomatic ? lang(t::kAutomatic)
                                                                           : lang(t::kReview)) +
              "</small></li>";
    }
    body += "</ul>";
  }
  std::string base = "/catalogue?q=" + http::FormEncode(q);
  if (!event.empty()) base += "&event=" + http::FormEncode(event);
  body += Pager(lang, base, page, page * kPageSize < found.total);
  return Render(c, Area::kCitizen, std::move(title), std::move(body));
}

namespace {

// The service's page with its form; `error` and `values` when a posted form comes back.
struct ServiceView {
  const services::ServiceDefinition* service = nullptr;
  std::string error;
  json values = json::object();
};

}  // namespace

static std::string ServiceBody(const Portal::Impl& impl, Context& c, const ServiceView& view) {
  const auto& lang = c.lang;
  const auto& s = *view.service;
  std::string body;
  if (!view.error.empty()) {
    body += "<p class=\"error\" role=\"alert\">" + Escape(view.error) + "</p>";
  }
  body +=
      "<p>" + Escape(Translate(s.description, lang.code)) + "</p><dl><dt>" +
      std::string(lang(t::kAgency)) + "</dt><dd>" + Escape(impl.AgencyName(s.agency, lang.code)) +
      "</dd><dt>" + std::string(lang(t::kDeadline)) + "</dt><dd>" +
      (s.workflow == services::WorkflowKind::kAutomatic ? "0" : std::to_string(s.deadline_days)) +
      "</dd><dt>" + std::string(lang(t::kFee)) + "</dt><dd>" +
      (s.fee == 0 ? std::string(lang(t::kFree))
                  : std::to_string(s.fee) + " " + Escape(impl.parts.pack->currency)) +
      "</dd></dl><p class=\"notice\">" +
      std::string(s.workflow == services::WorkflowKind::kAutomatic ? lang(t::kAutomatic)
                                                                   : lang(t::kReview)) +
      "</p>";
  if (!s.data.empty()) {
    body += "<h2>" + std::string(lang(t::kDataRead)) + "</h2><ul class=\"plain\">";
    for (const auto& name : s.data) {
      const auto* schema = impl.parts.pack->FindRegistry(name);
      body += "<li>" +
              Escape(schema != nullptr ? std::string(registry::Localize(schema->title, lang.code))
                                       : name) +
              "</li>";
    }
    body += "</ul>";
  }
  if (!c.session) {
    body += "<p><a class=\"button\" href=\"/portal/login?next=" + UrlValue("/catalogue/" + s.id) +
            "\">" + std::string(lang(t::kLogInToApply)) + "</a></p>";
    return body;
  }
  body += "<form method=\"post\" action=\"/catalogue/" + Escape(s.id) + "/apply\">" +
          CsrfField(c.viewer) +
          // One key per rendering of the form: pressing Apply twice files one application.
          "<input type=\"hidden\" name=\"key\" value=\"" + crypto::RandomToken(16) + "\">" +
          impl.FormFields(lang, s.form, view.values, "form.");
  if (impl.parts.consent_agreements.contains(s.id)) {
    body += "<fieldset><legend>" + std::string(lang(t::kConsentNeeded)) + "</legend><ul>";
    for (const auto& name : s.data) {
      for (const auto& source : impl.parts.registries) {
        if (source.name != name || !source.consent_required) continue;
        const auto* schema = impl.parts.pack->FindRegistry(name);
        body += "<li>" +
                Escape(schema != nullptr ? std::string(registry::Localize(schema->title, lang.code))
                                         : name) +
                "</li>";
      }
    }
    body +=
        "</ul><label class=\"check\" for=\"consent\"><input type=\"checkbox\" id=\"consent\" "
        "name=\"consent\" value=\"yes\" required>" +
        std::string(lang(t::kIConsent)) + "</label></fieldset>";
  }
  body += "<button type=\"submit\">" + std::string(lang(t::kApply)) + "</button></form>";
  return body;
}

Result<http::Response> Portal::Impl::ServicePage(Context& c) {
  const auto* service = parts.applications->catalogue().Find(c.request->Param("id"));
  if (service == nullptr) return Error::NotFound("no such service");
  return Render(c, Area::kCitizen, Translate(service->title, c.lang.code),
                ServiceBody(*this, c, {.service = service}));
}

Result<http::Response> Portal::Impl::ApplyPost(Context& c) {
  const auto* service = parts.applications->catalogue().Find(c.request->Param("id"));
  if (service == nullptr) return Error::NotFound("no such service");
  ULUS_ASSIGN_OR_RETURN(auto form, PostedForm(c));
  ULUS_ASSIGN_OR_RETURN(auto caller, CallerOf(c, "services"));
  const auto actor = ActorOf(caller);
  const auto again = [&](const Error& error, json values) -> Result<http::Response> {
    return Render(
        c, Area::kCitizen, Translate(service->title, c.lang.code),
        ServiceBody(*this, c, {.service = service, .error = error.message, .values = values}),
        http::StatusFor(error.code));
  };
  auto entries = ReadFormFields(form, service->form, "form.");
  if (!entries.ok()) return again(entries.error(), json::object());
  services::Submission submission{.service = service->id,
                                  .form = *entries,
                                  .consent_token = {},
                                  .idempotency_key = form.Value("key")};
  // The e-form's required entries are checked before consent is given: a form sent back for a
  // missing entry must not leave a consent behind.
  for (const auto& field : service->form) {
    if (field.required && field.type != "boolean" && !entries->contains(field.name)) {
      return again(Error::InvalidArgument(Translate(field.label, c.lang.code) + ": " +
                                              std::string(c.lang(t::kRequired)),
                                          field.name),
                   *entries);
    }
  }
  if (const auto agreement = parts.consent_agreements.find(service->id);
      agreement != parts.consent_agreements.end()) {
    if (form.Value("consent") != "yes") {
      return again(
          Error{ErrorCode::kFailedPrecondition, std::string(c.lang(t::kConsentNeeded)), "consent"},
          *entries);
    }
    ULUS_ASSIGN_OR_RETURN(
        auto granted,
        parts.dan->consent().Grant(caller.national_id, caller.account_id, agreement->second));
    submission.consent_token = granted.token;
  }
  auto application = parts.applications->Submit(submission, actor);
  if (!application.ok()) {
    const auto code = application.error().code;
    if (code == ErrorCode::kInvalidArgument || code == ErrorCode::kFailedPrecondition ||
        code == ErrorCode::kConflict) {
      return again(application.error(), *entries);
    }
    return application.error();
  }
  return Redirect("/my/applications/" + application->id);
}

// --- applications ---------------------------------------------------------------------------

Result<http::Response> Portal::Impl::MyApplications(Context& c) {
  ULUS_ASSIGN_OR_RETURN(auto caller, CallerOf(c, "services"));
  const auto& lang = c.lang;
  const size_t page = PageNumber(*c.request);
  ULUS_ASSIGN_OR_RETURN(
      auto mine, parts.applications->Mine(ActorOf(caller), kPageSize + 1, (page - 1) * kPageSize));
  const bool more = mine.size() > kPageSize;
  if (more) mine.pop_back();
  std::string body;
  if (mine.empty()) {
    body = "<p>" + std::string(lang(t::kNoApplications)) + " " +
           Link("/catalogue", lang(t::kServices)) + "</p>";
  } else {
    body = "<table><thead><tr><th>" + std::string(lang(t::kService)) + "</th><th>" +
           std::string(lang(t::kState)) + "</th><th>" + std::string(lang(t::kFiled)) + "</th><th>" +
           std::string(lang(t::kDue)) + "</th></tr></thead><tbody>";
    for (const auto& a : mine) {
      const auto* s = parts.applications->catalogue().Find(a.service);
      body += "<tr><td>" +
              Link("/my/applications/" + a.id, s ? Translate(s->title, lang.code) : a.service) +
              "</td><td>" + Escape(StateText(lang, a.state)) + "</td><td>" +
              Escape(LocalTime(a.created)) + "</td><td>" + (a.due ? IsoDay(*a.due) : "") +
              "</td></tr>";
    }
    body += "</tbody></table>";
  }
  body += Pager(lang, "/my/applications", page, more);
  return Render(c, Area::kCitizen, std::string(lang(t::kMyApplications)), std::move(body));
}

Result<http::Response> Portal::Impl::ApplicationPage(Context& c) {
  ULUS_ASSIGN_OR_RETURN(auto caller, CallerOf(c, "services"));
  const auto actor = ActorOf(caller);
  const auto& lang = c.lang;
  ULUS_ASSIGN_OR_RETURN(auto a, parts.applications->Get(c.request->Param("id"), actor));
  // The citizen's pages show their own applications only; officers use the workspace.
  if (a.applicant != caller.national_id) return Error::NotFound("no such application");
  ULUS_ASSIGN_OR_RETURN(auto history, parts.applications->History(a.id, actor));
  const auto* s = parts.applications->catalogue().Find(a.service);
  std::string body = "<p class=\"state\">" + std::string(lang(t::kState)) + ": " +
                     Escape(StateText(lang, a.state)) + "</p><dl><dt>" +
                     std::string(lang(t::kApplication)) + "</dt><dd>" + Escape(a.id) + "</dd><dt>" +
                     std::string(lang(t::kFiled)) + "</dt><dd>" + Escape(LocalTime(a.created)) +
                     "</dd>";
  if (a.due) body += "<dt>" + std::string(lang(t::kDue)) + "</dt><dd>" + IsoDay(*a.due) + "</dd>";
  body += "</dl>";
  if (a.state == ApplicationState::kRejected && !a.reason.empty()) {
    body +=
        "<p class=\"error\">" + std::string(lang(t::kReason)) + ": " + Escape(a.reason) + "</p>";
  }
  if (!a.document.empty()) {
    ULUS_ASSIGN_OR_RETURN(auto document, parts.documents->Find(a.document));
    if (document) {
      body += "<h2>" + std::string(lang(t::kDocument)) +
              "</h2><p><a class=\"button\" href=\"/my/documents/" + Escape(a.document) +
              "/pdf\" download>" + std::string(lang(t::kDownloadPdf)) + "</a> " +
              Link("/my/documents/" + a.document, lang(t::kDocument)) + "</p>";
      if (auto svg = identity::QrSvg(parts.documents->QrPayload(*document), lang(t::kVerifyCode));
          svg.ok()) {
        body += "<div class=\"qr\">" + *svg + "</div><p>" + std::string(lang(t::kQrHelp)) + "</p>";
      }
    }
  }
  body += EntriesList(lang, s, a.form, t::kYourEntries);
  ULUS_ASSIGN_OR_RETURN(auto attachments, parts.applications->Attachments(a.id, actor));
  body += AttachmentsList(lang, attachments, "/my/applications/" + a.id);
  if (a.state == ApplicationState::kInformationRequested) {
    body += "<h2>" + std::string(lang(t::kRespond)) + "</h2><form method=\"post\">" +
            CsrfField(c.viewer) +
            "<input type=\"hidden\" name=\"action\" value=\"respond\"><input type=\"hidden\" "
            "name=\"version\" value=\"" +
            std::to_string(a.version) + "\"><label for=\"comment\">" +
            std::string(lang(t::kComment)) +
            "</label><textarea id=\"comment\" name=\"comment\" rows=\"4\" required "
            "maxlength=\"2000\"></textarea>" +
            (s ? FormFields(lang, s->form, a.form, "form.") : std::string()) +
            "<button type=\"submit\">" + std::string(lang(t::kRespond)) + "</button></form>";
  }
  if (!services::IsFinal(a.state)) {
    body += "<form method=\"post\">" + CsrfField(c.viewer) +
            "<input type=\"hidden\" name=\"action\" value=\"withdraw\"><input type=\"hidden\" "
            "name=\"version\" value=\"" +
            std::to_string(a.version) + "\"><button class=\"warning\" type=\"submit\">" +
            std::string(lang(t::kWithdraw)) + "</button></form>";
  }
  body += HistoryTable(lang, history);
  return Render(c, Area::kCitizen, s ? Translate(s->title, lang.code) : a.service, std::move(body));
}

Result<http::Response> Portal::Impl::ApplicationPost(Context& c) {
  ULUS_ASSIGN_OR_RETURN(auto form, PostedForm(c));
  ULUS_ASSIGN_OR_RETURN(auto caller, CallerOf(c, "services"));
  const auto actor = ActorOf(caller);
  const std::string id(c.request->Param("id"));
  ULUS_ASSIGN_OR_RETURN(auto a, parts.applications->Get(id, actor));
  if (a.applicant != caller.national_id) return Error::NotFound("no such application");
  services::Action action;
  action.name = form.Value("action");
  if (action.name != "respond" && action.name != "withdraw") {
    return Error::InvalidArgument("unknown action", "action");
  }
  action.comment = form.Value("comment");
  ULUS_ASSIGN_OR_RETURN(action.expected_version, VersionOf(form));
  if (action.name == "respond") {
    if (const auto* s = parts.applications->catalogue().Find(a.service)) {
      ULUS_ASSIGN_OR_RETURN(action.form, ReadFormFields(form, s->form, "form."));
    }
  }
  ULUS_TRY(parts.applications->Act(id, action, actor));
  return Redirect("/my/applications/" + id);
}

std::string Portal::Impl::AttachmentsList(const Lang& lang,
                                          const std::vector<services::Attachment>& list,
                                          std::string_view base) const {
  if (list.empty()) return {};
  std::string html = "<h2>" + std::string(lang(t::kAttachments)) + "</h2><ul class=\"plain\">";
  for (const auto& a : list) {
    html += "<li>" + Link(std::string(base) + "/attachments/" + a.id, a.name) + " <small>(" +
            Escape(a.media_type) + ", " + std::to_string((a.size + 1023) / 1024) + " KiB, " +
            Escape(LocalTime(a.at)) + ")</small></li>";
  }
  return html + "</ul>";
}

Result<http::Response> Portal::Impl::AttachmentDownload(Context& c) {
  const bool work = c.request->path().starts_with("/work/");
  identity::ApiCaller caller;
  if (work) {
    ULUS_ASSIGN_OR_RETURN(caller, RequireOfficer(c));
  } else {
    ULUS_ASSIGN_OR_RETURN(caller, CallerOf(c, "services"));
  }
  const auto actor = ActorOf(caller);
  const std::string id(c.request->Param("id"));
  ULUS_ASSIGN_OR_RETURN(auto a, parts.applications->Get(id, actor));
  // Each area serves only its own: the applicant's pages, or the agency's officers.
  if (work ? !actor.IsOfficerOf(a.agency) : a.applicant != caller.national_id) {
    return Error::NotFound("no such application");
  }
  ULUS_ASSIGN_OR_RETURN(
      auto file, parts.applications->AttachmentBytes(id, c.request->Param("attachment"), actor));
  auto response = http::Response::Text(std::move(file.second), file.first.media_type);
  response.headers.emplace_back(
      "Content-Disposition",
      "attachment; filename=\"attachment\"; filename*=UTF-8''" + http::FormEncode(file.first.name));
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Content-Security-Policy", "sandbox");
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

// --- documents ------------------------------------------------------------------------------

Result<http::Response> Portal::Impl::MyDocuments(Context& c) {
  ULUS_ASSIGN_OR_RETURN(auto caller, CallerOf(c, "documents"));
  const auto& lang = c.lang;
  const size_t page = PageNumber(*c.request);
  ULUS_ASSIGN_OR_RETURN(auto mine, parts.documents->ForHolder(caller.national_id, kPageSize + 1,
                                                              (page - 1) * kPageSize));
  const bool more = mine.size() > kPageSize;
  if (more) mine.pop_back();
  std::string body;
  if (mine.empty()) {
    body = "<p>" + std::string(lang(t::kNoDocuments)) + "</p>";
  } else {
    body = "<table><thead><tr><th>" + std::string(lang(t::kDocument)) + "</th><th>" +
           std::string(lang(t::kIssued)) + "</th><th>" + std::string(lang(t::kVerifications)) +
           "</th><th>PDF</th></tr></thead><tbody>";
    for (const auto& d : mine) {
      const auto* tmpl = parts.documents->FindTemplate(d.template_id);
      std::string title = tmpl ? Translate(tmpl->title, lang.code) : d.template_id;
      if (d.revocation) title += " (" + std::string(lang(t::kRevoked)) + ")";
      body += "<tr><td>" + Link("/my/documents/" + d.id, title) + "</td><td>" +
              Escape(LocalTime(d.issued_at)) + "</td><td>" + std::to_string(d.verifications) +
              "</td><td>" + Link("/my/documents/" + d.id + "/pdf", lang(t::kDownloadPdf)) +
              "</td></tr>";
    }
    body += "</tbody></table>";
  }
  body += Pager(lang, "/my/documents", page, more);
  return Render(c, Area::kCitizen, std::string(lang(t::kMyDocuments)), std::move(body));
}

namespace {

Result<documents::IssuedDocument> HoldersDocument(documents::DocumentService& service,
                                                  std::string_view id,
                                                  const identity::ApiCaller& caller) {
  ULUS_ASSIGN_OR_RETURN(auto d, service.Find(id));
  // Another person's document answers exactly as a missing one.
  if (!d || d->holder != caller.national_id || d->parent) {
    return Error::NotFound("no such document");
  }
  return std::move(*d);
}

}  // namespace

Result<http::Response> Portal::Impl::DocumentPage(Context& c) {
  ULUS_ASSIGN_OR_RETURN(auto caller, CallerOf(c, "documents"));
  const auto& lang = c.lang;
  ULUS_ASSIGN_OR_RETURN(auto d, HoldersDocument(*parts.documents, c.request->Param("id"), caller));
  const auto* tmpl = parts.documents->FindTemplate(d.template_id);
  std::string body = "<dl><dt>" + std::string(lang(t::kDocument)) + "</dt><dd>" + Escape(d.id) +
                     "</dd><dt>" + std::string(lang(t::kAgency)) + "</dt><dd>" +
                     Escape(AgencyName(d.agency, lang.code)) + "</dd><dt>" +
                     std::string(lang(t::kIssued)) + "</dt><dd>" + Escape(LocalTime(d.issued_at)) +
                     "</dd>";
  if (d.expires_at) {
    body += "<dt>" + std::string(lang(t::kExpires)) + "</dt><dd>" +
            Escape(LocalTime(*d.expires_at)) + "</dd>";
  }
  body += "</dl>";
  if (d.revocation) {
    body += "<p class=\"error\">" + std::string(lang(t::kRevoked)) + ": " +
            Escape(d.revocation->reason) + "</p>";
  }
  body += "<p><a class=\"button\" href=\"/my/documents/" + Escape(d.id) + "/pdf\" download>" +
          std::string(lang(t::kDownloadPdf)) + "</a></p>";
  if (auto svg = identity::QrSvg(parts.documents->QrPayload(d), lang(t::kVerifyCode)); svg.ok()) {
    body += "<div class=\"qr\">" + *svg + "</div><p>" + std::string(lang(t::kQrHelp)) + "</p>";
  }
  ULUS_ASSIGN_OR_RETURN(auto checks, parts.documents->Verifications(d.id, 20));
  body += "<h2>" + std::string(lang(t::kLatestVerifications)) + "</h2>";
  if (!checks.empty()) {
    body += "<table><thead><tr><th>" + std::string(lang(t::kWhen)) + "</th><th>" +
            std::string(lang(t::kChannel)) + "</th><th>" + std::string(lang(t::kVerdict)) +
            "</th></tr></thead><tbody>";
    for (const auto& v : checks) {
      body += "<tr><td>" + Escape(LocalTime(v.at)) + "</td><td>" + Escape(v.channel) + "</td><td>" +
              Escape(v.verdict) + "</td></tr>";
    }
    body += "</tbody></table>";
  }
  return Render(c, Area::kCitizen, tmpl ? Translate(tmpl->title, lang.code) : d.template_id,
                std::move(body));
}

Result<http::Response> Portal::Impl::DocumentPdf(Context& c) {
  ULUS_ASSIGN_OR_RETURN(auto caller, CallerOf(c, "documents"));
  ULUS_ASSIGN_OR_RETURN(auto d, HoldersDocument(*parts.documents, c.request->Param("id"), caller));
  ULUS_ASSIGN_OR_RETURN(auto pdf, parts.documents->Pdf(d, c.lang.code));
  auto response = http::Response::Text(std::move(pdf), "application/pdf");
  response.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + d.template_id +
                                                           "-" + d.id.substr(0, 8) + ".pdf\"");
  response.headers.emplace_back("Cache-Control", "no-store");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return response;
}

// --- my data and who used it ----------------------------------------------------------------

MyDataSnapshot Portal::Impl::ReadMyData(const std::string& subject) {
  MyDataSnapshot snapshot{.read_at = clock.Now(), .sections = {}};
  // The reads to make: every registry that names its subject, at most kParallelReads at a time
  // (a page view must not start a thread per registry).
  struct Read {
    const services::RegistrySource* source;
    std::string field;
    std::string value;
  };
  const auto read_all = [&](const std::vector<Read>& reads) {
    std::vector<Result<services::Pulled>> out(reads.size(), Error::Unavailable("not read"));
    std::atomic<size_t> next{0};
    const auto worker = [&] {
      for (size_t i = next++; i < reads.size(); i = next++) {
        out[i] = parts.exchange->Pull({.registry = reads[i].source,
                                       .field = reads[i].field,
                                       .value = reads[i].value,
                                       .subject = subject,
                                       .purpose = "portal:my-data",
                                       .user_id = "citizen",
                                       .consent_token = {}});
      }
    };
    constexpr size_t kParallelReads = 4;
    std::vector<std::future<void>> helpers;
    for (size_t k = 1; k < std::min(kParallelReads, reads.size()); ++k) {
      helpers.push_back(std::async(std::launch::async, worker));
    }
    worker();
    for (auto& h : helpers) h.get();
    return out;
  };
  std::vector<Read> first;
  for (const auto& source : parts.registries) {
    if (source.subject_field.empty()) continue;
    if (source.consent_required) {
      snapshot.sections.push_back({.source = &source, .consent_bound = true});
      continue;
    }
    snapshot.sections.push_back({.source = &source});
    first.push_back({&source, source.subject_field, subject});
  }
  auto pulled = read_all(first);
  size_t k = 0;
  for (auto& section : snapshot.sections) {
    if (section.consent_bound) continue;
    auto& result = pulled[k++];
    section.ok = result.ok();
    if (result.ok()) section.records = std::move(result->records);
  }
  // Registries reached only through a reference of a record above (an address), each once.
  std::vector<Read> second;
  for (const auto& section : snapshot.sections) {
    for (const auto& record : section.records) {
      for (const auto& [field, target] : section.source->refs) {
        const auto it = std::find_if(parts.registries.begin(), parts.registries.end(),
                                     [&](const auto& r) { return r.name == target; });
        if (it == parts.registries.end() || !it->subject_field.empty()) continue;
        if (!record.contains(field) || !record[field].is_string()) continue;
        const std::string key = record[field].get<std::string>();
        const bool seen = std::any_of(second.begin(), second.end(), [&](const Read& r) {
          return r.source == &*it && r.value == key;
        });
        if (!seen && second.size() < 20) second.push_back({&*it, it->primary_key, key});
      }
    }
  }
  auto referenced = read_all(second);
  for (size_t i = 0; i < second.size(); ++i) {
    auto found =
        std::find_if(snapshot.sections.begin(), snapshot.sections.end(),
                     [&](const RegistrySection& s) { return s.source == second[i].source; });
    if (found == snapshot.sections.end()) {
      snapshot.sections.push_back({.source = second[i].source});
      found = std::prev(snapshot.sections.end());
      found->ok = true;
    }
    if (!referenced[i].ok()) {
      found->ok = false;
      continue;
    }
    for (auto& r : referenced[i]->records) found->records.push_back(std::move(r));
  }
  return snapshot;
}

Result<http::Response> Portal::Impl::MyData(Context& c) {
  ULUS_ASSIGN_OR_RETURN(auto caller, CallerOf(c, "national_id"));
  const auto& lang = c.lang;
  // A reload within a few minutes shows the same reads instead of making them again.
  constexpr auto kKeepFor = std::chrono::minutes(5);
  constexpr size_t kMaxKept = 2000;
  const auto now = clock.Now();
  std::optional<MyDataSnapshot> snapshot;
  {
    std::lock_guard lock(my_data_mu);
    if (auto it = my_data.find(c.session->id);
        it != my_data.end() && now - it->second.read_at < kKeepFor) {
      snapshot = it->second;
    }
  }
  if (!snapshot) {
    snapshot = ReadMyData(caller.national_id);
    std::lock_guard lock(my_data_mu);
    if (my_data.size() >= kMaxKept) {
      std::erase_if(my_data,
                    [&](const auto& kept) { return now - kept.second.read_at >= kKeepFor; });
      if (my_data.size() >= kMaxKept) my_data.clear();
    }
    my_data[c.session->id] = *snapshot;
  }

  std::string body = "<p>" + std::string(lang(t::kMyDataIntro)) + "</p><p>" +
                     std::string(lang(t::kReadAt)) + " " + Escape(LocalTime(snapshot->read_at)) +
                     "</p>";
  for (const auto& section : snapshot->sections) {
    const auto* schema = parts.pack->FindRegistry(section.source->name);
    const std::string title = schema != nullptr
                                  ? std::string(registry::Localize(schema->title, lang.code))
                                  : section.source->name;
    body += "<section aria-labelledby=\"r-" + Escape(section.source->name) + "\"><h2 id=\"r-" +
            Escape(section.source->name) + "\">" + Escape(title) + "</h2>";
    if (section.consent_bound) {
      body += "<p>" + std::string(lang(t::kConsentBound)) + "</p></section>";
      continue;
    }
    if (!section.ok) {
      body += "<p class=\"error\">" + std::string(lang(t::kUnavailable)) + "</p></section>";
      continue;
    }
    if (section.records.empty()) {
      body += "<p>" + std::string(lang(t::kNoRecord)) + "</p></section>";
      continue;
    }
    for (const auto& record : section.records) {
      body += "<table><thead><tr><th scope=\"col\">" + std::string(lang(t::kField)) +
              "</th><th scope=\"col\">" + std::string(lang(t::kValue)) +
              "</th></tr></thead><tbody>";
      if (schema != nullptr) {
        for (const auto& field : schema->fields) {
          if (!record.contains(field.name)) continue;
          std::string label(registry::Localize(field.title, lang.code));
          if (label.empty()) label = field.name;
          body += "<tr><th scope=\"row\">" + Escape(label) + "</th><td>" +
                  Escape(ShownValue(lang, record[field.name])) + "</td></tr>";
        }
      } else {
        for (const auto& [name, value] : record.items()) {
          body += "<tr><th scope=\"row\">" + Escape(name) + "</th><td>" +
                  Escape(ShownValue(lang, value)) + "</td></tr>";
        }
      }
      body += "</tbody></table>";
    }
    body += "</section>";
  }
  return Render(c, Area::kCitizen, std::string(lang(t::kMyData)), std::move(body));
}

// Why data was read, in words: the service and its application, or this portal's "my data"
// page; the raw purpose stays visible for anything else.
std::string Portal::Impl::PurposeHtml(const Lang& lang, std::string_view purpose) const {
  if (purpose == "portal:my-data") return std::string(lang(t::kMyDataPurpose));
  if (purpose.starts_with("services:")) {
    const auto rest = purpose.substr(9);
    const auto slash = rest.find('/');
    const auto* s = parts.applications->catalogue().Find(rest.substr(0, slash));
    if (s != nullptr) {
      std::string html = Escape(Translate(s->title, lang.code));
      if (slash != std::string_view::npos) {
        html += " <small>(" + Escape(purpose) + ")</small>";
      }
      return html;
    }
  }
  return Escape(purpose);
}

Result<http::Response> Portal::Impl::DataUsagePage(Context& c) {
  ULUS_ASSIGN_OR_RETURN(auto caller, CallerOf(c, "national_id"));
  const auto& lang = c.lang;
  if (!parts.data_usage) return Error::Unavailable("the data tracker is not running");
  const size_t page = PageNumber(*c.request);
  ULUS_ASSIGN_OR_RETURN(auto uses, parts.data_usage(caller.national_id, (page - 1) * 50, 51));
  const bool more = uses.size() > 50;
  if (more) uses.pop_back();
  std::string body = "<p>" + std::string(lang(t::kUsageIntro)) + "</p>";
  if (uses.empty()) {
    body += "<p>" + std::string(lang(t::kNoUsage)) + "</p>";
  } else {
    body += "<table><thead><tr><th>" + std::string(lang(t::kWhen)) + "</th><th>" +
            std::string(lang(t::kInstitution)) + "</th><th>" + std::string(lang(t::kRegistry)) +
            "</th><th>" + std::string(lang(t::kPurpose)) + "</th><th>" +
            std::string(lang(t::kOfficer)) + "</th></tr></thead><tbody>";
    for (const auto& u : uses) {
      const auto* schema = parts.pack->FindRegistry(u.registry);
      body +=
          "<tr><td>" + Escape(LocalTime(u.at)) + "</td><td>" +
          Escape(AgencyName(u.institution, lang.code)) + "</td><td>" +
          Escape(schema != nullptr ? std::string(registry::Localize(schema->title, lang.code))
                                   : u.registry) +
          "</td><td>" + PurposeHtml(lang, u.purpose) + "</td><td>" +
          Escape(u.officer == "citizen" || u.officer.empty() ? std::string(lang(t::kSystemCitizen))
                                                             : u.officer) +
          "</td></tr>";
    }
    body += "</tbody></table>";
  }
  body += Pager(lang, "/my/data-usage", page, more);
  return Render(c, Area::kCitizen, std::string(lang(t::kDataUsage)), std::move(body));
}

// --- notices and consents -------------------------------------------------------------------

Result<http::Response> Portal::Impl::InboxPage(Context& c) {
  ULUS_ASSIGN_OR_RETURN(auto caller, CallerOf(c, "services"));
  const auto& lang = c.lang;
  const size_t page = PageNumber(*c.request);
  ULUS_ASSIGN_OR_RETURN(
      auto notices,
      parts.applications->Notices(ActorOf(caller), false, kPageSize + 1, (page - 1) * kPageSize));
  const bool more = notices.size() > kPageSize;
  if (more) notices.pop_back();
  std::string body;
  if (notices.empty()) {
    body = "<p>" + std::string(lang(t::kNoNotices)) + "</p>";
  } else {
    int64_t newest = 0;
    body = "<ul class=\"plain\">";
    for (const auto& n : notices) {
      newest = std::max(newest, n.id);
      const auto* s = parts.applications->catalogue().Find(n.service);
      const auto state = services::StateFromName(n.state);
      body += "<li>";
      if (!n.read) body += "<strong>" + std::string(lang(t::kUnread)) + ":</strong> ";
      body += Escape(LocalTime(n.at)) + " · " +
              Link("/my/applications/" + n.application,
                   s ? Translate(s->title, lang.code) : n.service) +
              " · " + Escape(state ? StateText(lang, *state) : n.state);
      if (!n.text.empty()) body += " · " + Escape(n.text);
      body += "</li>";
    }
    body += "</ul><form method=\"post\">" + CsrfField(c.viewer) +
            "<input type=\"hidden\" name=\"upTo\" value=\"" + std::to_string(newest) +
            "\"><button class=\"secondary\" type=\"submit\">" + std::string(lang(t::kMarkRead)) +
            "</button></form>";
  }
  body += Pager(lang, "/my/inbox", page, more);
  return Render(c, Area::kCitizen, std::string(lang(t::kInbox)), std::move(body));
}

Result<http::Response> Portal::Impl::InboxPost(Context& c) {
  ULUS_ASSIGN_OR_RETURN(auto form, PostedForm(c));
  ULUS_ASSIGN_OR_RETURN(auto caller, CallerOf(c, "services"));
  int64_t up_to = 0;
  const auto text = form.Value("upTo");
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), up_to);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Error::InvalidArgument("upTo must be a notice id", "upTo");
  }
  ULUS_TRY(parts.applications->MarkNoticesRead(ActorOf(caller), up_to));
  return Redirect("/my/inbox");
}

Result<http::Response> Portal::Impl::ConsentsPage(Context& c) {
  ULUS_ASSIGN_OR_RETURN(auto caller, CallerOf(c, "national_id"));
  const auto& lang = c.lang;
  const size_t page = PageNumber(*c.request);
  ULUS_ASSIGN_OR_RETURN(
      auto records,
      parts.dan->consent().Records(caller.national_id, (page - 1) * kPageSize, kPageSize + 1));
  const bool more = records.size() > kPageSize;
  if (more) records.pop_back();
  std::string body = "<p>" + std::string(lang(t::kConsentsIntro)) + "</p>";
  if (records.empty()) {
    body += "<p>" + std::string(lang(t::kNoConsents)) + "</p>";
  } else {
    body += "<table><thead><tr><th>" + std::string(lang(t::kPurpose)) + "</th><th>" +
            std::string(lang(t::kAgency)) + "</th><th>" + std::string(lang(t::kGiven)) +
            "</th><th>" + std::string(lang(t::kExpires)) + "</th><th>" +
            std::string(lang(t::kState)) + "</th><th></th></tr></thead><tbody>";
    const auto now = clock.Now();
    for (const auto& r : records) {
      auto agreement = parts.dan->consent().Agreement(r.agreement_id);
      std::string purpose = agreement.ok() ? agreement->purpose : r.agreement_id;
      if (purpose.starts_with("services:")) {
        if (const auto* s = parts.applications->catalogue().Find(purpose.substr(9))) {
          purpose = Translate(s->title, lang.code);
        }
      }
      const bool given = r.state == identity::ConsentState::kGiven && r.expires > now;
      const std::string state = given ? std::string(lang(t::kGiven))
                                      : std::string(r.state == identity::ConsentState::kWithdrawn
                                                        ? lang(t::kConsentWithdrawn)
                                                        : lang(t::kConsentExpired));
      body +=
          "<tr><td>" + Escape(purpose) + "</td><td>" +
          Escape(agreement.ok() ? AgencyName(agreement->controller, lang.code) : std::string()) +
          "</td><td>" + Escape(LocalTime(r.created)) + "</td><td>" + Escape(LocalTime(r.expires)) +
          "</td><td>" + Escape(state) + "</td><td>";
      if (given) {
        body += "<form method=\"post\">" + CsrfField(c.viewer) +
                "<input type=\"hidden\" name=\"record\" value=\"" + Escape(r.id) +
                "\"><button class=\"warning\" type=\"submit\">" +
                std::string(lang(t::kWithdrawConsent)) + "</button></form>";
      }
      body += "</td></tr>";
    }
    body += "</tbody></table>";
  }
  body += Pager(lang, "/my/consents", page, more);
  return Render(c, Area::kCitizen, std::string(lang(t::kConsents)), std::move(body));
}

Result<http::Response> Portal::Impl::ConsentsPost(Context& c) {
  ULUS_ASSIGN_OR_RETURN(auto form, PostedForm(c));
  ULUS_ASSIGN_OR_RETURN(auto caller, CallerOf(c, "national_id"));
  // Dan refuses a record that is not this person's with kNotFound, as for a missing one.
  ULUS_TRY(parts.dan->consent().Withdraw(form.Value("record"), caller.national_id));
  return Redirect("/my/consents");
}

}  // namespace ulus::portal
