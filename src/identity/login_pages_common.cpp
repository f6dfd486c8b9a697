#include "login_pages_common.hpp"

#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/random.hpp"

namespace ulus::identity::dan_pages {
namespace {

constexpr std::string_view kCsrfCookie = "dan_csrf";
constexpr size_t kCsrfTokenBytes = 24;

bool TokensEqual(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty() || a.size() != b.size()) return false;
  return crypto::ConstantTimeEquals(crypto::AsBytes(a), crypto::AsBytes(b));
}

bool PreLoginCsrfOk(const http::Request& request, const http::Form& form) {
  const auto cookie = http::CookieValue(request, kCsrfCookie);
  return cookie && TokensEqual(*cookie, form.Value(kCsrfField));
}

std::string FlowQuery(const std::string& return_to, Assurance need) {
  std::string query = "acr=" + ShortAcr(need);
  if (!return_to.empty()) query += "&return_to=" + http::FormEncode(return_to);
  return query;
}

std::string LoginUrlFor(const http::Request& request) {
  return "/dan/login?return_to=" + http::FormEncode(request.target());
}

}  // namespace

AttemptContext ContextOf(const http::Request& request) {
  return AttemptContext{request.remote_address(), {}};
}

std::string Hidden(std::string_view name, std::string_view value) {
  return "<input type=\"hidden\" name=\"" + Escape(name) + "\" value=\"" + Escape(value) + "\">";
}

std::string Action(std::string_view path, Lang lang) {
  return std::string(path) + "?lang=" + std::string(LangCode(lang));
}

std::string Notice(Lang lang, const Text& text, std::string_view css) {
  return "<p class=\"" + std::string(css) + "\" role=\"" +
         (css == "error" ? std::string("alert") : std::string("status")) + "\">" +
         Escape(Pick(lang, text)) + "</p>";
}

http::Response Redirect(std::string location, const std::vector<std::string>& cookies) {
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

bool SessionCsrfOk(const Session& session, const http::Form& form) {
  return TokensEqual(session.csrf, form.Value(kCsrfField));
}

http::Response Forbidden(Lang lang, std::string_view target, std::string_view back) {
  const std::string body =
      Notice(lang,
             {"Маягтын хугацаа дууссан эсвэл өөр сайтаас илгээгдсэн. Хуудсыг дахин ачаалаад "
              "оролдоно уу.",
              "The form has expired or was sent from another site. Reload the page and try again.",
              "Форманың мерзімі өтті немесе ол басқа сайттан жіберілді. Бетті қайта жүктеп, "
              "қайталап көріңіз.",
              "Срок действия формы истёк, или она отправлена с другого сайта. Обновите страницу и "
              "попробуйте снова."},
             "error") +
      "<p><a href=\"" + Escape(back) + "\">" +
      std::string(Pick(lang, {"Буцах", "Back", "Артқа", "Назад"})) + "</a></p>";
  return Page(lang,
              Pick(lang, {"Хүсэлтийг татгалзлаа", "Request refused", "Сұрау қабылданбады",
                          "Запрос отклонён"}),
              body, target, http::Status::forbidden);
}

Result<std::variant<http::Form, http::Response>> PreLoginForm(const Pages& pages,
                                                              const http::Request& request,
                                                              Lang lang, std::string_view back) {
  using Out = std::variant<http::Form, http::Response>;
  ULUS_ASSIGN_OR_RETURN(auto form, http::Form::FromRequest(request));
  if (!PreLoginCsrfOk(request, form)) {
    auto response = Forbidden(lang, request.target(), Action(back, lang));
    AddCookie(response, PreLoginCsrf(request, pages.sessions).set_cookie);
    return Out(std::move(response));
  }
  return Out(std::move(form));
}

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
      std::string html =
          Notice(lang,
                 {"Хэт олон удаа буруу оролдлоо. Түр хүлээгээд дахин оролдоно уу.",
                  "Too many failed attempts. Wait a while and try again.",
                  "Сәтсіз әрекеттер тым көп. Біраз күтіп, қайталап көріңіз.",
                  "Слишком много неудачных попыток. Подождите немного и попробуйте снова."},
                 "error");
      if (!seconds.empty()) {
        html += "<p>" +
                std::string(Pick(lang, {"Хүлээх хугацаа (секунд): ", "Wait (seconds): ",
                                        "Күту уақыты (секунд): ", "Время ожидания (секунд): "})) +
                seconds + "</p>";
      }
      return ShownError{html, http::Status::too_many_requests};
    }
    case ErrorCode::kPermissionDenied:
      return ShownError{Notice(lang,
                               {"Энэ бүртгэл идэвхгүй байна.", "This account is disabled.",
                                "Бұл тіркелгі өшірілген.", "Эта учётная запись отключена."},
                               "error"),
                        http::Status::forbidden};
    case ErrorCode::kFailedPrecondition:
    case ErrorCode::kConflict:
      return ShownError{Notice(lang,
                               {"Энэ алхмыг одоо хийх боломжгүй. Эхнээс нь дахин оролдоно уу.",
                                "This step cannot be done now. Start again.",
                                "Бұл қадамды қазір орындау мүмкін емес. Басынан бастаңыз.",
                                "Этот шаг сейчас выполнить нельзя. Начните заново."},
                               "error"),
                        http::Status::conflict};
    default: return std::nullopt;
  }
}

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

std::string NationalIdInput(Lang lang, bool username, std::optional<std::string_view> value) {
  std::string html = "<label for=\"national_id\">" +
                     std::string(Pick(lang, {"Регистрийн дугаар", "National ID", "ЖСН", "ИИН"})) +
                     "</label><input type=\"text\" id=\"national_id\" name=\"national_id\" ";
  if (username) html += "autocomplete=\"username\" ";
  html += "required";
  if (value) html += " value=\"" + Escape(*value) + "\"";
  return html + ">";
}

std::string MessageCodeInput(Lang lang) {
  return "<label for=\"code\">" +
         std::string(Pick(lang, {"Мессежээр ирсэн код", "The code from the message",
                                 "Хабарламадағы код", "Код из сообщения"})) +
         "</label><input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" "
         "autocomplete=\"one-time-code\" required>";
}

std::string NewPasswordInputs(Lang lang) {
  return "<label for=\"password\">" +
         std::string(Pick(
             lang, {"Шинэ нууц үг (дор хаяж 12 тэмдэгт)", "New password (at least 12 characters)",
                    "Жаңа құпиясөз (кемінде 12 таңба)", "Новый пароль (не менее 12 символов)"})) +
         "</label><input type=\"password\" id=\"password\" name=\"password\" "
         "autocomplete=\"new-password\" required><label for=\"password_again\">" +
         std::string(Pick(lang, {"Нууц үгээ давтана уу", "The password again",
                                 "Құпиясөзді қайталаңыз", "Повторите пароль"})) +
         "</label><input type=\"password\" id=\"password_again\" name=\"password_again\" "
         "autocomplete=\"new-password\" required>";
}

}  // namespace ulus::identity::dan_pages
