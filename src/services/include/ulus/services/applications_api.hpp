#pragma once

#include <string>

#include "ulus/http/router.hpp"
#include "ulus/identity/accounts.hpp"
#include "ulus/identity/oidc.hpp"
#include "ulus/services/applications.hpp"

namespace ulus::services {

// The applications' HTTP face. Every route needs a Dan access token: a person's with the
// `services` scope; officers act for their agency (role officer or admin) and desk staff file
// for present citizens (role desk) only after a login at substantial assurance or higher.
//   POST /services/v1/applications                    apply {service, form, consentToken}
//                                                     (Idempotency-Key honoured); 201 when
//                                                     finished, 202 when waiting
//   GET  /services/v1/applications                    the caller's applications
//   GET  /services/v1/applications/{id}               one (applicant or the agency's officers)
//   GET  /services/v1/applications/{id}/history       its events
//   POST /services/v1/applications/{id}/actions       {action, comment, claims, form, version}
//   POST /services/v1/applications/{id}/attachments   a PDF, PNG or JPEG body (?name=)
//   GET  /services/v1/applications/{id}/attachments[/{attachmentId}]
//   GET  /services/v1/inbox?agency=&state=&service=&assignee=me   the officer's inbox
//   GET  /services/v1/notices?unread=   POST /services/v1/notices/read {upTo}
//   POST /services/v1/desk/filings {nationalId, service}            a code to the citizen
//   POST /services/v1/desk/filings/{id}/confirm {code, form}         the filing
// GovStack Registration BB: POST /services/{serviceId}/applications, GET /applications,
// GET|PUT /applications/{fileId} (PUT: an officer's corrections of the form data), GET /tasks,
// GET /tasks/{taskId}, POST /tasks/{taskId}/complete.
// Objects passed in must outlive the router.
struct ApplicationsApiOptions {
  std::string country;                 // for the GovStack service UUIDs
  std::vector<std::string> languages;  // the pack's; the first is the default
};

void MountApplicationsApi(http::Router& router, ApplicationService& service,
                          identity::OidcProvider& oidc, identity::AccountDirectory& accounts,
                          ApplicationsApiOptions options);

}  // namespace ulus::services
