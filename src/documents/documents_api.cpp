#include <algorithm>
#include <set>

#include "ulus/core/id.hpp"
#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/documents/api.hpp"
#include "ulus/documents/credential.hpp"
#include "ulus/http/form.hpp"
#include "ulus/http/problem.hpp"
#include "ulus/identity/pages.hpp"
#include "verify_page.hpp"

namespace ulus::documents {

using nlohmann::json;

namespace {

constexpr size_t kMaxVerifyBytes = kMaxCredentialBytes;
// Claims are flat and sources a list of small objects: nothing an issuer sends nests deeper.
constexpr size_t kMaxBodyDepth = 8;

// Who calls an authenticated route: a person (a Dan user token) and the agencies they may act
// for as an officer, or an agency's back-end (a client token).
struct Caller {
  std::string national_id;      // empty for a client token
  std::vector<Actor> agencies;  // what the caller may issue and revoke for
};

// valid, expired or revoked, as of now.
std::string_view StatusOf(const IssuedDocument& d) {
  if (d.revocation) return "revoked";
  if (d.expires_at && *d.expires_at <= Clock::System().Now()) return "expired";
  return "valid";
}

json DocumentJson(const IssuedDocument& d, bool with_credential) {
  json out = {{"id", d.id},
              {"template", d.template_id},
              {"templateVersion", d.template_version},
              {"agency", d.agency},
              {"issuedAt", FormatRfc3339(d.issued_at)},
              {"status", StatusOf(d)},
              {"links",
               {{"pdf", "/documents/v1/documents/" + d.id + "/pdf"},
                {"status", "/documents/v1/status/" + d.id}}}};
  if (d.expires_at) out["expiresAt"] = FormatRfc3339(*d.expires_at);
  if (d.parent) out["disclosureOf"] = *d.parent;
  if (d.revocation) {
    out["revokedAt"] = FormatRfc3339(d.revocation->at);
    out["revocationReason"] = d.revocation->reason;
  }
  if (with_credential) {
    out["holder"] = d.holder;
    out["issuedBy"] = d.issued_by;
    out["kid"] = d.kid;
    out["sources"] = d.sources;
    out["credential"] = d.credential;
    if (!d.hc1.empty()) out["hc1"] = d.hc1;
  }
  return out;
}

std::vector<std::string> StringList(const json& body, const char* name) {
  std::vector<std::string> out;
  if (!body.contains(name) || !body[name].is_array()) return out;
  for (const auto& v : body[name]) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

http::Response Jwt(std::string text, std::string_view cache) {
  auto response = http::Response::Text(std::move(text), "application/jwt");
  response.headers.emplace_back("Cache-Control", std::string(cache));
  return response;
}

}  // namespace

void DocumentsApi::Mount(http::Router& router) {
  // Resolves the bearer token; kUnauthenticated without one.
  auto authenticate = [this](const http::Request& request) -> Result<Caller> {
    ULUS_ASSIGN_OR_RETURN(auto who,
                          identity::AuthenticateApiCaller(request, oidc_, accounts_, "documents"));
    Caller caller;
    if (who.IsClient()) {
      if (!who.client_agency.empty()) {
        caller.agencies.push_back({.agency = who.client_agency, .who = "client:" + who.client_id});
      }
      return caller;
    }
    caller.national_id = who.national_id;
    for (const auto& agency : who.OfficerOf()) {
      caller.agencies.push_back({.agency = agency, .who = "officer:" + who.account_id});
    }
    return caller;
  };
  auto actor_for = [](const Caller& caller, std::string_view agency) -> std::optional<Actor> {
    for (const auto& a : caller.agencies) {
      if (a.agency == agency) return a;
    }
    return std::nullopt;
  };
  // The document, if the caller holds it or its agency issued it; kNotFound otherwise, so a
  // stranger cannot tell an existing id from a missing one.
  // An agency's read of someone else's document is recorded (`action`) before it is shown, so
  // the holder can see who at the agency looked.
  auto visible = [this, actor_for](const Caller& caller, std::string_view id,
                                   std::string_view action) -> Result<IssuedDocument> {
    ULUS_ASSIGN_OR_RETURN(auto found, service_.Find(id));
    if (!found) return Error::NotFound("no document " + std::string(id) + " of yours");
    if (!caller.national_id.empty() && found->holder == caller.national_id) {
      return *std::move(found);
    }
    const auto actor = actor_for(caller, found->agency);
    if (!actor) return Error::NotFound("no document " + std::string(id) + " of yours");
    ULUS_TRY(service_.RecordAccess(found->id, actor->who, action));
    return *std::move(found);
  };

  router.Add(
      http::Method::post, "/documents/v1/documents",
      [this, authenticate, actor_for](http::Request& request) -> Result<http::Response> {
        ULUS_ASSIGN_OR_RETURN(auto caller, authenticate(request));
        ULUS_ASSIGN_OR_RETURN(auto body, request.Json());
        if (!http::JsonDepthAtMost(body, kMaxBodyDepth)) {
          return Error::InvalidArgument("the body nests deeper than 8 levels");
        }
        if (!body.is_object() || !body.contains("template") || !body["template"].is_string() ||
            !body.contains("holder") || !body["holder"].is_string()) {
          return Error::InvalidArgument("template and holder (a national ID) are required",
                                        "template");
        }
        IssueRequest issue;
        issue.template_id = body["template"].get<std::string>();
        issue.holder = body["holder"].get<std::string>();
        issue.claims = body.value("claims", json::object());
        issue.sources = body.value("sources", json::array());
        issue.idempotency_key = std::string(request.Header("Idempotency-Key"));
        const Template* t = service_.FindTemplate(issue.template_id);
        if (t == nullptr) {
          return Error::InvalidArgument("no document template " + issue.template_id, "template");
        }
        const auto actor = actor_for(caller, t->agency);
        if (!actor) {
          return Error::PermissionDenied("only " + t->agency + "'s systems and officers issue " +
                                         t->id + " documents");
        }
        ULUS_ASSIGN_OR_RETURN(auto issued, service_.Issue(issue, *actor));
        auto response = http::Response::Json(
            DocumentJson(issued, true), issued.replayed ? http::Status::ok : http::Status::created);
        response.headers.emplace_back("Location", "/documents/v1/documents/" + issued.id);
        return response;
      },
      {{"summary", "Issue a signed document from a template"}, {"tags", {"documents"}}});

  router.Add(http::Method::get, "/documents/v1/documents/{id}",
             [authenticate, visible](http::Request& request) -> Result<http::Response> {
               ULUS_ASSIGN_OR_RETURN(auto caller, authenticate(request));
               ULUS_ASSIGN_OR_RETURN(auto d, visible(caller, request.Param("id"), "read"));
               auto response = http::Response::Json(DocumentJson(d, true));
               response.headers.emplace_back("Cache-Control", "no-store");
               return response;
             },
             {{"summary", "A document's record and credential (its holder or issuing agency)"},
              {"tags", {"documents"}}});

  router.Add(http::Method::get, "/documents/v1/documents/{id}/pdf",
             [this, authenticate, visible](http::Request& request) -> Result<http::Response> {
               ULUS_ASSIGN_OR_RETURN(auto caller, authenticate(request));
               ULUS_ASSIGN_OR_RETURN(auto d, visible(caller, request.Param("id"), "pdf"));
               if (d.parent)
                 return Error::NotFound("a disclosure has no PDF; share its credential");
               const auto lang = request.Query("lang").value_or("");
               ULUS_ASSIGN_OR_RETURN(auto pdf, service_.Pdf(d, lang));
               auto response = http::Response::Text(std::move(pdf), "application/pdf");
               response.headers.emplace_back(
                   "Content-Disposition",
                   "attachment; filename=\"" + d.template_id + "-" + d.id.substr(0, 8) + ".pdf\"");
               response.headers.emplace_back("Cache-Control", "no-store");
               return response;
             },
             {{"summary", "A document as PDF with its QR code"}, {"tags", {"documents"}}});

  router.Add(http::Method::post, "/documents/v1/documents/{id}/revoke",
             [this, authenticate, actor_for](http::Request& request) -> Result<http::Response> {
               ULUS_ASSIGN_OR_RETURN(auto caller, authenticate(request));
               const std::string id(request.Param("id"));
               ULUS_ASSIGN_OR_RETURN(auto found, service_.Find(id));
               if (!found) return Error::NotFound("no document " + id + " of yours");
               if (found->parent && found->holder == caller.national_id) {
                 ULUS_TRY(service_.WithdrawDisclosure(id, caller.national_id));
                 return http::Response::NoContent();
               }
               const auto actor = actor_for(caller, found->agency);
               if (!actor && found->holder == caller.national_id) {
                 return Error::PermissionDenied(
                     "only the issuing agency revokes a document; ask it, or withdraw your "
                     "disclosures");
               }
               if (!actor) return Error::NotFound("no document " + id + " of yours");
               ULUS_ASSIGN_OR_RETURN(auto body, request.Json());
               if (!body.is_object() || !body.contains("reason") || !body["reason"].is_string()) {
                 return Error::InvalidArgument("give the reason for the revocation", "reason");
               }
               ULUS_TRY(service_.Revoke(id, body["reason"].get<std::string>(), *actor));
               return http::Response::NoContent();
             },
             {{"summary", "Revoke a document (its agency), or withdraw a disclosure (its holder)"},
              {"tags", {"documents"}}});

  router.Add(http::Method::post, "/documents/v1/documents/{id}/disclosures",
             [this, authenticate](http::Request& request) -> Result<http::Response> {
               ULUS_ASSIGN_OR_RETURN(auto caller, authenticate(request));
               if (caller.national_id.empty()) {
                 return Error::PermissionDenied("only the document's holder makes disclosures");
               }
               ULUS_ASSIGN_OR_RETURN(auto body, request.Json());
               if (!body.is_object()) return Error::InvalidArgument("a JSON object is expected");
               ULUS_ASSIGN_OR_RETURN(
                   auto d,
                   service_.Disclose(request.Param("id"), caller.national_id,
                                     StringList(body, "fields"), StringList(body, "predicates")));
               json out = DocumentJson(d, false);
               out["credential"] = d.credential;
               return http::Response::Json(out, http::Status::created);
             },
             {{"summary", "Disclose only chosen fields of my document (or 'age_over_18')"},
              {"tags", {"documents"}}});

  router.Add(
      http::Method::get, "/documents/v1/documents/{id}/verifications",
      [this, authenticate](http::Request& request) -> Result<http::Response> {
        ULUS_ASSIGN_OR_RETURN(auto caller, authenticate(request));
        ULUS_ASSIGN_OR_RETURN(auto found, service_.Find(request.Param("id")));
        if (!found || caller.national_id.empty() || found->holder != caller.national_id) {
          return Error::NotFound("no document " + std::string(request.Param("id")) + " of yours");
        }
        ULUS_ASSIGN_OR_RETURN(auto records, service_.Verifications(found->id, 200));
        json out = json::array();
        for (const auto& r : records) {
          out.push_back({{"at", FormatRfc3339(r.at)},
                         {"channel", r.channel},
                         {"from", r.remote},
                         {"verdict", r.verdict},
                         {"shown", r.credential_id == found->id ? "document" : "disclosure"}});
        }
        return http::Response::Json(out);
      },
      {{"summary", "When and from where my document was verified"}, {"tags", {"documents"}}});

  router.Add(
      http::Method::get, "/documents/v1/documents/{id}/accesses",
      [this, authenticate](http::Request& request) -> Result<http::Response> {
        ULUS_ASSIGN_OR_RETURN(auto caller, authenticate(request));
        ULUS_ASSIGN_OR_RETURN(auto found, service_.Find(request.Param("id")));
        if (!found || caller.national_id.empty() || found->holder != caller.national_id) {
          return Error::NotFound("no document " + std::string(request.Param("id")) + " of yours");
        }
        ULUS_ASSIGN_OR_RETURN(auto records, service_.Accesses(found->id, 200));
        json out = json::array();
        for (const auto& r : records) {
          out.push_back({{"at", FormatRfc3339(r.at)}, {"who", r.who}, {"action", r.action}});
        }
        return http::Response::Json(out);
      },
      {{"summary", "When the issuing agency read my document, and who"}, {"tags", {"documents"}}});

  router.Add(
      http::Method::get, "/documents/v1/mine",
      [this, authenticate](http::Request& request) -> Result<http::Response> {
        ULUS_ASSIGN_OR_RETURN(auto caller, authenticate(request));
        if (caller.national_id.empty()) {
          return Error::PermissionDenied("a client token holds no documents");
        }
        ULUS_ASSIGN_OR_RETURN(auto documents, service_.ForHolder(caller.national_id, 100, 0));
        json out = json::array();
        for (const auto& d : documents) {
          json item = DocumentJson(d, false);
          item["verifications"] = d.verifications;
          out.push_back(std::move(item));
        }
        auto response = http::Response::Json(out);
        response.headers.emplace_back("Cache-Control", "no-store");
        return response;
      },
      {{"summary", "My documents and how often each was verified"}, {"tags", {"documents"}}});

  router.Add(http::Method::post, "/documents/v1/verify",
             [this](http::Request& request) -> Result<http::Response> {
               if (request.body().size() > kMaxVerifyBytes) {
                 return Error{ErrorCode::kTooLarge, "a credential is at most 64 KiB", {}};
               }
               std::string text;
               const auto type = request.Header("Content-Type");
               if (type.starts_with("application/json")) {
                 ULUS_ASSIGN_OR_RETURN(auto body, request.Json());
                 if (!body.is_object() || !body.contains("credential") ||
                     !body["credential"].is_string()) {
                   return Error::InvalidArgument("credential (the QR code's text) is required",
                                                 "credential");
                 }
                 text = body["credential"].get<std::string>();
               } else {
                 text = std::string(request.body());
               }
               ULUS_ASSIGN_OR_RETURN(auto verification,
                                     service_.Verify(text, "api", request.remote_address()));
               auto response = http::Response::Json(verification.ToJson());
               response.headers.emplace_back("Cache-Control", "no-store");
               return response;
             },
             {{"summary", "Verify a credential, health certificate or QR text (no login)"},
              {"tags", {"documents"}}});

  router.Add(http::Method::get, "/documents/v1/status/{id}",
             [this](http::Request& request) -> Result<http::Response> {
               ULUS_ASSIGN_OR_RETURN(auto found, service_.Find(request.Param("id")));
               if (!found)
                 return Error::NotFound("no document " + std::string(request.Param("id")));
               // A disclosure is revoked with its document, whatever its own row says.
               if (found->parent && !found->revocation) {
                 ULUS_ASSIGN_OR_RETURN(auto parent, service_.Find(*found->parent));
                 if (parent && parent->revocation) found->revocation = parent->revocation;
               }
               json out = {{"id", found->id}, {"status", StatusOf(*found)}};
               if (found->revocation) {
                 out["revokedAt"] = FormatRfc3339(found->revocation->at);
                 out["reason"] = found->revocation->reason;
               }
               auto response = http::Response::Json(out);
               response.headers.emplace_back("Cache-Control", "no-cache");
               return response;
             },
             {{"summary", "Whether a document is revoked (its credentialStatus)"},
              {"tags", {"documents"}}});

  router.Add(http::Method::get, "/documents/v1/credentials/{id}",
             [this](http::Request& request) -> Result<http::Response> {
               ULUS_ASSIGN_OR_RETURN(auto found, service_.Find(request.Param("id")));
               // Only with the digest the QR code carries: a document id alone (a disclosure
               // names its document's) must not fetch the whole credential.
               const auto digest = request.Query("sha256").value_or("");
               if (!found || digest.empty() ||
                   crypto::Base64UrlEncode(crypto::Sha256(found->credential)) != digest) {
                 return Error::NotFound("no document " + std::string(request.Param("id")) +
                                        " with that digest");
               }
               return Jwt(found->credential, "no-store");
             },
             {{"summary", "The credential a locator QR code points to"}, {"tags", {"documents"}}});

  router.Add(
      http::Method::get, "/documents/v1/trust-list",
      [this](http::Request&) -> Result<http::Response> {
        ULUS_ASSIGN_OR_RETURN(auto jws, service_.TrustListJws());
        return Jwt(std::move(jws), "public, max-age=60");
      },
      {{"summary", "The signed list of issuing agencies and their keys"}, {"tags", {"documents"}}});

  router.Add(http::Method::get, "/documents/v1/revocations",
             [this](http::Request&) -> Result<http::Response> {
               ULUS_ASSIGN_OR_RETURN(auto jws, service_.RevocationListJws());
               return Jwt(std::move(jws), "public, max-age=30");
             },
             {{"summary", "The signed list of revoked documents"}, {"tags", {"documents"}}});

  router.Add(
      http::Method::get, "/documents/v1/trust-anchor",
      [this](http::Request&) -> Result<http::Response> {
        ULUS_ASSIGN_OR_RETURN(auto anchor, service_.TrustAnchor());
        return http::Response::Json({{"thumbprint", anchor.Thumbprint()}, {"jwk", anchor.Jwk()}});
      },
      {{"summary", "The key the trust and revocation lists are signed with"},
       {"tags", {"documents"}}});

  router.Add(
      http::Method::get, "/documents/v1/templates",
      [this](http::Request&) -> Result<http::Response> {
        json out = json::array();
        for (const auto& t : service_.templates()) {
          json fields = json::array();
          for (const auto& f : t.fields) {
            fields.push_back({{"name", f.name}, {"label", f.label}, {"required", f.required}});
          }
          out.push_back({{"id", t.id},
                         {"version", t.version},
                         {"agency", t.agency},
                         {"type", t.type},
                         {"title", t.title},
                         {"dcc", !t.dcc.empty()},
                         {"fields", fields}});
        }
        return http::Response::Json(out);
      },
      {{"summary", "The document templates of this country"}, {"tags", {"documents"}}});

  MountVerifyPage(router, service_);
}

}  // namespace ulus::documents
