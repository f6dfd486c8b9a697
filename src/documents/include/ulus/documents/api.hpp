#pragma once

#include "ulus/documents/documents.hpp"
#include "ulus/http/router.hpp"
#include "ulus/identity/accounts.hpp"
#include "ulus/identity/oidc.hpp"

namespace ulus::documents {

// The documents part's HTTP face, under /documents/v1 plus the public page /verify:
//   POST /documents/v1/documents                  issue (the template's agency: its back-end's
//                                                 client token or an officer of it)
//   GET  /documents/v1/documents/{id}             the record and credential (holder or agency)
//   GET  /documents/v1/documents/{id}/pdf         the PDF (holder or agency; ?lang=)
//   POST /documents/v1/documents/{id}/revoke      revoke with a reason (agency; the holder for
//                                                 a disclosure)
//   POST /documents/v1/documents/{id}/disclosures a disclosure of chosen fields (holder)
//   GET  /documents/v1/documents/{id}/verifications  who verified it, when (holder)
//   GET  /documents/v1/documents/{id}/accesses    when its agency read it, and who (holder)
//   GET  /documents/v1/mine                       the holder's documents with verification counts
//   POST /documents/v1/verify                     public: genuine, revoked, expired or forged
//   GET  /documents/v1/status/{id}                public: revoked or not (credentialStatus)
//   GET  /documents/v1/credentials/{id}?sha256=   a credential a locator QR points to, given the
//                                                 digest the code carries
//   GET  /documents/v1/trust-list, /revocations   public: the signed lists (application/jwt)
//   GET  /documents/v1/trust-anchor               public: the anchor's JWK and thumbprint
//   GET  /documents/v1/templates                  public: what can be issued
//   GET|POST /verify                              the verification page (paste a code)
// Objects passed in must outlive it; thread-safe.
class DocumentsApi {
 public:
  DocumentsApi(DocumentService& service, identity::OidcProvider& oidc,
               identity::AccountDirectory& accounts)
      : service_(service), oidc_(oidc), accounts_(accounts) {}

  void Mount(http::Router& router);

 private:
  DocumentService& service_;
  identity::OidcProvider& oidc_;
  identity::AccountDirectory& accounts_;
};

}  // namespace ulus::documents
