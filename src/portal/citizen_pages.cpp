// The citizen's pages: home, catalogue, applying, applications, documents, "my data", the data
// tracker, notices and consents.

#include <algorithm>
#include <charconv>
#include <future>

#include "portal_impl.hpp"
#include "texts.hpp"
#include "ulus/core/clock.hpp"
#include "ulus/crypto/random.hpp"
#include "ulus/documents/pdf.hpp"
#include "ulus/http/problem.hpp"
#include "ulus/registry/schema.hpp"

namespace ulus::portal {

namespace {

using nlohmann::json;
using services::ApplicationState;
namespace t = texts;

constexpr size_t kPageSize = 20;

size_t PageNumber(const http::Request& request) {
  const auto text = request.Query("page").value_or("1");
  size_t page = 1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), page);
  if (ec != std::errc() || end != text.data() + text.size() || page < 1 || page > 10'000) return 1;
  return page;
}

std::string Link(std::string_view href, std::string_view text) {
  return "<a href=\"" + Escape(href) + "\">" + Escape(text) + "</a>";
}

// "Previous" and "Next" links keeping the query's other parameters.
std::string Pager(const Lang& lang, std::string_view base, size_t page, bool more) {
  if (page <= 1 && !more) return {};
  const std::string sep = base.find('?') == std::string_view::npos ? "?" : "&";
  std::string html = "<nav aria-label=\"pages\"><p>";
  if (page > 1) {
    html += Link(std::string(base) + sep + "page=" + std::to_string(page - 1), lang(t::kPrevious)) +
            " ";
  }
  if (more)
    html += Link(std::string(base) + sep + "page=" + std::to_string(page + 1), lang(t::kNext));
  return html + "</p></nav>";
}

std::string ValueText(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  if (value.is_boolean()) return value.get<bool>() ? "✓" : "✗";
  return value.dump();
}

std::string IsoDay(std::chrono::sys_days day) {
  return FormatIsoDay(day);
}

}  // namespace

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
              (value == "✓" ? " checked" : "") + ">" + Escape(label) + "</label>";
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
    if (type == "text") html += " maxlength=\"" + std::to_string(field.max_length) + "\"";
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
    html += "<dt>" + Escape(label) + "</dt><dd>" + Escape(ValueText(value)) + "</dd>";
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
      if (auto svg =
              documents::RenderQrSvg(parts.documents->QrPayload(*document), lang(t::kVerifyCode));
          svg.ok()) {
        body += "<div class=\"qr\">" + *svg + "</div><p>" + std::string(lang(t::kQrHelp)) + "</p>";
      }
    }
  }
  body += EntriesList(lang, s, a.form, t::kYourEntries);
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
  int64_t version = 0;
  const auto v = form.Value("version");
  std::from_chars(v.data(), v.data() + v.size(), version);
  action.expected_version = version;
  if (action.name == "respond") {
    if (const auto* s = parts.applications->catalogue().Find(a.service)) {
      ULUS_ASSIGN_OR_RETURN(action.form, ReadFormFields(form, s->form, "form."));
    }
  }
  ULUS_TRY(parts.applications->Act(id, action, actor));
  return Redirect("/my/applications/" + id);
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
  if (auto svg = documents::RenderQrSvg(parts.documents->QrPayload(d), lang(t::kVerifyCode));
      svg.ok()) {
    body += "<div class=\"qr\">" + *svg + "</div><p>" + std::string(lang(t::kQrHelp)) + "</p>";
  }
  ULUS_ASSIGN_OR_RETURN(auto checks, parts.documents->Verifications(d.id, 20));
  body += "<h2>" + std::string(lang(t::kVerifications)) + ": " + std::to_string(checks.size()) +
          "</h2>";
  if (!checks.empty()) {
    body += "<table><thead><tr><th>" + std::string(lang(t::kWhen)) +
            "</th><th>channel</th><th>verdict</th></tr></thead><tbody>";
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

Result<http::Response> Portal::Impl::MyData(Context& c) {
  ULUS_ASSIGN_OR_RETURN(auto caller, CallerOf(c, "national_id"));
  const auto& lang = c.lang;
  const std::string subject = caller.national_id;
  // Every registry that names its subject, read at once; registries reached only through a
  // reference (an address) in a second round.
  struct Section {
    const services::RegistrySource* source = nullptr;
    Result<services::Pulled> pulled = Error::Unavailable("not read");
    bool consent_bound = false;
  };
  std::vector<Section> sections;
  const auto pull = [&](const services::RegistrySource* source, std::string field,
                        std::string value) {
    return std::async(std::launch::async,
                      [this, source, field = std::move(field), value = std::move(value), subject] {
                        return parts.exchange->Pull({.registry = source,
                                                     .field = field,
                                                     .value = value,
                                                     .subject = subject,
                                                     .purpose = "portal:my-data",
                                                     .user_id = "citizen",
                                                     .consent_token = {}});
                      });
  };
  std::vector<std::future<Result<services::Pulled>>> first;
  for (const auto& source : parts.registries) {
    if (source.subject_field.empty()) continue;
    if (source.consent_required) {
      sections.push_back({.source = &source, .consent_bound = true});
      first.emplace_back();
      continue;
    }
    sections.push_back({.source = &source});
    first.push_back(pull(&source, source.subject_field, subject));
  }
  for (size_t i = 0; i < sections.size(); ++i) {
    if (first[i].valid()) sections[i].pulled = first[i].get();
  }
  // References to registries without a subject: each record once.
  std::vector<std::pair<const services::RegistrySource*, std::string>> refs;
  for (const auto& section : sections) {
    if (!section.pulled.ok()) continue;
    for (const auto& record : section.pulled->records) {
      for (const auto& [field, target] : section.source->refs) {
        const auto it = std::find_if(parts.registries.begin(), parts.registries.end(),
                                     [&](const auto& r) { return r.name == target; });
        if (it == parts.registries.end() || !it->subject_field.empty()) continue;
        if (!record.contains(field) || !record[field].is_string()) continue;
        const std::pair<const services::RegistrySource*, std::string> ref{
            &*it, record[field].get<std::string>()};
        if (std::find(refs.begin(), refs.end(), ref) == refs.end() && refs.size() < 20) {
          refs.push_back(ref);
        }
      }
    }
  }
  std::vector<std::future<Result<services::Pulled>>> second;
  for (const auto& [source, key] : refs) second.push_back(pull(source, source->primary_key, key));
  for (size_t i = 0; i < refs.size(); ++i) {
    auto pulled = second[i].get();
    auto found = std::find_if(sections.begin(), sections.end(),
                              [&](const Section& s) { return s.source == refs[i].first; });
    if (found == sections.end()) {
      sections.push_back({.source = refs[i].first, .pulled = std::move(pulled)});
    } else if (found->pulled.ok() && pulled.ok()) {
      for (auto& r : pulled->records) found->pulled->records.push_back(std::move(r));
    }
  }

  std::string body = "<p>" + std::string(lang(t::kMyDataIntro)) + "</p>";
  for (const auto& section : sections) {
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
    if (!section.pulled.ok()) {
      body += "<p class=\"error\">" + std::string(lang(t::kUnavailable)) + "</p></section>";
      continue;
    }
    if (section.pulled->records.empty()) {
      body += "<p>" + std::string(lang(t::kNoRecord)) + "</p></section>";
      continue;
    }
    for (const auto& record : section.pulled->records) {
      body += "<table><thead><tr><th scope=\"col\">" + std::string(lang(t::kField)) +
              "</th><th scope=\"col\">" + std::string(lang(t::kValue)) +
              "</th></tr></thead><tbody>";
      if (schema != nullptr) {
        for (const auto& field : schema->fields) {
          if (!record.contains(field.name)) continue;
          std::string label(registry::Localize(field.title, lang.code));
          if (label.empty()) label = field.name;
          body += "<tr><th scope=\"row\">" + Escape(label) + "</th><td>" +
                  Escape(ValueText(record[field.name])) + "</td></tr>";
        }
      } else {
        for (const auto& [name, value] : record.items()) {
          body += "<tr><th scope=\"row\">" + Escape(name) + "</th><td>" + Escape(ValueText(value)) +
                  "</td></tr>";
        }
      }
      body += "</tbody></table>";
    }
    body += "</section>";
  }
  return Render(c, Area::kCitizen, std::string(lang(t::kMyData)), std::move(body));
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
          "<tr><td>" + Escape(LocalTime(u.at)) + "</td><td>" + Escape(u.institution) + "</td><td>" +
          Escape(schema != nullptr ? std::string(registry::Localize(schema->title, lang.code))
                                   : u.registry) +
          "</td><td>" + Escape(u.purpose) + "</td><td>" +
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
  ULUS_ASSIGN_OR_RETURN(auto records, parts.dan->consent().Records(caller.national_id, 0, 100));
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
