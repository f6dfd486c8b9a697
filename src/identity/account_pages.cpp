#include <optional>
#include <string>
#include <utility>

#include "login_pages_common.hpp"

namespace ulus::identity::dan_pages {
namespace {

constexpr size_t kHistoryRows = 30;

Text LevelText(Assurance level) {
  switch (level) {
    case Assurance::kHigh:
      return {"өндөр (гарын үсэг)", "high (signature)", "жоғары (қолтаңба)", "высокий (подпись)"};
    case Assurance::kSubstantial:
      return {"дунд (хоёр хүчин зүйл)", "substantial (two factors)", "орта (екі фактор)",
              "средний (два фактора)"};
    case Assurance::kLow:
      return {"бага (нууц үг)", "low (password)", "төмен (құпиясөз)", "низкий (пароль)"};
    default: return {"байхгүй", "none", "жоқ", "нет"};
  }
}

std::string LogoutForm(Lang lang, const Session& session) {
  return "<form method=\"post\" action=\"" + Escape(Action("/dan/logout", lang)) + "\">" +
         Hidden(kCsrfField, session.csrf) + "<button type=\"submit\" class=\"secondary\">" +
         std::string(Pick(lang, {"Гарах", "Log out", "Шығу", "Выйти"})) + "</button></form>";
}

// Adding or replacing a factor needs a session at the strongest level the account has, so a
// stolen password alone cannot enrol the thief's own authenticator or key.
std::optional<http::Response> NeedStepUp(const Pages& pages, const SignedIn& in,
                                         std::string_view back_to) {
  const auto need = AccountService::StrongestFactor(in.account);
  if (in.session.assurance >= need) return std::nullopt;
  return Redirect(NextStep(pages, in.session.assurance, need, std::string(back_to)));
}

}  // namespace

Result<http::Response> GetAccount(const Pages& pages, http::Request& request) {
  return WithSession(pages, request, [&](const SignedIn& in) -> Result<http::Response> {
    const Lang lang = LangOf(request);
    const auto yes_no = [&](bool yes) {
      return std::string(yes ? Pick(lang, {"тийм", "yes", "иә", "да"})
                             : Pick(lang, {"үгүй", "no", "жоқ", "нет"}));
    };
    std::string body;
    if (request.Query("done") == "password") {
      body += Notice(lang,
                     {"Нууц үг солигдлоо. Бусад төхөөрөмж дээрх нэвтрэлт дууслаа.",
                      "Your password has been changed. You were logged out on every other device.",
                      "Құпиясөз өзгертілді. Басқа барлық құрылғылардағы сеанстар аяқталды.",
                      "Пароль изменён. На всех остальных устройствах выполнен выход."});
    }
    body += "<dl><dt>" +
            std::string(Pick(lang, {"Регистрийн дугаар", "National ID", "ЖСН", "ИИН"})) +
            "</dt><dd>" + Escape(in.account.national_id) + "</dd>";
    ULUS_ASSIGN_OR_RETURN(auto person, pages.accounts.PersonOf(in.account));
    if (person) {
      body += "<dt>" + std::string(Pick(lang, {"Нэр", "Name", "Аты-жөні", "Фамилия, имя"})) +
              "</dt><dd>" + Escape(person->family_name) + " " + Escape(person->given_name) +
              "</dd>";
    }
    body +=
        "<dt>" +
        std::string(Pick(lang, {"Одоогийн баталгаажуулалт", "This session's assurance",
                                "Осы сеанстың сенім деңгейі", "Уровень доверия этого сеанса"})) +
        "</dt><dd>" + Escape(Pick(lang, LevelText(in.session.assurance))) + "</dd></dl>";

    body += "<h2>" +
            std::string(
                Pick(lang, {"Нэвтрэх арга", "Login factors", "Кіру тәсілдері", "Способы входа"})) +
            "</h2><ul><li>" +
            std::string(Pick(lang, {"Нууц үг", "Password", "Құпиясөз", "Пароль"})) + ": " +
            yes_no(true) + " — <a href=\"" + Escape(Action("/dan/account/password", lang)) + "\">" +
            std::string(Pick(lang, {"Солих", "Change", "Өзгерту", "Изменить"})) + "</a></li><li>" +
            std::string(Pick(
                lang, {"Баталгаажуулах апп (TOTP)", "Authenticator app (TOTP)",
                       "Аутентификатор қолданбасы (TOTP)", "Приложение-аутентификатор (TOTP)"})) +
            ": " + yes_no(in.account.totp_enabled);
    if (in.account.totp_enabled) {
      ULUS_ASSIGN_OR_RETURN(auto left, pages.accounts.RecoveryCodesLeft(in.account.id));
      body += " (" +
              std::string(
                  Pick(lang, {"үлдсэн сэргээх код", "recovery codes left",
                              "қалған қалпына келтіру кодтары", "осталось кодов восстановления"})) +
              ": " + std::to_string(left) + ")";
    }
    body += " — <a href=\"" + Escape(Action("/dan/account/totp", lang)) + "\">" +
            std::string(in.account.totp_enabled
                            ? Pick(lang, {"Солих", "Replace", "Ауыстыру", "Заменить"})
                            : Pick(lang, {"Тохируулах", "Set up", "Баптау", "Настроить"})) +
            "</a></li><li>" +
            std::string(Pick(lang, {"Гарын үсгийн түлхүүр", "Signature key", "Қолтаңба кілті",
                                    "Ключ подписи"})) +
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
                Pick(lang, {"Нийтийн түлхүүр бүртгүүлэх (JWK)", "Register a public key (JWK)",
                            "Ашық кілтті тіркеу (JWK)", "Зарегистрировать открытый ключ (JWK)"})) +
            "</label><textarea id=\"jwk\" name=\"jwk\" rows=\"4\" required></textarea>"
            "<button type=\"submit\">" +
            std::string(Pick(lang, {"Бүртгүүлэх", "Register", "Тіркеу", "Зарегистрировать"})) +
            "</button></form>";

    ULUS_ASSIGN_OR_RETURN(auto roles, pages.accounts.Roles(in.account.id));
    if (!roles.empty()) {
      body += "<h2>" +
              std::string(Pick(lang, {"Албан тушаалын эрх", "Officer roles", "Қызметкер рөлдері",
                                      "Роли сотрудника"})) +
              "</h2><table><thead><tr><th>" +
              std::string(Pick(lang, {"Байгууллага", "Agency", "Мекеме", "Ведомство"})) +
              "</th><th>" + std::string(Pick(lang, {"Төв", "Centre", "Орталық", "Центр"})) +
              "</th><th>" + std::string(Pick(lang, {"Эрх", "Role", "Рөл", "Роль"})) +
              "</th></tr></thead><tbody>";
      for (const auto& role : roles) {
        body += "<tr><td>" + Escape(role.agency) + "</td><td>" + Escape(role.centre) + "</td><td>" +
                Escape(role.role) + "</td></tr>";
      }
      body += "</tbody></table>";
    }
    body += "<p><a href=\"" + Escape(Action("/dan/account/audit", lang)) + "\">" +
            std::string(Pick(lang, {"Сүүлийн нэвтрэлтүүд", "Recent logins", "Соңғы кірулер",
                                    "Последние входы"})) +
            "</a></p>" + LogoutForm(lang, in.session);
    return Page(
        lang, Pick(lang, {"Миний бүртгэл", "My account", "Менің тіркелгім", "Моя учётная запись"}),
        body, request.target());
  });
}

