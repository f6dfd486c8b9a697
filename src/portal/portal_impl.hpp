#pragma once

// The portal's insides, shared by its source files: sessions, the request context and the pages.

#include <array>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "html.hpp"
#include "ulus/crypto/sealed.hpp"
#include "ulus/http/form.hpp"
#include "ulus/http/message.hpp"
#include "ulus/identity/oidc.hpp"
#include "ulus/portal/portal.hpp"

namespace ulus::portal {

// A login on its way through Dan: what the callback needs to finish it.
// Kept sealed (master key) in a cookie of the browser that started it, so only that browser can
// finish it, and nothing is stored before anyone has logged in.
struct PendingLogin {
  std::string state;
  std::string verifier;  // PKCE code_verifier (RFC 7636)
  std::string nonce;
  std::string next;  // a local path to return to
  TimePoint started;
};

// A signed-in browser. The cookie holds a random token; the row is found by its SHA-256.
struct Session {
  std::string id;  // SHA-256 of the cookie token, hex
  std::string account_id;
  std::string national_id;
  std::string name;
  std::string access_token;
  TimePoint access_expires;
  std::string csrf;
  int assurance = 0;  // identity::Assurance
  TimePoint expires;
};

// The tokens Dan's token endpoint answered.
struct Tokens {
  std::string access_token;
  std::string refresh_token;
  std::string id_token;
  TimePoint access_expires;
};

// What every page handler gets: the language, who is looking, and the request's own path.
struct Context {
  Lang lang;
  Viewer viewer;
  std::optional<Session> session;
  std::string here;  // path and query
  http::Request* request = nullptr;
  // Why the session's access token could not be refreshed, when Dan could not be reached: the
  // page says "try again" instead of logging the person out.
  std::optional<Error> refresh_error;
};

// What "my data" read, kept a few minutes per session so reloading the page does not read every
// registry again (and fill the person's data tracker with the same reads).
struct RegistrySection {
  const services::RegistrySource* source = nullptr;
  bool consent_bound = false;
  bool ok = false;
  std::vector<nlohmann::json> records;
};
struct MyDataSnapshot {
  TimePoint read_at;
  std::vector<RegistrySection> sections;
};

// The application's version a form was rendered with (hidden field "version"); kInvalidArgument
// unless it is a positive number, so a form can never skip the check against a stale view.
Result<int64_t> VersionOf(const http::Form& form);

struct Portal::Impl {
  store::Database& db;
  PortalParts parts;
  PortalOptions options;
  const Clock& clock;
  const http::Server* server = nullptr;
  const crypto::MasterKey* master = nullptr;  // seals refresh tokens at rest
  std::vector<std::string> languages;
  std::string cookie_name;
  std::string login_cookie_name;
  // One refresh at a time per session (striped): Dan rotates refresh tokens and treats a reused
  // one as stolen.
  std::array<std::mutex, 64> refresh_locks;
  std::mutex my_data_mu;
  std::map<std::string, MyDataSnapshot, std::less<>> my_data;  // by session id

  Impl(store::Database& d, PortalParts p, PortalOptions o, const Clock& c)
      : db(d), parts(std::move(p)), options(std::move(o)), clock(c) {}

  // --- logins and sessions (sessions.cpp) ---
  [[nodiscard]] PendingLogin StartLogin(std::string next) const;
  [[nodiscard]] Result<std::string> SealLogin(const PendingLogin& login) const;
  // The login sealed in the browser's cookie, if it answers `state` and is not too old.
  [[nodiscard]] Result<PendingLogin> OpenLogin(std::string_view sealed,
                                               std::string_view state) const;
  // Stores a new session; returns the cookie token.
  Result<std::string> CreateSession(const Session& session, const Tokens& tokens);
  Result<std::optional<Session>> FindSession(std::string_view cookie_token);
  Status StoreTokens(std::string_view id, const Tokens& tokens);
  Result<std::string> RefreshTokenOf(std::string_view id);
  // Deletes the session and revokes its refresh token at Dan; returns that token, if any.
  Result<std::string> EndSession(std::string_view id);
  // Ends sessions past their lifetime or idle too long. Returns how many.
  Result<size_t> Sweep();
  void RevokeAtDan(const std::string& refresh_token);

