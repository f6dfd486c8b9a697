#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "login_pages_common.hpp"

namespace ulus::identity {
namespace dan_pages {
namespace {

// --- Login -------------------------------------------------------------------------------------

http::Response LoginForm(const http::Request& request, Lang lang, const std::string& csrf,
                         const std::string& return_to, Assurance need, std::string_view national_id,
                         std::string_view message_html, http::Status status = http::Status::ok) {
  std::string body(message_html);
  body += "<form method=\"post\" action=\"" + Escape(Action("/dan/login", lang)) + "\">" +
          Hidden(kCsrfField, csrf) + Hidden("return_to", return_to) +
          Hidden("acr", ShortAcr(need)) + NationalIdInput(lang, true, national_id) +
          "<label for=\"password\">" +
          std::string(Pick(lang, {"Нууц үг", "Password", "Құпиясөз", "Пароль"})) +
          "</label><input type=\"password\" id=\"password\" name=\"password\" "
          "autocomplete=\"current-password\" required><button type=\"submit\">" +
          std::string(Pick(lang, {"Нэвтрэх", "Log in", "Кіру", "Войти"})) +
          "</button></form><p><a href=\"" + Escape(Action("/dan/reset", lang)) + "\">" +
          std::string(Pick(lang, {"Нууц үгээ мартсан уу?", "Forgot your password?",
                                  "Құпиясөзді ұмыттыңыз ба?", "Забыли пароль?"})) +
          "</a></p><p><a href=\"" + Escape(Action("/dan/signup", lang)) + "\">" +
          std::string(Pick(
              lang, {"Бүртгэлгүй юу? Бүртгүүлэх", "No account yet? Sign up",
                     "Тіркелгіңіз жоқ па? Тіркелу", "Нет учётной записи? Зарегистрируйтесь"})) +
          "</a></p>";
  return Page(
      lang, Pick(lang, {"Данаар нэвтрэх", "Log in with Dan", "Dan арқылы кіру", "Вход через Dan"}),
      body, request.target(), status);
}

}  // namespace

Result<http::Response> GetLogin(const Pages& pages, http::Request& request) {
  const Lang lang = LangOf(request);
  const auto return_to = SafeReturn(request.Query("return_to"));
  const auto need = RequiredLevel(request.Query("acr"));
  ULUS_ASSIGN_OR_RETURN(auto session, pages.sessions.FromRequest(request));
  // Already signed in: single sign-on, stepping up if the service asks for more.
  if (session && !request.Query("prompt").has_value()) {
    return Redirect(NextStep(pages, session->assurance, need, return_to));
  }
  // Back from a password reset: a fixed notice, so a crafted link can show nothing else.
  const std::string notice =
      request.Query("done") == "reset"
          ? Notice(lang, {"Нууц үг солигдлоо. Шинэ нууц үгээрээ нэвтэрнэ үү.",
                          "Your password has been reset. Log in with the new one.",
                          "Құпиясөз қалпына келтірілді. Жаңа құпиясөзбен кіріңіз.",
                          "Пароль восстановлен. Войдите с новым паролем."})
          : std::string();
  return WithPreLoginToken(pages, request, [&](const std::string& token) {
    return LoginForm(request, lang, token, return_to, need, {}, notice);
  });
}

Result<http::Response> PostLogin(const Pages& pages, http::Request& request) {
  return WithPreLoginForm(
      pages, request, "/dan/login",
      [&](Lang lang, const http::Form& form) -> Result<http::Response> {
        const auto return_to = SafeReturn(form.Get("return_to"));
        const auto need = RequiredLevel(form.Get("acr"));
        const auto national_id = form.Value("national_id");
        auto login = pages.accounts.LoginWithPassword(national_id, form.Value("password"),
                                                      ContextOf(request));
        if (!login.ok()) {
          auto shown = ShowLoginError(
              lang, login.error(),
              {"Регистрийн дугаар эсвэл нууц үг буруу байна.", "National ID or password is wrong.",
               "ЖСН немесе құпиясөз қате.", "Неверный ИИН или пароль."});
          if (!shown) return std::move(login).error();
          return LoginForm(request, lang, form.Value(kCsrfField), return_to, need, national_id,
                           shown->html, shown->status);
        }
        // A fresh session every time, so a planted cookie is never promoted (session fixation).
        ULUS_ASSIGN_OR_RETURN(auto previous, pages.sessions.FromRequest(request));
        if (previous) ULUS_TRY(pages.sessions.Destroy(previous->id));
        ULUS_ASSIGN_OR_RETURN(
            auto created, pages.sessions.Create(login->account.id, login->assurance, login->amr));
        return Redirect(NextStep(pages, login->assurance, need, return_to), {created.set_cookie});
      });
}

// --- Step-up: TOTP or recovery code --------------------------------------------------------------

namespace {

http::Response OtpForm(const http::Request& request, Lang lang, const Session& session,
                       const Account& account, const std::string& return_to, Assurance need,
                       std::string_view message_html, http::Status status = http::Status::ok) {
  std::string body(message_html);
  if (!account.totp_enabled) {
    body +=
        Notice(
            lang,
            {"Энэ үйлчилгээ хоёр дахь хүчин зүйл шаардана. Эхлээд баталгаажуулах апп тохируулна "
             "уу.",
             "This service needs a second factor. Set up an authenticator app first.",
             "Бұл қызмет екінші факторды талап етеді. Алдымен аутентификатор қолданбасын баптаңыз.",
             "Для этой услуги нужен второй фактор. Сначала настройте приложение-аутентификатор."}) +
        "<p><a href=\"/dan/account/totp\">" +
        std::string(Pick(lang, {"Апп тохируулах", "Set up an app", "Қолданбаны баптау",
                                "Настроить приложение"})) +
        "</a></p>";
    return Page(
        lang,
        Pick(lang, {"Хоёр дахь хүчин зүйл", "Second factor", "Екінші фактор", "Второй фактор"}),
        body, request.target(), status);
  }
  body += "<form method=\"post\" action=\"" + Escape(Action("/dan/login/otp", lang)) + "\">" +
          Hidden(kCsrfField, session.csrf) + Hidden("return_to", return_to) +
          Hidden("acr", ShortAcr(need)) + "<label for=\"code\">" +
          std::string(Pick(lang, {"Апп дахь 6 оронтой код, эсвэл сэргээх код",
                                  "The 6-digit code from your app, or a recovery code",
                                  "Қолданбадағы 6 таңбалы код немесе қалпына келтіру коды",
                                  "6-значный код из приложения или код восстановления"})) +
          "</label><input type=\"text\" id=\"code\" name=\"code\" inputmode=\"text\" "
          "autocomplete=\"one-time-code\" required><button type=\"submit\">" +
          std::string(Pick(lang, {"Баталгаажуулах", "Verify", "Растау", "Подтвердить"})) +
          "</button></form>";
  return Page(
      lang, Pick(lang, {"Хоёр дахь хүчин зүйл", "Second factor", "Екінші фактор", "Второй фактор"}),
      body, request.target(), status);
}

bool LooksLikeRecoveryCode(std::string_view code) {
  size_t alnum = 0;
  for (const char c : code) {
    if (c != '-' && c != ' ') ++alnum;
  }
  return alnum > 8;
}

}  // namespace

Result<http::Response> GetOtp(const Pages& pages, http::Request& request) {
  return WithSession(pages, request, [&](const SignedIn& in) -> Result<http::Response> {
    const Lang lang = LangOf(request);
    const auto return_to = SafeReturn(request.Query("return_to"));
    const auto need = std::max(RequiredLevel(request.Query("acr")), Assurance::kSubstantial);
    return OtpForm(request, lang, in.session, in.account, return_to, need, {});
  });
}

Result<http::Response> PostOtp(const Pages& pages, http::Request& request) {
  return WithSessionForm(
      pages, request, "/dan/login/otp",
      [&](const SignedIn& in, Lang lang, const http::Form& form) -> Result<http::Response> {
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
              {"Код буруу эсвэл аль хэдийн ашиглагдсан.", "The code is wrong or was already used.",
               "Код қате немесе бұрын пайдаланылған.", "Код неверный или уже использован."});
          if (!shown) return std::move(factor).error();
          return OtpForm(request, lang, in.session, in.account, return_to, need, shown->html,
                         shown->status);
        }
        ULUS_ASSIGN_OR_RETURN(
            auto elevated, pages.sessions.Elevate(in.session.id, factor->assurance, factor->amr));
        return Redirect(NextStep(pages, elevated.assurance, need, return_to));
      });
}

