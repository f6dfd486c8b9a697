// The officer workspace: the agency's inbox by deadline, one application and its actions, the
// one-stop desk, and the officer's own actions.

#include <algorithm>
#include <charconv>

#include "portal_impl.hpp"
#include "texts.hpp"
#include "ulus/core/clock.hpp"
#include "ulus/crypto/random.hpp"
#include "ulus/http/problem.hpp"

namespace ulus::portal {

namespace {

using nlohmann::json;
using services::ApplicationState;
namespace t = texts;

// The document fields the pack leaves to the officer, as form fields.
std::vector<services::FormField> OfficerFields(const services::ServiceDefinition& service,
                                               const documents::Template* tmpl) {
  std::vector<services::FormField> out;
  if (tmpl == nullptr) return out;
  for (const auto& [field, expression] : service.claims) {
    if (expression != "officer") continue;
    const auto* f = tmpl->Field(field);
    if (f == nullptr) continue;
    services::FormField form_field;
    form_field.name = f->name;
    form_field.label = f->label;
    form_field.required = f->required;
    form_field.max_length = f->max_length;
    switch (f->type) {
      case documents::FieldType::kDate: form_field.type = "date"; break;
      case documents::FieldType::kInteger: form_field.type = "integer"; break;
      case documents::FieldType::kBoolean: form_field.type = "boolean"; break;
      case documents::FieldType::kString: form_field.type = "string"; break;
    }
    out.push_back(std::move(form_field));
  }
  return out;
}

std::string ActionForm(const Viewer& viewer, const services::Application& a,
                       std::string_view action, std::string inner, std::string_view button,
                       std::string_view button_class = {}) {
  std::string html = "<form method=\"post\" action=\"/work/applications/" + Escape(a.id) + "\">" +
                     CsrfField(viewer) + "<input type=\"hidden\" name=\"action\" value=\"" +
                     std::string(action) + "\"><input type=\"hidden\" name=\"version\" value=\"" +
                     std::to_string(a.version) + "\">" + std::move(inner) + "<button";
  if (!button_class.empty()) html += " class=\"" + std::string(button_class) + "\"";
  return html + " type=\"submit\">" + Escape(button) + "</button></form>";
}

std::string CommentField(std::string_view id, std::string_view label, bool required) {
  return "<label for=\"" + std::string(id) + "\">" + Escape(label) + "</label><textarea id=\"" +
         std::string(id) + "\" name=\"comment\" rows=\"3\" maxlength=\"2000\"" +
         (required ? " required" : "") + "></textarea>";
}

}  // namespace

Result<http::Response> Portal::Impl::WorkInbox(Context& c) {
  ULUS_ASSIGN_OR_RETURN(auto caller, RequireOfficer(c));
  const auto actor = ActorOf(caller);
  const auto& lang = c.lang;
  std::string body;
  const auto agencies = caller.OfficerOf();
  constexpr size_t kRows = 50;
  const size_t page = PageNumber(*c.request);
  bool more = false;
  for (const auto& agency : agencies) {
    ULUS_ASSIGN_OR_RETURN(
        auto open,
        parts.applications->Inbox(
            {.agency = agency, .limit = kRows + 1, .offset = (page - 1) * kRows}, actor));
    if (open.size() > kRows) {
      open.pop_back();
      more = true;
    }
    if (agencies.size() > 1) body += "<h2>" + Escape(AgencyName(agency, lang.code)) + "</h2>";
    if (open.empty()) {
      body += "<p>" + std::string(lang(t::kNothingWaiting)) + "</p>";
      continue;
    }
    body += "<table><thead><tr><th>" + std::string(lang(t::kApplication)) + "</th><th>" +
            std::string(lang(t::kService)) + "</th><th>" + std::string(lang(t::kApplicant)) +
            "</th><th>" + std::string(lang(t::kState)) + "</th><th>" +
            std::string(lang(t::kStateDue)) + "</th><th>" + std::string(lang(t::kDue)) +
            "</th><th>" + std::string(lang(t::kAssignee)) + "</th></tr></thead><tbody>";
    for (const auto& a : open) {
      const bool late = parts.applications->Late(a);
      const auto* s = parts.applications->catalogue().Find(a.service);
      body += std::string(late ? "<tr class=\"late\">" : "<tr>") + "<td>" +
              Link("/work/applications/" + a.id, a.id) + "</td><td>" +
              Escape(s ? Translate(s->title, lang.code) : a.service) + "</td><td>" +
              Escape(a.applicant) + "</td><td>" + Escape(StateText(lang, a.state)) + "</td><td>" +
              (a.state_due ? FormatIsoDay(*a.state_due) : std::string()) + " <strong>" +
              std::string(late ? lang(t::kLate) : lang(t::kOnTime)) + "</strong></td><td>" +
              (a.due ? FormatIsoDay(*a.due) : std::string()) + "</td><td>" +
              (a.assignee.empty()            ? std::string(lang(t::kNobody))
               : a.assignee == actor.account ? std::string(lang(t::kYou))
                                             : Escape(a.assignee)) +
              "</td></tr>";
    }
    body += "</tbody></table>";
  }
  body += Pager(lang, "/work", page, more);
  if (agencies.empty()) body += "<p>" + Link("/work/desk", lang(t::kDesk)) + "</p>";
  return Render(c, Area::kWork, std::string(lang(t::kOfficerInbox)), std::move(body));
}

Result<http::Response> Portal::Impl::WorkApplication(Context& c) {
  ULUS_ASSIGN_OR_RETURN(auto caller, RequireOfficer(c));
  const auto actor = ActorOf(caller);
  const auto& lang = c.lang;
  ULUS_ASSIGN_OR_RETURN(auto a, parts.applications->Get(c.request->Param("id"), actor));
  if (!actor.IsOfficerOf(a.agency)) return Error::NotFound("no such application");
  ULUS_ASSIGN_OR_RETURN(auto history, parts.applications->History(a.id, actor));
  const auto* s = parts.applications->catalogue().Find(a.service);
  std::string body = "<p class=\"state\">" + std::string(lang(t::kState)) + ": " +
                     Escape(StateText(lang, a.state));
  if (parts.applications->Late(a)) body += " · " + std::string(lang(t::kLate));
  body += "</p><dl><dt>" + std::string(lang(t::kApplication)) + "</dt><dd>" + Escape(a.id) +
          "</dd><dt>" + std::string(lang(t::kApplicant)) + "</dt><dd>" + Escape(a.applicant) +
          "</dd><dt>" + std::string(lang(t::kFiled)) + "</dt><dd>" + Escape(LocalTime(a.created)) +
          " (" + Escape(a.filed_by) + ")</dd>";
  if (a.state_due) {
    body += "<dt>" + std::string(lang(t::kStateDue)) + "</dt><dd>" + FormatIsoDay(*a.state_due) +
            "</dd>";
  }
  if (a.due)
    body += "<dt>" + std::string(lang(t::kDue)) + "</dt><dd>" + FormatIsoDay(*a.due) + "</dd>";
  body += "<dt>" + std::string(lang(t::kAssignee)) + "</dt><dd>" +
          (a.assignee.empty()            ? std::string(lang(t::kNobody))
           : a.assignee == actor.account ? std::string(lang(t::kYou))
                                         : Escape(a.assignee)) +
          "</dd></dl>";
  if (a.state == ApplicationState::kRejected && !a.reason.empty()) {
    body +=
        "<p class=\"error\">" + std::string(lang(t::kReason)) + ": " + Escape(a.reason) + "</p>";
  }
  if (!a.document.empty()) {
    body += "<p>" + std::string(lang(t::kDocument)) + ": " + Escape(a.document) + "</p>";
  }
  body += EntriesList(lang, s, a.form, t::kApplicantEntries);
  body += SourcesList(lang, a.sources);
  ULUS_ASSIGN_OR_RETURN(auto attachments, parts.applications->Attachments(a.id, actor));
  body += AttachmentsList(lang, attachments, "/work/applications/" + a.id);
  if (a.applicant == caller.national_id && !services::IsFinal(a.state)) {
    body += "<p class=\"notice\">" + std::string(lang(t::kOwnApplication)) + "</p>";
  } else if (!services::IsFinal(a.state)) {
    if (a.state == ApplicationState::kSubmitted) {
      body += ActionForm(c.viewer, a, "take", {}, lang(t::kTakeUp));
    }
    if (a.state == ApplicationState::kInReview && s != nullptr) {
      const auto* tmpl = s->document.empty() ? nullptr : parts.documents->FindTemplate(s->document);
      const auto fields = OfficerFields(*s, tmpl);
      std::string inner;
      if (!fields.empty()) {
        inner = "<fieldset><legend>" + std::string(lang(t::kOfficerFields)) + "</legend>" +
                FormFields(lang, fields, json::object(), "claim.") + "</fieldset>";
      }
      body += "<h2>" + std::string(lang(t::kApprove)) + "</h2>" +
              ActionForm(c.viewer, a, "approve", std::move(inner), lang(t::kApprove));
      body += "<h2>" + std::string(lang(t::kAskInformation)) + "</h2>" +
              ActionForm(c.viewer, a, "request_information",
                         CommentField("ask", lang(t::kComment), true), lang(t::kAskInformation),
                         "secondary");
    }
    body += "<h2>" + std::string(lang(t::kReject)) + "</h2>" +
            ActionForm(c.viewer, a, "reject", CommentField("reason", lang(t::kReason), true),
                       lang(t::kReject), "warning");
    body += "<h2>" + std::string(lang(t::kAddComment)) + "</h2>" +
            ActionForm(c.viewer, a, "comment", CommentField("note", lang(t::kComment), true),
                       lang(t::kAddComment), "secondary");
  }
  body += HistoryTable(lang, history);
  return Render(
      c, Area::kWork,
      std::string(lang(t::kApplication)) + " · " + (s ? Translate(s->title, lang.code) : a.service),
      std::move(body));
}

Result<http::Response> Portal::Impl::WorkAct(Context& c) {
  ULUS_ASSIGN_OR_RETURN(auto form, PostedForm(c));
  ULUS_ASSIGN_OR_RETURN(auto caller, RequireOfficer(c));
  const auto actor = ActorOf(caller);
  const std::string id(c.request->Param("id"));
  ULUS_ASSIGN_OR_RETURN(auto a, parts.applications->Get(id, actor));
  if (!actor.IsOfficerOf(a.agency)) return Error::NotFound("no such application");
  services::Action action;
  action.name = form.Value("action");
  static constexpr std::string_view kOfficerActions[] = {"take", "approve", "reject",
                                                         "request_information", "comment"};
  if (std::find(std::begin(kOfficerActions), std::end(kOfficerActions), action.name) ==
      std::end(kOfficerActions)) {
    return Error::InvalidArgument("unknown action", "action");
  }
  action.comment = form.Value("comment");
  ULUS_ASSIGN_OR_RETURN(action.expected_version, VersionOf(form));
  if (action.name == "approve") {
    if (const auto* s = parts.applications->catalogue().Find(a.service)) {
      const auto* tmpl = s->document.empty() ? nullptr : parts.documents->FindTemplate(s->document);
      ULUS_ASSIGN_OR_RETURN(action.claims, ReadFormFields(form, OfficerFields(*s, tmpl), "claim."));
    }
  }
  ULUS_TRY(parts.applications->Act(id, action, actor));
  return Redirect("/work/applications/" + id);
}

Result<http::Response> Portal::Impl::DeskPage(Context& c) {
  ULUS_ASSIGN_OR_RETURN(auto caller, RequireOfficer(c));
  const auto& lang = c.lang;
  const auto actor = ActorOf(caller);
  std::string body = "<p>" + std::string(lang(t::kDeskIntro)) + "</p>" +
                     "<form method=\"post\" action=\"/work/desk\">" + CsrfField(c.viewer) +
                     "<input type=\"hidden\" name=\"step\" value=\"start\"><label for=\"nid\">" +
                     std::string(lang(t::kNationalId)) +
                     "</label><input type=\"text\" id=\"nid\" name=\"nationalId\" required "
                     "maxlength=\"32\" autocomplete=\"off\"><label for=\"service\">" +
                     std::string(lang(t::kService)) +
                     "</label><select id=\"service\" name=\"service\">";
  for (const auto& s : parts.applications->catalogue().services()) {
    if (!actor.desk && !actor.IsOfficerOf(s.agency)) continue;
    body += "<option value=\"" + Escape(s.id) + "\">" + Escape(Translate(s.title, lang.code)) +
            "</option>";
  }
  body +=
      "</select><button type=\"submit\">" + std::string(lang(t::kSendCode)) + "</button></form>";
  return Render(c, Area::kWork, std::string(lang(t::kDesk)), std::move(body));
}

std::string Portal::Impl::DeskCodeForm(Context& c, const services::ServiceDefinition& service,
                                       std::string_view challenge, std::string_view national_id,
                                       std::string_view notice, const json& values,
                                       std::string_view error) const {
  const auto& lang = c.lang;
  std::string body;
  if (!error.empty()) body += "<p class=\"error\" role=\"alert\">" + Escape(error) + "</p>";
  if (!notice.empty()) body += "<p class=\"notice\">" + Escape(notice) + "</p>";
  return body + "<form method=\"post\" action=\"/work/desk\">" + CsrfField(c.viewer) +
         "<input type=\"hidden\" name=\"step\" value=\"file\"><input type=\"hidden\" "
         "name=\"challenge\" value=\"" +
         Escape(challenge) + "\"><input type=\"hidden\" name=\"service\" value=\"" +
         Escape(service.id) + "\"><input type=\"hidden\" name=\"nationalId\" value=\"" +
         Escape(national_id) + "\"><input type=\"hidden\" name=\"key\" value=\"" +
         crypto::RandomToken(16) + "\"><p>" + Escape(Translate(service.title, lang.code)) + " · " +
         Escape(national_id) + "</p>" + FormFields(lang, service.form, values, "form.") +
         "<label for=\"code\">" + std::string(lang(t::kCode)) +
         "</label><input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" "
         "pattern=\"[0-9]{6}\" maxlength=\"6\" required autocomplete=\"one-time-code\">"
         "<button type=\"submit\">" +
         std::string(lang(t::kFile)) + "</button></form>";
}

Result<http::Response> Portal::Impl::DeskPost(Context& c) {
  ULUS_ASSIGN_OR_RETURN(auto form, PostedForm(c));
  ULUS_ASSIGN_OR_RETURN(auto caller, RequireOfficer(c));
  const auto& lang = c.lang;
  const auto actor = ActorOf(caller);
  const auto* s = parts.applications->catalogue().Find(form.Value("service"));
  if (s == nullptr) return Error::NotFound("no such service");
  const std::string national_id = form.Value("nationalId");
  if (form.Value("step") == "start") {
    ULUS_ASSIGN_OR_RETURN(auto challenge,
                          parts.applications->StartDeskFiling(actor, national_id, s->id));
    return Render(c, Area::kWork, std::string(lang(t::kDesk)),
                  DeskCodeForm(c, *s, challenge.id, national_id,
                               std::string(lang(t::kCodeSent)) + " " + challenge.masked_phone,
                               json::object(), {}));
  }
  const std::string challenge = form.Value("challenge");
  // A refused try (a mistyped code, a missing entry) shows the same form again with the entries
  // kept: the challenge stands, and the citizen gets no second SMS.
  const auto again = [&](const Error& error, const json& values) {
    return Render(c, Area::kWork, std::string(lang(t::kDesk)),
                  DeskCodeForm(c, *s, challenge, national_id, {}, values, error.message),
                  http::StatusFor(error.code));
  };
  auto entries = ReadFormFields(form, s->form, "form.");
  if (!entries.ok()) return again(entries.error(), json::object());
  for (const auto& field : s->form) {
    if (field.required && field.type != "boolean" && !entries->contains(field.name)) {
      return again(Error::InvalidArgument(
                       Translate(field.label, lang.code) + ": " + std::string(lang(t::kRequired)),
                       field.name),
                   *entries);
    }
  }
  auto filed = parts.applications->ConfirmDeskFiling(actor, challenge, form.Value("code"),
                                                     {.service = s->id,
                                                      .form = *entries,
                                                      .consent_token = {},
                                                      .idempotency_key = form.Value("key")});
  if (!filed.ok()) {
    const auto code = filed.error().code;
    if (code == ErrorCode::kInvalidArgument || code == ErrorCode::kPermissionDenied ||
        code == ErrorCode::kFailedPrecondition || code == ErrorCode::kUnauthenticated) {
      Error shown = filed.error();
      if (code == ErrorCode::kUnauthenticated) shown.code = ErrorCode::kPermissionDenied;
      return again(shown, *entries);
    }
    return filed.error();
  }
  std::string body = "<p class=\"notice\">" + std::string(lang(t::kFiledFor)) + " " +
                     Escape(national_id) + "</p><dl><dt>" + std::string(lang(t::kApplication)) +
                     "</dt><dd>" + Escape(filed->id) + "</dd><dt>" + std::string(lang(t::kState)) +
                     "</dt><dd>" + Escape(StateText(lang, filed->state)) + "</dd></dl><p>" +
                     Link("/work/desk", lang(t::kDesk)) + "</p>";
  return Render(c, Area::kWork, std::string(lang(t::kDesk)), std::move(body));
}

Result<http::Response> Portal::Impl::MyActions(Context& c) {
  ULUS_ASSIGN_OR_RETURN(auto caller, RequireOfficer(c));
  const auto& lang = c.lang;
  constexpr size_t kRows = 50;
  const size_t page = PageNumber(*c.request);
  ULUS_ASSIGN_OR_RETURN(
      auto events, parts.applications->ActionsOf(ActorOf(caller), kRows + 1, (page - 1) * kRows));
  const bool more = events.size() > kRows;
  if (more) events.pop_back();
  std::string body;
  if (events.empty()) {
    body = "<p>" + std::string(lang(t::kNoActions)) + "</p>";
  } else {
    body = "<table><thead><tr><th>" + std::string(lang(t::kWhen)) + "</th><th>" +
           std::string(lang(t::kApplication)) + "</th><th>" + std::string(lang(t::kService)) +
           "</th><th>" + std::string(lang(t::kAction)) + "</th><th>" +
           std::string(lang(t::kState)) + "</th><th>" + std::string(lang(t::kComment)) +
           "</th></tr></thead><tbody>";
    for (const auto& e : events) {
      const auto* s = parts.applications->catalogue().Find(e.service);
      const auto state = services::StateFromName(e.event.to_state);
      body += "<tr><td>" + Escape(LocalTime(e.event.at)) + "</td><td>" +
              Link("/work/applications/" + e.application, e.application) + "</td><td>" +
              Escape(s ? Translate(s->title, lang.code) : e.service) + "</td><td>" +
              Escape(ActionText(lang, e.event.action)) + "</td><td>" +
              Escape(state ? StateText(lang, *state) : e.event.to_state) + "</td><td>" +
              Escape(e.event.comment) + "</td></tr>";
    }
    body += "</tbody></table>";
  }
  body += Pager(lang, "/work/actions", page, more);
  return Render(c, Area::kWork, std::string(lang(t::kMyActions)), std::move(body));
}

}  // namespace ulus::portal
