#include <string>
#include <utility>

#include "login_pages_common.hpp"

namespace ulus::identity::dan_pages {
namespace {

// Sign-up and password reset share one shape: a national ID sends a one-time code to the phone
// the population register holds, and the code comes back with a new password. A flow is the
// words and paths that tell the two apart.
struct PhoneCodeFlow {
  std::string_view start_path;
  std::string_view verify_path;
  bool username_autocomplete;  // reset offers the browser's saved login, sign-up has none yet
  Text start_title;
  Text start_intro;
  bool link_to_login;
  Text sent;  // the same words whether or not anything was sent
  Text verify_title;
  Text verify_button;
  bool asks_second_factor;
};

constexpr PhoneCodeFlow kSignup{
    .start_path = "/dan/signup",
    .verify_path = "/dan/signup/verify",
    .username_autocomplete = false,
    .start_title = {"Бүртгүүлэх", "Sign up", "Тіркелу", "Регистрация"},
    .start_intro =
        {"Хүн амын бүртгэлд байгаа таны утас руу нэг удаагийн код илгээнэ.",
         "We send a one-time code to the phone the population register holds for you.",
         "Халық тізілімінде көрсетілген телефоныңызға бір реттік код жібереміз.",
         "Мы отправим одноразовый код на телефон, указанный для вас в реестре населения."},
    .link_to_login = false,
    // The page must not tell who is registered.
    .sent = {"Хэрэв хүн амын бүртгэлд энэ дугаартай хүний утас байгаа бол түүн рүү код илгээлээ. "
             "Код 10 минут хүчинтэй.",
             "If the population register holds a phone for this national ID, we have sent a code "
             "to it. The code is valid for 10 minutes.",
             "Егер халық тізілімінде осы ЖСН үшін телефон көрсетілген болса, оған код жібердік. "
             "Код 10 минут жарамды.",
             "Если в реестре населения для этого ИИН указан телефон, мы отправили на него код. Код "
             "действителен 10 минут."},
    .verify_title = {"Кодоо оруулна уу", "Enter your code", "Кодты енгізіңіз", "Введите код"},
    .verify_button = {"Бүртгүүлэх", "Create the account", "Тіркелгі ашу", "Создать учётную запись"},
    .asks_second_factor = false,
};

constexpr PhoneCodeFlow kReset{
    .start_path = "/dan/reset",
    .verify_path = "/dan/reset/verify",
    .username_autocomplete = true,
    .start_title = {"Нууц үг сэргээх", "Reset your password", "Құпиясөзді қалпына келтіру",
                    "Восстановление пароля"},
    .start_intro =
        {"Хүн амын бүртгэлд байгаа таны утас руу нууц үг сэргээх нэг удаагийн код илгээнэ.",
         "We send a one-time code for a new password to the phone the population register holds "
         "for you.",
         "Жаңа құпиясөз орнату үшін халық тізілімінде көрсетілген телефоныңызға бір реттік код "
         "жібереміз.",
         "Мы отправим одноразовый код для нового пароля на телефон, указанный для вас в реестре "
         "населения."},
    .link_to_login = true,
    // The page must not tell who has an account.
    .sent = {"Хэрэв энэ дугаар дээр Дан бүртгэл байгаа бөгөөд хүн амын бүртгэлд утас байгаа бол "
             "түүн рүү код илгээлээ. Код 10 минут хүчинтэй.",
             "If there is a Dan account for this national ID and the population register holds a "
             "phone for it, we have sent a code to it. The code is valid for 10 minutes.",
             "Егер осы ЖСН үшін Dan тіркелгісі бар болса және халық тізілімінде телефон "
             "көрсетілген болса, оған код жібердік. Код 10 минут жарамды.",
             "Если для этого ИИН есть учётная запись Dan и в реестре населения указан телефон, мы "
             "отправили на него код. Код действителен 10 минут."},
    .verify_title = {"Шинэ нууц үг", "Choose a new password", "Жаңа құпиясөз", "Новый пароль"},
    .verify_button = {"Нууц үг солих", "Set the new password", "Құпиясөзді орнату",
                      "Установить пароль"},
    .asks_second_factor = true,
};

constexpr Text kCodeWrong = {"Код буруу эсвэл хугацаа нь дууссан. Шинэ код авна уу.",
                             "The code is wrong or has expired. Ask for a new one.",
                             "Код қате немесе оның мерзімі өтті. Жаңа код сұраңыз.",
                             "Код неверный или устарел. Запросите новый."};

constexpr Text kSecondFactorWrong = {
    "Энэ бүртгэлд баталгаажуулах апп тохируулсан байна: апп дахь код эсвэл ашиглаагүй сэргээх код "
    "буруу эсвэл оруулаагүй байна.",
    "This account has an authenticator app: its code, or an unused recovery code, is missing or "
    "wrong.",
    "Бұл тіркелгіде аутентификатор қолданбасы бапталған: оның коды немесе пайдаланылмаған қалпына "
    "келтіру коды енгізілмеген немесе қате.",
    "Для этой учётной записи настроено приложение-аутентификатор: его код или неиспользованный код "
    "восстановления не введён или неверен."};

// The first page: the national ID to send the code for.
http::Response StartForm(const http::Request& request, Lang lang, const PhoneCodeFlow& flow,
                         const std::string& csrf, std::string_view message_html,
                         http::Status status = http::Status::ok) {
  std::string body(message_html);
  body +=
      "<p>" + std::string(Pick(lang, flow.start_intro)) + "</p><form method=\"post\" action=\"" +
      Escape(Action(flow.start_path, lang)) + "\">" + Hidden(kCsrfField, csrf) +
      NationalIdInput(lang, flow.username_autocomplete, std::nullopt) + "<button type=\"submit\">" +
      std::string(Pick(lang, {"Код илгээх", "Send the code", "Код жіберу", "Отправить код"})) +
      "</button></form>";
  if (flow.link_to_login) {
    body += "<p><a href=\"" + Escape(Action("/dan/login", lang)) + "\">" +
            std::string(Pick(lang, {"Нэвтрэх", "Log in", "Кіру", "Войти"})) + "</a></p>";
  }
  return Page(lang, Pick(lang, flow.start_title), body, request.target(), status);
}

// The second page: the code from the message and the new password.
http::Response CodeForm(const http::Request& request, Lang lang, const PhoneCodeFlow& flow,
                        const std::string& csrf, std::string_view national_id,
                        std::string_view message_html, http::Status status = http::Status::ok) {
  std::string body(message_html);
  body += "<form method=\"post\" action=\"" + Escape(Action(flow.verify_path, lang)) + "\">" +
          Hidden(kCsrfField, csrf) +
          NationalIdInput(lang, flow.username_autocomplete, national_id) + MessageCodeInput(lang);
  if (flow.asks_second_factor) {
    body += "<label for=\"second_factor\">" +
            std::string(Pick(
                lang,
                {"Баталгаажуулах апп тохируулсан бол: апп дахь 6 оронтой код, эсвэл сэргээх код. "
                 "Тэгвэл зөвхөн мессежийн код хангалтгүй.",
                 "If you have set up an authenticator app: the 6-digit code from the app, or a "
                 "recovery code. The code from the message alone is not enough then.",
                 "Егер аутентификатор қолданбасын баптаған болсаңыз: қолданбадағы 6 таңбалы код "
                 "немесе қалпына келтіру коды. Бұл жағдайда хабарламадағы кодтың өзі жеткіліксіз.",
                 "Если вы настроили приложение-аутентификатор: 6-значный код из приложения или код "
                 "восстановления. Тогда одного кода из сообщения недостаточно."})) +
            "</label><input type=\"text\" id=\"second_factor\" name=\"second_factor\" "
            "autocomplete=\"off\">";
  }
  body += NewPasswordInputs(lang) + "<button type=\"submit\">" +
          std::string(Pick(lang, flow.verify_button)) + "</button></form>";
  return Page(lang, Pick(lang, flow.verify_title), body, request.target(), status);
}

Result<http::Response> GetStart(const Pages& pages, const http::Request& request,
                                const PhoneCodeFlow& flow) {
  return WithPreLoginToken(pages, request, [&](const std::string& token) {
    return StartForm(request, LangOf(request), flow, token, {});
  });
}

Result<http::Response> GetCode(const Pages& pages, const http::Request& request,
                               const PhoneCodeFlow& flow) {
  return WithPreLoginToken(pages, request, [&](const std::string& token) {
    return CodeForm(request, LangOf(request), flow, token,
                    request.Query("national_id").value_or(""), {});
  });
}

using StartFn = Status (AccountService::*)(std::string_view, const AttemptContext&);

Result<http::Response> PostStart(const Pages& pages, http::Request& request,
                                 const PhoneCodeFlow& flow, StartFn start) {
  return WithPreLoginForm(
      pages, request, flow.start_path,
      [&](Lang lang, const http::Form& form) -> Result<http::Response> {
        const auto csrf = form.Value(kCsrfField);
        const auto national_id = form.Value("national_id");
        auto started = (pages.accounts.*start)(national_id, ContextOf(request));
        if (!started.ok()) {
          if (started.error().code != ErrorCode::kInvalidArgument) {
            return std::move(started).error();
          }
          return StartForm(request, lang, flow, csrf,
                           Notice(lang,
                                  {"Регистрийн дугаараа оруулна уу.", "Enter your national ID.",
                                   "ЖСН-ді енгізіңіз.", "Введите ИИН."},
                                  "error"),
                           http::Status::bad_request);
        }
        return CodeForm(request, lang, flow, csrf, national_id, Notice(lang, flow.sent));
      });
}

// Runs `complete(lang, form, again)` for a code form POST whose two passwords match; `again`
// shows the code form once more with a message.
template <typename Complete>
Result<http::Response> PostCode(const Pages& pages, http::Request& request,
                                const PhoneCodeFlow& flow, Complete complete) {
  return WithPreLoginForm(pages, request, flow.start_path,
                          [&](Lang lang, const http::Form& form) -> Result<http::Response> {
                            const auto csrf = form.Value(kCsrfField);
                            const auto national_id = form.Value("national_id");
                            const auto again = [&](const std::string& html, http::Status status) {
                              return CodeForm(request, lang, flow, csrf, national_id, html, status);
                            };
                            if (form.Value("password") != form.Value("password_again")) {
                              return again(Notice(lang, kPasswordsDiffer, "error"),
                                           http::Status::bad_request);
                            }
                            return complete(lang, form, again);
                          });
}

}  // namespace

Result<http::Response> GetSignup(const Pages& pages, http::Request& request) {
  return GetStart(pages, request, kSignup);
}

Result<http::Response> PostSignup(const Pages& pages, http::Request& request) {
  return PostStart(pages, request, kSignup, &AccountService::StartSignup);
}

Result<http::Response> GetSignupVerify(const Pages& pages, http::Request& request) {
  return GetCode(pages, request, kSignup);
}

Result<http::Response> PostSignupVerify(const Pages& pages, http::Request& request) {
  return PostCode(
      pages, request, kSignup,
      [&](Lang lang, const http::Form& form, const auto& again) -> Result<http::Response> {
        const auto national_id = form.Value("national_id");
        auto account = pages.accounts.CompleteSignup(national_id, form.Value("code"),
                                                     form.Value("password"), ContextOf(request));
        if (!account.ok()) {
          const auto error = [&](const Text& text, http::Status status) {
            return again(Notice(lang, text, "error"), status);
          };
          switch (account.error().code) {
            case ErrorCode::kInvalidArgument:
              return error(kPasswordRules, http::Status::bad_request);
            case ErrorCode::kUnauthenticated: return error(kCodeWrong, http::Status::unauthorized);
            case ErrorCode::kAlreadyExists:
              return error({"Энэ регистрийн дугаар дээр бүртгэл аль хэдийн бий. Нэвтэрнэ үү.",
                            "An account already exists for this national ID. Log in instead.",
                            "Бұл ЖСН үшін тіркелгі бұрыннан бар. Жүйеге кіріңіз.",
                            "Учётная запись для этого ИИН уже существует. Войдите в неё."},
                           http::Status::conflict);
            default: return std::move(account).error();
          }
        }
        // The person has just shown the phone on file and set a password: they are signed in.
        ULUS_ASSIGN_OR_RETURN(auto created,
                              pages.sessions.Create(account->id, Assurance::kLow, {"pwd", "sms"}));
        return Redirect(pages.options.default_return, {created.set_cookie});
      });
}

Result<http::Response> GetReset(const Pages& pages, http::Request& request) {
  return GetStart(pages, request, kReset);
}

Result<http::Response> PostReset(const Pages& pages, http::Request& request) {
  return PostStart(pages, request, kReset, &AccountService::StartPasswordReset);
}

Result<http::Response> GetResetVerify(const Pages& pages, http::Request& request) {
  return GetCode(pages, request, kReset);
}

Result<http::Response> PostResetVerify(const Pages& pages, http::Request& request) {
  return PostCode(
      pages, request, kReset,
      [&](Lang lang, const http::Form& form, const auto& again) -> Result<http::Response> {
        auto reset = pages.accounts.CompletePasswordReset(
            form.Value("national_id"), form.Value("code"), form.Value("password"),
            form.Value("second_factor"), ContextOf(request));
        if (!reset.ok()) {
          const Error& error = reset.error();
          if (error.code == ErrorCode::kInvalidArgument) {
            return again(Notice(lang, kPasswordRules, "error"), http::Status::bad_request);
          }
          const Text& wrong = error.field == "second_factor" ? kSecondFactorWrong : kCodeWrong;
          auto shown = ShowLoginError(lang, error, wrong);
          if (!shown) return std::move(reset).error();
          return again(shown->html, shown->status);
        }
        // Every session has ended; the person logs in anew, second factor and all.
        return Redirect(Action("/dan/login", lang) + "&done=reset");
      });
}

}  // namespace ulus::identity::dan_pages