// --- Step-up: signature ------------------------------------------------------------------------

namespace {

Result<http::Response> SignatureForm(const Pages& pages, const http::Request& request, Lang lang,
                                     const SignedIn& in, const std::string& return_to,
                                     std::string_view message_html,
                                     http::Status status = http::Status::ok) {
  const auto title = Pick(lang, {"Гарын үсгээр нэвтрэх", "Log in with your signature",
                                 "Электрондық қолтаңбамен кіру", "Вход с электронной подписью"});
  std::string body(message_html);
  if (!in.account.has_signature_key) {
    body +=
        Notice(
            lang,
            {"Танд бүртгэлтэй гарын үсгийн түлхүүр алга. Бүртгэлийн хуудаснаас нийтийн түлхүүрээ "
             "бүртгүүлнэ үү.",
             "You have no signature key registered. Register your public key on your account page.",
             "Сізде тіркелген қолтаңба кілті жоқ. Ашық кілтіңізді тіркелгі бетінде тіркеңіз.",
             "У вас нет зарегистрированного ключа подписи. Зарегистрируйте открытый ключ на "
             "странице учётной записи."}) +
        "<p><a href=\"/dan/account\">" +
        std::string(
            Pick(lang, {"Миний бүртгэл", "My account", "Менің тіркелгім", "Моя учётная запись"})) +
        "</a></p>";
    return Page(lang, title, body, request.target(), status);
  }
  ULUS_ASSIGN_OR_RETURN(auto challenge, pages.accounts.NewSignatureChallenge(in.account.id));
  body += "<p>" +
          std::string(
              Pick(lang, {"Доорх мөрийг (ASCII, мөр шилжилтгүй) өөрийн түлхүүрээр гарын үсэг зурж, "
                          "гарын үсгийг base64url хэлбэрээр буулгана уу. 5 минут хүчинтэй.",
                          "Sign the text below (ASCII, no newline) with your key and paste the "
                          "signature as base64url. It is valid for 5 minutes.",
                          "Төмендегі мәтінге (ASCII, жол ауыстырусыз) өз кілтіңізбен қол қойып, "
                          "қолтаңбаны base64url түрінде қойыңыз. Мәтін 5 минут жарамды.",
                          "Подпишите текст ниже (ASCII, без перевода строки) своим ключом и "
                          "вставьте подпись в формате base64url. Текст действителен 5 минут."})) +
          "</p><pre>" + Escape(challenge.SignedText()) + "</pre><form method=\"post\" action=\"" +
          Escape(Action("/dan/login/signature", lang)) + "\">" +
          Hidden(kCsrfField, in.session.csrf) + Hidden("return_to", return_to) +
          Hidden("challenge", challenge.id) + "<label for=\"signature\">" +
          std::string(Pick(lang, {"Гарын үсэг (base64url)", "Signature (base64url)",
                                  "Қолтаңба (base64url)", "Подпись (base64url)"})) +
          "</label><textarea id=\"signature\" name=\"signature\" rows=\"4\" required></textarea>"
          "<button type=\"submit\">" +
          std::string(Pick(lang, {"Нэвтрэх", "Log in", "Кіру", "Войти"})) + "</button></form>";
  return Page(lang, title, body, request.target(), status);
}

}  // namespace

