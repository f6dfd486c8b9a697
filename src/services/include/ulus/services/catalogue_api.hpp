#pragma once

#include <map>
#include <string>
#include <string_view>
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

// The catalogue's services by the pack's id, by their GovStack serviceId and by their eFormId.
// The UUIDs are computed once here rather than for every service on every request. Immutable;
// `catalogue` must outlive it.
class ServiceDirectory {
 public:
  ServiceDirectory(const Catalogue& catalogue, std::string country);
  // By the pack's id or the GovStack serviceId.
  [[nodiscard]] const ServiceDefinition* Find(std::string_view id) const;
  [[nodiscard]] const ServiceDefinition* FindByEForm(std::string_view eform_id) const;
  [[nodiscard]] const std::string& country() const { return country_; }

 private:
  const Catalogue& catalogue_;
  std::string country_;
  std::map<std::string, const ServiceDefinition*, std::less<>> by_uuid_;
  std::map<std::string, const ServiceDefinition*, std::less<>> by_eform_;
};

// The GovStack serviceId of a service: a name-based UUID (RFC 9562 version 8, from SHA-256 of
// "ulus:service:<country>:<id>"), the same on every start and every replica.
std::string ServiceUuid(std::string_view country, std::string_view service_id);
// The GovStack eFormId of a service's form, derived the same way.
std::string EFormUuid(std::string_view country, std::string_view service_id);

}  // namespace ulus::services
