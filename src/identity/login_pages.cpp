#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/random.hpp"
#include "ulus/http/form.hpp"
#include "ulus/identity/accounts_service.hpp"
#include "ulus/identity/pages.hpp"

namespace ulus::identity {
namespace {

constexpr std::string_view kCsrfCookie = "dan_csrf";
constexpr std::string_view kCsrfField = "csrf";
constexpr size_t kCsrfTokenBytes = 24;
constexpr size_t kHistoryRows = 30;

// Everything the handlers share. Owned by the router's handlers through a shared_ptr.
struct Pages {
  AccountService& accounts;
  Sessions& sessions;
  LoginPagesOptions options;
};
using PagesPtr = std::shared_ptr<const Pages>;

AttemptContext ContextOf(const http::Request& request) {
  return AttemptContext{request.remote_address(), {}};
}

std::string Hidden(std::string_view name, std::string_view value) {
  return "<input type=\"hidden\" name=\"" + Escape(name) + "\" value=\"" + Escape(value) + "\">";
}

// A form's action keeps the page language, which the POST's own URL otherwise would lose.
std::string Action(std::string_view path, Lang lang) {
  return std::string(path) + "?lang=" + std::string(LangCode(lang));
}

std::string Notice(Lang lang, const Text& text, std::string_view css = "notice") {
  return "<p class=\"" + std::string(css) + "\" role=\"" +
         (css == "error" ? std::string("alert") : std::string("status")) + "\">" +
         Escape(Pick(lang, text)) + "</p>";
}

http::Response Redirect(std::string location, const std::vector<std::string>& cookies = {}) {
  http::Response response;
  response.status = http::Status::see_other;
  response.content_type = "text/plain; charset=utf-8";
  response.headers.emplace_back("Location", std::move(location));
  response.headers.emplace_back("Cache-Control", "no-store");
  for (const auto& cookie : cookies) response.headers.emplace_back("Set-Cookie", cookie);
  return response;
}

void AddCookie(http::Response& response, const std::string& cookie) {
  if (!cookie.empty()) response.headers.emplace_back("Set-Cookie", cookie);
}

// The pre-login anti-forgery token: double submit, the cookie must equal the hidden field. The
// cookie is SameSite=Strict and HttpOnly; a request without it gets a fresh one.
struct PreLoginToken {
  std::string token;
  std::string set_cookie;  // empty when the request's cookie is reused
};

PreLoginToken PreLoginCsrf(const http::Request& request, const Sessions& sessions) {
  auto existing = http::CookieValue(request, kCsrfCookie);
  if (existing && existing->size() >= 32 && crypto::Base64UrlDecode(*existing)) {
    return PreLoginToken{*existing, {}};
  }
  PreLoginToken fresh{crypto::RandomToken(kCsrfTokenBytes), {}};
  http::CookieOptions options{.path = "/dan",
                              .secure = sessions.options().secure,
                              .http_only = true,
                              .same_site = "Strict",
                              .max_age = std::nullopt};
  fresh.set_cookie = http::SetCookie(kCsrfCookie, fresh.token, options);
  return fresh;
}

bool TokensEqual(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty() || a.size() != b.size()) return false;
  return crypto::ConstantTimeEquals(crypto::AsBytes(a), crypto::AsBytes(b));
}

bool PreLoginCsrfOk(const http::Request& request, const http::Form& form) {
  const auto cookie = http::CookieValue(request, kCsrfCookie);
  return cookie && TokensEqual(*cookie, form.Value(kCsrfField));
}

bool SessionCsrfOk(const Session& session, const http::Form& form) {
  return TokensEqual(session.csrf, form.Value(kCsrfField));
}

http::Response Forbidden(Lang lang, std::string_view target, std::string_view back) {
  const std::string body =
      Notice(lang,
             {"Маягтын хугацаа дууссан эсвэл өөр сайтаас илгээгдсэн. Хуудсыг дахин ачаалаад "
              "оролдоно уу.",
              "The form has expired or was sent from another site. Reload the page and try "
              "again."},
             "error") +
      "<p><a href=\"" + Escape(back) + "\">" + std::string(Pick(lang, {"Буцах", "Back"})) +
      "</a></p>";
  return Page(lang, Pick(lang, {"Хүсэлтийг татгалзлаа", "Request refused"}), body, target,
              http::Status::forbidden);
}

// A local return target, or empty: anything else is an open-redirect attempt and is dropped.
std::string SafeReturn(const std::optional<std::string>& target) {
  if (!target || !IsLocalRedirect(*target)) return {};
  return *target;
}

Assurance RequiredLevel(const std::optional<std::string>& acr) {
  if (!acr || acr->empty()) return Assurance::kLow;
  return AssuranceFromAcr(*acr).value_or(Assurance::kLow);
}

std::string ShortAcr(Assurance level) {
  switch (level) {
    case Assurance::kHigh: return "high";
    case Assurance::kSubstantial: return "substantial";
    default: return "low";
  }
}

std::string FlowQuery(const std::string& return_to, Assurance need) {
  std::string query = "acr=" + ShortAcr(need);
  if (!return_to.empty()) query += "&return_to=" + http::FormEncode(return_to);
  return query;
}

// Where a browser goes once it holds `have`: the next factor `need` asks for, or its target.
std::string NextStep(const Pages& pages, Assurance have, Assurance need,
                     const std::string& return_to) {
  if (need >= Assurance::kHigh && have < Assurance::kHigh) {
    return "/dan/login/signature?" + FlowQuery(return_to, need);
  }
  if (need >= Assurance::kSubstantial && have < Assurance::kSubstantial) {
    return "/dan/login/otp?" + FlowQuery(return_to, need);
  }
  return return_to.empty() ? pages.options.default_return : return_to;
}

std::string LoginUrlFor(const http::Request& request) {
  return "/dan/login?return_to=" + http::FormEncode(request.target());
}

Text LevelText(Assurance level) {
  switch (level) {
    case Assurance::kHigh: return {"өндөр (гарын үсэг)", "high (signature)"};
    case Assurance::kSubstantial: return {"дунд (хоёр хүчин зүйл)", "substantial (two factors)"};
    case Assurance::kLow: return {"бага (нууц үг)", "low (password)"};
    default: return {"байхгүй", "none"};
  }
}

// The page text for an error the login services answer with; nullopt for errors that are not
// the person's doing (they become problem responses).
struct ShownError {
  std::string html;
  http::Status status;
};

std::optional<ShownError> ShowLoginError(Lang lang, const Error& error, const Text& wrong) {
  switch (error.code) {
    case ErrorCode::kUnauthenticated:
      return ShownError{Notice(lang, wrong, "error"), http::Status::unauthorized};
    case ErrorCode::kRateLimited: {
      // The service says "wait N seconds" when it knows the delay; a lockout says nothing more.
      std::string seconds;
      for (const char c : error.message) {
        if (c >= '0' && c <= '9') seconds += c;
      }
      std::string html = Notice(lang,
                                {"Хэт олон удаа буруу оролдлоо. Түр хүлээгээд дахин оролдоно уу.",
                                 "Too many failed attempts. Wait a while and try again."},
                                "error");
      if (!seconds.empty()) {
        html += "<p>" + std::string(Pick(lang, {"Хүлээх хугацаа (секунд): ", "Wait (seconds): "})) +
                seconds + "</p>";
      }
      return ShownError{html, http::Status::too_many_requests};
    }
    case ErrorCode::kPermissionDenied:
      return ShownError{
          Notice(lang, {"Энэ бүртгэл идэвхгүй байна.", "This account is disabled."}, "error"),
          http::Status::forbidden};
    case ErrorCode::kFailedPrecondition:
    case ErrorCode::kConflict:
      return ShownError{Notice(lang,
                               {"Энэ алхмыг одоо хийх боломжгүй. Эхнээс нь дахин оролдоно уу.",
                                "This step cannot be done now. Start again."},
                               "error"),
                        http::Status::conflict};
    default: return std::nullopt;
  }
}

// --- Login -------------------------------------------------------------------------------------

http::Response LoginForm(const http::Request& request, Lang lang, const std::string& csrf,
                         const std::string& return_to, Assurance need, std::string_view national_id,
                         std::string_view message_html, http::Status status = http::Status::ok) {
  std::string body(message_html);
  body += "<form method=\"post\" action=\"" + Escape(Action("/dan/login", lang)) + "\">" +
          Hidden(kCsrfField, csrf) + Hidden("return_to", return_to) +
          Hidden("acr", ShortAcr(need)) + "<label for=\"national_id\">" +
          std::string(Pick(lang, {"Регистрийн дугаар", "National ID"})) +
          "</label><input type=\"text\" id=\"national_id\" name=\"national_id\" "
          "autocomplete=\"username\" required value=\"" +
          Escape(national_id) + "\"><label for=\"password\">" +
          std::string(Pick(lang, {"Нууц үг", "Password"})) +
          "</label><input type=\"password\" id=\"password\" name=\"password\" "
          "autocomplete=\"current-password\" required><button type=\"submit\">" +
          std::string(Pick(lang, {"Нэвтрэх", "Log in"})) + "</button></form><p><a href=\"" +
          Escape(Action("/dan/reset", lang)) + "\">" +
          std::string(Pick(lang, {"Нууц үгээ мартсан уу?", "Forgot your password?"})) +
          "</a></p><p><a href=\"" + Escape(Action("/dan/signup", lang)) + "\">" +
          std::string(Pick(lang, {"Бүртгэлгүй юу? Бүртгүүлэх", "No account yet? Sign up"})) +
          "</a></p>";
  return Page(lang, Pick(lang, {"Данаар нэвтрэх", "Log in with Dan"}), body, request.target(),
              status);
}

Result<http::Response> GetLogin(const Pages& pages, http::Request& request) {
  const Lang lang = LangOf(request);
  const auto return_to = SafeReturn(request.Query("return_to"));
  const auto need = RequiredLevel(request.Query("acr"));
  ULUS_ASSIGN_OR_RETURN(auto session, pages.sessions.FromRequest(request));
  // Already signed in: single sign-on, stepping up if the service asks for more.
  if (session && !request.Query("prompt").has_value()) {
    return Redirect(NextStep(pages, session->assurance, need, return_to));
  }
  const auto token = PreLoginCsrf(request, pages.sessions);
  // Back from a password reset: a fixed notice, so a crafted link can show nothing else.
  const std::string notice =
      request.Query("done") == "reset"
          ? Notice(lang, {"Нууц үг солигдлоо. Шинэ нууц үгээрээ нэвтэрнэ үү.",
                          "Your password has been reset. Log in with the new one."})
          : std::string();
  auto response = LoginForm(request, lang, token.token, return_to, need, {}, notice);
  AddCookie(response, token.set_cookie);
  return response;
}

Result<http::Response> PostLogin(const Pages& pages, http::Request& request) {
  const Lang lang = LangOf(request);
  ULUS_ASSIGN_OR_RETURN(auto form, http::Form::FromRequest(request));
  if (!PreLoginCsrfOk(request, form)) {
    auto response = Forbidden(lang, request.target(), Action("/dan/login", lang));
    AddCookie(response, PreLoginCsrf(request, pages.sessions).set_cookie);
    return response;
  }
  const auto return_to = SafeReturn(form.Get("return_to"));
  const auto need = RequiredLevel(form.Get("acr"));
  const auto national_id = form.Value("national_id");
  auto login =
      pages.accounts.LoginWithPassword(national_id, form.Value("password"), ContextOf(request));
  if (!login.ok()) {
    auto shown = ShowLoginError(
        lang, login.error(),
        {"Регистрийн дугаар эсвэл нууц үг буруу байна.", "National ID or password is wrong."});
    if (!shown) return std::move(login).error();
    return LoginForm(request, lang, form.Value(kCsrfField), return_to, need, national_id,
                     shown->html, shown->status);
  }
  // A fresh session every time, so a planted cookie is never promoted (session fixation).
  ULUS_ASSIGN_OR_RETURN(auto previous, pages.sessions.FromRequest(request));
  if (previous) ULUS_TRY(pages.sessions.Destroy(previous->id));
  ULUS_ASSIGN_OR_RETURN(auto created,
                        pages.sessions.Create(login->account.id, login->assurance, login->amr));
  return Redirect(NextStep(pages, login->assurance, need, return_to), {created.set_cookie});
}

// --- Step-up: TOTP or recovery code --------------------------------------------------------------

http::Response OtpForm(const http::Request& request, Lang lang, const Session& session,
                       const Account& account, const std::string& return_to, Assurance need,
                       std::string_view message_html, http::Status status = http::Status::ok) {
  std::string body(message_html);
  if (!account.totp_enabled) {
    body += Notice(lang, {"Энэ үйлчилгээ хоёр дахь хүчин зүйл шаардана. Эхлээд баталгаажуулах "
                          "апп тохируулна уу.",
                          "This service needs a second factor. Set up an authenticator app "
                          "first."}) +
            "<p><a href=\"/dan/account/totp\">" +
            std::string(Pick(lang, {"Апп тохируулах", "Set up an app"})) + "</a></p>";
    return Page(lang, Pick(lang, {"Хоёр дахь хүчин зүйл", "Second factor"}), body, request.target(),
                status);
  }
  body += "<form method=\"post\" action=\"" + Escape(Action("/dan/login/otp", lang)) + "\">" +
          Hidden(kCsrfField, session.csrf) + Hidden("return_to", return_to) +
          Hidden("acr", ShortAcr(need)) + "<label for=\"code\">" +
          std::string(Pick(lang, {"Апп дахь 6 оронтой код, эсвэл сэргээх код",
                                  "The 6-digit code from your app, or a recovery code"})) +
          "</label><input type=\"text\" id=\"code\" name=\"code\" inputmode=\"text\" "
          "autocomplete=\"one-time-code\" required><button type=\"submit\">" +
          std::string(Pick(lang, {"Баталгаажуулах", "Verify"})) + "</button></form>";
  return Page(lang, Pick(lang, {"Хоёр дахь хүчин зүйл", "Second factor"}), body, request.target(),
              status);
}

// The session and its account for a signed-in page, or the redirect to log in.
struct SignedIn {
  Session session;
  Account account;
};

Result<std::variant<SignedIn, http::Response>> RequireSession(const Pages& pages,
                                                              const http::Request& request) {
  using Out = std::variant<SignedIn, http::Response>;
  ULUS_ASSIGN_OR_RETURN(auto session, pages.sessions.FromRequest(request));
  if (!session) return Out(Redirect(LoginUrlFor(request)));
  ULUS_ASSIGN_OR_RETURN(auto account, pages.accounts.FindById(session->account_id));
  if (!account) {
    ULUS_TRY(pages.sessions.Destroy(session->id));
    return Out(Redirect(LoginUrlFor(request), {pages.sessions.ClearCookie()}));
  }
  return Out(SignedIn{std::move(*session), std::move(*account)});
}

// Runs `body` for a signed-in request; otherwise answers with the redirect to log in.
template <typename Body>
Result<http::Response> WithSession(const Pages& pages, http::Request& request, Body body) {
  ULUS_ASSIGN_OR_RETURN(auto state, RequireSession(pages, request));
  if (auto* redirect = std::get_if<http::Response>(&state)) return std::move(*redirect);
  return body(std::get<SignedIn>(state));
}

bool LooksLikeRecoveryCode(std::string_view code) {
  size_t alnum = 0;
  for (const char c : code) {
    if (c != '-' && c != ' ') ++alnum;
  }
  return alnum > 8;
}

Result<http::Response> GetOtp(const Pages& pages, http::Request& request) {
  return WithSession(pages, request, [&](const SignedIn& in) -> Result<http::Response> {
    const Lang lang = LangOf(request);
    const auto return_to = SafeReturn(request.Query("return_to"));
    const auto need = std::max(RequiredLevel(request.Query("acr")), Assurance::kSubstantial);
    return OtpForm(request, lang, in.session, in.account, return_to, need, {});
  });
}

Result<http::Response> PostOtp(const Pages& pages, http::Request& request) {
  return WithSession(pages, request, [&](const SignedIn& in) -> Result<http::Response> {
    const Lang lang = LangOf(request);
    ULUS_ASSIGN_OR_RETURN(auto form, http::Form::FromRequest(request));
    if (!SessionCsrfOk(in.session, form)) {
      return Forbidden(lang, request.target(), Action("/dan/login/otp", lang));
    }
    const auto return_to = SafeReturn(form.Get("return_to"));
    const auto need = std::max(RequiredLevel(form.Get("acr")), Assurance::kSubstantial);
    const auto code = form.Value("code");
    auto factor =
        LooksLikeRecoveryCode(code)
            ? pages.accounts.LoginWithRecoveryCode(in.account.id, code, ContextOf(request))
            : pages.accounts.LoginWithTotp(in.account.id, code, ContextOf(request));
    if (!factor.ok()) {
      auto shown = ShowLoginError(
          lang, factor.error(),
          {"Код буруу эсвэл аль хэдийн ашиглагдсан.", "The code is wrong or was already used."});
      if (!shown) return std::move(factor).error();
      return OtpForm(request, lang, in.session, in.account, return_to, need, shown->html,
                     shown->status);
    }
    ULUS_ASSIGN_OR_RETURN(auto elevated,
                          pages.sessions.Elevate(in.session.id, factor->assurance, factor->amr));
    return Redirect(NextStep(pages, elevated.assurance, need, return_to));
  });
}

// --- Step-up: signature ------------------------------------------------------------------------

Result<http::Response> SignatureForm(const Pages& pages, const http::Request& request, Lang lang,
                                     const SignedIn& in, const std::string& return_to,
                                     std::string_view message_html,
                                     http::Status status = http::Status::ok) {
  const auto title = Pick(lang, {"Гарын үсгээр нэвтрэх", "Log in with your signature"});
  std::string body(message_html);
  if (!in.account.has_signature_key) {
    body += Notice(lang, {"Танд бүртгэлтэй гарын үсгийн түлхүүр алга. Бүртгэлийн хуудаснаас "
                          "нийтийн түлхүүрээ бүртгүүлнэ үү.",
                          "You have no signature key registered. Register your public key on "
                          "your account page."}) +
            "<p><a href=\"/dan/account\">" +
            std::string(Pick(lang, {"Миний бүртгэл", "My account"})) + "</a></p>";
    return Page(lang, title, body, request.target(), status);
  }
  ULUS_ASSIGN_OR_RETURN(auto challenge, pages.accounts.NewSignatureChallenge(in.account.id));
  body +=
      "<p>" +
      std::string(Pick(lang, {"Доорх мөрийг (ASCII, мөр шилжилтгүй) өөрийн түлхүүрээр гарын үсэг "
                              "зурж, гарын үсгийг base64url хэлбэрээр буулгана уу. 5 минут "
                              "хүчинтэй.",
                              "Sign the text below (ASCII, no newline) with your key and paste the "
                              "signature as base64url. It is valid for 5 minutes."})) +
      "</p><pre>" + Escape(challenge.SignedText()) + "</pre><form method=\"post\" action=\"" +
      Escape(Action("/dan/login/signature", lang)) + "\">" + Hidden(kCsrfField, in.session.csrf) +
      Hidden("return_to", return_to) + Hidden("challenge", challenge.id) +
      "<label for=\"signature\">" +
      std::string(Pick(lang, {"Гарын үсэг (base64url)", "Signature (base64url)"})) +
      "</label><textarea id=\"signature\" name=\"signature\" rows=\"4\" required></textarea>"
      "<button type=\"submit\">" +
      std::string(Pick(lang, {"Нэвтрэх", "Log in"})) + "</button></form>";
  return Page(lang, title, body, request.target(), status);
}

Result<http::Response> GetSignature(const Pages& pages, http::Request& request) {
  return WithSession(pages, request, [&](const SignedIn& in) -> Result<http::Response> {
    return SignatureForm(pages, request, LangOf(request), in,
                         SafeReturn(request.Query("return_to")), {});
  });
}

Result<http::Response> PostSignature(const Pages& pages, http::Request& request) {
  return WithSession(pages, request, [&](const SignedIn& in) -> Result<http::Response> {
    const Lang lang = LangOf(request);
    ULUS_ASSIGN_OR_RETURN(auto form, http::Form::FromRequest(request));
    if (!SessionCsrfOk(in.session, form)) {
      return Forbidden(lang, request.target(), Action("/dan/login/signature", lang));
    }
    const auto return_to = SafeReturn(form.Get("return_to"));
    auto factor = pages.accounts.LoginWithSignature(in.account.id, form.Value("challenge"),
                                                    form.Value("signature"), ContextOf(request));
    if (!factor.ok()) {
      auto shown = ShowLoginError(lang, factor.error(),
                                  {"Гарын үсэг баталгаажсангүй эсвэл сорилтын хугацаа дууссан.",
                                   "The signature did not verify, or the challenge expired."});
      if (!shown) return std::move(factor).error();
      return SignatureForm(pages, request, lang, in, return_to, shown->html, shown->status);
    }
    ULUS_ASSIGN_OR_RETURN(auto elevated,
                          pages.sessions.Elevate(in.session.id, factor->assurance, factor->amr));
    return Redirect(NextStep(pages, elevated.assurance, Assurance::kHigh, return_to));
  });
}

Result<http::Response> PostLogout(const Pages& pages, http::Request& request) {
  ULUS_ASSIGN_OR_RETURN(auto session, pages.sessions.FromRequest(request));
  const Lang lang = LangOf(request);
  if (!session) return Redirect(Action("/dan/login", lang));
  ULUS_ASSIGN_OR_RETURN(auto form, http::Form::FromRequest(request));
  if (!SessionCsrfOk(*session, form)) {
    return Forbidden(lang, request.target(), Action("/dan/account", lang));
  }
  ULUS_TRY(pages.sessions.Destroy(session->id));
  return Redirect(Action("/dan/login", lang), {pages.sessions.ClearCookie()});
}

// --- Sign-up -----------------------------------------------------------------------------------

http::Response SignupForm(const http::Request& request, Lang lang, const std::string& csrf,
                          std::string_view message_html, http::Status status = http::Status::ok) {
  std::string body(message_html);
  body += "<p>" +
          std::string(Pick(lang, {"Хүн амын бүртгэлд байгаа таны утас руу нэг удаагийн код "
                                  "илгээнэ.",
                                  "We send a one-time code to the phone the population register "
                                  "holds for you."})) +
          "</p><form method=\"post\" action=\"" + Escape(Action("/dan/signup", lang)) + "\">" +
          Hidden(kCsrfField, csrf) + "<label for=\"national_id\">" +
          std::string(Pick(lang, {"Регистрийн дугаар", "National ID"})) +
          "</label><input type=\"text\" id=\"national_id\" name=\"national_id\" required>"
          "<button type=\"submit\">" +
          std::string(Pick(lang, {"Код илгээх", "Send the code"})) + "</button></form>";
  return Page(lang, Pick(lang, {"Бүртгүүлэх", "Sign up"}), body, request.target(), status);
}

http::Response VerifyForm(const http::Request& request, Lang lang, const std::string& csrf,
                          std::string_view national_id, std::string_view message_html,
                          http::Status status = http::Status::ok) {
  std::string body(message_html);
  body += "<form method=\"post\" action=\"" + Escape(Action("/dan/signup/verify", lang)) + "\">" +
          Hidden(kCsrfField, csrf) + "<label for=\"national_id\">" +
          std::string(Pick(lang, {"Регистрийн дугаар", "National ID"})) +
          "</label><input type=\"text\" id=\"national_id\" name=\"national_id\" required "
          "value=\"" +
          Escape(national_id) + "\"><label for=\"code\">" +
          std::string(Pick(lang, {"Мессежээр ирсэн код", "The code from the message"})) +
          "</label><input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" "
          "autocomplete=\"one-time-code\" required><label for=\"password\">" +
          std::string(Pick(lang, {"Шинэ нууц үг (дор хаяж 12 тэмдэгт)",
                                  "New password (at least 12 characters)"})) +
          "</label><input type=\"password\" id=\"password\" name=\"password\" "
          "autocomplete=\"new-password\" required><label for=\"password_again\">" +
          std::string(Pick(lang, {"Нууц үгээ давтана уу", "The password again"})) +
          "</label><input type=\"password\" id=\"password_again\" name=\"password_again\" "
          "autocomplete=\"new-password\" required><button type=\"submit\">" +
          std::string(Pick(lang, {"Бүртгүүлэх", "Create the account"})) + "</button></form>";
  return Page(lang, Pick(lang, {"Кодоо оруулна уу", "Enter your code"}), body, request.target(),
              status);
}

Result<http::Response> GetSignup(const Pages& pages, http::Request& request) {
  const auto token = PreLoginCsrf(request, pages.sessions);
  auto response = SignupForm(request, LangOf(request), token.token, {});
  AddCookie(response, token.set_cookie);
  return response;
}

Result<http::Response> PostSignup(const Pages& pages, http::Request& request) {
  const Lang lang = LangOf(request);
  ULUS_ASSIGN_OR_RETURN(auto form, http::Form::FromRequest(request));
  if (!PreLoginCsrfOk(request, form)) {
    auto response = Forbidden(lang, request.target(), Action("/dan/signup", lang));
    AddCookie(response, PreLoginCsrf(request, pages.sessions).set_cookie);
    return response;
  }
  const auto csrf = form.Value(kCsrfField);
  const auto national_id = form.Value("national_id");
  auto started = pages.accounts.StartSignup(national_id, ContextOf(request));
  if (!started.ok()) {
    if (started.error().code != ErrorCode::kInvalidArgument) return std::move(started).error();
    return SignupForm(
        request, lang, csrf,
        Notice(lang, {"Регистрийн дугаараа оруулна уу.", "Enter your national ID."}, "error"),
        http::Status::bad_request);
  }
  // The same words whether or not anything was sent: the page must not tell who is registered.
  return VerifyForm(request, lang, csrf, national_id,
                    Notice(lang, {"Хэрэв хүн амын бүртгэлд энэ дугаартай хүний утас байгаа бол "
                                  "түүн рүү код илгээлээ. Код 10 минут хүчинтэй.",
                                  "If the population register holds a phone for this national "
                                  "ID, we have sent a code to it. The code is valid for 10 "
                                  "minutes."}));
}

Result<http::Response> GetSignupVerify(const Pages& pages, http::Request& request) {
  const auto token = PreLoginCsrf(request, pages.sessions);
  auto response = VerifyForm(request, LangOf(request), token.token,
                             request.Query("national_id").value_or(""), {});
  AddCookie(response, token.set_cookie);
  return response;
}

Result<http::Response> PostSignupVerify(const Pages& pages, http::Request& request) {
  const Lang lang = LangOf(request);
  ULUS_ASSIGN_OR_RETURN(auto form, http::Form::FromRequest(request));
  if (!PreLoginCsrfOk(request, form)) {
    auto response = Forbidden(lang, request.target(), Action("/dan/signup", lang));
    AddCookie(response, PreLoginCsrf(request, pages.sessions).set_cookie);
    return response;
  }
  const auto csrf = form.Value(kCsrfField);
  const auto national_id = form.Value("national_id");
  const auto again = [&](const Text& text, http::Status status) {
    return VerifyForm(request, lang, csrf, national_id, Notice(lang, text, "error"), status);
  };
  if (form.Value("password") != form.Value("password_again")) {
    return again({"Хоёр нууц үг таарахгүй байна.", "The two passwords differ."},
                 http::Status::bad_request);
  }
  auto account = pages.accounts.CompleteSignup(national_id, form.Value("code"),
                                               form.Value("password"), ContextOf(request));
  if (!account.ok()) {
    switch (account.error().code) {
      case ErrorCode::kInvalidArgument:
        return again({"Нууц үг дор хаяж 12 тэмдэгттэй, регистрийн дугаараас өөр байх ёстой.",
                      "The password must have at least 12 characters and differ from your "
                      "national ID."},
                     http::Status::bad_request);
      case ErrorCode::kUnauthenticated:
        return again({"Код буруу эсвэл хугацаа нь дууссан. Шинэ код авна уу.",
                      "The code is wrong or has expired. Ask for a new one."},
                     http::Status::unauthorized);
      case ErrorCode::kAlreadyExists:
        return again({"Энэ регистрийн дугаар дээр бүртгэл аль хэдийн бий. Нэвтэрнэ үү.",
                      "An account already exists for this national ID. Log in instead."},
                     http::Status::conflict);
      default: return std::move(account).error();
    }
  }
  // The person has just shown the phone on file and set a password: they are signed in.
  ULUS_ASSIGN_OR_RETURN(auto created,
                        pages.sessions.Create(account->id, Assurance::kLow, {"pwd", "sms"}));
  return Redirect(pages.options.default_return, {created.set_cookie});
}

// --- Account -----------------------------------------------------------------------------------

std::string LogoutForm(Lang lang, const Session& session) {
  return "<form method=\"post\" action=\"" + Escape(Action("/dan/logout", lang)) + "\">" +
         Hidden(kCsrfField, session.csrf) + "<button type=\"submit\" class=\"secondary\">" +
         std::string(Pick(lang, {"Гарах", "Log out"})) + "</button></form>";
}

Result<http::Response> GetAccount(const Pages& pages, http::Request& request) {
  return WithSession(pages, request, [&](const SignedIn& in) -> Result<http::Response> {
    const Lang lang = LangOf(request);
    const auto yes_no = [&](bool yes) {
      return std::string(yes ? Pick(lang, {"тийм", "yes"}) : Pick(lang, {"үгүй", "no"}));
    };
    std::string body;
    if (request.Query("done") == "password") {
      body += Notice(lang, {"Нууц үг солигдлоо. Бусад төхөөрөмж дээрх нэвтрэлт дууслаа.",
                            "Your password has been changed. You were logged out on every other "
                            "device."});
    }
    body += "<dl><dt>" + std::string(Pick(lang, {"Регистрийн дугаар", "National ID"})) +
            "</dt><dd>" + Escape(in.account.national_id) + "</dd>";
    ULUS_ASSIGN_OR_RETURN(auto person, pages.accounts.PersonOf(in.account));
    if (person) {
      body += "<dt>" + std::string(Pick(lang, {"Нэр", "Name"})) + "</dt><dd>" +
              Escape(person->family_name) + " " + Escape(person->given_name) + "</dd>";
    }
    body += "<dt>" +
            std::string(Pick(lang, {"Одоогийн баталгаажуулалт", "This session's assurance"})) +
            "</dt><dd>" + Escape(Pick(lang, LevelText(in.session.assurance))) + "</dd></dl>";

    body += "<h2>" + std::string(Pick(lang, {"Нэвтрэх арга", "Login factors"})) + "</h2><ul><li>" +
            std::string(Pick(lang, {"Нууц үг", "Password"})) + ": " + yes_no(true) +
            " — <a href=\"" + Escape(Action("/dan/account/password", lang)) + "\">" +
            std::string(Pick(lang, {"Солих", "Change"})) + "</a></li><li>" +
            std::string(Pick(lang, {"Баталгаажуулах апп (TOTP)", "Authenticator app (TOTP)"})) +
            ": " + yes_no(in.account.totp_enabled);
    if (in.account.totp_enabled) {
      ULUS_ASSIGN_OR_RETURN(auto left, pages.accounts.RecoveryCodesLeft(in.account.id));
      body += " (" + std::string(Pick(lang, {"үлдсэн сэргээх код", "recovery codes left"})) + ": " +
              std::to_string(left) + ")";
    }
    body += " — <a href=\"" + Escape(Action("/dan/account/totp", lang)) + "\">" +
            std::string(in.account.totp_enabled ? Pick(lang, {"Солих", "Replace"})
                                                : Pick(lang, {"Тохируулах", "Set up"})) +
            "</a></li><li>" + std::string(Pick(lang, {"Гарын үсгийн түлхүүр", "Signature key"})) +
            ": " + yes_no(in.account.has_signature_key) + "</li></ul>";
    ULUS_ASSIGN_OR_RETURN(auto keys, pages.accounts.SignatureKeys(in.account.id));
    if (!keys.empty()) {
      body += "<ul>";
      for (const auto& key : keys) body += "<li><code>" + Escape(key.kid) + "</code></li>";
      body += "</ul>";
    }
    body += "<form method=\"post\" action=\"" + Escape(Action("/dan/account/signature-key", lang)) +
            "\">" + Hidden(kCsrfField, in.session.csrf) + "<label for=\"jwk\">" +
            std::string(
                Pick(lang, {"Нийтийн түлхүүр бүртгүүлэх (JWK)", "Register a public key (JWK)"})) +
            "</label><textarea id=\"jwk\" name=\"jwk\" rows=\"4\" required></textarea>"
            "<button type=\"submit\">" +
            std::string(Pick(lang, {"Бүртгүүлэх", "Register"})) + "</button></form>";

    ULUS_ASSIGN_OR_RETURN(auto roles, pages.accounts.Roles(in.account.id));
    if (!roles.empty()) {
      body += "<h2>" + std::string(Pick(lang, {"Албан тушаалын эрх", "Officer roles"})) +
              "</h2><table><thead><tr><th>" + std::string(Pick(lang, {"Байгууллага", "Agency"})) +
              "</th><th>" + std::string(Pick(lang, {"Төв", "Centre"})) + "</th><th>" +
              std::string(Pick(lang, {"Эрх", "Role"})) + "</th></tr></thead><tbody>";
      for (const auto& role : roles) {
        body += "<tr><td>" + Escape(role.agency) + "</td><td>" + Escape(role.centre) + "</td><td>" +
                Escape(role.role) + "</td></tr>";
      }
      body += "</tbody></table>";
    }
    body += "<p><a href=\"" + Escape(Action("/dan/account/audit", lang)) + "\">" +
            std::string(Pick(lang, {"Сүүлийн нэвтрэлтүүд", "Recent logins"})) + "</a></p>" +
            LogoutForm(lang, in.session);
    return Page(lang, Pick(lang, {"Миний бүртгэл", "My account"}), body, request.target());
  });
}

// Adding or replacing a factor needs a session at the strongest level the account has, so a
// stolen password alone cannot enrol the thief's own authenticator or key.
std::optional<http::Response> NeedStepUp(const Pages& pages, const SignedIn& in,
                                         std::string_view back_to) {
  const auto need = AccountService::StrongestFactor(in.account);
  if (in.session.assurance >= need) return std::nullopt;
  return Redirect(NextStep(pages, in.session.assurance, need, std::string(back_to)));
}

http::Response TotpConfirmForm(const http::Request& request, Lang lang, const Session& session,
                               std::string_view before_html, http::Status status) {
  std::string body(before_html);
  body += "<form method=\"post\" action=\"" + Escape(Action("/dan/account/totp", lang)) + "\">" +
          Hidden(kCsrfField, session.csrf) + "<label for=\"code\">" +
          std::string(Pick(lang, {"Апп дахь 6 оронтой код", "The 6-digit code from the app"})) +
          "</label><input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" "
          "autocomplete=\"one-time-code\" required><button type=\"submit\">" +
          std::string(Pick(lang, {"Баталгаажуулах", "Confirm"})) + "</button></form>";
  return Page(lang, Pick(lang, {"Баталгаажуулах апп", "Authenticator app"}), body, request.target(),
              status);
}

Result<http::Response> GetTotp(const Pages& pages, http::Request& request) {
  return WithSession(pages, request, [&](const SignedIn& in) -> Result<http::Response> {
    if (auto step_up = NeedStepUp(pages, in, "/dan/account/totp")) return std::move(*step_up);
    const Lang lang = LangOf(request);
    ULUS_ASSIGN_OR_RETURN(auto enrolment, pages.accounts.BeginTotpEnrolment(in.account.id));
    const std::string before =
        "<p>" +
        std::string(Pick(lang, {"Баталгаажуулах аппаараа (Google Authenticator, FreeOTP г.м.) "
                                "энэ QR кодыг уншуулна уу.",
                                "Scan this QR code with an authenticator app (Google "
                                "Authenticator, FreeOTP and the like)."})) +
        "</p>" + enrolment.qr_svg + "<p>" +
        std::string(Pick(lang, {"Эсвэл түлхүүрийг гараар оруулна уу:", "Or type the key:"})) +
        " <code>" + Escape(enrolment.secret_base32) + "</code></p><p><code>" +
        Escape(enrolment.otpauth_uri) + "</code></p>";
    return TotpConfirmForm(request, lang, in.session, before, http::Status::ok);
  });
}

Result<http::Response> PostTotp(const Pages& pages, http::Request& request) {
  return WithSession(pages, request, [&](const SignedIn& in) -> Result<http::Response> {
    const Lang lang = LangOf(request);
    ULUS_ASSIGN_OR_RETURN(auto form, http::Form::FromRequest(request));
    if (!SessionCsrfOk(in.session, form)) {
      return Forbidden(lang, request.target(), Action("/dan/account/totp", lang));
    }
    if (auto step_up = NeedStepUp(pages, in, "/dan/account/totp")) return std::move(*step_up);
    auto codes =
        pages.accounts.ConfirmTotpEnrolment(in.account.id, form.Value("code"), ContextOf(request));
    if (!codes.ok()) {
      auto shown = ShowLoginError(lang, codes.error(),
                                  {"Код буруу байна. Апп дахь дараагийн кодыг оруулна уу.",
                                   "The code is wrong. Enter the next code from the app."});
      if (!shown) return std::move(codes).error();
      return TotpConfirmForm(request, lang, in.session, shown->html, shown->status);
    }
    // The code just typed proves the second factor for this session too.
    ULUS_TRY(pages.sessions.Elevate(in.session.id, Assurance::kSubstantial, {"otp"}));
    std::string body =
        Notice(lang, {"Апп тохирлоо. Эдгээр сэргээх кодыг хэвлэж эсвэл бичиж аюулгүй газар "
                      "хадгална уу: утсаа алдвал хэрэгтэй. Дахин харуулахгүй.",
                      "Your app is set up. Print or write down these recovery codes and keep "
                      "them safe: you need them if you lose your phone. They are not shown "
                      "again."}) +
        "<ol>";
    for (const auto& code : *codes) body += "<li><code>" + Escape(code) + "</code></li>";
    body += "</ol><p><a href=\"" + Escape(Action("/dan/account", lang)) + "\">" +
            std::string(Pick(lang, {"Миний бүртгэл", "My account"})) + "</a></p>";
    return Page(lang, Pick(lang, {"Сэргээх кодууд", "Recovery codes"}), body, request.target());
  });
}

Result<http::Response> PostSignatureKey(const Pages& pages, http::Request& request) {
  return WithSession(pages, request, [&](const SignedIn& in) -> Result<http::Response> {
    const Lang lang = LangOf(request);
    ULUS_ASSIGN_OR_RETURN(auto form, http::Form::FromRequest(request));
    if (!SessionCsrfOk(in.session, form)) {
      return Forbidden(lang, request.target(), Action("/dan/account", lang));
    }
    if (auto step_up = NeedStepUp(pages, in, "/dan/account")) return std::move(*step_up);
    const auto title = Pick(lang, {"Гарын үсгийн түлхүүр", "Signature key"});
    const auto jwk = nlohmann::json::parse(form.Value("jwk"), nullptr, false);
    auto kid = jwk.is_object()
                   ? pages.accounts.RegisterSignatureKey(in.account.id, jwk, ContextOf(request))
                   : Result<std::string>(Error::InvalidArgument("not JSON", "jwk"));
    if (!kid.ok()) {
      if (kid.error().code != ErrorCode::kInvalidArgument &&
          kid.error().code != ErrorCode::kAlreadyExists) {
        return std::move(kid).error();
      }
      const std::string body =
          Notice(lang,
                 {"Түлхүүрийг хүлээн авсангүй: зөвхөн нийтийн JWK (EC P-256, RSA, Ed25519), "
                  "бүртгэгдээгүй байх ёстой.",
                  "The key was refused: send a public JWK (EC P-256, RSA or Ed25519) that is "
                  "not registered yet."},
                 "error") +
          "<p><a href=\"" + Escape(Action("/dan/account", lang)) + "\">" +
          std::string(Pick(lang, {"Буцах", "Back"})) + "</a></p>";
      return Page(lang, title, body, request.target(), http::Status::bad_request);
    }
    return Redirect(Action("/dan/account", lang));
  });
}

// --- Password change ---------------------------------------------------------------------------

std::string PasswordRulesText(Lang lang) {
  return std::string(
      Pick(lang, {"Шинэ нууц үг (дор хаяж 12 тэмдэгт)", "New password (at least 12 characters)"}));
}

// The two new-password inputs every password form ends with.
std::string NewPasswordInputs(Lang lang) {
  return "<label for=\"password\">" + PasswordRulesText(lang) +
         "</label><input type=\"password\" id=\"password\" name=\"password\" "
         "autocomplete=\"new-password\" required><label for=\"password_again\">" +
         std::string(Pick(lang, {"Нууц үгээ давтана уу", "The password again"})) +
         "</label><input type=\"password\" id=\"password_again\" name=\"password_again\" "
         "autocomplete=\"new-password\" required>";
}

constexpr Text kPasswordRules = {
    "Нууц үг дор хаяж 12 тэмдэгттэй, регистрийн дугаараас өөр байх ёстой.",
    "The password must have at least 12 characters and differ from your national ID."};
constexpr Text kPasswordsDiffer = {"Хоёр нууц үг таарахгүй байна.", "The two passwords differ."};

http::Response PasswordForm(const http::Request& request, Lang lang, const Session& session,
                            std::string_view message_html, http::Status status = http::Status::ok) {
  std::string body(message_html);
  body += "<p>" +
          std::string(Pick(lang, {"Нууц үг солиход бусад бүх төхөөрөмж дээрх нэвтрэлт дуусна.",
                                  "Changing the password logs you out on every other device."})) +
          "</p><form method=\"post\" action=\"" + Escape(Action("/dan/account/password", lang)) +
          "\">" + Hidden(kCsrfField, session.csrf) + "<label for=\"current_password\">" +
          std::string(Pick(lang, {"Одоогийн нууц үг", "Current password"})) +
          "</label><input type=\"password\" id=\"current_password\" name=\"current_password\" "
          "autocomplete=\"current-password\" required>" +
          NewPasswordInputs(lang) + "<button type=\"submit\">" +
          std::string(Pick(lang, {"Нууц үг солих", "Change the password"})) +
          "</button></form><p><a href=\"" + Escape(Action("/dan/account", lang)) + "\">" +
          std::string(Pick(lang, {"Миний бүртгэл", "My account"})) + "</a></p>";
  return Page(lang, Pick(lang, {"Нууц үг солих", "Change your password"}), body, request.target(),
              status);
}

Result<http::Response> GetPassword(const Pages& pages, http::Request& request) {
  return WithSession(pages, request, [&](const SignedIn& in) -> Result<http::Response> {
    if (auto step_up = NeedStepUp(pages, in, "/dan/account/password")) return std::move(*step_up);
    return PasswordForm(request, LangOf(request), in.session, {});
  });
}

Result<http::Response> PostPassword(const Pages& pages, http::Request& request) {
  return WithSession(pages, request, [&](const SignedIn& in) -> Result<http::Response> {
    const Lang lang = LangOf(request);
    ULUS_ASSIGN_OR_RETURN(auto form, http::Form::FromRequest(request));
    if (!SessionCsrfOk(in.session, form)) {
      return Forbidden(lang, request.target(), Action("/dan/account/password", lang));
    }
    if (auto step_up = NeedStepUp(pages, in, "/dan/account/password")) return std::move(*step_up);
    const auto again = [&](const std::string& html, http::Status status) {
      return PasswordForm(request, lang, in.session, html, status);
    };
    if (form.Value("password") != form.Value("password_again")) {
      return again(Notice(lang, kPasswordsDiffer, "error"), http::Status::bad_request);
    }
    auto changed = pages.accounts.ChangePassword(in.account.id, form.Value("current_password"),
                                                 form.Value("password"), ContextOf(request));
    if (!changed.ok()) {
      if (changed.error().code == ErrorCode::kInvalidArgument) {
        return again(Notice(lang, kPasswordRules, "error"), http::Status::bad_request);
      }
      auto shown =
          ShowLoginError(lang, changed.error(),
                         {"Одоогийн нууц үг буруу байна.", "The current password is wrong."});
      if (!shown) return std::move(changed).error();
      return again(shown->html, shown->status);
    }
    // Every session of the account has ended; this browser gets a fresh one at the level it had.
    ULUS_ASSIGN_OR_RETURN(
        auto created, pages.sessions.Create(in.account.id, in.session.assurance, in.session.amr));
    return Redirect(Action("/dan/account", lang) + "&done=password", {created.set_cookie});
  });
}

// --- Password reset ----------------------------------------------------------------------------

http::Response ResetForm(const http::Request& request, Lang lang, const std::string& csrf,
                         std::string_view message_html, http::Status status = http::Status::ok) {
  std::string body(message_html);
  body += "<p>" +
          std::string(Pick(lang, {"Хүн амын бүртгэлд байгаа таны утас руу нууц үг сэргээх нэг "
                                  "удаагийн код илгээнэ.",
                                  "We send a one-time code for a new password to the phone the "
                                  "population register holds for you."})) +
          "</p><form method=\"post\" action=\"" + Escape(Action("/dan/reset", lang)) + "\">" +
          Hidden(kCsrfField, csrf) + "<label for=\"national_id\">" +
          std::string(Pick(lang, {"Регистрийн дугаар", "National ID"})) +
          "</label><input type=\"text\" id=\"national_id\" name=\"national_id\" "
          "autocomplete=\"username\" required><button type=\"submit\">" +
          std::string(Pick(lang, {"Код илгээх", "Send the code"})) +
          "</button></form><p><a href=\"" + Escape(Action("/dan/login", lang)) + "\">" +
          std::string(Pick(lang, {"Нэвтрэх", "Log in"})) + "</a></p>";
  return Page(lang, Pick(lang, {"Нууц үг сэргээх", "Reset your password"}), body, request.target(),
              status);
}

http::Response ResetVerifyForm(const http::Request& request, Lang lang, const std::string& csrf,
                               std::string_view national_id, std::string_view message_html,
                               http::Status status = http::Status::ok) {
  std::string body(message_html);
  body += "<form method=\"post\" action=\"" + Escape(Action("/dan/reset/verify", lang)) + "\">" +
          Hidden(kCsrfField, csrf) + "<label for=\"national_id\">" +
          std::string(Pick(lang, {"Регистрийн дугаар", "National ID"})) +
          "</label><input type=\"text\" id=\"national_id\" name=\"national_id\" "
          "autocomplete=\"username\" required value=\"" +
          Escape(national_id) + "\"><label for=\"code\">" +
          std::string(Pick(lang, {"Мессежээр ирсэн код", "The code from the message"})) +
          "</label><input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" "
          "autocomplete=\"one-time-code\" required><label for=\"second_factor\">" +
          std::string(Pick(lang, {"Баталгаажуулах апп тохируулсан бол: апп дахь 6 оронтой код, "
                                  "эсвэл сэргээх код. Тэгвэл зөвхөн мессежийн код хангалтгүй.",
                                  "If you have set up an authenticator app: the 6-digit code "
                                  "from the app, or a recovery code. The code from the message "
                                  "alone is not enough then."})) +
          "</label><input type=\"text\" id=\"second_factor\" name=\"second_factor\" "
          "autocomplete=\"off\">" +
          NewPasswordInputs(lang) + "<button type=\"submit\">" +
          std::string(Pick(lang, {"Нууц үг солих", "Set the new password"})) + "</button></form>";
  return Page(lang, Pick(lang, {"Шинэ нууц үг", "Choose a new password"}), body, request.target(),
              status);
}

Result<http::Response> GetReset(const Pages& pages, http::Request& request) {
  const auto token = PreLoginCsrf(request, pages.sessions);
  auto response = ResetForm(request, LangOf(request), token.token, {});
  AddCookie(response, token.set_cookie);
  return response;
}

Result<http::Response> PostReset(const Pages& pages, http::Request& request) {
  const Lang lang = LangOf(request);
  ULUS_ASSIGN_OR_RETURN(auto form, http::Form::FromRequest(request));
  if (!PreLoginCsrfOk(request, form)) {
    auto response = Forbidden(lang, request.target(), Action("/dan/reset", lang));
    AddCookie(response, PreLoginCsrf(request, pages.sessions).set_cookie);
    return response;
  }
  const auto csrf = form.Value(kCsrfField);
  const auto national_id = form.Value("national_id");
  auto started = pages.accounts.StartPasswordReset(national_id, ContextOf(request));
  if (!started.ok()) {
    if (started.error().code != ErrorCode::kInvalidArgument) return std::move(started).error();
    return ResetForm(
        request, lang, csrf,
        Notice(lang, {"Регистрийн дугаараа оруулна уу.", "Enter your national ID."}, "error"),
        http::Status::bad_request);
  }
  // The same words whether or not anything was sent: the page must not tell who has an account.
  return ResetVerifyForm(request, lang, csrf, national_id,
                         Notice(lang, {"Хэрэв энэ дугаар дээр Дан бүртгэл байгаа бөгөөд хүн амын "
                                       "бүртгэлд утас байгаа бол түүн рүү код илгээлээ. Код 10 "
                                       "минут хүчинтэй.",
                                       "If there is a Dan account for this national ID and the "
                                       "population register holds a phone for it, we have sent a "
                                       "code to it. The code is valid for 10 minutes."}));
}

Result<http::Response> GetResetVerify(const Pages& pages, http::Request& request) {
  const auto token = PreLoginCsrf(request, pages.sessions);
  auto response = ResetVerifyForm(request, LangOf(request), token.token,
                                  request.Query("national_id").value_or(""), {});
  AddCookie(response, token.set_cookie);
  return response;
}

Result<http::Response> PostResetVerify(const Pages& pages, http::Request& request) {
  const Lang lang = LangOf(request);
  ULUS_ASSIGN_OR_RETURN(auto form, http::Form::FromRequest(request));
  if (!PreLoginCsrfOk(request, form)) {
    auto response = Forbidden(lang, request.target(), Action("/dan/reset", lang));
    AddCookie(response, PreLoginCsrf(request, pages.sessions).set_cookie);
    return response;
  }
  const auto csrf = form.Value(kCsrfField);
  const auto national_id = form.Value("national_id");
  const auto again = [&](const std::string& html, http::Status status) {
    return ResetVerifyForm(request, lang, csrf, national_id, html, status);
  };
  if (form.Value("password") != form.Value("password_again")) {
    return again(Notice(lang, kPasswordsDiffer, "error"), http::Status::bad_request);
  }
  auto reset =
      pages.accounts.CompletePasswordReset(national_id, form.Value("code"), form.Value("password"),
                                           form.Value("second_factor"), ContextOf(request));
  if (!reset.ok()) {
    const Error& error = reset.error();
    if (error.code == ErrorCode::kInvalidArgument) {
      return again(Notice(lang, kPasswordRules, "error"), http::Status::bad_request);
    }
    const Text wrong =
        error.field == "second_factor"
            ? Text{"Энэ бүртгэлд баталгаажуулах апп тохируулсан байна: апп дахь код эсвэл "
                   "ашиглаагүй сэргээх код буруу эсвэл оруулаагүй байна.",
                   "This account has an authenticator app: its code, or an unused recovery code, "
                   "is missing or wrong."}
            : Text{"Код буруу эсвэл хугацаа нь дууссан. Шинэ код авна уу.",
                   "The code is wrong or has expired. Ask for a new one."};
    auto shown = ShowLoginError(lang, error, wrong);
    if (!shown) return std::move(reset).error();
    return again(shown->html, shown->status);
  }
  // Every session has ended; the person logs in with the new password, second factor and all.
  return Redirect(Action("/dan/login", lang) + "&done=reset");
}

Result<http::Response> GetAudit(const Pages& pages, http::Request& request) {
  return WithSession(pages, request, [&](const SignedIn& in) -> Result<http::Response> {
    const Lang lang = LangOf(request);
    ULUS_ASSIGN_OR_RETURN(auto entries, pages.accounts.LoginHistory(in.account.id, kHistoryRows));
    std::string body = "<table><thead><tr><th>" +
                       std::string(Pick(lang, {"Хэзээ (UTC)", "When (UTC)"})) + "</th><th>" +
                       std::string(Pick(lang, {"Үйл явдал", "Event"})) + "</th><th>" +
                       std::string(Pick(lang, {"Хаяг", "Address"})) + "</th></tr></thead><tbody>";
    for (const auto& entry : entries) {
      body += "<tr><td>" + Escape(FormatRfc3339(entry.at)) + "</td><td>" +
              Escape(entry.event.event) + "</td><td>" + Escape(entry.event.remote_address) +
              "</td></tr>";
    }
    body += "</tbody></table><p><a href=\"" + Escape(Action("/dan/account", lang)) + "\">" +
            std::string(Pick(lang, {"Миний бүртгэл", "My account"})) + "</a></p>";
    return Page(lang, Pick(lang, {"Сүүлийн нэвтрэлтүүд", "Recent logins"}), body, request.target());
  });
}

using PageHandler = Result<http::Response> (*)(const Pages&, http::Request&);

void AddPage(http::Router& router, const PagesPtr& pages, http::Method method, std::string pattern,
             PageHandler handler) {
  router.Add(method, std::move(pattern),
             [pages, handler](http::Request& request) { return handler(*pages, request); });
}

}  // namespace

