#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/crypto/jose.hpp"
#include "ulus/http/message.hpp"
#include "ulus/http/router.hpp"
#include "ulus/identity/keystore.hpp"
#include "ulus/store/database.hpp"
#include "ulus/store/migration.hpp"

namespace ulus::identity {

// Consent in the shape of GovStack's Consent Building Block: an agency publishes data agreements
// (which data, for what purpose, on what lawful basis, for how long) and people grant or withdraw
// consent records against them. A granted record comes with a consent token, a JWT signed by Dan
// that an agency presents (through Khur) when it asks for the data.

// One item of data an agreement covers, e.g. "person.birth_date" (registry and field).
struct DataAttribute {
  std::string name;
  std::string sensitivity;  // free text, e.g. "personal", "sensitive"
  std::string category;     // free text, e.g. "civil status"
  bool operator==(const DataAttribute&) const = default;
};

// GovStack's Revision: a serialized snapshot of one object as it was changed, with its hash and
// the hash of the revision before it, so a history can be checked for tampering. `hash` is
// SHA-256 (hex) of `snapshot`: the spec's SHA-1 is no longer fit for integrity.
struct ConsentRevision {
  std::string id;
  std::string schema_name;  // "DataAgreement" or "ConsentRecord"
  std::string object_id;
  std::string snapshot;
  std::string hash;
  std::string predecessor_hash;  // empty for the first revision
  TimePoint timestamp;
  std::string authorized_by_individual;  // national id, when the individual made the change
  std::string authorized_by_other;       // the operator or agency client otherwise
};

struct DataAgreement {
  std::string id;  // UUIDv7, assigned on creation
  int64_t version = 1;
  std::string controller;    // the agency code of the data controller
  std::string purpose;       // shown to the individual
  std::string lawful_basis;  // consent, legal_obligation, contract, vital_interest,
                             // public_task or legitimate_interest
  std::string data_use;      // "", "data_source" or "data_using_service"
  std::string dpia;          // the data protection impact assessment (text or a link)
  std::vector<DataAttribute> attributes;
  int64_t period_days = 365;  // how long a consent lasts unless the individual grants less
  bool active = true;         // new consent may be given
  bool forgettable = false;
  TimePoint created;
  ConsentRevision revision;  // the latest
};

enum class ConsentState { kGiven, kWithdrawn, kExpired };
std::string_view ConsentStateName(ConsentState state);

struct ConsentRecord {
  std::string id;             // UUIDv7; the consent token's jti
  std::string individual_id;  // the person's national id
  std::string account_id;     // the account that granted it
  std::string agreement_id;
  int64_t agreement_version = 0;
  std::string agreement_revision_hash;
  bool opt_in = true;
  // kExpired is recorded only once a new grant replaces an expired record; check `expires`.
  ConsentState state = ConsentState::kGiven;
  TimePoint created;
  TimePoint updated;
  std::optional<TimePoint> withdrawn;
  TimePoint expires;
  ConsentRevision revision;  // the latest
};

struct GrantedConsent {
  ConsentRecord record;
  std::string token;  // the consent token (JWT, typ consent+jwt)
};

// What a verifier expects of a consent token. `subject` and `agency` are required, and an
// agreement id or a purpose (or both).
struct ConsentCheck {
  std::string subject;  // the national id the data is about
  std::string agreement_id;
  // The request's purpose: the consent's own purpose, or a case under it ("<purpose>/<case>").
  std::string purpose;
  std::string agency;  // the agency that will use the data: the agreement's controller
};

struct VerifiedConsent {
  ConsentRecord record;
  DataAgreement agreement;
  nlohmann::json claims;
};

// Data agreements and consent records (`dan_consent`), and the consent tokens signed with the
// platform's "consent" key from the KeyStore. Authorization is the caller's business (see
// MountConsentApi): the service trusts the ids it is given. Thread-safe.
class ConsentService {
 public:
  static constexpr int64_t kMaxPeriodDays = 3650;

