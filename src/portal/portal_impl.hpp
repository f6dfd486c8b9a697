#pragma once

// The portal's insides, shared by its source files: sessions, the request context and the pages.

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
struct PendingLogin {
  std::string state;
  std::string verifier;  // PKCE code_verifier (RFC 7636)
  std::string nonce;
  std::string next;  // a local path to return to
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
};

struct Portal::Impl {
  store::Database& db;
  PortalParts parts;
  PortalOptions options;
  const Clock& clock;
  const http::Server* server = nullptr;
  const crypto::MasterKey* master = nullptr;  // seals refresh tokens at rest
  std::vector<std::string> languages;
  std::string cookie_name;
  std::mutex refresh_mu;  // one refresh at a time: Dan rotates refresh tokens

  Impl(store::Database& d, PortalParts p, PortalOptions o, const Clock& c)
      : db(d), parts(std::move(p)), options(std::move(o)), clock(c) {}

  // --- sessions (sessions.cpp) ---
  Result<PendingLogin> StartLogin(std::string next);
  Result<std::optional<PendingLogin>> TakeLogin(std::string_view state);
  // Stores a new session; returns the cookie token.
  Result<std::string> CreateSession(const Session& session, const Tokens& tokens);
  Result<std::optional<Session>> FindSession(std::string_view cookie_token);
  Status StoreTokens(std::string_view id, const Tokens& tokens);
  Result<std::string> RefreshTokenOf(std::string_view id);
  Result<std::string> EndSession(std::string_view id);  // returns the refresh token, if any
  Status Sweep();

  // --- login (portal.cpp) ---
  Result<nlohmann::json> CallTokenEndpoint(const std::string& form_body);
  Result<Session> FreshSession(Session session);  // refreshes the access token when near expiry
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
  Result<http::Response> MyDocuments(Context& c);
  Result<http::Response> DocumentPage(Context& c);
  Result<http::Response> DocumentPdf(Context& c);
  Result<http::Response> MyData(Context& c);
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
  Result<http::Response> MyActions(Context& c);

  // --- shared pieces (citizen_pages.cpp) ---
  std::string AgencyName(std::string_view agency, std::string_view lang = "en") const;
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