Result<http::Response> GetAudit(const Pages& pages, http::Request& request) {
  return WithSession(pages, request, [&](const SignedIn& in) -> Result<http::Response> {
    const Lang lang = LangOf(request);
    ULUS_ASSIGN_OR_RETURN(auto entries, pages.accounts.LoginHistory(in.account.id, kHistoryRows));
    std::string body =
        "<table><thead><tr><th>" +
        std::string(Pick(lang, {"Хэзээ (UTC)", "When (UTC)", "Уақыты (UTC)", "Время (UTC)"})) +
        "</th><th>" + std::string(Pick(lang, {"Үйл явдал", "Event", "Оқиға", "Событие"})) +
        "</th><th>" + std::string(Pick(lang, {"Хаяг", "Address", "Мекенжай", "Адрес"})) +
        "</th></tr></thead><tbody>";
    for (const auto& entry : entries) {
      body += "<tr><td>" + Escape(FormatRfc3339(entry.at)) + "</td><td>" +
              Escape(entry.event.event) + "</td><td>" + Escape(entry.event.remote_address) +
              "</td></tr>";
    }
    body += "</tbody></table><p><a href=\"" + Escape(Action("/dan/account", lang)) + "\">" +
            std::string(Pick(
                lang, {"Миний бүртгэл", "My account", "Менің тіркелгім", "Моя учётная запись"})) +
            "</a></p>";
    return Page(
        lang,
        Pick(lang, {"Сүүлийн нэвтрэлтүүд", "Recent logins", "Соңғы кірулер", "Последние входы"}),
        body, request.target());
  });
}

