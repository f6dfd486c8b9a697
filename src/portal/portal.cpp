// The portal's frame: opening, routes, login through Dan, the request context and error pages.

#include "ulus/portal/portal.hpp"

#include <spdlog/spdlog.h>

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
  auto impl = std::make_unique<Impl>(db, std::move(parts), std::move(options), clock);
  impl->master = &impl->parts.dan->master_key();
  impl->languages = impl->parts.pack->languages;
  if (impl->languages.empty()) impl->languages.push_back("en");
  impl->cookie_name = impl->options.secure_cookies ? "__Host-ulus-portal" : "ulus-portal";
  if (auto swept = impl->Sweep(); !swept.ok()) {
    spdlog::warn("portal: old sessions stay for now: {}", swept.error().message);
  }
  return std::unique_ptr<Portal>(new Portal(std::move(impl)));
}

void Portal::Attach(const http::Server& server) {
  impl_->server = &server;
}

void Portal::Mount(http::Router& router) {
  Impl* impl = impl_.get();
  using Method = http::Method;
  using PageFn = Result<http::Response> (Impl::*)(Context&);
  const auto page = [impl](PageFn fn) {
    return [impl, fn](http::Request& request) -> Result<http::Response> {
      Context context = impl->ContextOf(request);
      auto result = (impl->*fn)(context);
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
  router.Add(Method::get, "/work/desk", page(&Impl::DeskPage), work);
  router.Add(Method::post, "/work/desk", page(&Impl::DeskPost), work);
  router.Add(Method::get, "/work/actions", page(&Impl::MyActions), work);
  router.Add(
      Method::get, "/portal/login", [impl](http::Request& r) { return impl->Login(r); },
      {{"summary", "Starts a login through Dan (code flow with PKCE)"}, {"tags", {"portal"}}});
  router.Add(Method::get, "/portal/callback",
             [impl](http::Request& r) -> Result<http::Response> {
               auto done = impl->Callback(r);
               if (done.ok()) return done;
               Context context = impl->ContextOf(r);
               return impl->ErrorPage(context, done.error());
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

Result<json> Portal::Impl::CallTokenEndpoint(const std::string& form_body) {
  if (server == nullptr) return Error::Unavailable("the portal is not attached to a server yet");
  http::BeastRequest message(http::Method::post, "/oidc/token", 11);
  message.set(boost::beast::http::field::host, "127.0.0.1");
  message.set(boost::beast::http::field::content_type, "application/x-www-form-urlencoded");
  message.body() = form_body;
  message.prepare_payload();
  http::Request request(std::move(message), "127.0.0.1");
  const auto response = server->Dispatch(request);
  const json body = json::parse(response.body, nullptr, false);
  if (response.status != http::Status::ok || !body.is_object() || !body.contains("access_token")) {
    const std::string why =
        body.is_object() ? body.value("error_description", body.value("error", "")) : std::string();
    return Error{ErrorCode::kUnauthenticated, "Dan did not give the portal a token: " + why, {}};
  }
  return body;
}

Result<http::Response> Portal::Impl::Login(http::Request& request) {
  std::string next = request.Query("next").value_or("/my");
  if (!identity::IsLocalRedirect(next) || next.starts_with("/portal/")) next = "/my";
  ULUS_ASSIGN_OR_RETURN(auto login, StartLogin(next));
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
  return Redirect(url);
}

Result<http::Response> Portal::Impl::Callback(http::Request& request) {
  const auto state = request.Query("state").value_or("");
  ULUS_ASSIGN_OR_RETURN(auto login, TakeLogin(state));
  if (!login) {
    return Error{ErrorCode::kFailedPrecondition,
                 "this login has expired or was already used; please log in again", "state"};
  }
  if (const auto error = request.Query("error")) {
    // The person cancelled, or Dan refused: back where they were, still logged out.
    return Error::PermissionDenied("Dan did not log you in (" + *error + ")");
  }
  const auto code = request.Query("code").value_or("");
  if (code.empty()) return Error::InvalidArgument("Dan's answer has no code", "code");
  ULUS_ASSIGN_OR_RETURN(
      auto body,
      CallTokenEndpoint("grant_type=authorization_code&code=" + http::FormEncode(code) +
                        "&redirect_uri=" + http::FormEncode(options.origin + "/portal/callback") +
                        "&client_id=" + std::string(kClientId) +
                        "&code_verifier=" + http::FormEncode(login->verifier)));
  const auto tokens = TokensFrom(body, clock.Now());
  const json id_claims = UnverifiedClaims(tokens.id_token);
  if (!id_claims.is_object() || id_claims.value("nonce", "") != login->nonce ||
      id_claims.value("aud", "") != kClientId) {
    return Error{ErrorCode::kUnauthenticated, "Dan's ID token does not answer this login", {}};
  }
  ULUS_ASSIGN_OR_RETURN(auto info, parts.dan->oidc().VerifyAccessToken(tokens.access_token));
  ULUS_ASSIGN_OR_RETURN(auto account, parts.dan->accounts().FindById(info.subject));
  if (!account || account->status != "active") {
    return Error{ErrorCode::kUnauthenticated, "the account is not active", {}};
  }
  Session session;
  session.account_id = account->id;
  session.national_id = account->national_id;
  session.name = id_claims.value("name", "");
  if (session.name.empty()) {
    session.name = id_claims.value("given_name", "") + " " + id_claims.value("family_name", "");
  }
  if (session.name == " ") session.name = account->national_id;
  session.assurance = static_cast<int>(info.assurance.value_or(identity::Assurance::kLow));
  ULUS_ASSIGN_OR_RETURN(auto cookie, CreateSession(session, tokens));
  auto response = Redirect(login->next);
  response.headers.emplace_back(
      "Set-Cookie",
      http::SetCookie(
          cookie_name, cookie,
          {.secure = options.secure_cookies,
           .max_age = std::chrono::duration_cast<std::chrono::seconds>(options.session_lifetime)
                          .count()}));
  return response;
}

Result<http::Response> Portal::Impl::Logout(http::Request& request) {
  Context context = ContextOf(request);
  std::string location = "/";
  if (context.session) {
    ULUS_TRY(PostedForm(context));
    const std::string id_token = [&]() -> std::string {
      const store::Value key[] = {context.session->id};
      auto conn = db.Acquire();
      if (!conn.ok()) return {};
      auto rows = (*conn)->Query("SELECT id_token FROM portal_session WHERE id = $1", key);
      return rows.ok() && !rows->empty() ? (*rows)[0].Text(0) : std::string();
    }();
    ULUS_ASSIGN_OR_RETURN(auto refresh, EndSession(context.session->id));
    if (!refresh.empty() && server != nullptr) {
      // Revoking the refresh token ends its access tokens too (RFC 7009).
      http::BeastRequest message(http::Method::post, "/oidc/revoke", 11);
      message.set(boost::beast::http::field::content_type, "application/x-www-form-urlencoded");
      message.body() = "token=" + http::FormEncode(refresh) +
                       "&token_type_hint=refresh_token&client_id=" + std::string(kClientId);
      message.prepare_payload();
      http::Request revoke(std::move(message), "127.0.0.1");
      (void)server->Dispatch(revoke);
    }
    // Dan's own session ends too: a shared computer must not log the next person in silently.
    if (!id_token.empty()) {
      location = "/oidc/logout?client_id=" + std::string(kClientId) +
                 "&id_token_hint=" + http::FormEncode(id_token) +
                 "&post_logout_redirect_uri=" + http::FormEncode(options.origin + "/");
    }
  }
  auto response = Redirect(location);
  response.headers.emplace_back(
      "Set-Cookie",
      http::SetCookie(cookie_name, "", {.secure = options.secure_cookies, .max_age = 0}));
  return response;
}

Result<Session> Portal::Impl::FreshSession(Session session) {
  if (session.access_expires - clock.Now() > kRefreshMargin) return session;
  std::lock_guard lock(refresh_mu);
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
  auto body = refresh.empty() ? Result<json>(Error{ErrorCode::kUnauthenticated, "no refresh", {}})
                              : CallTokenEndpoint("grant_type=refresh_token&refresh_token=" +
                                                  http::FormEncode(refresh) +
                                                  "&client_id=" + std::string(kClientId));
  if (!body.ok()) {
    (void)EndSession(session.id);
    return Error{ErrorCode::kUnauthenticated, "the login has ended; please log in again", {}};
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
      auto fresh = FreshSession(std::move(**found));
      if (fresh.ok()) c.session = std::move(*fresh);
    }
  }
  if (c.session) {
    c.viewer.signed_in = true;
    c.viewer.name = c.session->name;
    c.viewer.csrf = c.session->csrf;
    c.viewer.officer = c.session->assurance >= static_cast<int>(identity::Assurance::kSubstantial);
  }
  return c;
}

Result<identity::ApiCaller> Portal::Impl::CallerOf(Context& context, std::string_view scope) {
  if (!context.session) {
    return Error{ErrorCode::kUnauthenticated, "log in with Dan to see this page", {}};
  }
  auto caller = identity::ApiCallerFromToken(context.session->access_token, parts.dan->oidc(),
                                             parts.dan->accounts(), scope);
  if (!caller.ok() && caller.error().code == ErrorCode::kUnauthenticated) {
    (void)EndSession(context.session->id);
    context.session.reset();
  }
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
      !origin.empty() && origin != options.origin) {
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
