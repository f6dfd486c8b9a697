#include "ulus/identity/dan.hpp"

#include <spdlog/spdlog.h>

#include "ulus/crypto/encoding.hpp"
#include "ulus/http/form.hpp"
#include "ulus/identity/pages.hpp"
#include "ulus/store/migration.hpp"

namespace ulus::identity {
namespace {

using nlohmann::json;

// A citizen's signing request carries a digest or a short document, never a whole archive.
constexpr size_t kMaxSignBytes = 64 * 1024;

json KeyJson(const KeyInfo& key) {
  json out = {{"kid", key.kid},
              {"alg", crypto::AlgName(key.alg)},
              {"jwk", key.public_jwk},
              {"state", key.state == KeyState::kCurrent ? "current" : "retired"},
              {"created", FormatRfc3339(key.created)}};
  if (key.publish_until) out["publishUntil"] = FormatRfc3339(*key.publish_until);
  return out;
}

Result<crypto::SignatureAlg> AlgOf(const json& body) {
  const auto name = body.is_object() ? body.value("alg", std::string("ES256")) : "ES256";
  const auto alg = crypto::AlgFromName(name);
  if (!alg) return Error::InvalidArgument("alg must be ES256, RS256 or EdDSA", "alg");
  return *alg;
}

// Who is signed in for the key API: the account and the level its login reached.
struct Signatory {
  std::string account_id;
  Assurance assurance = Assurance::kNone;
};

}  // namespace

Status Dan::Migrate(store::Database& db) {
  ULUS_TRY(store::Migrate(db, "dan_audit", AuditLog::Migrations()));
  ULUS_TRY(store::Migrate(db, "dan_session", Sessions::Migrations()));
  ULUS_TRY(store::Migrate(db, "dan_message", LocalOutbox::Migrations()));
  ULUS_TRY(store::Migrate(db, "dan_key", KeyStore::Migrations()));
  ULUS_TRY(store::Migrate(db, "dan_accounts", AccountService::Migrations()));
  ULUS_TRY(store::Migrate(db, "dan_oidc", OidcProvider::Migrations()));
  ULUS_TRY(store::Migrate(db, "dan_consent", ConsentService::Migrations()));
  return Ok();
}

Result<std::unique_ptr<Dan>> Dan::Open(store::Database& db, PersonDirectory& people,
                                       MessageGateway& messages, DanOptions options,
                                       const Clock& clock) {
  ULUS_TRY(Migrate(db));
  for (const auto& code : options.languages) {
    if (!LangFromCode(code)) spdlog::warn("dan: no page text in language '{}'; left out", code);
  }
  SetPageLanguages(options.languages);
  std::unique_ptr<Dan> dan(new Dan());
  dan->audit_ = std::make_unique<AuditLog>(db, clock);
  SessionOptions session_options;
  session_options.secure = options.secure_cookies;
  dan->sessions_ = std::make_unique<Sessions>(db, session_options, clock);

  ULUS_ASSIGN_OR_RETURN(auto master,
                        crypto::LoadOrCreateMasterKey(options.data_dir / "master.key"));
  // The key store takes its own master key; Dan keeps one for the account factors.
  ULUS_ASSIGN_OR_RETURN(auto master_for_keys,
                        crypto::LoadMasterKey(options.data_dir / "master.key"));
  dan->master_ = std::make_unique<crypto::MasterKey>(std::move(master));
  KeyStoreOptions key_options;
  key_options.pkcs11 = options.pkcs11;
  ULUS_ASSIGN_OR_RETURN(dan->keys_,
                        KeyStore::Open(db, std::move(master_for_keys), key_options, clock));

  // A changed or reset password also ends the account's OpenID Connect grants. The provider is
  // opened below; the hook runs only once Dan serves.
  Dan* self = dan.get();
  options.accounts.on_password_replaced = [self](std::string_view account_id) -> Status {
    ULUS_TRY(self->oidc_->RevokeAccount(account_id));
    return Ok();
  };
  ULUS_ASSIGN_OR_RETURN(dan->accounts_,
                        AccountService::Open(db, people, messages, *dan->audit_, *dan->sessions_,
                                             *dan->master_, options.accounts, clock));

  auto oidc_options = options.oidc;
  oidc_options.issuer = options.issuer;
  oidc_options.clients_file = options.clients_file.string();
  oidc_options.secrets_dir = (options.data_dir / "clients").string();
  oidc_options.portal_redirect_uris = options.portal_redirect_uris;
  oidc_options.portal_post_logout_redirect_uris = options.portal_post_logout_redirect_uris;
  ULUS_ASSIGN_OR_RETURN(
      dan->oidc_, OidcProvider::Open(db, *dan->keys_, *dan->accounts_, people, *dan->sessions_,
                                     *dan->audit_, oidc_options, clock));
  ULUS_ASSIGN_OR_RETURN(dan->consent_,
                        ConsentService::Open(db, *dan->keys_, options.issuer, clock));
  return dan;
}

Dan::~Dan() = default;

CallerResolver Dan::Callers() {
  auto from_session = SessionCallerResolver(*accounts_, *sessions_);
  return [this, from_session](const http::Request& request) -> Result<Caller> {
    if (const auto token = request.BearerToken()) {
      ULUS_ASSIGN_OR_RETURN(auto info, oidc_->VerifyAccessToken(*token));
      if (info.IsClientToken()) {
        return Error{ErrorCode::kPermissionDenied,
                     "this needs a person's token, not a client's own token",
                     {}};
      }
      ULUS_ASSIGN_OR_RETURN(auto roles, accounts_->Roles(info.subject));
      return Caller{info.subject, std::move(roles)};
    }
    return from_session(request);
  };
}

void Dan::Mount(http::Router& router) {
  MountLoginPages(router, *accounts_, *sessions_);
  MountAccountApi(router, *accounts_, Callers());
  oidc_->Mount(router);
  MountConsentApi(router, *consent_, [this](const http::Request& request) -> Result<ConsentCaller> {
    std::string account_id;
    if (const auto token = request.BearerToken()) {
      ULUS_ASSIGN_OR_RETURN(auto info, oidc_->VerifyAccessToken(*token));
      if (info.IsClientToken()) {
        if (info.agency.empty()) {
          return Error::PermissionDenied("client '" + info.client_id + "' acts for no agency");
        }
        return ConsentCaller{.kind = ConsentCaller::Kind::kAgency,
                             .client_id = info.client_id,
                             .agency = info.agency};
      }
      account_id = info.subject;
    } else {
      ULUS_ASSIGN_OR_RETURN(auto session, sessions_->FromRequest(request));
      if (!session) {
        return Error{ErrorCode::kUnauthenticated, "log in through Dan or send a bearer token", {}};
      }
      account_id = session->account_id;
    }
    ULUS_ASSIGN_OR_RETURN(auto account, accounts_->FindById(account_id));
    if (!account) return Error{ErrorCode::kUnauthenticated, "the account no longer exists", {}};
    ULUS_ASSIGN_OR_RETURN(auto roles, accounts_->Roles(account_id));
    for (const auto& role : roles) {
      if (role.agency == "PLATFORM" && role.role == "operator") {
        return ConsentCaller{.kind = ConsentCaller::Kind::kOperator, .account_id = account_id};
      }
    }
    return ConsentCaller{.kind = ConsentCaller::Kind::kIndividual,
                         .national_id = account->national_id,
                         .account_id = account_id};
  });
  MountKeyApi(router);
}

void Dan::MountKeyApi(http::Router& router) {
  // The signed-in person and the level of their login, from a bearer token or the session.
  auto signatory = [this](const http::Request& request) -> Result<Signatory> {
    if (const auto token = request.BearerToken()) {
      ULUS_ASSIGN_OR_RETURN(auto info, oidc_->VerifyAccessToken(*token));
      if (info.IsClientToken()) {
        return Error::PermissionDenied("a person's own keys need a person's token");
      }
      return Signatory{info.subject, info.assurance.value_or(Assurance::kNone)};
    }
    ULUS_ASSIGN_OR_RETURN(auto session, sessions_->FromRequest(request));
    if (!session) {
      return Error{ErrorCode::kUnauthenticated, "log in through Dan or send a bearer token", {}};
    }
    return Signatory{session->account_id, session->assurance};
  };

  router.Add(
      http::Method::get, "/dan/api/me/keys",
      [this, signatory](http::Request& request) -> Result<http::Response> {
        ULUS_ASSIGN_OR_RETURN(auto who, signatory(request));
        ULUS_ASSIGN_OR_RETURN(auto keys, keys_->Keys({KeyOwnerKind::kPerson, who.account_id}));
        json out = json::array();
        for (const auto& key : keys) out.push_back(KeyJson(key));
        return http::Response::Json({{"keys", out}});
      },
      {{"summary", "My signing keys (public halves only)"}, {"tags", {"dan"}}});

  router.Add(http::Method::post, "/dan/api/me/keys",
             [this, signatory](http::Request& request) -> Result<http::Response> {
               ULUS_ASSIGN_OR_RETURN(auto who, signatory(request));
               if (who.assurance < Assurance::kSubstantial) {
                 return Error::PermissionDenied(
                     "making a signing key needs a login at level substantial or higher");
               }
               json body = json::object();
               if (!request.body().empty()) {
                 ULUS_ASSIGN_OR_RETURN(body, request.Json());
               }
               ULUS_ASSIGN_OR_RETURN(const auto alg, AlgOf(body));
               const KeyOwner owner{KeyOwnerKind::kPerson, who.account_id};
               // A new key replaces the current one; the old stays published for a year so that
               // what it signed can still be checked.
               ULUS_ASSIGN_OR_RETURN(auto key,
                                     keys_->Rotate(owner, alg, std::chrono::hours(24 * 365)));
               ULUS_TRY(audit_->Record({.event = "signing_key.created",
                                        .account_id = who.account_id,
                                        .remote_address = request.remote_address(),
                                        .detail = {{"kid", key.kid}}}));
               return http::Response::Json(KeyJson(key), http::Status::created);
             },
             {{"summary", "Make a new signing key for me (the private half stays sealed in Dan)"},
              {"tags", {"dan"}}});

  router.Add(
      http::Method::post, "/dan/api/me/sign",
      [this, signatory](http::Request& request) -> Result<http::Response> {
        ULUS_ASSIGN_OR_RETURN(auto who, signatory(request));
        if (who.assurance < Assurance::kHigh) {
          return Error::PermissionDenied(
              "signing with your key needs a login at level high (signature login); log in "
              "again with acr_values=high");
        }
        ULUS_ASSIGN_OR_RETURN(auto body, request.Json());
        if (!body.is_object() || !body.contains("payload") || !body["payload"].is_string()) {
          return Error::InvalidArgument("payload (base64url) is required", "payload");
        }
        const auto payload = crypto::Base64UrlDecode(body["payload"].get<std::string>());
        if (!payload) return Error::InvalidArgument("payload is not base64url", "payload");
        if (payload->size() > kMaxSignBytes) {
          return Error{ErrorCode::kTooLarge, "sign a digest of large documents", "payload"};
        }
        ULUS_ASSIGN_OR_RETURN(const auto alg, AlgOf(body));
        ULUS_ASSIGN_OR_RETURN(auto signer,
                              keys_->CurrentSigner({KeyOwnerKind::kPerson, who.account_id}, alg));
        ULUS_ASSIGN_OR_RETURN(auto signature, signer->Sign(*payload));
        ULUS_TRY(audit_->Record({.event = "signing_key.used",
                                 .account_id = who.account_id,
                                 .remote_address = request.remote_address(),
                                 .detail = {{"kid", signer->Kid()}, {"bytes", payload->size()}}}));
        return http::Response::Json({{"kid", signer->Kid()},
                                     {"alg", crypto::AlgName(signer->Alg())},
                                     {"signature", crypto::Base64UrlEncode(signature)}});
      },
      {{"summary", "Sign bytes with my current key (needs a login at level high)"},
       {"tags", {"dan"}}});

  // Public halves, for anyone who checks a signature: an agency's, the platform's, a person's.
  router.Add(http::Method::get, "/dan/keys/{kind}/{id}/jwks",
             [this](http::Request& request) -> Result<http::Response> {
               const auto kind = request.Param("kind");
               KeyOwner owner;
               if (kind == "agencies") {
                 owner.kind = KeyOwnerKind::kAgency;
               } else if (kind == "platform") {
                 owner.kind = KeyOwnerKind::kPlatform;
               } else if (kind == "people") {
                 owner.kind = KeyOwnerKind::kPerson;
               } else {
                 return Error::NotFound("no key owners of kind '" + std::string(kind) + "'");
               }
               owner.id = std::string(request.Param("id"));
               ULUS_ASSIGN_OR_RETURN(auto jwks, keys_->Jwks(owner));
               auto response = http::Response::Json(jwks.ToJson());
               response.headers.emplace_back("Cache-Control", "public, max-age=300");
               return response;
             },
             {{"summary", "Published public keys of an agency, the platform or a person (JWK Set)"},
              {"tags", {"dan"}}});
}

}  // namespace ulus::identity
