#pragma once

// Private to services_applications: how an application's data is pulled through Khur and turned
// into its document's claims.

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ulus/core/result.hpp"
#include "ulus/documents/templates.hpp"
#include "ulus/services/applications.hpp"

namespace ulus::services::fulfilment {

// The records pulled for one application, by registry, and where each came from.
struct PulledData {
  std::map<std::string, std::vector<nlohmann::json>, std::less<>> records;
  nlohmann::json sources = nlohmann::json::array();  // [{registry, record, exchange}]
};

struct PullContext {
  std::string subject;  // the applicant's national ID
  std::string purpose;
  std::string user_id;
  std::string consent_token;
};

// Reads the service's registries in the order it lists them: a registry naming a subject by
// the applicant's ID, one without through the references of records already read. A required
// registry with no record is kFailedPrecondition naming it (the application's rejection).
Result<PulledData> Pull(const ServiceDefinition& service,
                        const std::map<std::string, RegistrySource, std::less<>>& registries,
                        DataExchange& exchange, const PullContext& context);

struct ClaimInputs {
  const PulledData* data = nullptr;
  const nlohmann::json* form = nullptr;
  const nlohmann::json* officer = nullptr;  // approval's entries for fields mapped to "officer"
  std::string application_id;
  std::string date;  // YYYY-MM-DD
};

// The claims of the service's document from its claims map. kFailedPrecondition when a required
// field has no value (the registries lack it); kInvalidArgument when an officer's entry is
// missing or of the wrong type.
Result<nlohmann::json> BuildClaims(const ServiceDefinition& service,
                                   const documents::Template& document_template,
                                   const ClaimInputs& inputs);

// Checks a service's claims map, form and data when the catalogue is loaded.
Status CheckService(const ServiceDefinition& service, const documents::Template* document_template,
                    const std::vector<RegistrySource>& registries);

// The applicant's e-form entries against the service's form: required ones present, types,
// lengths, no unknown names. Returns the entries normalised (dates checked, integers as numbers).
Result<nlohmann::json> CheckForm(const ServiceDefinition& service, const nlohmann::json& form);

}  // namespace ulus::services::fulfilment
