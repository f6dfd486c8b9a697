#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/jose.hpp"
#include "ulus/crypto/sealed.hpp"
#include "ulus/http/form.hpp"
#include "ulus/http/problem.hpp"
#include "ulus/identity/oidc.hpp"
#include "ulus/identity/pages.hpp"

namespace ulus::identity {
namespace {

namespace fs = std::filesystem;
using http::Method;
using nlohmann::json;
using std::chrono::seconds;

constexpr const char* kIssuer = "https://dan.example.mn";
constexpr const char* kPortalCallback = "https://portal.example.mn/callback";
constexpr const char* kShopCallback = "https://shop.example.mn/cb";
constexpr const char* kAccount = "0190a000-0000-7000-8000-000000000001";
// A PKCE verifier and its S256 challenge.
constexpr const char* kVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
constexpr const char* kChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

class FakeAccounts final : public AccountDirectory {
 public:
  Result<std::optional<Account>> FindById(std::string_view id) const override {
    if (id != kAccount) return std::optional<Account>();
    Account a;
    a.id = kAccount;
    a.national_id = "УБ90041212";
    a.status = "active";
    return std::optional<Account>(a);
  }
  Result<std::optional<Account>> FindByNationalId(std::string_view) const override {
    return std::optional<Account>();
  }
  Result<std::vector<Role>> Roles(std::string_view) const override { return std::vector<Role>{}; }
};

class FakePeople final : public PersonDirectory {
 public:
  Result<std::optional<Person>> Find(std::string_view national_id) const override {
    Person p;
    p.national_id = std::string(national_id);
    p.given_name = "Сарангэрэл";
    p.family_name = "Батын";
    p.birth_date = "1990-04-12";
    p.sex = "F";
    p.phone = "+97699112233";
    return std::optional<Person>(p);
  }
};

struct Answer {
  int status = 0;
  std::string body;
  json json_body;
  std::map<std::string, std::string> headers;
  [[nodiscard]] std::string Header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  [[nodiscard]] std::string Location() const { return Header("Location"); }
};

// The value of query parameter `name` in `url`.
std::string QueryParam(const std::string& url, const std::string& name) {
  const auto q = url.find('?');
  if (q == std::string::npos) return "";
  auto form = http::Form::Parse(std::string_view(url).substr(q + 1));
  return form.ok() ? form->Value(name) : "";
}

json JwtClaims(const std::string& token) {
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  auto bytes = crypto::Base64UrlDecode(token.substr(first + 1, second - first - 1));
  return json::parse(std::string(bytes->begin(), bytes->end()));
}

std::string B64(std::string_view text) {
  return crypto::Base64UrlEncode(crypto::AsBytes(text));
}

class OidcFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ulus-oidc-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto db = store::Database::Open({.url = "sqlite:" + dir_ + "/dan.db"});
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(db).value();
    ASSERT_TRUE(store::Migrate(*db_, "dan_session", Sessions::Migrations()).ok());
    ASSERT_TRUE(store::Migrate(*db_, "dan_audit", AuditLog::Migrations()).ok());
    auto keys = KeyStore::Open(*db_, crypto::MasterKey::Generate(), {}, clock_);
    ASSERT_TRUE(keys.ok()) << keys.error().ToString();
    keys_ = std::move(keys).value();
    sessions_ = std::make_unique<Sessions>(*db_, SessionOptions{}, clock_);
    audit_ = std::make_unique<AuditLog>(*db_, clock_);
    std::ofstream(dir_ + "/clients.yaml") << R"(
clients:
  - client_id: tax
    name: {mn: "Татвар", en: "Tax office"}
    type: confidential
    redirect_uris: [https://tax.example.mn/cb]
    grant_types: [authorization_code, refresh_token, client_credentials]
    scopes: [openid, profile, offline_access]
    agency: TAX
  - client_id: shop
    name: {mn: "Дэлгүүр", en: "Shop", kk: "Дүкен", ru: "Магазин"}
    type: confidential
    redirect_uris: [https://shop.example.mn/cb]
    post_logout_redirect_uris: [https://shop.example.mn/bye]
    grant_types: [authorization_code, refresh_token]
    scopes: [openid, profile, phone, national_id, offline_access]
    id_token_signed_response_alg: EdDSA
)";
    OidcOptions options;
    options.issuer = kIssuer;
    options.clients_file = dir_ + "/clients.yaml";
    options.secrets_dir = dir_ + "/secrets";
    options.portal_redirect_uris = {kPortalCallback};
    auto provider =
        OidcProvider::Open(*db_, *keys_, accounts_, people_, *sessions_, *audit_, options, clock_);
    ASSERT_TRUE(provider.ok()) << provider.error().ToString();
    provider_ = std::move(provider).value();
    provider_->Mount(router_);
  }

  void TearDown() override {
    provider_.reset();
    keys_.reset();
    db_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::string Secret(const std::string& client) {
    std::ifstream in(dir_ + "/secrets/" + client + ".secret");
    std::string secret;
    in >> secret;
    return secret;
  }

  Answer Call(Method method, const std::string& target, const std::string& body = "",
              std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::BeastRequest message{method, target, 11};
    for (const auto& [name, value] : headers) message.set(name, value);
    if (!body.empty()) {
      message.set("Content-Type", "application/x-www-form-urlencoded");
      message.body() = body;
    }
    message.prepare_payload();
    http::Request request(std::move(message), "192.0.2.7");
    auto match = router_.Find(method, request.path());
    Answer a;
    if (match.handler == nullptr) return a;
    request.SetParams(match.params);
    request.SetRoutePattern(match.pattern);
    auto result = (*match.handler)(request);
    const http::Response response =
        result.ok() ? std::move(result).value() : http::Problem(result.error(), target);
    a.status = static_cast<int>(response.status);
    a.body = response.body;
    a.json_body = json::parse(response.body, nullptr, false);
    for (const auto& [name, value] : response.headers) a.headers[name] = value;
    return a;
  }

  Answer Post(const std::string& target, const std::string& body,
              std::vector<std::pair<std::string, std::string>> headers = {}) {
    return Call(Method::post, target, body, std::move(headers));
  }

  // A logged-in browser's Cookie header.
  std::string Login(Assurance level = Assurance::kLow) {
    auto created = sessions_->Create(kAccount, level, {"pwd"});
    EXPECT_TRUE(created.ok());
    session_ = created->session;
    return created->set_cookie.substr(0, created->set_cookie.find(';'));
  }

  std::string AuthorizeUrl(const std::string& client, const std::string& redirect,
                           const std::string& extra = "") {
    return "/oidc/authorize?response_type=code&client_id=" + client +
           "&redirect_uri=" + http::FormEncode(redirect) +
           "&scope=openid%20profile%20phone%20national_id&state=st4te&nonce=n0nce" + extra;
  }
  std::string PkceUrl(const std::string& client, const std::string& redirect,
                      const std::string& extra = "") {
    return AuthorizeUrl(
        client, redirect,
        std::string("&code_challenge=") + kChallenge + "&code_challenge_method=S256" + extra);
  }

  // Runs the portal's flow through to a code.
  std::string PortalCode(const std::string& cookie, const std::string& extra = "") {
    const Answer a =
        Call(Method::get, PkceUrl("ulus-portal", kPortalCallback, extra), "", {{"Cookie", cookie}});
    EXPECT_EQ(a.status, 303);
    EXPECT_EQ(QueryParam(a.Location(), "state"), "st4te");
    EXPECT_EQ(QueryParam(a.Location(), "iss"), kIssuer);
    return QueryParam(a.Location(), "code");
  }

  Answer Exchange(const std::string& code, const std::string& client = "ulus-portal",
                  const std::string& verifier = kVerifier,
                  const std::string& redirect = kPortalCallback) {
    std::string body = "grant_type=authorization_code&code=" + http::FormEncode(code) +
                       "&redirect_uri=" + http::FormEncode(redirect) + "&client_id=" + client;
    if (!verifier.empty()) body += "&code_verifier=" + verifier;
    if (client == "tax" || client == "shop") body += "&client_secret=" + Secret(client);
    return Post("/oidc/token", body);
  }

  Answer Introspect(const std::string& token) {
    return Post("/oidc/introspect", "token=" + http::FormEncode(token) +
                                        "&client_id=tax&client_secret=" + Secret("tax"));
  }

  Answer Refresh(const std::string& token, const std::string& extra = "") {
    return Post("/oidc/token", "grant_type=refresh_token&client_id=ulus-portal&refresh_token=" +
                                   http::FormEncode(token) + extra);
  }

  std::string dir_;
  ManualClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<KeyStore> keys_;
  std::unique_ptr<Sessions> sessions_;
  std::unique_ptr<AuditLog> audit_;
  FakeAccounts accounts_;
  FakePeople people_;
  std::unique_ptr<OidcProvider> provider_;
  http::Router router_;
  Session session_;
};

TEST_F(OidcFlowTest, DiscoveryAndKeys) {
  const Answer d = Call(Method::get, "/.well-known/openid-configuration");
  ASSERT_EQ(d.status, 200);
  EXPECT_EQ(d.json_body["issuer"], kIssuer);
  EXPECT_EQ(d.json_body["token_endpoint"], std::string(kIssuer) + "/oidc/token");
  EXPECT_EQ(d.json_body["code_challenge_methods_supported"], json({"S256"}));
  EXPECT_EQ(d.json_body["authorization_response_iss_parameter_supported"], true);
  EXPECT_EQ(d.json_body["acr_values_supported"].size(), 3u);
  const Answer k = Call(Method::get, "/oidc/jwks");
  ASSERT_EQ(k.status, 200);
  EXPECT_EQ(k.json_body["keys"].size(), 3u);
  EXPECT_FALSE(k.Header("Cache-Control").empty());
}

TEST_F(OidcFlowTest, SecretsAreGeneratedPrivately) {
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/secrets/tax.secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(Secret("tax").size(), 43u);
}

TEST_F(OidcFlowTest, CodeFlowWithPkceLoginUserinfoAndIntrospection) {
  // No session: to the login page, which returns to the pending request.
  const Answer start = Call(Method::get, PkceUrl("ulus-portal", kPortalCallback));
  ASSERT_EQ(start.status, 303);
  const std::string login = start.Location();
  ASSERT_TRUE(login.starts_with("/dan/login?return_to=")) << login;
  EXPECT_EQ(QueryParam(login, "acr"), "low");
  const std::string resume = QueryParam(login, "return_to");
  ASSERT_TRUE(resume.starts_with("/oidc/authorize/resume?ar=")) << resume;

  const std::string cookie = Login();
  const Answer back = Call(Method::get, resume, "", {{"Cookie", cookie}});
  ASSERT_EQ(back.status, 303) << back.body;
  ASSERT_TRUE(back.Location().starts_with(std::string(kPortalCallback) + "?code="));
  EXPECT_EQ(QueryParam(back.Location(), "state"), "st4te");
  const std::string code = QueryParam(back.Location(), "code");

  const Answer tokens = Exchange(code);
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  EXPECT_EQ(tokens.headers.at("Cache-Control"), "no-store");
  EXPECT_EQ(tokens.json_body["token_type"], "Bearer");
  const std::string access = tokens.json_body["access_token"];
  const json id = JwtClaims(tokens.json_body["id_token"]);
  EXPECT_EQ(id["iss"], kIssuer);
  EXPECT_EQ(id["sub"], kAccount);
  EXPECT_EQ(id["aud"], "ulus-portal");
  EXPECT_EQ(id["nonce"], "n0nce");
  EXPECT_EQ(id["acr"], AcrValue(Assurance::kLow));
  EXPECT_EQ(id["amr"], json({"pwd"}));
  EXPECT_EQ(id["given_name"], "Сарангэрэл");
  EXPECT_EQ(id["gender"], "female");
  EXPECT_EQ(id["national_id"], "УБ90041212");
  EXPECT_EQ(id["phone_number"], "+97699112233");
  EXPECT_TRUE(id.contains("sid"));
  const auto digest = crypto::Sha256(access);
  EXPECT_EQ(id["at_hash"], crypto::Base64UrlEncode(std::span<const uint8_t>(digest.data(), 16)));
  const json at = JwtClaims(access);
  EXPECT_EQ(at["client_id"], "ulus-portal");
  EXPECT_EQ(at["sub"], kAccount);
  EXPECT_TRUE(at.contains("jti"));
  EXPECT_TRUE(tokens.json_body.contains("refresh_token"));

  const Answer info =
      Call(Method::get, "/oidc/userinfo", "", {{"Authorization", "Bearer " + access}});
  ASSERT_EQ(info.status, 200) << info.body;
  EXPECT_EQ(info.json_body["sub"], kAccount);
  EXPECT_EQ(info.json_body["family_name"], "Батын");

  const Answer intro = Introspect(access);
  ASSERT_EQ(intro.status, 200);
  EXPECT_EQ(intro.json_body["active"], true);
  EXPECT_EQ(intro.json_body["client_id"], "ulus-portal");

  auto verified = provider_->VerifyAccessToken(access);
  ASSERT_TRUE(verified.ok()) << verified.error().ToString();
  EXPECT_EQ(verified->subject, kAccount);
  EXPECT_TRUE(verified->HasScope("profile"));

  auto audit = audit_->List(kAccount, "oidc.", 10);
  ASSERT_TRUE(audit.ok());
  EXPECT_GE(audit->size(), 2u);
}

TEST_F(OidcFlowTest, PkceIsCheckedAndCodesAreSingleUse) {
  const std::string cookie = Login();
  EXPECT_EQ(Exchange(PortalCode(cookie), "ulus-portal", "").json_body["error"], "invalid_grant");
  EXPECT_EQ(Exchange(PortalCode(cookie), "ulus-portal", std::string(43, 'a')).json_body["error"],
            "invalid_grant");

  const std::string code = PortalCode(cookie);
  const Answer first = Exchange(code);
  ASSERT_EQ(first.status, 200);
  const std::string access = first.json_body["access_token"];
  const std::string refresh = first.json_body["refresh_token"];
  ASSERT_EQ(Introspect(access).json_body["active"], true);

  const Answer replay = Exchange(code);
  EXPECT_EQ(replay.status, 400);
  EXPECT_EQ(replay.json_body["error"], "invalid_grant");
  // What the code bought is revoked.
  EXPECT_EQ(Introspect(access).json_body["active"], false);
  EXPECT_FALSE(provider_->VerifyAccessToken(access).ok());
  EXPECT_EQ(Refresh(refresh).json_body["error"], "invalid_grant");
}

TEST_F(OidcFlowTest, ExpiredCodeAndRedirectMismatchAreRefused) {
  const std::string cookie = Login();
  const std::string code = PortalCode(cookie);
  clock_.Advance(seconds(61));
  EXPECT_EQ(Exchange(code).json_body["error"], "invalid_grant");
  const std::string other = PortalCode(cookie);
  EXPECT_EQ(Exchange(other, "ulus-portal", kVerifier, "https://portal.example.mn/other")
                .json_body["error"],
            "invalid_grant");
}

TEST_F(OidcFlowTest, CodeOfOneClientIsRefusedToAnother) {
  const std::string cookie = Login();
  const std::string code = PortalCode(cookie);
  const Answer stolen = Exchange(code, "tax", kVerifier, kPortalCallback);
  EXPECT_EQ(stolen.status, 400);
  EXPECT_EQ(stolen.json_body["error"], "invalid_grant");
}

TEST_F(OidcFlowTest, BadClientOrRedirectIsAPageNeverARedirect) {
  const std::string cookie = Login();
  for (const std::string& url :
       {AuthorizeUrl("nobody", kPortalCallback), AuthorizeUrl("ulus-portal", "https://evil.mn/cb"),
        AuthorizeUrl("ulus-portal", std::string(kPortalCallback) + "/../x"),
        AuthorizeUrl("ulus-portal", std::string(kPortalCallback) + "?next=https://evil.mn"),
        std::string("/oidc/authorize?response_type=code&client_id=ulus-portal")}) {
    const Answer a = Call(Method::get, url, "", {{"Cookie", cookie}});
    EXPECT_EQ(a.status, 400) << url;
    EXPECT_EQ(a.Location(), "") << url;
  }
}

TEST_F(OidcFlowTest, PublicClientsMustUseS256) {
  const Answer none = Call(Method::get, AuthorizeUrl("ulus-portal", kPortalCallback));
  ASSERT_EQ(none.status, 303);
  EXPECT_EQ(QueryParam(none.Location(), "error"), "invalid_request");
  EXPECT_EQ(QueryParam(none.Location(), "state"), "st4te");
  EXPECT_EQ(QueryParam(none.Location(), "iss"), kIssuer);
  const Answer plain = Call(Method::get, AuthorizeUrl("ulus-portal", kPortalCallback,
                                                      "&code_challenge=" + std::string(kVerifier) +
                                                          "&code_challenge_method=plain"));
  EXPECT_EQ(QueryParam(plain.Location(), "error"), "invalid_request");
  const Answer token = Call(Method::get,
                            "/oidc/authorize?response_type=token&client_id=ulus-portal"
                            "&state=st4te&redirect_uri=" +
                                http::FormEncode(kPortalCallback));
  EXPECT_EQ(QueryParam(token.Location(), "error"), "unsupported_response_type");
}

TEST_F(OidcFlowTest, RefreshRotatesAndReuseRevokesTheFamily) {
  const std::string cookie = Login();
  const Answer first = Exchange(PortalCode(cookie));
  const std::string r1 = first.json_body["refresh_token"];
  const Answer second = Refresh(r1);
  ASSERT_EQ(second.status, 200) << second.body;
  const std::string r2 = second.json_body["refresh_token"];
  EXPECT_NE(r1, r2);
  EXPECT_EQ(JwtClaims(second.json_body["id_token"])["sub"], kAccount);
  // Narrower scope is allowed, wider is not.
  const Answer narrow = Refresh(r2, "&scope=openid");
  ASSERT_EQ(narrow.status, 200) << narrow.body;
  EXPECT_EQ(narrow.json_body["scope"], "openid");
  const std::string r3 = narrow.json_body["refresh_token"];
  const std::string a3 = narrow.json_body["access_token"];
  EXPECT_EQ(Refresh(r3, "&scope=openid%20email").json_body["error"], "invalid_scope");
  ASSERT_EQ(Introspect(r3).json_body["active"], true);

  // r1 again: someone else holds the family.
  const Answer reuse = Refresh(r1);
  EXPECT_EQ(reuse.json_body["error"], "invalid_grant");
  EXPECT_EQ(Introspect(r3).json_body["active"], false);
  EXPECT_EQ(Refresh(r3).json_body["error"], "invalid_grant");
  EXPECT_EQ(Introspect(a3).json_body["active"], false);
  auto audit = audit_->List(kAccount, "oidc.refresh.reused", 10);
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->size(), 1u);
}

TEST_F(OidcFlowTest, ExpiredRevokedAndTamperedTokensAreRefused) {
  const std::string cookie = Login();
  const Answer tokens = Exchange(PortalCode(cookie));
  const std::string access = tokens.json_body["access_token"];

  std::string tampered = access;
  const auto dot = tampered.find('.');
  tampered[dot + 5] = tampered[dot + 5] == 'A' ? 'B' : 'A';
  const Answer bad =
      Call(Method::get, "/oidc/userinfo", "", {{"Authorization", "Bearer " + tampered}});
  EXPECT_EQ(bad.status, 401);
  EXPECT_NE(bad.Header("WWW-Authenticate").find("invalid_token"), std::string::npos);
  EXPECT_EQ(Introspect(tampered).json_body["active"], false);
  EXPECT_EQ(Call(Method::get, "/oidc/userinfo").status, 401);

  // Revoked by its client.
  const Answer revoked =
      Post("/oidc/revoke", "client_id=ulus-portal&token=" + http::FormEncode(access));
  EXPECT_EQ(revoked.status, 200);
  EXPECT_EQ(Introspect(access).json_body["active"], false);
  EXPECT_EQ(Call(Method::get, "/oidc/userinfo", "", {{"Authorization", "Bearer " + access}}).status,
            401);
  EXPECT_EQ(Post("/oidc/revoke", "client_id=ulus-portal&token=nonsense").status, 200);

  // Expired.
  const Answer fresh = Exchange(PortalCode(cookie));
  const std::string later = fresh.json_body["access_token"];
  clock_.Advance(seconds(11 * 60 + 61));
  EXPECT_EQ(Introspect(later).json_body["active"], false);
  EXPECT_EQ(Call(Method::get, "/oidc/userinfo", "", {{"Authorization", "Bearer " + later}}).status,
            401);
}

TEST_F(OidcFlowTest, AlgNoneAndKeyConfusionAreRefused) {
  const std::string cookie = Login();
  const std::string access = Exchange(PortalCode(cookie)).json_body["access_token"];
  const json claims = JwtClaims(access);
  const std::string payload = B64(claims.dump());
  const std::string none = B64(R"({"alg":"none","typ":"at+jwt"})") + "." + payload + ".";
  EXPECT_FALSE(provider_->VerifyAccessToken(none).ok());
  EXPECT_EQ(Introspect(none).json_body["active"], false);

  // HS256 keyed with the published public key.
  const Answer jwks = Call(Method::get, "/oidc/jwks");
  for (const auto& key : jwks.json_body["keys"]) {
    const std::string header =
        B64(json({{"alg", "HS256"}, {"typ", "at+jwt"}, {"kid", key["kid"]}}).dump());
    const std::string input = header + "." + payload;
    const std::string secret = key.dump();
    const auto mac = crypto::HmacSha256(crypto::AsBytes(secret), input);
    const std::string forged = input + "." + crypto::Base64UrlEncode(mac);
    EXPECT_FALSE(provider_->VerifyAccessToken(forged).ok());
    EXPECT_EQ(Introspect(forged).json_body["active"], false);
  }
}

TEST_F(OidcFlowTest, ClientCredentials) {
  const Answer ok = Post("/oidc/token", "grant_type=client_credentials&scope=profile",
                         {{"Authorization", "Basic " + [&] {
                             const std::string raw = "tax:" + Secret("tax");
                             std::string b64 = crypto::Base64UrlEncode(crypto::AsBytes(raw));
                             for (char& c : b64) c = c == '-' ? '+' : c == '_' ? '/' : c;
                             while (b64.size() % 4 != 0) b64 += '=';
                             return b64;
                           }()}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  const std::string token = ok.json_body["access_token"];
  const json claims = JwtClaims(token);
  EXPECT_EQ(claims["sub"], "tax");
  EXPECT_EQ(claims["agency"], "TAX");
  auto info = provider_->VerifyAccessToken(token);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->IsClientToken());
  EXPECT_EQ(provider_->stats().client_credentials_grants, 1u);

  const Answer wrong = Post("/oidc/token",
                            "grant_type=client_credentials&client_id=tax"
                            "&client_secret=wrong");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.json_body["error"], "invalid_client");
  const Answer basic = Post("/oidc/token", "grant_type=client_credentials",
                            {{"Authorization", "Basic dGF4Ondyb25n"}});  // tax:wrong
  EXPECT_EQ(basic.status, 401);
  EXPECT_EQ(basic.Header("WWW-Authenticate"), "Basic realm=\"dan\"");
  const Answer shop = Post("/oidc/token",
                           "grant_type=client_credentials&client_id=shop"
                           "&client_secret=" +
                               Secret("shop"));
  EXPECT_EQ(shop.json_body["error"], "unauthorized_client");
  const Answer public_client =
      Post("/oidc/introspect", "client_id=ulus-portal&token=" + http::FormEncode(token));
  EXPECT_EQ(public_client.status, 401);
}

TEST_F(OidcFlowTest, CliLoopbackAnyPortButNotOtherHosts) {
  const std::string cookie = Login();
  const Answer ok = Call(Method::get, PkceUrl("ulus-cli", "http://127.0.0.1:53111/callback"), "",
                         {{"Cookie", cookie}});
  ASSERT_EQ(ok.status, 200);  // ulus-cli is not first-party: the consent page
  EXPECT_NE(ok.body.find("decision"), std::string::npos);
  const Answer v6 = Call(Method::get, PkceUrl("ulus-cli", "http://[::1]:8000/callback"), "",
                         {{"Cookie", cookie}});
  EXPECT_EQ(v6.status, 200);
  for (const char* uri : {"http://localhost:53111/callback", "http://127.0.0.2:53111/callback",
                          "http://127.0.0.1:53111/other", "https://127.0.0.1:53111/callback"}) {
    const Answer bad = Call(Method::get, PkceUrl("ulus-cli", uri), "", {{"Cookie", cookie}});
    EXPECT_EQ(bad.status, 400) << uri;
    EXPECT_EQ(bad.Location(), "") << uri;
  }
}

TEST_F(OidcFlowTest, ConsentIsAskedOnceAndDenialIsReported) {
  const std::string cookie = Login();
  const std::string url = AuthorizeUrl("shop", kShopCallback);
  const Answer page = Call(Method::get, url, "", {{"Cookie", cookie}});
  ASSERT_EQ(page.status, 200);
  const auto at = page.body.find("name=\"ar\" value=\"");
  ASSERT_NE(at, std::string::npos);
  const std::string ar = page.body.substr(at + 17, page.body.find('"', at + 17) - at - 17);

  const Answer forged = Post("/oidc/authorize/resume", "ar=" + ar + "&csrf=nope&decision=allow",
                             {{"Cookie", cookie}});
  EXPECT_EQ(forged.status, 400);
  const Answer denied =
      Post("/oidc/authorize/resume", "ar=" + ar + "&csrf=" + session_.csrf + "&decision=deny",
           {{"Cookie", cookie}});
  ASSERT_EQ(denied.status, 303);
  EXPECT_EQ(QueryParam(denied.Location(), "error"), "access_denied");

  const Answer again = Call(Method::get, url, "", {{"Cookie", cookie}});
  const auto at2 = again.body.find("name=\"ar\" value=\"");
  const std::string ar2 = again.body.substr(at2 + 17, again.body.find('"', at2 + 17) - at2 - 17);
  const Answer allowed =
      Post("/oidc/authorize/resume", "ar=" + ar2 + "&csrf=" + session_.csrf + "&decision=allow",
           {{"Cookie", cookie}});
  ASSERT_EQ(allowed.status, 303) << allowed.body;
  const std::string code = QueryParam(allowed.Location(), "code");
  ASSERT_FALSE(code.empty());
  const Answer tokens = Exchange(code, "shop", "", kShopCallback);
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  EXPECT_EQ(JwtClaims(tokens.json_body["id_token"])["aud"], "shop");
  EXPECT_FALSE(tokens.json_body.contains("refresh_token"));  // no offline_access asked

  // Remembered: straight back with a code.
  const Answer third = Call(Method::get, url, "", {{"Cookie", cookie}});
  EXPECT_EQ(third.status, 303);
  EXPECT_FALSE(QueryParam(third.Location(), "code").empty());
  const Answer none = Call(Method::get, AuthorizeUrl("shop", kShopCallback, "&prompt=none"));
  EXPECT_EQ(QueryParam(none.Location(), "error"), "login_required");
}

TEST_F(OidcFlowTest, ConsentErrorAndLogoutPagesSpeakThePackLanguages) {
  const ScopedPageLanguages kz({"kk", "ru", "en"});
  const std::string cookie = Login();
  const Answer kk =
      Call(Method::get, AuthorizeUrl("shop", kShopCallback), "", {{"Cookie", cookie}});
  ASSERT_EQ(kk.status, 200);
  EXPECT_NE(kk.body.find("<html lang=\"kk\">"), std::string::npos);
  EXPECT_NE(kk.body.find("<h1>Дүкен</h1>"), std::string::npos);
  EXPECT_NE(kk.body.find("Бұл қолданба мыналарды сұрайды:"), std::string::npos);
  EXPECT_NE(kk.body.find("<li>ЖСН-іңіз</li>"), std::string::npos);
  EXPECT_NE(kk.body.find(">Рұқсат ету</button>"), std::string::npos);
  EXPECT_NE(kk.body.find("hreflang=\"ru\""), std::string::npos);

  const Answer ru = Call(Method::get, AuthorizeUrl("shop", kShopCallback), "",
                         {{"Cookie", cookie + "; lang=ru"}});
  EXPECT_NE(ru.body.find("<html lang=\"ru\">"), std::string::npos);
  EXPECT_NE(ru.body.find("<h1>Магазин</h1>"), std::string::npos);
  EXPECT_NE(ru.body.find("<li>Ваш ИИН</li>"), std::string::npos);
  EXPECT_NE(ru.body.find(">Отказать</button>"), std::string::npos);

  const Answer unknown = Call(Method::get, AuthorizeUrl("nobody", kPortalCallback), "",
                              {{"Cookie", cookie + "; lang=ru"}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("Это приложение неизвестно Dan."), std::string::npos);
  EXPECT_NE(Call(Method::get, AuthorizeUrl("nobody", kPortalCallback))
                .body.find("Бұл қолданба Dan жүйесіне белгісіз."),
            std::string::npos);

  const Answer logout = Call(Method::get, "/oidc/logout", "", {{"Cookie", cookie}});
  EXPECT_EQ(logout.status, 200);
  EXPECT_NE(logout.body.find("Шығасыз ба?"), std::string::npos);
  EXPECT_NE(Call(Method::get, "/oidc/logout?lang=ru").body.find("Вы вышли из системы."),
            std::string::npos);
}

TEST_F(OidcFlowTest, StepUpSendsTheUserToLoginWithTheLevel) {
  const std::string cookie = Login(Assurance::kLow);
  const Answer a = Call(
      Method::get,
      PkceUrl("ulus-portal", kPortalCallback,
              "&acr_values=" + http::FormEncode(std::string(AcrValue(Assurance::kSubstantial)))),
      "", {{"Cookie", cookie}});
  ASSERT_EQ(a.status, 303);
  EXPECT_TRUE(a.Location().starts_with("/dan/login?")) << a.Location();
  EXPECT_EQ(QueryParam(a.Location(), "acr"), "substantial");
  // A substantial login satisfies it.
  const std::string strong = Login(Assurance::kSubstantial);
  const Answer b =
      Call(Method::get, QueryParam(a.Location(), "return_to"), "", {{"Cookie", strong}});
  ASSERT_EQ(b.status, 303);
  const Answer tokens = Exchange(QueryParam(b.Location(), "code"));
  EXPECT_EQ(JwtClaims(tokens.json_body["id_token"])["acr"], AcrValue(Assurance::kSubstantial));
}

TEST_F(OidcFlowTest, LogoutChecksThePostLogoutRedirect) {
  const std::string cookie = Login();
  const Answer page =
      Call(Method::get, AuthorizeUrl("shop", kShopCallback), "", {{"Cookie", cookie}});
  const auto at = page.body.find("name=\"ar\" value=\"");
  const std::string ar = page.body.substr(at + 17, page.body.find('"', at + 17) - at - 17);
  const Answer allowed =
      Post("/oidc/authorize/resume", "ar=" + ar + "&csrf=" + session_.csrf + "&decision=allow",
           {{"Cookie", cookie}});
  const Answer tokens = Exchange(QueryParam(allowed.Location(), "code"), "shop", "", kShopCallback);
  const std::string id_token = tokens.json_body["id_token"];

  const Answer bad = Call(Method::get,
                          "/oidc/logout?id_token_hint=" + id_token +
                              "&post_logout_redirect_uri=" + http::FormEncode("https://evil.mn/"),
                          "", {{"Cookie", cookie}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.Location(), "");
  const Answer good = Call(Method::get,
                           "/oidc/logout?id_token_hint=" + id_token + "&post_logout_redirect_uri=" +
                               http::FormEncode("https://shop.example.mn/bye") + "&state=s1",
                           "", {{"Cookie", cookie}});
  ASSERT_EQ(good.status, 303) << good.body;
  EXPECT_EQ(good.Location(), "https://shop.example.mn/bye?state=s1");
  EXPECT_FALSE(good.Header("Set-Cookie").empty());
  // The session is gone: authorizing again asks for a login.
  const Answer after =
      Call(Method::get, PkceUrl("ulus-portal", kPortalCallback), "", {{"Cookie", cookie}});
  EXPECT_TRUE(after.Location().starts_with("/dan/login?"));
}

}  // namespace
}  // namespace ulus::identity

namespace ulus::identity {
namespace {

// Two replicas over one database: a token revoked at one is refused by the other within its
// poll interval, without a restart.
TEST_F(OidcFlowTest, RevocationAtOneReplicaReachesTheOther) {
  OidcOptions options;
  options.issuer = kIssuer;
  options.clients_file = dir_ + "/clients.yaml";
  options.secrets_dir = dir_ + "/secrets";
  options.portal_redirect_uris = {kPortalCallback};
  options.revocation_poll_interval = std::chrono::milliseconds(20);
  auto other =
      OidcProvider::Open(*db_, *keys_, accounts_, people_, *sessions_, *audit_, options, clock_);
  ASSERT_TRUE(other.ok()) << other.error().ToString();

  const Answer issued = Post("/oidc/token",
                             "grant_type=client_credentials&client_id=tax"
                             "&client_secret=" +
                                 Secret("tax"));
  ASSERT_EQ(issued.status, 200) << issued.body;
  const std::string token = issued.json_body["access_token"];
  ASSERT_TRUE((*other)->VerifyAccessToken(token).ok());

  const Answer revoked = Post("/oidc/revoke", "client_id=tax&client_secret=" + Secret("tax") +
                                                  "&token=" + http::FormEncode(token));
  ASSERT_EQ(revoked.status, 200);
  EXPECT_FALSE(provider_->VerifyAccessToken(token).ok());
  bool refused = false;
  for (int i = 0; i < 250 && !refused; ++i) {
    refused = !(*other)->VerifyAccessToken(token).ok();
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(refused) << "the other replica still accepts a revoked token after 5 s";
}

}  // namespace
}  // namespace ulus::identity
