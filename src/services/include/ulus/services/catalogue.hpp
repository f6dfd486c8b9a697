#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/result.hpp"
#include "ulus/core/translations.hpp"

namespace ulus::services {

using ulus::Translate;
using ulus::Translations;

// Who may apply for a service.
enum class Applicants {
  kAnyone,     // any person with a Dan account
  kAdult,      // 18 or older
  kParent,     // a parent of a child in their household
  kOwner,      // the owner of the property or vehicle concerned
  kPensioner,  // receiving a pension
};

enum class WorkflowKind {
  kAutomatic,  // finished in one request: data pulled, document issued
  kReview,     // an officer of the owning agency decides
};

// One entry of a service's e-form: what the applicant types in when applying.
struct FormField {
  std::string name;
  std::string type = "string";  // string, date, integer or boolean
  Translations label;
  bool required = true;
  size_t max_length = 500;  // strings
};

struct LifeEvent {
  std::string id;  // "moving-house"
  Translations title;
};

// One service of the catalogue: pack data (packs/<cc>/services/<agency>.yaml).
struct ServiceDefinition {
  std::string id;
  std::string agency;
  Translations title;
  Translations description;
  std::map<std::string, std::vector<std::string>, std::less<>> keywords;  // by language
  std::vector<std::string> life_events;
  Applicants applicants = Applicants::kAnyone;
  std::vector<std::string> data;  // registries read through Khur with the applicant as subject
  WorkflowKind workflow = WorkflowKind::kAutomatic;
  int deadline_days = 0;  // working days
  int64_t fee = 0;        // in the pack's currency
  std::string document;   // the template it produces; empty for none
  std::vector<FormField> form;
  // Registries of `data` that may hold no record about the applicant; any other registry with
  // none rejects an automatic application, naming the registry.
  std::vector<std::string> optional_data;
  // How the document's claims are filled: template field -> expression (see ClaimExpression in
  // applications.hpp): "registry.field", "form.name", "application.id", "application.date",
  // "count:registry", "officer" (entered at approval), or a text with {...} placeholders.
  std::map<std::string, std::string, std::less<>> claims;
};

struct CatalogueQuery {
  std::string text;        // words in any of the pack's languages; empty lists everything
  std::string agency;      // only this agency's services
  std::string life_event;  // only services for this life event
  size_t limit = 20;
  size_t offset = 0;
};

struct CatalogueHit {
  const ServiceDefinition* service = nullptr;
  double score = 0;
};

struct CataloguePage {
  std::vector<CatalogueHit> hits;
  size_t total = 0;  // matches before paging
};

// The service catalogue of a country: definitions and life events, searchable by words in every
// language of the pack (case- and accent-insensitive through ICU; each query word matches the
// start of a word of the title, keywords or description), by agency and by life event.
// Immutable once built; safe for concurrent readers.
class Catalogue {
 public:
  // Checks references: each service's agency in `agencies`, each life event known, ids unique.
  static Result<std::unique_ptr<Catalogue>> Build(std::vector<ServiceDefinition> services,
                                                  std::vector<LifeEvent> life_events,
                                                  const std::vector<std::string>& agencies);
  ~Catalogue();

  [[nodiscard]] CataloguePage Search(const CatalogueQuery& query) const;
  [[nodiscard]] const ServiceDefinition* Find(std::string_view id) const;
  [[nodiscard]] const std::vector<ServiceDefinition>& services() const;
  [[nodiscard]] const std::vector<LifeEvent>& life_events() const;

  struct Index;

 private:
  Catalogue(std::vector<ServiceDefinition> services, std::vector<LifeEvent> life_events,
            std::unique_ptr<Index> index);
  std::vector<ServiceDefinition> services_;
  std::vector<LifeEvent> life_events_;
  std::unique_ptr<Index> index_;
};

// The words of `text` as the catalogue indexes them: ICU word boundaries, lower case, accents
// and other combining marks removed (so "Ё" finds "е", "é" finds "e"). Thread-safe.
std::vector<std::string> SearchWords(std::string_view text);

// Reads packs/<cc>/services/*.yaml and packs/<cc>/life_events.yaml. A malformed file fails with
// the file named.
Result<std::vector<ServiceDefinition>> LoadServices(const std::filesystem::path& pack_dir);
Result<std::vector<LifeEvent>> LoadLifeEvents(const std::filesystem::path& pack_dir);

}  // namespace ulus::services