// --- Authenticator app and signature key ---------------------------------------------------------

namespace {

http::Response TotpConfirmForm(const http::Request& request, Lang lang, const Session& session,
                               std::string_view before_html, http::Status status) {
  std::string body(before_html);
  body += "<form method=\"post\" action=\"" + Escape(Action("/dan/account/totp", lang)) + "\">" +
          Hidden(kCsrfField, session.csrf) + "<label for=\"code\">" +
          std::string(Pick(lang, {"Апп дахь 6 оронтой код", "The 6-digit code from the app",
                                  "Қолданбадағы 6 таңбалы код", "6-значный код из приложения"})) +
          "</label><input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" "
          "autocomplete=\"one-time-code\" required><button type=\"submit\">" +
          std::string(Pick(lang, {"Баталгаажуулах", "Confirm", "Растау", "Подтвердить"})) +
          "</button></form>";
  return Page(lang,
              Pick(lang, {"Баталгаажуулах апп", "Authenticator app", "Аутентификатор қолданбасы",
                          "Приложение-аутентификатор"}),
              body, request.target(), status);
}

}  // namespace

Result<http::Response> GetTotp(const Pages& pages, http::Request& request) {
  return WithSession(pages, request, [&](const SignedIn& in) -> Result<http::Response> {
    if (auto step_up = NeedStepUp(pages, in, "/dan/account/totp")) return std::move(*step_up);
    const Lang lang = LangOf(request);
    ULUS_ASSIGN_OR_RETURN(auto enrolment, pages.accounts.BeginTotpEnrolment(in.account.id));
    const std::string before =
        "<p>" +
        std::string(Pick(lang, {"Баталгаажуулах аппаараа (Google Authenticator, FreeOTP г.м.) энэ "
                                "QR кодыг уншуулна уу.",
                                "Scan this QR code with an authenticator app (Google "
                                "Authenticator, FreeOTP and the like).",
                                "Осы QR кодты аутентификатор қолданбасымен (Google Authenticator, "
                                "FreeOTP және т.б.) сканерлеңіз.",
                                "Отсканируйте этот QR-код приложением-аутентификатором (Google "
                                "Authenticator, FreeOTP и т. п.)."})) +
        "</p>" + enrolment.qr_svg + "<p>" +
        std::string(Pick(lang, {"Эсвэл түлхүүрийг гараар оруулна уу:", "Or type the key:",
                                "Немесе кілтті қолмен енгізіңіз:", "Или введите ключ вручную:"})) +
        " <code>" + Escape(enrolment.secret_base32) + "</code></p><p><code>" +
        Escape(enrolment.otpauth_uri) + "</code></p>";
    return TotpConfirmForm(request, lang, in.session, before, http::Status::ok);
  });
}

