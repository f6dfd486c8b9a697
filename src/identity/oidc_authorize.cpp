// The authorization endpoint, its continuation after login and consent, and RP-initiated logout.

#include <algorithm>
#include <charconv>
#include <chrono>

#include "oidc_provider.hpp"
#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/random.hpp"
#include "ulus/identity/pages.hpp"

namespace ulus::identity {
namespace {

using nlohmann::json;
using oidc::Client;
using std::chrono::seconds;

constexpr size_t kRequestIdBytes = 16;
constexpr size_t kCodeBytes = 32;
constexpr size_t kMaxParamLength = 2048;
constexpr size_t kChallengeLength = 43;  // base64url of a SHA-256
constexpr std::string_view kResumePath = "/oidc/authorize/resume";
// An id_token_hint may have expired long ago; it only names who is logging out.
constexpr seconds kHintLeeway{std::chrono::hours(24 * 365)};

// An authorization request that passed validation, kept while the user logs in and consents.
struct PendingRequest {
  std::string id;
  std::string client_id;
  std::string redirect_uri;
  std::string state;
  std::string nonce;
  std::string code_challenge;
  std::vector<std::string> scopes;
  std::vector<std::string> prompt;
  int64_t max_age = -1;
  Assurance acr = Assurance::kLow;
  TimePoint created;

