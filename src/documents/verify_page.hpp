#pragma once

#include "ulus/documents/documents.hpp"
#include "ulus/http/router.hpp"

namespace ulus::documents {

// GET /verify: a page where anyone pastes the text of a document's QR code (a verifier app or a
// phone's scanner gives it); POST /verify shows genuine, revoked, expired or forged, and only
// what the credential discloses. No login, no script; each check is audited as channel "page".
void MountVerifyPage(http::Router& router, DocumentService& service);

}  // namespace ulus::documents