  // --- login (portal.cpp) ---
  // Dan's token endpoint in process. kUnauthenticated when Dan refuses the grant (invalid_grant);
  // kUnavailable for anything else, which must not end a session.
  Result<nlohmann::json> CallTokenEndpoint(const std::string& form_body,
                                           const std::string& remote_address);
  // Refreshes the access token when near expiry. kUnauthenticated when the login has ended.
  Result<Session> FreshSession(Session session, const std::string& remote_address);
  Result<http::Response> Login(http::Request& request);
  Result<http::Response> Callback(http::Request& request);
  Result<http::Response> Logout(http::Request& request);

  // --- the request context ---
  Context ContextOf(http::Request& request);
  // The signed-in person's caller (roles only after a substantial login); kUnauthenticated to
  // send them to log in.
  Result<identity::ApiCaller> CallerOf(Context& context, std::string_view scope);
  services::Actor ActorOf(const identity::ApiCaller& caller) const;
  Result<identity::ApiCaller> RequireOfficer(Context& context);
  // Checks a posted form's CSRF token against the session's.
  Result<http::Form> PostedForm(Context& context);
  http::Response Render(Context& context, Area area, std::string title, std::string body,
                        http::Status status = http::Status::ok) const;
  http::Response ErrorPage(Context& context, const Error& error) const;
  static http::Response Redirect(std::string_view location);

  // --- citizen pages (citizen_pages.cpp) ---
  Result<http::Response> Home(Context& c);
  Result<http::Response> CataloguePage(Context& c);
  Result<http::Response> ServicePage(Context& c);
  Result<http::Response> ApplyPost(Context& c);
  Result<http::Response> MyApplications(Context& c);
  Result<http::Response> ApplicationPage(Context& c);
  Result<http::Response> ApplicationPost(Context& c);
  // An attachment of an application, to its applicant (/my/...) or its agency's officer
  // (/work/...).
  Result<http::Response> AttachmentDownload(Context& c);
  // The attachments of an application as a list of download links under `base`.
  std::string AttachmentsList(const Lang& lang, const std::vector<services::Attachment>& list,
                              std::string_view base) const;
  Result<http::Response> MyDocuments(Context& c);
  Result<http::Response> DocumentPage(Context& c);
  Result<http::Response> DocumentPdf(Context& c);
  Result<http::Response> MyData(Context& c);
  // Reads every registry about the person through Khur, at most a few at a time.
  MyDataSnapshot ReadMyData(const std::string& national_id);
  Result<http::Response> DataUsagePage(Context& c);
  Result<http::Response> InboxPage(Context& c);
  Result<http::Response> InboxPost(Context& c);
  Result<http::Response> ConsentsPage(Context& c);
  Result<http::Response> ConsentsPost(Context& c);

  // --- officer pages (work_pages.cpp) ---
  Result<http::Response> WorkInbox(Context& c);
  Result<http::Response> WorkApplication(Context& c);
  Result<http::Response> WorkAct(Context& c);
  Result<http::Response> DeskPage(Context& c);
  Result<http::Response> DeskPost(Context& c);
  // The desk's second step: the code the citizen reads out and the e-form, with an error when
  // the first try was refused (the challenge stays the same, no new SMS).
  std::string DeskCodeForm(Context& c, const services::ServiceDefinition& service,
                           std::string_view challenge, std::string_view national_id,
                           std::string_view notice, const nlohmann::json& values,
                           std::string_view error) const;
  Result<http::Response> MyActions(Context& c);

  // --- shared pieces (citizen_pages.cpp) ---
  std::string AgencyName(std::string_view agency, std::string_view lang = "en") const;
  std::string PurposeHtml(const Lang& lang, std::string_view purpose) const;
  std::string StateText(const Lang& lang, services::ApplicationState state) const;
  std::string LocalTime(TimePoint at) const;
  // The e-form's fields as labelled inputs, filled with `values`.
  std::string FormFields(const Lang& lang, const std::vector<services::FormField>& fields,
                         const nlohmann::json& values, std::string_view prefix) const;
  // Reads the posted e-form entries of `fields` (names prefixed with `prefix`) as typed JSON.
  Result<nlohmann::json> ReadFormFields(const http::Form& form,
                                        const std::vector<services::FormField>& fields,
                                        std::string_view prefix) const;
  std::string HistoryTable(const Lang& lang,
                           const std::vector<services::ApplicationEvent>& events) const;
  std::string EntriesList(const Lang& lang, const services::ServiceDefinition* service,
                          const nlohmann::json& form, const Text& heading) const;
  // The registry reads an application was decided on (registry, record), for the officer.
  std::string SourcesList(const Lang& lang, const nlohmann::json& sources) const;
};

}  // namespace ulus::portal