  [[nodiscard]] json ToJson() const {
    return {{"redirect_uri", redirect_uri},
            {"state", state},
            {"nonce", nonce},
            {"code_challenge", code_challenge},
            {"scope", oidc::JoinScopes(scopes)},
            {"prompt", oidc::JoinScopes(prompt)},
            {"max_age", max_age},
            {"acr", static_cast<int>(acr)}};
  }
  [[nodiscard]] bool Prompts(std::string_view p) const {
    return std::find(prompt.begin(), prompt.end(), p) != prompt.end();
  }
};

bool Contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string ShortAcr(Assurance level) {
  switch (level) {
    case Assurance::kHigh: return "high";
    case Assurance::kSubstantial: return "substantial";
    default: return "low";
  }
}

std::string AppendQuery(std::string uri,
                        const std::vector<std::pair<std::string_view, std::string_view>>& params) {
  char sep = uri.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [name, value] : params) {
    uri += sep;
    uri += name;
    uri += '=';
    uri += http::FormEncode(value);
    sep = '&';
  }
  return uri;
}

http::Response SeeOther(std::string location) {
  http::Response r = http::Response::Text("", "text/plain; charset=utf-8", http::Status::see_other);
  r.headers.emplace_back("Location", std::move(location));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

bool IsBase64Url(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

// The request's parameters: the query string, or the form body of a POST.
Result<http::Form> ParamsOf(const http::Request& request) {
  if (request.method() == http::Method::post) return http::Form::FromRequest(request);
  const std::string_view target = request.target();
  const auto q = target.find('?');
  return http::Form::Parse(q == std::string_view::npos ? std::string_view{} : target.substr(q + 1));
}

// A session id as clients see it ("sid"): derived, so the stored session key never leaves Dan.
std::string PublicSid(std::string_view session_id) {
  const auto digest = crypto::Sha256("dan-sid:" + std::string(session_id));
  return crypto::Base64UrlEncode(std::span<const uint8_t>(digest.data(), 16));
}

struct ScopeText {
  std::string_view scope;
  Text text;
};
constexpr ScopeText kScopeTexts[] = {
    {"openid",
     {"Таныг хэн болохыг мэдэх", "Know who you are", "Сіздің кім екеніңізді білу",
      "Знать, кто вы"}},
    {"profile",
     {"Нэр, төрсөн огноо, хүйс", "Your name, date of birth and gender",
      "Аты-жөніңіз, туған күніңіз және жынысыңыз", "Ваши имя, дата рождения и пол"}},
    {"email",
     {"Цахим шуудангийн хаяг", "Your e-mail address", "Электрондық пошта мекенжайыңыз",
      "Ваш адрес электронной почты"}},
    {"phone", {"Утасны дугаар", "Your phone number", "Телефон нөміріңіз", "Ваш номер телефона"}},
    {"national_id", {"Регистрийн дугаар", "Your national ID number", "ЖСН-іңіз", "Ваш ИИН"}},
    {"documents",
     {"Таны баримт бичгүүдийг харах, хуваалцах", "See and share your signed documents",
      "Қол қойылған құжаттарыңызды көру және бөлісу",
      "Просматривать ваши подписанные документы и делиться ими"}},
    {"services",
     {"Таны өмнөөс үйлчилгээ хүсэх, өргөдлийг тань харах",
      "Apply for services for you and follow your applications",
      "Сіздің атыңыздан қызметтерге өтініш беру және өтініштеріңізді қадағалау",
      "Подавать заявления на услуги от вашего имени и следить за ними"}},
    {"offline_access",
     {"Таныг нэвтрээгүй үед ч хандах эрх", "Keep access while you are signed out",
      "Сіз жүйеден шыққанда да қолжетімділікті сақтау", "Сохранять доступ, когда вы не в системе"}},
};

}  // namespace

namespace {

// The parts of the flow that need the provider; kept out of the header.
class AuthorizeFlow {
 public:
  AuthorizeFlow(OidcProvider::Impl& p, http::Request& request)
      : p_(p), request_(request), lang_(LangOf(request)) {}

  http::Response ErrorPage(const Text& message) {
    const std::string body =
        "<h1>" +
        Escape(Pick(lang_, {"Хүсэлт буруу", "Invalid request", "Қате сұрау", "Неверный запрос"})) +
        "</h1><p>" + Escape(Pick(lang_, message)) + "</p>";
    auto r = Page(lang_, Pick(lang_, {"Алдаа", "Error", "Қате", "Ошибка"}), body, request_.target(),
                  http::Status::bad_request);
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  }

  http::Response ErrorRedirect(const std::string& redirect_uri, const std::string& state,
                               std::string_view error, std::string_view description) {
    std::vector<std::pair<std::string_view, std::string_view>> params = {
        {"error", error}, {"error_description", description}};
    if (!state.empty()) params.emplace_back("state", state);
    params.emplace_back("iss", p_.options.issuer);
    return SeeOther(AppendQuery(redirect_uri, params));
  }

  Result<http::Response> Start() {
    auto parsed = ParamsOf(request_);
    if (!parsed.ok()) {
      return ErrorPage({"Хүсэлтийн параметр буруу.", "The request's parameters are malformed.",
                        "Сұрау параметрлері қате.", "Параметры запроса некорректны."});
    }
    const http::Form& form = *parsed;
    // Until client and redirect URI are known good, errors stay here: never redirect to an
    // address nobody registered.
    if (form.Count("client_id") != 1 || form.Count("redirect_uri") != 1) {
      return ErrorPage({"client_id болон redirect_uri тус бүр нэг удаа байх ёстой.",
                        "client_id and redirect_uri must each be given once.",
                        "client_id және redirect_uri әрқайсысы бір рет қана берілуі керек.",
                        "client_id и redirect_uri должны быть указаны ровно по одному разу."});
    }
    const Client* client = p_.clients.Find(form.Value("client_id"));
    if (client == nullptr) {
      return ErrorPage({"Энэ програмыг Дан танихгүй.", "The application is not known to Dan.",
                        "Бұл қолданба Dan жүйесіне белгісіз.", "Это приложение неизвестно Dan."});
    }
    PendingRequest ar;
    ar.client_id = client->id;
    ar.redirect_uri = form.Value("redirect_uri");
    if (!client->RedirectUriAllowed(ar.redirect_uri)) {
      return ErrorPage({"Буцах хаяг энэ програмд бүртгэгдээгүй байна.",
                        "The redirect address is not registered for this application.",
                        "Қайту мекенжайы бұл қолданба үшін тіркелмеген.",
                        "Адрес возврата не зарегистрирован для этого приложения."});
    }
    ar.state = form.Value("state");
    const auto fail = [&](std::string_view error, std::string_view description) {
      return ErrorRedirect(ar.redirect_uri, ar.state, error, description);
    };
    for (const auto& [name, value] : form.Pairs()) {
      if (form.Count(name) > 1) return fail("invalid_request", "a parameter is repeated");
      if (value.size() > kMaxParamLength) return fail("invalid_request", "a parameter is too long");
    }
    if (form.Get("request")) return fail("request_not_supported", "request objects are not used");
    if (form.Get("request_uri")) {
      return fail("request_uri_not_supported", "request_uri is not supported");
    }
    const auto response_type = form.Get("response_type");
    if (!response_type) return fail("invalid_request", "response_type is missing");
    if (*response_type != "code") {
      return fail("unsupported_response_type", "only the code response type is supported");
    }
    if (const auto mode = form.Get("response_mode"); mode && *mode != "query") {
      return fail("invalid_request", "only response_mode=query is supported");
    }
    if (!client->HasGrant("authorization_code")) {
      return fail("unauthorized_client", "the client may not use the authorization code flow");
    }
    for (const auto& s : oidc::SplitScopes(form.Value("scope"))) {
      if (client->AllowsScope(s))
        ar.scopes.push_back(s);  // others are ignored (OIDC Core §3.1.2.1)
    }
    ar.code_challenge = form.Value("code_challenge");
    const auto method = form.Get("code_challenge_method");
    if (!ar.code_challenge.empty()) {
      if (!method || *method != "S256") {
        return fail("invalid_request", "code_challenge_method must be S256");
      }
      if (ar.code_challenge.size() != kChallengeLength || !IsBase64Url(ar.code_challenge)) {
        return fail("invalid_request", "code_challenge is malformed");
      }
    } else if (method) {
      return fail("invalid_request", "code_challenge_method without code_challenge");
    } else if (client->IsPublic()) {
      return fail("invalid_request", "PKCE (code_challenge with S256) is required");
    }
    ar.nonce = form.Value("nonce");
    ar.prompt = oidc::SplitScopes(form.Value("prompt"));
    for (const auto& prompt : ar.prompt) {
      if (prompt != "none" && prompt != "login" && prompt != "consent" &&
          prompt != "select_account") {
        return fail("invalid_request", "prompt value is unknown");
      }
    }
    if (ar.Prompts("none") && ar.prompt.size() > 1) {
      return fail("invalid_request", "prompt=none cannot be combined");
    }
    if (const auto max_age = form.Get("max_age")) {
      int64_t v = -1;
      const auto [end, ec] = std::from_chars(max_age->data(), max_age->data() + max_age->size(), v);
      if (ec != std::errc() || end != max_age->data() + max_age->size() || v < 0) {
        return fail("invalid_request", "max_age must be a number of seconds");
      }
      ar.max_age = v;
    }
    // acr_values lists acceptable levels in order of preference: the least of them will do.
    std::optional<Assurance> wanted;
    for (const auto& acr : oidc::SplitScopes(form.Value("acr_values"))) {
      if (const auto level = AssuranceFromAcr(acr))
        wanted = std::min(wanted.value_or(*level), *level);
    }
    ar.acr = std::max(wanted.value_or(Assurance::kLow), Assurance::kLow);

    ar.id = crypto::RandomToken(kRequestIdBytes);
    ar.created = p_.clock.Now();
    const store::Value row[] = {ar.id, ar.client_id, ar.ToJson().dump(), ToUnixMicros(ar.created),
                                ToUnixMicros(ar.created + p_.options.auth_request_lifetime)};
    Status stored = p_.db.InTransaction([&](store::Connection& tx) -> Status {
      ULUS_TRY(
          tx.Execute("INSERT INTO dan_auth_request (id, client_id, request, created_at,"
                     " expires_at) VALUES ($1, $2, $3, $4, $5)",
                     row));
      return Ok();
    });
    ULUS_TRY(stored);
    return Continue(*client, ar, false);
  }

  Result<http::Response> Resume(std::string_view id, bool consent_given) {
    ULUS_ASSIGN_OR_RETURN(auto found, Load(id));
    if (!found) {
      return ErrorPage(
          {"Нэвтрэх хүсэлтийн хугацаа дууссан эсвэл дууссан байна. Програмаасаа дахин эхлүүлнэ үү.",
           "This sign-in request has expired or was completed. Start again from the application.",
           "Кіру сұрауының мерзімі өтті немесе ол аяқталған. Қолданбадан қайта бастаңыз.",
           "Срок запроса на вход истёк, или он уже завершён. Начните заново из приложения."});
    }
    const Client* client = p_.clients.Find(found->client_id);
    if (client == nullptr) {
      return ErrorPage({"Програм байхгүй.", "The application is gone.", "Қолданба енді жоқ.",
                        "Приложение больше не существует."});
    }
    return Continue(*client, *found, consent_given);
  }

  Result<http::Response> Decide() {
    auto parsed = http::Form::FromRequest(request_);
    if (!parsed.ok()) {
      return ErrorPage({"Маягт буруу.", "The form is malformed.", "Форма қате толтырылған.",
                        "Форма заполнена некорректно."});
    }
    const http::Form& form = *parsed;
    ULUS_ASSIGN_OR_RETURN(auto session, p_.sessions.FromRequest(request_));
    const std::string csrf = form.Value("csrf");
    if (!session || csrf.empty() ||
        !crypto::ConstantTimeEquals(crypto::AsBytes(csrf), crypto::AsBytes(session->csrf))) {
      return ErrorPage({"Маягтын хугацаа дууссан. Програмаасаа дахин эхлүүлнэ үү.",
                        "The form has expired. Start again from the application.",
                        "Форманың мерзімі өтті. Қолданбадан қайта бастаңыз.",
                        "Срок действия формы истёк. Начните заново из приложения."});
    }
    const std::string decision = form.Value("decision");
    if (decision == "deny") {
      ULUS_ASSIGN_OR_RETURN(auto found, Load(form.Value("ar")));
      if (!found) return Resume(form.Value("ar"), false);  // renders the expiry page
      (void)Delete(found->id);
      return ErrorRedirect(found->redirect_uri, found->state, "access_denied", "the user declined");
    }
    if (decision != "allow") {
      return ErrorPage({"Зөвшөөрөх эсвэл татгалзах.", "Choose allow or deny.",
                        "Рұқсат етіңіз немесе бас тартыңыз.",
                        "Выберите «Разрешить» или «Отказать»."});
    }
    return Resume(form.Value("ar"), true);
  }

 private:
  Result<std::optional<PendingRequest>> Load(std::string_view id) {
    if (id.empty() || id.size() > kMaxParamLength) return std::optional<PendingRequest>();
    ULUS_ASSIGN_OR_RETURN(auto conn, p_.db.Acquire());
    const store::Value key[] = {std::string(id)};
    ULUS_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT client_id, request, created_at, expires_at"
                                                 " FROM dan_auth_request WHERE id = $1",
                                                 key));
    if (rows.empty() || p_.clock.Now() >= FromUnixMicros(rows[0].Int(3))) {
      return std::optional<PendingRequest>();
    }
    const json j = json::parse(rows[0].Text(1), nullptr, false);
    PendingRequest ar;
    ar.id = std::string(id);
    ar.client_id = rows[0].Text(0);
    ar.created = FromUnixMicros(rows[0].Int(2));
    ar.redirect_uri = j.value("redirect_uri", "");
    ar.state = j.value("state", "");
    ar.nonce = j.value("nonce", "");
    ar.code_challenge = j.value("code_challenge", "");
    ar.scopes = oidc::SplitScopes(j.value("scope", ""));
    ar.prompt = oidc::SplitScopes(j.value("prompt", ""));
    ar.max_age = j.value("max_age", int64_t{-1});
    ar.acr = static_cast<Assurance>(std::clamp(j.value("acr", 1), 0, 3));
    return std::optional<PendingRequest>(std::move(ar));
  }

  Status Delete(const std::string& id) {
    return p_.db.InTransaction([&](store::Connection& tx) -> Status {
      const store::Value key[] = {id};
      ULUS_TRY(tx.Execute("DELETE FROM dan_auth_request WHERE id = $1", key));
      return Ok();
    });
  }

  http::Response LoginRedirect(const PendingRequest& ar) {
    const std::string resume = std::string(kResumePath) + "?ar=" + ar.id;
    std::string location = p_.options.login_path + "?return_to=" + http::FormEncode(resume) +
                           "&acr=" + ShortAcr(ar.acr);
    if (ar.Prompts("login")) location += "&prompt=login";
    return SeeOther(std::move(location));
  }

  Result<bool> HasConsent(const std::string& account_id, const PendingRequest& ar) {
    ULUS_ASSIGN_OR_RETURN(auto conn, p_.db.Acquire());
    const store::Value key[] = {account_id, ar.client_id};
    ULUS_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT scope FROM dan_oidc_consent"
                                                 " WHERE account_id = $1 AND client_id = $2",
                                                 key));
    if (rows.empty()) return false;
    const auto granted = oidc::SplitScopes(rows[0].Text(0));
    return std::all_of(ar.scopes.begin(), ar.scopes.end(),
                       [&](const std::string& s) { return Contains(granted, s); });
  }

  http::Response ConsentPage(const Client& client, const PendingRequest& ar,
                             const Session& session) {
    const auto name = Pick(lang_, {client.name_mn, client.name_en, client.name_kk, client.name_ru});
    std::string body =
        "<h1>" + Escape(name) + "</h1><p>" +
        Escape(Pick(lang_, {"Энэ програм таны өмнөөс дараах мэдээллийг авахыг хүсэж байна:",
                            "This application asks for:", "Бұл қолданба мыналарды сұрайды:",
                            "Это приложение запрашивает:"})) +
        "</p><ul>";
    for (const auto& s : ar.scopes) {
      for (const auto& t : kScopeTexts) {
        if (t.scope == s) body += "<li>" + Escape(Pick(lang_, t.text)) + "</li>";
      }
    }
    body += "</ul><form method=\"post\" action=\"" + std::string(kResumePath) +
            "\"><input type=\"hidden\" name=\"ar\" value=\"" + Escape(ar.id) +
            "\"><input type=\"hidden\" name=\"csrf\" value=\"" + Escape(session.csrf) +
            "\"><button type=\"submit\" name=\"decision\" value=\"allow\">" +
            Escape(Pick(lang_, {"Зөвшөөрөх", "Allow", "Рұқсат ету", "Разрешить"})) +
            "</button> <button type=\"submit\" name=\"decision\" value=\"deny\">" +
            Escape(Pick(lang_, {"Татгалзах", "Deny", "Бас тарту", "Отказать"})) +
            "</button></form>";
    auto r = Page(lang_, Pick(lang_, {"Зөвшөөрөл", "Consent", "Келісім", "Согласие"}), body,
                  request_.target());
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  }

  Result<http::Response> Continue(const Client& client, const PendingRequest& ar,
                                  bool consent_given) {
    const TimePoint now = p_.clock.Now();
    ULUS_ASSIGN_OR_RETURN(auto session, p_.sessions.FromRequest(request_));
    const bool need_login = !session || session->assurance < ar.acr ||
                            (ar.Prompts("login") && session->auth_time < ar.created) ||
                            (ar.max_age >= 0 && now - session->auth_time > seconds(ar.max_age));
    if (need_login) {
      if (ar.Prompts("none")) {
        return ErrorRedirect(ar.redirect_uri, ar.state, "login_required", "the user must log in");
      }
      return LoginRedirect(ar);
    }
    ULUS_ASSIGN_OR_RETURN(auto account, p_.accounts.FindById(session->account_id));
    if (!account || account->status != "active") {
      return ErrorRedirect(ar.redirect_uri, ar.state, "access_denied", "the account is not active");
    }
    if (!client.first_party) {
      if (consent_given) {
        ULUS_TRY(RememberConsent(session->account_id, ar));
      } else {
        bool consented = false;
        if (!ar.Prompts("consent")) {
          ULUS_ASSIGN_OR_RETURN(consented, HasConsent(account->id, ar));
        }
        if (!consented) {
          if (ar.Prompts("none")) {
            return ErrorRedirect(ar.redirect_uri, ar.state, "consent_required",
                                 "the user has not consented");
          }
          return ConsentPage(client, ar, *session);
        }
      }
    }
    return IssueCode(client, ar, *session);
  }

  Status RememberConsent(const std::string& account_id, const PendingRequest& ar) {
    return p_.db.InTransaction([&](store::Connection& tx) -> Status {
      const store::Value key[] = {account_id, ar.client_id};
      ULUS_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT scope FROM dan_oidc_consent"
                                                " WHERE account_id = $1 AND client_id = $2",
                                                key));
      auto scopes = rows.empty() ? std::vector<std::string>() : oidc::SplitScopes(rows[0].Text(0));
      for (const auto& s : ar.scopes) {
        if (!Contains(scopes, s)) scopes.push_back(s);
      }
      const store::Value row[] = {account_id, ar.client_id, oidc::JoinScopes(scopes),
                                  ToUnixMicros(p_.clock.Now())};
      ULUS_TRY(
          tx.Execute("INSERT INTO dan_oidc_consent (account_id, client_id, scope, granted_at)"
                     " VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, client_id)"
                     " DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
                     row));
      return p_.audit.Record(tx, {.event = "oidc.consent.granted",
                                  .account_id = account_id,
                                  .client_id = ar.client_id,
                                  .remote_address = request_.remote_address(),
                                  .detail = {{"scope", oidc::JoinScopes(ar.scopes)}}});
    });
  }

  Result<http::Response> IssueCode(const Client& client, const PendingRequest& ar,
                                   const Session& session) {
    const TimePoint now = p_.clock.Now();
    OidcGrant grant;
    grant.account_id = session.account_id;
    grant.scopes = ar.scopes;
    grant.assurance = session.assurance;
    grant.amr = session.amr;
    grant.auth_time =
        std::chrono::duration_cast<seconds>(session.auth_time.time_since_epoch()).count();
    grant.nonce = ar.nonce;
    grant.sid = PublicSid(session.id);
    const std::string code = crypto::RandomToken(kCodeBytes);
    bool fresh = false;
    Status issued = p_.db.InTransaction([&](store::Connection& tx) -> Status {
      const store::Value key[] = {ar.id};
      ULUS_ASSIGN_OR_RETURN(const int64_t deleted,
                            tx.Execute("DELETE FROM dan_auth_request WHERE id = $1", key));
      fresh = deleted == 1;
      if (!fresh) return Ok();  // completed by a concurrent request: one code per request
      const store::Value row[] = {crypto::HexEncode(crypto::Sha256(code)),
                                  client.id,
                                  ar.redirect_uri,
                                  ar.code_challenge,
                                  grant.ToJson().dump(),
                                  ToUnixMicros(now),
                                  ToUnixMicros(now + p_.options.code_lifetime)};
      ULUS_TRY(
          tx.Execute("INSERT INTO dan_auth_code (code_sha256, client_id, redirect_uri,"
                     " code_challenge, grant_data, created_at, expires_at)"
                     " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                     row));
      return p_.audit.Record(tx, {.event = "oidc.code.issued",
                                  .account_id = session.account_id,
                                  .client_id = client.id,
                                  .remote_address = request_.remote_address(),
                                  .detail = {{"scope", oidc::JoinScopes(ar.scopes)},
                                             {"acr", AcrValue(session.assurance)}}});
    });
    ULUS_TRY(issued);
    if (!fresh) {
      return ErrorPage({"Энэ нэвтрэх хүсэлт аль хэдийн дууссан.",
                        "This sign-in request was already completed.",
                        "Бұл кіру сұрауы бұрын аяқталған.", "Этот запрос на вход уже завершён."});
    }
    p_.Housekeeping();
    std::vector<std::pair<std::string_view, std::string_view>> params = {{"code", code}};
    if (!ar.state.empty()) params.emplace_back("state", ar.state);
    params.emplace_back("iss", p_.options.issuer);
    return SeeOther(AppendQuery(ar.redirect_uri, params));
  }

  OidcProvider::Impl& p_;
  http::Request& request_;
  Lang lang_;
};

}  // namespace