  // `issuer` is the token's iss (Dan's issuer URL). Runs the migrations.
  static Result<std::unique_ptr<ConsentService>> Open(store::Database& db, KeyStore& keys,
                                                      std::string issuer,
                                                      const Clock& clock = Clock::System());
  static const std::vector<store::Migration>& Migrations();  // component "dan_consent"
  // The key that signs consent tokens.
  static const KeyOwner& TokenKeyOwner();

  // Creates an agreement from `agreement` (its id, version, created and revision are assigned).
  // `actor` names who created it, for the revision.
  Result<DataAgreement> CreateAgreement(DataAgreement agreement, std::string_view actor);
  Result<DataAgreement> Agreement(std::string_view id);
  // In id (creation) order; an empty `controller` lists every agency's.
  Result<std::vector<DataAgreement>> Agreements(std::string_view controller, size_t offset,
                                                size_t limit);

  // The individual consents to the agreement for `period_days` (at most the agreement's period;
  // its period when not given). A consent already given is renewed (a new revision and expiry);
  // one withdrawn or expired stays as it was and a new record is made.
  Result<GrantedConsent> Grant(std::string_view national_id, std::string_view account_id,
                               std::string_view agreement_id,
                               std::optional<int64_t> period_days = std::nullopt);
  // Withdraws a record of `national_id`; kNotFound when it has no such record, whoever else's it
  // is. Withdrawing again changes nothing.
  Result<ConsentRecord> Withdraw(std::string_view record_id, std::string_view national_id);
  // Any record by id: callers check it is the caller's to see.
  Result<ConsentRecord> Record(std::string_view record_id);
  // The individual's newest record for the agreement, whatever its state.
  Result<std::optional<ConsentRecord>> CurrentRecord(std::string_view national_id,
                                                     std::string_view agreement_id);
  // The individual's records, newest first.
  Result<std::vector<ConsentRecord>> Records(std::string_view national_id, size_t offset,
                                             size_t limit);

  // Checks a consent token: signature by a published consent key, iss, typ, expiry, that it is
  // about `check.subject`, for the agreement or purpose and agency expected, and that its record
  // is still given and unexpired. kUnauthenticated for a token that does not verify,
  // kPermissionDenied for one that does not cover the use or whose consent was withdrawn.
  Result<VerifiedConsent> Verify(std::string_view token, const ConsentCheck& check);
  Result<crypto::JwkSet> Jwks();

  ~ConsentService();
  struct Impl;

 private:
  explicit ConsentService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// GovStack JSON forms.
nlohmann::json ToJson(const DataAgreement& agreement);
nlohmann::json ToJson(const ConsentRecord& record);
nlohmann::json ToJson(const ConsentRevision& revision);
// Reads a DataAgreement document as the config API receives it; id, version and revision are
// ignored. `controller` may be an agency code or {"id": code}.
Result<DataAgreement> DataAgreementFromJson(const nlohmann::json& json);

// Who is calling the consent API, as the platform's authentication established it.
struct ConsentCaller {
  enum class Kind { kIndividual, kAgency, kOperator };
  Kind kind = Kind::kIndividual;
  std::string national_id;  // kIndividual
  std::string account_id;   // kIndividual and kOperator
  std::string client_id;    // kAgency: the agency's client (X-Road or OAuth client id)
  std::string agency;       // kAgency: its agency code
};

// Establishes the caller of a request (a bearer token, a session, an X-Road header...), or fails
// with kUnauthenticated. Called on server threads; must be thread-safe.
using ConsentAuth = std::function<Result<ConsentCaller>(const http::Request&)>;

// Mounts the Consent BB routes (/config/..., /service/...) with their OpenAPI operations. An
// individual sees only their own records (another's answers 404, as if it did not exist); data
// agreements are created by the operator or by the controlling agency's client; verification is
// for agencies and the operator. `service` must outlive the router.
void MountConsentApi(http::Router& router, ConsentService& service, ConsentAuth auth);

}  // namespace ulus::identity