Result<http::Response> PostTotp(const Pages& pages, http::Request& request) {
  return WithSessionForm(
      pages, request, "/dan/account/totp",
      [&](const SignedIn& in, Lang lang, const http::Form& form) -> Result<http::Response> {
        if (auto step_up = NeedStepUp(pages, in, "/dan/account/totp")) return std::move(*step_up);
        auto codes = pages.accounts.ConfirmTotpEnrolment(in.account.id, form.Value("code"),
                                                         ContextOf(request));
        if (!codes.ok()) {
          auto shown = ShowLoginError(lang, codes.error(),
                                      {"Код буруу байна. Апп дахь дараагийн кодыг оруулна уу.",
                                       "The code is wrong. Enter the next code from the app.",
                                       "Код қате. Қолданбадағы келесі кодты енгізіңіз.",
                                       "Код неверный. Введите следующий код из приложения."});
          if (!shown) return std::move(codes).error();
          return TotpConfirmForm(request, lang, in.session, shown->html, shown->status);
        }
        // The code just typed proves the second factor for this session too.
        ULUS_TRY(pages.sessions.Elevate(in.session.id, Assurance::kSubstantial, {"otp"}));
        std::string body =
            Notice(lang,
                   {"Апп тохирлоо. Эдгээр сэргээх кодыг хэвлэж эсвэл бичиж аюулгүй газар хадгална "
                    "уу: утсаа алдвал хэрэгтэй. Дахин харуулахгүй.",
                    "Your app is set up. Print or write down these recovery codes and keep them "
                    "safe: you need them if you lose your phone. They are not shown again.",
                    "Қолданба бапталды. Осы қалпына келтіру кодтарын басып шығарыңыз немесе жазып "
                    "алып, қауіпсіз жерде сақтаңыз: телефоныңызды жоғалтсаңыз, олар қажет болады. "
                    "Олар қайта көрсетілмейді.",
                    "Приложение настроено. Распечатайте или запишите эти коды восстановления и "
                    "храните их в надёжном месте: они понадобятся, если вы потеряете телефон. "
                    "Повторно они не показываются."}) +
            "<ol>";
        for (const auto& code : *codes) body += "<li><code>" + Escape(code) + "</code></li>";
        body += "</ol><p><a href=\"" + Escape(Action("/dan/account", lang)) + "\">" +
                std::string(Pick(lang, {"Миний бүртгэл", "My account", "Менің тіркелгім",
                                        "Моя учётная запись"})) +
                "</a></p>";
        return Page(lang,
                    Pick(lang, {"Сэргээх кодууд", "Recovery codes", "Қалпына келтіру кодтары",
                                "Коды восстановления"}),
                    body, request.target());
      });
}

Result<http::Response> PostSignatureKey(const Pages& pages, http::Request& request) {
  return WithSessionForm(
      pages, request, "/dan/account",
      [&](const SignedIn& in, Lang lang, const http::Form& form) -> Result<http::Response> {
        if (auto step_up = NeedStepUp(pages, in, "/dan/account")) return std::move(*step_up);
        const auto title =
            Pick(lang, {"Гарын үсгийн түлхүүр", "Signature key", "Қолтаңба кілті", "Ключ подписи"});
        const auto jwk = nlohmann::json::parse(form.Value("jwk"), nullptr, false);
        auto kid = jwk.is_object()
                       ? pages.accounts.RegisterSignatureKey(in.account.id, jwk, ContextOf(request))
                       : Result<std::string>(Error::InvalidArgument("not JSON", "jwk"));
        if (!kid.ok()) {
          if (kid.error().code != ErrorCode::kInvalidArgument &&
              kid.error().code != ErrorCode::kAlreadyExists) {
            return std::move(kid).error();
          }
          const std::string body = Notice(lang,
                                          {"Түлхүүрийг хүлээн авсангүй: зөвхөн нийтийн JWK (EC "
                                           "P-256, RSA, Ed25519), бүртгэгдээгүй байх ёстой.",
                                           "The key was refused: send a public JWK (EC P-256, RSA "
                                           "or Ed25519) that is not registered yet.",
                                           "Кілт қабылданбады: әлі тіркелмеген ашық JWK (EC P-256, "
                                           "RSA немесе Ed25519) жіберіңіз.",
                                           "Ключ не принят: отправьте открытый JWK (EC P-256, RSA "
                                           "или Ed25519), который ещё не зарегистрирован."},
                                          "error") +
                                   "<p><a href=\"" + Escape(Action("/dan/account", lang)) + "\">" +
                                   std::string(Pick(lang, {"Буцах", "Back", "Артқа", "Назад"})) +
                                   "</a></p>";
          return Page(lang, title, body, request.target(), http::Status::bad_request);
        }
        return Redirect(Action("/dan/account", lang));
      });
}