void MountLoginPages(http::Router& router, AccountService& accounts, Sessions& sessions,
                     LoginPagesOptions options) {
  auto pages = std::make_shared<const Pages>(Pages{accounts, sessions, std::move(options)});
  using http::Method;
  AddPage(router, pages, Method::get, "/dan/login", GetLogin);
  AddPage(router, pages, Method::post, "/dan/login", PostLogin);
  AddPage(router, pages, Method::get, "/dan/login/otp", GetOtp);
  AddPage(router, pages, Method::post, "/dan/login/otp", PostOtp);
  AddPage(router, pages, Method::get, "/dan/login/signature", GetSignature);
  AddPage(router, pages, Method::post, "/dan/login/signature", PostSignature);
  AddPage(router, pages, Method::post, "/dan/logout", PostLogout);
  AddPage(router, pages, Method::get, "/dan/signup", GetSignup);
  AddPage(router, pages, Method::post, "/dan/signup", PostSignup);
  AddPage(router, pages, Method::get, "/dan/signup/verify", GetSignupVerify);
  AddPage(router, pages, Method::post, "/dan/signup/verify", PostSignupVerify);
  AddPage(router, pages, Method::get, "/dan/account", GetAccount);
  AddPage(router, pages, Method::get, "/dan/account/totp", GetTotp);
  AddPage(router, pages, Method::post, "/dan/account/totp", PostTotp);
  AddPage(router, pages, Method::post, "/dan/account/signature-key", PostSignatureKey);
  AddPage(router, pages, Method::get, "/dan/account/audit", GetAudit);
  AddPage(router, pages, Method::get, "/dan/account/password", GetPassword);
  AddPage(router, pages, Method::post, "/dan/account/password", PostPassword);
  AddPage(router, pages, Method::get, "/dan/reset", GetReset);
  AddPage(router, pages, Method::post, "/dan/reset", PostReset);
  AddPage(router, pages, Method::get, "/dan/reset/verify", GetResetVerify);
  AddPage(router, pages, Method::post, "/dan/reset/verify", PostResetVerify);
}

}  // namespace ulus::identity
