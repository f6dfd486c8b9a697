#pragma once

#include <string>
#include <vector>

#include "ulus/http/router.hpp"
#include "ulus/services/catalogue.hpp"

namespace ulus::services {

struct CatalogueApiOptions {
  std::string country;                 // the pack's code: part of each service's GovStack UUID
  std::vector<std::string> languages;  // the pack's; the first is the default
};

// The catalogue's HTTP face (no login; it is public information):
//   GET /services/v1/catalogue?q=&agency=&lifeEvent=&lang=&limit=&offset=   search
//   GET /services/v1/catalogue/{id}                                           one service
//   GET /services/v1/life-events?lang=                                        the life events
//   GET /services, GET /services/{serviceId}     the GovStack Registration BB's catalogue view
//                                                (serviceId: the UUID or the pack's id)
//   GET /services/{serviceId}/eForms, GET /eForms/{eFormId}   the service's e-form and its
//                                                JSON Schema
// `catalogue` must outlive the router.
void MountCatalogueApi(http::Router& router, const Catalogue& catalogue,
                       CatalogueApiOptions options);

// The GovStack serviceId of a service: a name-based UUID (RFC 9562 version 8, from SHA-256 of
// "ulus:service:<country>:<id>"), the same on every start and every replica.
std::string ServiceUuid(std::string_view country, std::string_view service_id);
// The GovStack eFormId of a service's form, derived the same way.
std::string EFormUuid(std::string_view country, std::string_view service_id);

}  // namespace ulus::services