// --- Password change ---------------------------------------------------------------------------

namespace {

http::Response PasswordForm(const http::Request& request, Lang lang, const Session& session,
                            std::string_view message_html, http::Status status = http::Status::ok) {
  std::string body(message_html);
  body += "<p>" +
          std::string(Pick(
              lang, {"Нууц үг солиход бусад бүх төхөөрөмж дээрх нэвтрэлт дуусна.",
                     "Changing the password logs you out on every other device.",
                     "Құпиясөзді өзгерткенде басқа барлық құрылғылардағы сеанстар аяқталады.",
                     "После смены пароля на всех остальных устройствах будет выполнен выход."})) +
          "</p><form method=\"post\" action=\"" + Escape(Action("/dan/account/password", lang)) +
          "\">" + Hidden(kCsrfField, session.csrf) + "<label for=\"current_password\">" +
          std::string(Pick(lang, {"Одоогийн нууц үг", "Current password", "Ағымдағы құпиясөз",
                                  "Текущий пароль"})) +
          "</label><input type=\"password\" id=\"current_password\" name=\"current_password\" "
          "autocomplete=\"current-password\" required>" +
          NewPasswordInputs(lang) + "<button type=\"submit\">" +
          std::string(Pick(lang, {"Нууц үг солих", "Change the password", "Құпиясөзді өзгерту",
                                  "Изменить пароль"})) +
          "</button></form><p><a href=\"" + Escape(Action("/dan/account", lang)) + "\">" +
          std::string(Pick(
              lang, {"Миний бүртгэл", "My account", "Менің тіркелгім", "Моя учётная запись"})) +
          "</a></p>";
  return Page(
      lang,
      Pick(lang, {"Нууц үг солих", "Change your password", "Құпиясөзді өзгерту", "Смена пароля"}),
      body, request.target(), status);
}

}  // namespace

Result<http::Response> GetPassword(const Pages& pages, http::Request& request) {
  return WithSession(pages, request, [&](const SignedIn& in) -> Result<http::Response> {
    if (auto step_up = NeedStepUp(pages, in, "/dan/account/password")) return std::move(*step_up);
    return PasswordForm(request, LangOf(request), in.session, {});
  });
}

Result<http::Response> PostPassword(const Pages& pages, http::Request& request) {
  return WithSessionForm(
      pages, request, "/dan/account/password",
      [&](const SignedIn& in, Lang lang, const http::Form& form) -> Result<http::Response> {
        if (auto step_up = NeedStepUp(pages, in, "/dan/account/password"))
          return std::move(*step_up);
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
                             {"Одоогийн нууц үг буруу байна.", "The current password is wrong.",
                              "Ағымдағы құпиясөз қате.", "Неверный текущий пароль."});
          if (!shown) return std::move(changed).error();
          return again(shown->html, shown->status);
        }
        // Every session of the account has ended; this browser gets a fresh one at the level it
        // had.
        ULUS_ASSIGN_OR_RETURN(
            auto created,
            pages.sessions.Create(in.account.id, in.session.assurance, in.session.amr));
        return Redirect(Action("/dan/account", lang) + "&done=password", {created.set_cookie});
      });
}

}  // namespace ulus::identity::dan_pages