Result<http::Response> GetSignature(const Pages& pages, http::Request& request) {
  return WithSession(pages, request, [&](const SignedIn& in) -> Result<http::Response> {
    return SignatureForm(pages, request, LangOf(request), in,
                         SafeReturn(request.Query("return_to")), {});
  });
}

Result<http::Response> PostSignature(const Pages& pages, http::Request& request) {
  return WithSessionForm(
      pages, request, "/dan/login/signature",
      [&](const SignedIn& in, Lang lang, const http::Form& form) -> Result<http::Response> {
        const auto return_to = SafeReturn(form.Get("return_to"));
        auto factor = pages.accounts.LoginWithSignature(
            in.account.id, form.Value("challenge"), form.Value("signature"), ContextOf(request));
        if (!factor.ok()) {
          auto shown =
              ShowLoginError(lang, factor.error(),
                             {"Гарын үсэг баталгаажсангүй эсвэл сорилтын хугацаа дууссан.",
                              "The signature did not verify, or the challenge expired.",
                              "Қолтаңба расталмады немесе мәтіннің жарамдылық мерзімі өтті.",
                              "Подпись не прошла проверку, или срок действия текста истёк."});
          if (!shown) return std::move(factor).error();
          return SignatureForm(pages, request, lang, in, return_to, shown->html, shown->status);
        }
        ULUS_ASSIGN_OR_RETURN(
            auto elevated, pages.sessions.Elevate(in.session.id, factor->assurance, factor->amr));
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

namespace {

void AddPage(http::Router& router, const PagesPtr& pages, http::Method method, std::string pattern,
             PageHandler handler) {
  router.Add(method, std::move(pattern),
             [pages, handler](http::Request& request) { return handler(*pages, request); });
}

}  // namespace
}  // namespace dan_pages

void MountLoginPages(http::Router& router, AccountService& accounts, Sessions& sessions,
                     LoginPagesOptions options) {
  using http::Method;
  using namespace dan_pages;
  auto pages = std::make_shared<const Pages>(Pages{accounts, sessions, std::move(options)});
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
