// The portal's frame: opening, routes, login through Dan, the request context and error pages.

#include "ulus/portal/portal.hpp"

#include <spdlog/spdlog.h>

#include <cctype>
#include <cstring>

#include "portal_impl.hpp"
#include "texts.hpp"
#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/http/problem.hpp"
#include "ulus/identity/assurance.hpp"
#include "ulus/identity/pages.hpp"

namespace ulus::portal {

namespace {

using nlohmann::json;
namespace t = texts;

constexpr std::string_view kClientId = "ulus-portal";
constexpr std::string_view kScopes = "openid profile national_id services documents";
// Refresh the access token when it has less than this left, so a page never fails half-way.
constexpr auto kRefreshMargin = std::chrono::seconds(60);

// The claims of a JWT's payload, without checking its signature: only for an ID token the
// portal received directly from Dan's token endpoint in process (OpenID Connect Core §3.1.3.7
// lets the client rely on that channel instead of the signature).
json UnverifiedClaims(std::string_view jwt) {
  const auto first = jwt.find('.');
  const auto second = jwt.find('.', first == std::string_view::npos ? 0 : first + 1);
  if (first == std::string_view::npos || second == std::string_view::npos) return json();
  const auto bytes = crypto::Base64UrlDecode(jwt.substr(first + 1, second - first - 1));
  if (!bytes) return json();
  return json::parse(bytes->begin(), bytes->end(), nullptr, false);
}

// "https://e-mongolia.mn:443/" and "https://e-mongolia.mn" are one origin.
std::string NormalOrigin(std::string_view origin) {
  std::string out(origin);
  while (out.ends_with('/')) out.pop_back();
  for (const auto& [scheme, port] : {std::pair{"https://", ":443"}, std::pair{"http://", ":80"}}) {
    if (out.starts_with(scheme) && out.ends_with(port)) out.resize(out.size() - strlen(port));
  }
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Tokens TokensFrom(const json& body, TimePoint now) {
  Tokens tokens;
  tokens.access_token = body.value("access_token", "");
  tokens.refresh_token = body.value("refresh_token", "");
  tokens.id_token = body.value("id_token", "");
  const int64_t expires_in = body.contains("expires_in") && body["expires_in"].is_number_integer()
                                 ? body["expires_in"].get<int64_t>()
                                 : 300;
  tokens.access_expires = now + std::chrono::seconds(expires_in);
  return tokens;
}

}  // namespace

Portal::Portal(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Portal::~Portal() = default;

Result<std::unique_ptr<Portal>> Portal::Open(store::Database& db, PortalParts parts,
                                             PortalOptions options, const Clock& clock) {
  if (parts.dan == nullptr || parts.applications == nullptr || parts.documents == nullptr ||
      parts.exchange == nullptr || parts.pack == nullptr) {
    return Error::InvalidArgument("the portal needs Dan, applications, documents, Khur and a pack");
  }
  ULUS_TRY(store::Migrate(db, "portal", Migrations()));
  options.origin = NormalOrigin(options.origin);
  // Behind a proxy that ends TLS the platform itself speaks HTTP, but browsers see https.
  if (options.origin.starts_with("https://")) options.secure_cookies = true;
  auto impl = std::make_unique<Impl>(db, std::move(parts), std::move(options), clock);
  impl->master = &impl->parts.dan->master_key();
  impl->languages = impl->parts.pack->languages;
  if (impl->languages.empty()) impl->languages.push_back("en");
  impl->cookie_name = impl->options.secure_cookies ? "__Host-ulus-portal" : "ulus-portal";
  impl->login_cookie_name =
      impl->options.secure_cookies ? "__Host-ulus-portal-login" : "ulus-portal-login";
  return std::unique_ptr<Portal>(new Portal(std::move(impl)));
}

void Portal::Attach(const http::Server& server) {
  impl_->server = &server;
}

Result<size_t> Portal::Sweep() {
  return impl_->Sweep();
}

void Portal::Mount(http::Router& router) {
  Impl* impl = impl_.get();
  using Method = http::Method;
  using PageFn = Result<http::Response> (Impl::*)(Context&);
  const auto page = [impl](PageFn fn) {
    return [impl, fn](http::Request& request) -> Result<http::Response> {
      Context context = impl->ContextOf(request);
      Result<http::Response> result = Error::Internal("the page did not answer");
      try {
        result = (impl->*fn)(context);
      } catch (const std::exception& e) {
        result = Error::Internal(std::string("the page threw: ") + e.what());
      }
      http::Response response =
          result.ok() ? std::move(result).value() : impl->ErrorPage(context, result.error());
      if (const auto chosen = request.Query("lang"); chosen && *chosen == context.lang.code) {
        response.headers.emplace_back(
            "Set-Cookie",
            http::SetCookie("lang", context.lang.code,
                            {.secure = impl->options.secure_cookies, .max_age = 365LL * 86400}));
      }
      return response;
    };
  };
  const http::Operation doc = {{"summary", "Citizen portal page (HTML)"}, {"tags", {"portal"}}};
  const http::Operation work = {{"summary", "Officer workspace page (HTML)"}, {"tags", {"portal"}}};
  router.Add(Method::get, "/", page(&Impl::Home), doc);
  router.Add(Method::get, "/catalogue", page(&Impl::CataloguePage), doc);
  router.Add(Method::get, "/catalogue/{id}", page(&Impl::ServicePage), doc);
  router.Add(Method::post, "/catalogue/{id}/apply", page(&Impl::ApplyPost), doc);
  router.Add(Method::get, "/my", [](http::Request&) -> Result<http::Response> {
    return Impl::Redirect("/my/applications");
  });
  router.Add(Method::get, "/my/applications", page(&Impl::MyApplications), doc);
  router.Add(Method::get, "/my/applications/{id}", page(&Impl::ApplicationPage), doc);
  router.Add(Method::post, "/my/applications/{id}", page(&Impl::ApplicationPost), doc);
  router.Add(Method::get, "/my/applications/{id}/attachments/{attachment}",
             page(&Impl::AttachmentDownload), doc);
  router.Add(Method::get, "/my/documents", page(&Impl::MyDocuments), doc);
  router.Add(Method::get, "/my/documents/{id}", page(&Impl::DocumentPage), doc);
  router.Add(Method::get, "/my/documents/{id}/pdf", page(&Impl::DocumentPdf), doc);
  router.Add(Method::get, "/my/data", page(&Impl::MyData), doc);
  router.Add(Method::get, "/my/data-usage", page(&Impl::DataUsagePage), doc);
  router.Add(Method::get, "/my/inbox", page(&Impl::InboxPage), doc);
  router.Add(Method::post, "/my/inbox", page(&Impl::InboxPost), doc);
  router.Add(Method::get, "/my/consents", page(&Impl::ConsentsPage), doc);
  router.Add(Method::post, "/my/consents", page(&Impl::ConsentsPost), doc);
  router.Add(Method::get, "/work", page(&Impl::WorkInbox), work);
  router.Add(Method::get, "/work/applications/{id}", page(&Impl::WorkApplication), work);
  router.Add(Method::post, "/work/applications/{id}", page(&Impl::WorkAct), work);
  router.Add(Method::get, "/work/applications/{id}/attachments/{attachment}",
             page(&Impl::AttachmentDownload), work);
  router.Add(Method::get, "/work/desk", page(&Impl::DeskPage), work);
  router.Add(Method::post, "/work/desk", page(&Impl::DeskPost), work);
  router.Add(Method::get, "/work/actions", page(&Impl::MyActions), work);
  router.Add(
      Method::get, "/portal/login", [impl](http::Request& r) { return impl->Login(r); },
      {{"summary", "Starts a login through Dan (code flow with PKCE)"}, {"tags", {"portal"}}});
  router.Add(Method::get, "/portal/callback",
             [impl](http::Request& r) -> Result<http::Response> {
               auto done = impl->Callback(r);
               http::Response response;
               if (done.ok()) {
                 response = std::move(done).value();
               } else {
                 // A failed login is a page saying so, never a redirect back into another login
                 // (with Dan's single sign-on that would loop).
                 Context context = impl->ContextOf(r);
                 Error error = done.error();
                 if (error.code == ErrorCode::kUnauthenticated) {
                   error.code = ErrorCode::kPermissionDenied;
                 }
                 response = impl->ErrorPage(context, error);
               }
               // The login in flight is spent either way.
               response.headers.emplace_back(
                   "Set-Cookie",
                   http::SetCookie(impl->login_cookie_name, "",
                                   {.secure = impl->options.secure_cookies, .max_age = 0}));
               return response;
             },
             {{"summary", "Dan's redirect back after a login"}, {"tags", {"portal"}}});
  router.Add(Method::post, "/portal/logout",
             [impl](http::Request& r) -> Result<http::Response> {
               auto done = impl->Logout(r);
               if (done.ok()) return done;
               Context context = impl->ContextOf(r);
               return impl->ErrorPage(context, done.error());
             },
             {{"summary", "Ends the portal session and Dan's"}, {"tags", {"portal"}}});
  router.Add(Method::get, "/portal/style.css",
             [](http::Request&) -> Result<http::Response> {
               auto response =
                   http::Response::Text(std::string(StyleSheet()), "text/css; charset=utf-8");
               response.headers.emplace_back("Cache-Control", "public, max-age=86400");
               response.headers.emplace_back("X-Content-Type-Options", "nosniff");
               return response;
             },
             {{"summary", "The portal's stylesheet"}, {"tags", {"portal"}}});
}

// --- login ---------------------------------------------------------------------------------

Result<json> Portal::Impl::CallTokenEndpoint(const std::string& form_body,
                                             const std::string& remote_address) {
  if (server == nullptr) return Error::Unavailable("the portal is not attached to a server yet");
  http::BeastRequest message(http::Method::post, "/oidc/token", 11);
  message.set(boost::beast::http::field::host, "127.0.0.1");
  message.set(boost::beast::http::field::content_type, "application/x-www-form-urlencoded");
  message.body() = form_body;
  message.prepare_payload();
  // Dan's audit log names the browser's address, not the portal's.
  http::Request request(std::move(message), remote_address);
  const auto response = server->Dispatch(request);
  const json body = json::parse(response.body, nullptr, false);
  if (response.status == http::Status::ok && body.is_object() && body.contains("access_token") &&
      body["access_token"].is_string()) {
    return body;
  }
  const auto text = [&](const char* key) {
    return body.is_object() && body.contains(key) && body[key].is_string()
               ? body[key].get<std::string>()
               : std::string();
  };
  const std::string why =
      text("error_description").empty() ? text("error") : text("error_description");
  if (text("error") == "invalid_grant") {
    return Error{ErrorCode::kUnauthenticated, "Dan did not accept the grant: " + why, {}};
  }
  return Error::Unavailable("Dan's token endpoint answered " +
                            std::to_string(static_cast<int>(response.status)) + ": " + why);
}

void Portal::Impl::RevokeAtDan(const std::string& refresh_token) {
  if (server == nullptr) return;
  // Revoking the refresh token ends its access tokens too (RFC 7009).
  http::BeastRequest message(http::Method::post, "/oidc/revoke", 11);
  message.set(boost::beast::http::field::content_type, "application/x-www-form-urlencoded");
  message.body() = "token=" + http::FormEncode(refresh_token) +
                   "&token_type_hint=refresh_token&client_id=" + std::string(kClientId);
  message.prepare_payload();
  http::Request revoke(std::move(message), "127.0.0.1");
  const auto response = server->Dispatch(revoke);
  if (response.status != http::Status::ok) {
    spdlog::warn("portal: Dan did not revoke a session's refresh token ({})",
                 static_cast<int>(response.status));
  }
}

Result<http::Response> Portal::Impl::Login(http::Request& request) {
  std::string next = request.Query("next").value_or("/my");
  if (!identity::IsLocalRedirect(next) || next.starts_with("/portal/")) next = "/my";
  const auto login = StartLogin(next);
  ULUS_ASSIGN_OR_RETURN(auto sealed, SealLogin(login));
  const auto challenge = crypto::Base64UrlEncode(crypto::Sha256(login.verifier));
  std::string url = "/oidc/authorize?response_type=code&client_id=" + std::string(kClientId) +
                    "&redirect_uri=" + http::FormEncode(options.origin + "/portal/callback") +
                    "&scope=" + http::FormEncode(kScopes) + "&state=" + login.state +
                    "&nonce=" + login.nonce + "&code_challenge=" + challenge +
                    "&code_challenge_method=S256";
  // The workspace needs more than a password: Dan asks for the second factor.
  if (request.Query("acr").value_or("") == "substantial") {
    url += "&acr_values=" +
           http::FormEncode(std::string(identity::AcrValue(identity::Assurance::kSubstantial)));
  }
  Context context = ContextOf(request);
  url += "&ui_locales=" + http::FormEncode(context.lang.code);
  auto response = Redirect(url);
  response.headers.emplace_back(
      "Set-Cookie", http::SetCookie(login_cookie_name, sealed,
                                    {.secure = options.secure_cookies, .max_age = 15 * 60}));
  return response;
}

Result<http::Response> Portal::Impl::Callback(http::Request& request) {
  const auto sealed = http::CookieValue(request, login_cookie_name);
  if (!sealed) {
    return Error{ErrorCode::kFailedPrecondition,
                 "this login has expired or was started in another browser; please log in again",
                 "state"};
  }
  ULUS_ASSIGN_OR_RETURN(auto login, OpenLogin(*sealed, request.Query("state").value_or("")));
  if (const auto error = request.Query("error")) {
    // The person cancelled, or Dan refused: still logged out.
    return Error::PermissionDenied("Dan did not log you in (" + *error + ")");
  }
  const auto code = request.Query("code").value_or("");
  if (code.empty()) return Error::InvalidArgument("Dan's answer has no code", "code");
  ULUS_ASSIGN_OR_RETURN(
      auto body, CallTokenEndpoint(
                     "grant_type=authorization_code&code=" + http::FormEncode(code) +
                         "&redirect_uri=" + http::FormEncode(options.origin + "/portal/callback") +
                         "&client_id=" + std::string(kClientId) +
                         "&code_verifier=" + http::FormEncode(login.verifier),
                     request.remote_address()));
  const auto tokens = TokensFrom(body, clock.Now());
  const json id_claims = UnverifiedClaims(tokens.id_token);
  const auto claim = [&](const char* key) {
    return id_claims.is_object() && id_claims.contains(key) && id_claims[key].is_string()
               ? id_claims[key].get<std::string>()
               : std::string();
  };
  if (claim("nonce") != login.nonce || claim("aud") != kClientId) {
    return Error{ErrorCode::kUnauthenticated, "Dan's ID token does not answer this login", {}};
  }
  ULUS_ASSIGN_OR_RETURN(auto info, parts.dan->oidc().VerifyAccessToken(tokens.access_token));
  ULUS_ASSIGN_OR_RETURN(auto account, parts.dan->accounts().FindById(info.subject));
  if (!account || account->status != "active") {
    return Error{ErrorCode::kUnauthenticated, "the account is not active", {}};
  }
  // A new login replaces the browser's old session (a step up for the workspace, or another
  // person at the same computer).
  if (const auto old = http::CookieValue(request, cookie_name)) {
    if (auto found = FindSession(*old); found.ok() && *found) (void)EndSession((*found)->id);
  }
  Session session;
  session.account_id = account->id;
  session.national_id = account->national_id;
  session.name = claim("name");
  if (session.name.empty()) session.name = claim("given_name") + " " + claim("family_name");
  if (session.name == " ") session.name = account->national_id;
  session.assurance = static_cast<int>(info.assurance.value_or(identity::Assurance::kLow));
  ULUS_ASSIGN_OR_RETURN(auto cookie, CreateSession(session, tokens));
  auto response = Redirect(login.next);
  // A browser-session cookie: closing the browser ends it.
  response.headers.emplace_back(
      "Set-Cookie", http::SetCookie(cookie_name, cookie, {.secure = options.secure_cookies}));
  return response;
}

Result<http::Response> Portal::Impl::Logout(http::Request& request) {
  Context context = ContextOf(request);
  if (context.session) {
    ULUS_TRY(PostedForm(context));
    ULUS_TRY(EndSession(context.session->id));
  }
  // Dan's own session ends too, so a shared computer does not log the next person in through
  // single sign-on. Dan asks "Log out?" itself: an ID token as hint would put the person's
  // national ID and birth date into the browser's history.
  auto response = Redirect("/oidc/logout?client_id=" + std::string(kClientId) +
                           "&post_logout_redirect_uri=" + http::FormEncode(options.origin + "/"));
  response.headers.emplace_back(
      "Set-Cookie",
      http::SetCookie(cookie_name, "", {.secure = options.secure_cookies, .max_age = 0}));
  return response;
}

Result<Session> Portal::Impl::FreshSession(Session session, const std::string& remote_address) {
  if (session.access_expires - clock.Now() > kRefreshMargin) return session;
  std::lock_guard lock(refresh_locks[std::hash<std::string>{}(session.id) % refresh_locks.size()]);
  // Another request may have refreshed it while this one waited.
  {
    const store::Value key[] = {session.id};
    ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
    ULUS_ASSIGN_OR_RETURN(
        auto rows,
        conn->Query("SELECT access_token, access_expires FROM portal_session WHERE id = $1", key));
    if (rows.empty()) return Error{ErrorCode::kUnauthenticated, "the session has ended", {}};
    session.access_token = rows[0].Text(0);
    session.access_expires = FromUnixMicros(rows[0].Int(1));
    if (session.access_expires - clock.Now() > kRefreshMargin) return session;
  }
  ULUS_ASSIGN_OR_RETURN(auto refresh, RefreshTokenOf(session.id));
  if (refresh.empty()) {
    (void)EndSession(session.id);
    return Error{ErrorCode::kUnauthenticated, "the login has ended; please log in again", {}};
  }
  auto body =
      CallTokenEndpoint("grant_type=refresh_token&refresh_token=" + http::FormEncode(refresh) +
                            "&client_id=" + std::string(kClientId),
                        remote_address);
  if (!body.ok()) {
    // Only Dan's refusal ends the session; a Dan that cannot answer now leaves it for later.
    if (body.error().code == ErrorCode::kUnauthenticated) (void)EndSession(session.id);
    return body.error();
  }
  auto tokens = TokensFrom(*body, clock.Now());
  if (tokens.refresh_token.empty()) tokens.refresh_token = refresh;
  ULUS_TRY(StoreTokens(session.id, tokens));
  session.access_token = tokens.access_token;
  session.access_expires = tokens.access_expires;
  return session;
}

// --- context ---------------------------------------------------------------------------------

Context Portal::Impl::ContextOf(http::Request& request) {
  Context c;
  c.request = &request;
  c.here = std::string(request.target());
  if (request.method() != http::Method::get) {
    // A page rendered for a POST (a form with its errors) links back to the page of the form.
    std::string path(request.path());
    if (path.ends_with("/apply")) path.resize(path.size() - 6);
    c.here = path;
  }
  const auto known = [&](std::string_view code) {
    return std::find(languages.begin(), languages.end(), code) != languages.end();
  };
  if (auto q = request.Query("lang"); q && known(*q)) {
    c.lang.code = *q;
  } else if (auto cookie = http::CookieValue(request, "lang"); cookie && known(*cookie)) {
    c.lang.code = *cookie;
  } else {
    c.lang.code =
        parts.pack->default_language.empty() ? languages.front() : parts.pack->default_language;
  }
  if (auto cookie = http::CookieValue(request, cookie_name)) {
    auto found = FindSession(*cookie);
    if (found.ok() && *found) {
      Session session = std::move(**found);
      auto fresh = FreshSession(session, request.remote_address());
      if (fresh.ok()) {
        c.session = std::move(*fresh);
      } else if (fresh.error().code != ErrorCode::kUnauthenticated) {
        c.session = std::move(session);
        c.refresh_error = fresh.error();
      }
    }
  }
  if (c.session) {
    c.viewer.signed_in = true;
    c.viewer.name = c.session->name;
    c.viewer.csrf = c.session->csrf;
  }
  return c;
}

Result<identity::ApiCaller> Portal::Impl::CallerOf(Context& context, std::string_view scope) {
  if (!context.session) {
    return Error{ErrorCode::kUnauthenticated, "log in with Dan to see this page", {}};
  }
  if (context.refresh_error) return *context.refresh_error;
  auto caller = identity::ApiCallerFromToken(context.session->access_token, parts.dan->oidc(),
                                             parts.dan->accounts(), scope);
  if (!caller.ok()) {
    if (caller.error().code == ErrorCode::kUnauthenticated) {
      // Revoked at Dan, or the account disabled: this session is over.
      (void)EndSession(context.session->id);
      context.session.reset();
      context.viewer = Viewer{};
    }
    return caller;
  }
  context.viewer.officer = !caller->OfficerOf().empty() || caller->HasRole("desk");
  return caller;
}

services::Actor Portal::Impl::ActorOf(const identity::ApiCaller& caller) const {
  services::Actor actor;
  actor.account = caller.account_id;
  actor.national_id = caller.national_id;
  actor.officer_of = caller.OfficerOf();
  actor.desk = caller.HasRole("desk");
  return actor;
}

Result<identity::ApiCaller> Portal::Impl::RequireOfficer(Context& context) {
  if (!context.session ||
      context.session->assurance < static_cast<int>(identity::Assurance::kSubstantial)) {
    return Error{ErrorCode::kUnauthenticated, "the workspace needs a login with a second factor",
                 "acr"};
  }
  ULUS_ASSIGN_OR_RETURN(auto caller, CallerOf(context, "services"));
  if (caller.OfficerOf().empty() && !caller.HasRole("desk")) {
    return Error::PermissionDenied(std::string(context.lang(t::kNotOfficer)));
  }
  return caller;
}

Result<http::Form> Portal::Impl::PostedForm(Context& context) {
  if (!context.session) {
    return Error{ErrorCode::kUnauthenticated, "log in with Dan to do this", {}};
  }
  // A form posted from another site carries its Origin; browsers send it on every POST.
  if (const auto origin = context.request->Header("Origin");
      !origin.empty() && NormalOrigin(origin) != options.origin) {
    return Error{ErrorCode::kPermissionDenied, std::string(context.lang(t::kExpiredForm)), "csrf"};
  }
  ULUS_ASSIGN_OR_RETURN(auto form, http::Form::FromRequest(*context.request));
  const auto token = form.Value("csrf");
  if (token.empty() ||
      !crypto::ConstantTimeEquals(crypto::AsBytes(token), crypto::AsBytes(context.session->csrf))) {
    return Error{ErrorCode::kPermissionDenied, std::string(context.lang(t::kExpiredForm)), "csrf"};
  }
  return form;
}

http::Response Portal::Impl::Render(Context& context, Area area, std::string title,
                                    std::string body, http::Status status) const {
  return RenderPage(context.lang, context.viewer,
                    PageSpec{.area = area,
                             .title = std::move(title),
                             .body = std::move(body),
                             .here = context.here,
                             .languages = languages,
                             .status = status});
}

http::Response Portal::Impl::Redirect(std::string_view location) {
  http::Response response;
  response.status = http::Status::see_other;
  response.content_type = "text/plain; charset=utf-8";
  response.headers.emplace_back("Location", std::string(location));
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

http::Response Portal::Impl::ErrorPage(Context& context, const Error& error) const {
  const Area area = context.here.starts_with("/work") ? Area::kWork : Area::kCitizen;
  if (error.code == ErrorCode::kUnauthenticated) {
    // A page that needs a login: through Dan and back here (a form's page, for a POST).
    std::string next = context.here;
    if (context.request->method() != http::Method::get) {
      next = next.substr(0, next.find('?'));
    }
    std::string location = "/portal/login?next=" + http::FormEncode(next);
    if (error.field == "acr") location += "&acr=substantial";
    return Redirect(location);
  }
  const auto& lang = context.lang;
  const auto status = http::StatusFor(error.code);
  std::string title;
  std::string text;
  switch (error.code) {
    case ErrorCode::kNotFound:
      title = lang(t::kNotFound);
      text = lang(t::kNotFoundText);
      break;
    case ErrorCode::kPermissionDenied:
      title = lang(t::kForbidden);
      text = error.message;
      break;
    case ErrorCode::kInternal:
      spdlog::error("portal: {} failed: {}", context.here, error.message);
      title = lang(t::kError);
      text = lang(t::kUnavailable);
      break;
    case ErrorCode::kUnavailable:
    case ErrorCode::kTimeout:
      title = lang(t::kError);
      text = lang(t::kUnavailable);
      break;
    default: title = lang(t::kCannotDo); text = error.message;
  }
  std::string body = "<p class=\"error\" role=\"alert\">" + Escape(text) + "</p>";
  body += "<p><a href=\"" + std::string(area == Area::kWork ? "/work" : "/") + "\">" +
          std::string(lang(t::kBack)) + "</a></p>";
  return Render(context, area, std::move(title), std::move(body), status);
}

}  // namespace ulus::portal
