#pragma once

// The plumbing Dan's server-rendered pages share: the handler context, anti-forgery tokens,
// redirects, notices and the form fields several pages render. Private to ulus_identity_accounts.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "ulus/http/form.hpp"
#include "ulus/identity/accounts_service.hpp"
#include "ulus/identity/pages.hpp"

namespace ulus::identity::dan_pages {

inline constexpr std::string_view kCsrfField = "csrf";

// Everything the handlers share. Owned by the router's handlers through a shared_ptr.
struct Pages {
  AccountService& accounts;
  Sessions& sessions;
  LoginPagesOptions options;
};
using PagesPtr = std::shared_ptr<const Pages>;

AttemptContext ContextOf(const http::Request& request);

std::string Hidden(std::string_view name, std::string_view value);

// A form's action keeps the page language, which the POST's own URL otherwise would lose.
std::string Action(std::string_view path, Lang lang);

std::string Notice(Lang lang, const Text& text, std::string_view css = "notice");

http::Response Redirect(std::string location, const std::vector<std::string>& cookies = {});

void AddCookie(http::Response& response, const std::string& cookie);

// The pre-login anti-forgery token: double submit, the cookie must equal the hidden field. The
// cookie is SameSite=Strict and HttpOnly; a request without it gets a fresh one.
struct PreLoginToken {
  std::string token;
  std::string set_cookie;  // empty when the request's cookie is reused
};

PreLoginToken PreLoginCsrf(const http::Request& request, const Sessions& sessions);

bool SessionCsrfOk(const Session& session, const http::Form& form);

// The page for a form whose anti-forgery token is missing or wrong; `back` is where to retry.
http::Response Forbidden(Lang lang, std::string_view target, std::string_view back);

// A pre-login page rendered by `render` with the request's anti-forgery token, setting the token
// cookie when the request had none.
template <typename Render>
Result<http::Response> WithPreLoginToken(const Pages& pages, const http::Request& request,
                                         Render render) {
  const auto token = PreLoginCsrf(request, pages.sessions);
  http::Response response = render(token.token);
  AddCookie(response, token.set_cookie);
  return response;
}

// The POSTed pre-login form, or the refusal to answer with when its anti-forgery token does not
// match the cookie (`back` is the page to retry from).
Result<std::variant<http::Form, http::Response>> PreLoginForm(const Pages& pages,
                                                              const http::Request& request,
                                                              Lang lang, std::string_view back);

// Runs `body(lang, form)` for a pre-login form POST whose anti-forgery token checks out.
template <typename Body>
Result<http::Response> WithPreLoginForm(const Pages& pages, http::Request& request,
                                        std::string_view back, Body body) {
  const Lang lang = LangOf(request);
  ULUS_ASSIGN_OR_RETURN(auto state, PreLoginForm(pages, request, lang, back));
  if (auto* refused = std::get_if<http::Response>(&state)) return std::move(*refused);
  return body(lang, std::get<http::Form>(state));
}

// A local return target, or empty: anything else is an open-redirect attempt and is dropped.
std::string SafeReturn(const std::optional<std::string>& target);

Assurance RequiredLevel(const std::optional<std::string>& acr);

std::string ShortAcr(Assurance level);

// Where a browser goes once it holds `have`: the next factor `need` asks for, or its target.
std::string NextStep(const Pages& pages, Assurance have, Assurance need,
                     const std::string& return_to);

// The page text for an error the login services answer with; nullopt for errors that are not
// the person's doing (they become problem responses).
struct ShownError {
  std::string html;
  http::Status status;
};

std::optional<ShownError> ShowLoginError(Lang lang, const Error& error, const Text& wrong);

// The session and its account for a signed-in page, or the redirect to log in.
struct SignedIn {
  Session session;
  Account account;
};

Result<std::variant<SignedIn, http::Response>> RequireSession(const Pages& pages,
                                                              const http::Request& request);

// Runs `body` for a signed-in request; otherwise answers with the redirect to log in.
template <typename Body>
Result<http::Response> WithSession(const Pages& pages, http::Request& request, Body body) {
  ULUS_ASSIGN_OR_RETURN(auto state, RequireSession(pages, request));
  if (auto* redirect = std::get_if<http::Response>(&state)) return std::move(*redirect);
  return body(std::get<SignedIn>(state));
}

// Runs `body(in, lang, form)` for a signed-in form POST whose anti-forgery token matches the
// session's; otherwise the redirect to log in, or the refusal (`back` is the page to retry from).
template <typename Body>
Result<http::Response> WithSessionForm(const Pages& pages, http::Request& request,
                                       std::string_view back, Body body) {
  return WithSession(pages, request, [&](const SignedIn& in) -> Result<http::Response> {
    const Lang lang = LangOf(request);
    ULUS_ASSIGN_OR_RETURN(auto form, http::Form::FromRequest(request));
    if (!SessionCsrfOk(in.session, form)) {
      return Forbidden(lang, request.target(), Action(back, lang));
    }
    return body(in, lang, form);
  });
}

// The labelled national ID input; `username` adds the autocomplete hint, `value` fills it in.
std::string NationalIdInput(Lang lang, bool username, std::optional<std::string_view> value);

// The labelled input for the one-time code sent to the register's phone.
std::string MessageCodeInput(Lang lang);

// The two new-password inputs every password form ends with.
std::string NewPasswordInputs(Lang lang);

inline constexpr Text kPasswordRules = {
    "Нууц үг дор хаяж 12 тэмдэгттэй, регистрийн дугаараас өөр байх ёстой.",
    "The password must have at least 12 characters and differ from your national ID.",
    "Құпиясөз кемінде 12 таңбадан тұруы және ЖСН-іңізден өзгеше болуы керек.",
    "Пароль должен содержать не менее 12 символов и не совпадать с вашим ИИН."};
inline constexpr Text kPasswordsDiffer = {"Хоёр нууц үг таарахгүй байна.",
                                          "The two passwords differ.",
                                          "Екі құпиясөз сәйкес келмейді.", "Пароли не совпадают."};

using PageHandler = Result<http::Response> (*)(const Pages&, http::Request&);

// Login and step-up (login_pages.cpp).
Result<http::Response> GetLogin(const Pages& pages, http::Request& request);
Result<http::Response> PostLogin(const Pages& pages, http::Request& request);
Result<http::Response> GetOtp(const Pages& pages, http::Request& request);
Result<http::Response> PostOtp(const Pages& pages, http::Request& request);
Result<http::Response> GetSignature(const Pages& pages, http::Request& request);
Result<http::Response> PostSignature(const Pages& pages, http::Request& request);
Result<http::Response> PostLogout(const Pages& pages, http::Request& request);

// Sign-up and password reset (signup_pages.cpp).
Result<http::Response> GetSignup(const Pages& pages, http::Request& request);
Result<http::Response> PostSignup(const Pages& pages, http::Request& request);
Result<http::Response> GetSignupVerify(const Pages& pages, http::Request& request);
Result<http::Response> PostSignupVerify(const Pages& pages, http::Request& request);
Result<http::Response> GetReset(const Pages& pages, http::Request& request);
Result<http::Response> PostReset(const Pages& pages, http::Request& request);
Result<http::Response> GetResetVerify(const Pages& pages, http::Request& request);
Result<http::Response> PostResetVerify(const Pages& pages, http::Request& request);

// The signed-in account pages (account_pages.cpp).
Result<http::Response> GetAccount(const Pages& pages, http::Request& request);
Result<http::Response> GetTotp(const Pages& pages, http::Request& request);
Result<http::Response> PostTotp(const Pages& pages, http::Request& request);
Result<http::Response> PostSignatureKey(const Pages& pages, http::Request& request);
Result<http::Response> GetAudit(const Pages& pages, http::Request& request);
Result<http::Response> GetPassword(const Pages& pages, http::Request& request);
Result<http::Response> PostPassword(const Pages& pages, http::Request& request);

}  // namespace ulus::identity::dan_pages