Result<http::Response> OidcProvider::Impl::Authorize(http::Request& request) {
  return AuthorizeFlow(*this, request).Start();
}

Result<http::Response> OidcProvider::Impl::ResumeGet(http::Request& request) {
  return AuthorizeFlow(*this, request).Resume(request.Query("ar").value_or(""), false);
}

Result<http::Response> OidcProvider::Impl::ResumePost(http::Request& request) {
  return AuthorizeFlow(*this, request).Decide();
}

Result<http::Response> OidcProvider::Impl::Logout(http::Request& request) {
  AuthorizeFlow flow(*this, request);
  const Lang lang = LangOf(request);
  auto parsed = ParamsOf(request);
  if (!parsed.ok()) {
    return flow.ErrorPage(
        {"Хүсэлт буруу.", "The request is malformed.", "Сұрау қате.", "Некорректный запрос."});
  }
  const http::Form& form = *parsed;
  const std::string hint = form.Value("id_token_hint");
  const std::string post_logout = form.Value("post_logout_redirect_uri");
  const std::string state = form.Value("state");
  std::string client_id = form.Value("client_id");
  std::string hinted_sub;
  if (!hint.empty()) {
    crypto::JwtPolicy policy;
    policy.issuer = options.issuer;
    policy.leeway = kHintLeeway;
    auto verified = crypto::VerifyJwt(hint, keys, policy, clock);
    if (!verified.ok() || !verified->claims.contains("aud") ||
        !verified->claims["aud"].is_string()) {
      return flow.ErrorPage({"id_token_hint буруу байна.",
                             "The id_token_hint is not an ID token Dan issued.",
                             "id_token_hint Dan берген ID токен емес.",
                             "id_token_hint не является ID-токеном, выданным Dan."});
    }
    const std::string aud = verified->claims["aud"].get<std::string>();
    if (!client_id.empty() && client_id != aud) {
      return flow.ErrorPage({"client_id таарахгүй байна.",
                             "client_id does not match the id_token_hint.",
                             "client_id мәні id_token_hint-ке сәйкес емес.",
                             "client_id не совпадает с id_token_hint."});
    }
    client_id = aud;
    hinted_sub = verified->claims.value("sub", "");
  }
  const Client* client = client_id.empty() ? nullptr : clients.Find(client_id);
  if (!client_id.empty() && client == nullptr) {
    return flow.ErrorPage({"Энэ програмыг Дан танихгүй.", "The application is not known to Dan.",
                           "Бұл қолданба Dan жүйесіне белгісіз.",
                           "Это приложение неизвестно Dan."});
  }
  if (!post_logout.empty() && (client == nullptr || !client->PostLogoutUriAllowed(post_logout))) {
    return flow.ErrorPage({"Гарсны дараа буцах хаяг бүртгэгдээгүй байна.",
                           "The address to return to after logout is not registered.",
                           "Шыққаннан кейін қайту мекенжайы тіркелмеген.",
                           "Адрес возврата после выхода не зарегистрирован."});
  }
  ULUS_ASSIGN_OR_RETURN(auto session, sessions.FromRequest(request));
  // Without a hint naming this user, a page could log people out by embedding the URL; ask.
  const bool confirmed = (session && !hinted_sub.empty() && hinted_sub == session->account_id) ||
                         (request.method() == http::Method::post && session &&
                          crypto::ConstantTimeEquals(crypto::AsBytes(form.Value("csrf")),
                                                     crypto::AsBytes(session->csrf)));
  if (session && !confirmed) {
    std::string body = "<h1>" +
                       Escape(Pick(lang, {"Гарах уу?", "Log out?", "Шығасыз ба?", "Выйти?"})) +
                       "</h1><form method=\"post\" action=\"/oidc/logout\">";
    const auto hidden = [&](std::string_view name, const std::string& value) {
      if (!value.empty()) {
        body += "<input type=\"hidden\" name=\"" + std::string(name) + "\" value=\"" +
                Escape(value) + "\">";
      }
    };
    hidden("csrf", session->csrf);
    hidden("client_id", client_id);
    hidden("post_logout_redirect_uri", post_logout);
    hidden("state", state);
    body += "<button type=\"submit\">" + Escape(Pick(lang, {"Гарах", "Log out", "Шығу", "Выйти"})) +
            "</button></form>";
    return Page(lang, Pick(lang, {"Гарах", "Log out", "Шығу", "Выйти"}), body, request.target());
  }
  http::Response response;
  if (!post_logout.empty()) {
    std::vector<std::pair<std::string_view, std::string_view>> params;
    if (!state.empty()) params.emplace_back("state", state);
    response = SeeOther(AppendQuery(post_logout, params));
  } else {
    response =
        Page(lang, Pick(lang, {"Гарлаа", "Logged out", "Жүйеден шықтыңыз", "Выход выполнен"}),
             "<h1>" +
                 Escape(Pick(lang, {"Та системээс гарлаа.", "You are logged out.",
                                    "Сіз жүйеден шықтыңыз.", "Вы вышли из системы."})) +
                 "</h1>",
             request.target());
  }
  if (session) {
    ULUS_TRY(sessions.Destroy(session->id));
    ULUS_TRY(audit.Record({.event = "oidc.logout",
                           .account_id = session->account_id,
                           .client_id = client_id,
                           .remote_address = request.remote_address(),
                           .detail = {{"sid", PublicSid(session->id)}}}));
    response.headers.emplace_back("Set-Cookie", sessions.ClearCookie());
  }
  return response;
}

}  // namespace ulus::identity
