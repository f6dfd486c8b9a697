#include "ulus/identity/consent.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>

#include "ulus/core/id.hpp"
#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"

namespace ulus::identity {
namespace {

using nlohmann::json;
using store::Value;

constexpr std::string_view kTokenType = "consent+jwt";
constexpr int64_t kMicrosPerDay = 86'400'000'000;
constexpr size_t kMaxTextBytes = 2000;
constexpr size_t kMaxAttributes = 200;
constexpr std::array<std::string_view, 6> kLawfulBases = {"consent",     "legal_obligation",
                                                          "contract",    "vital_interest",
                                                          "public_task", "legitimate_interest"};

const KeyOwner kTokenKey{KeyOwnerKind::kPlatform, "consent"};

constexpr std::string_view kAgreementColumns =
    "a.id, a.version, a.document, a.active, a.created, v.id, v.schema_name, v.object_id, "
    "v.snapshot, v.hash, v.predecessor_hash, v.timestamp, v.authorized_by_individual, "
    "v.authorized_by_other";
constexpr std::string_view kAgreementFrom =
    " FROM dan_consent_agreement a JOIN dan_consent_revision v ON v.id = a.revision_id";

constexpr std::string_view kRecordColumns =
    "r.id, r.individual_id, r.account_id, r.agreement_id, r.agreement_version, "
    "r.agreement_revision_hash, r.opt_in, r.state, r.created, r.updated, r.withdrawn, r.expires, "
    "v.id, v.schema_name, v.object_id, v.snapshot, v.hash, v.predecessor_hash, v.timestamp, "
    "v.authorized_by_individual, v.authorized_by_other";
constexpr std::string_view kRecordFrom =
    " FROM dan_consent_record r JOIN dan_consent_revision v ON v.id = r.revision_id";

Error Denied(std::string message) {
  return {ErrorCode::kPermissionDenied, std::move(message), {}};
}

Result<std::string> Text(const json& doc, const char* key, bool required,
                         size_t max = kMaxTextBytes) {
  const auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) {
    if (required) return Error::InvalidArgument(std::string(key) + " is required", key);
    return std::string();
  }
  if (!it->is_string()) return Error::InvalidArgument(std::string(key) + " must be text", key);
  auto s = it->get<std::string>();
  if (s.size() > max) {
    return Error::InvalidArgument(
        std::string(key) + " is longer than " + std::to_string(max) + " bytes", key);
  }
  if (required && s.empty()) {
    return Error::InvalidArgument(std::string(key) + " must not be empty", key);
  }
  return s;
}

ConsentRevision RevisionFromRow(const store::Row& row, size_t first) {
  ConsentRevision r;
  r.id = row.Text(first);
  r.schema_name = row.Text(first + 1);
  r.object_id = row.Text(first + 2);
  r.snapshot = row.Text(first + 3);
  r.hash = row.Text(first + 4);
  r.predecessor_hash = row.OptionalText(first + 5).value_or("");
  r.timestamp = FromUnixMicros(row.Int(first + 6));
  r.authorized_by_individual = row.OptionalText(first + 7).value_or("");
  r.authorized_by_other = row.OptionalText(first + 8).value_or("");
  return r;
}

Result<DataAgreement> AgreementFromRow(const store::Row& row) {
  const json doc = json::parse(row.Text(2), nullptr, false);
  if (!doc.is_object()) {
    return Error::Internal("data agreement " + row.Text(0) + " is not stored as JSON");
  }
  ULUS_ASSIGN_OR_RETURN(auto agreement, DataAgreementFromJson(doc));
  agreement.id = row.Text(0);
  agreement.version = row.Int(1);
  agreement.active = row.Int(3) != 0;
  agreement.created = FromUnixMicros(row.Int(4));
  agreement.revision = RevisionFromRow(row, 5);
  return agreement;
}

Result<ConsentState> StateFromName(std::string_view name) {
  if (name == "given") return ConsentState::kGiven;
  if (name == "withdrawn") return ConsentState::kWithdrawn;
  if (name == "expired") return ConsentState::kExpired;
  return Error::Internal("dan_consent_record holds an unknown state '" + std::string(name) + "'");
}

Result<ConsentRecord> RecordFromRow(const store::Row& row) {
  ConsentRecord r;
  r.id = row.Text(0);
  r.individual_id = row.Text(1);
  r.account_id = row.Text(2);
  r.agreement_id = row.Text(3);
  r.agreement_version = row.Int(4);
  r.agreement_revision_hash = row.Text(5);
  r.opt_in = row.Int(6) != 0;
  ULUS_ASSIGN_OR_RETURN(r.state, StateFromName(row.Text(7)));
  r.created = FromUnixMicros(row.Int(8));
  r.updated = FromUnixMicros(row.Int(9));
  if (const auto w = row.OptionalInt(10)) r.withdrawn = FromUnixMicros(*w);
  r.expires = FromUnixMicros(row.Int(11));
  r.revision = RevisionFromRow(row, 12);
  return r;
}

// The object's data as the revision snapshots it: its JSON form without the revision itself.
json ObjectData(const DataAgreement& a) {
  json j = ToJson(a);
  j.erase("revision");
  return j;
}

json ObjectData(const ConsentRecord& r) {
  json j = ToJson(r);
  j.erase("revision");
  return j;
}

// Builds and stores a revision of an object inside `tx`.
Result<ConsentRevision> AppendRevision(store::Connection& tx, const Clock& clock,
                                       std::string schema_name, std::string object_id,
                                       json object_data, std::string predecessor_hash,
                                       std::string by_individual, std::string by_other) {
  ConsentRevision rev;
  rev.id = NewUuidV7(clock);
  rev.schema_name = std::move(schema_name);
  rev.object_id = std::move(object_id);
  rev.timestamp = clock.Now();
  rev.predecessor_hash = std::move(predecessor_hash);
  rev.authorized_by_individual = std::move(by_individual);
  rev.authorized_by_other = std::move(by_other);
  const json snapshot{{"objectData", std::move(object_data)},
                      {"schemaName", rev.schema_name},
                      {"objectId", rev.object_id},
                      {"signedWithoutObjectId", false},
                      {"timestamp", FormatRfc3339(rev.timestamp)},
                      {"authorizedByIndividual", rev.authorized_by_individual},
                      {"authorizedByOther", rev.authorized_by_other},
                      {"predecessorHash", rev.predecessor_hash}};
  rev.snapshot = snapshot.dump();
  rev.hash = crypto::HexEncode(crypto::Sha256(rev.snapshot));
  auto optional_text = [](const std::string& s) { return s.empty() ? Value() : Value(s); };
  const Value params[] = {rev.id,
                          rev.schema_name,
                          rev.object_id,
                          rev.snapshot,
                          rev.hash,
                          optional_text(rev.predecessor_hash),
                          ToUnixMicros(rev.timestamp),
                          optional_text(rev.authorized_by_individual),
                          optional_text(rev.authorized_by_other)};
  ULUS_TRY(tx.Execute(
      "INSERT INTO dan_consent_revision (id, schema_name, object_id, snapshot, hash, "
      "predecessor_hash, timestamp, authorized_by_individual, authorized_by_other) VALUES ($1, "
      "$2, $3, $4, $5, $6, $7, $8, $9)",
      params));
  return rev;
}

Result<DataAgreement> LoadAgreement(store::Connection& conn, std::string_view id) {
  const Value params[] = {std::string(id)};
  ULUS_ASSIGN_OR_RETURN(auto rows, conn.Query("SELECT " + std::string(kAgreementColumns) +
                                                  std::string(kAgreementFrom) + " WHERE a.id = $1",
                                              params));
  if (rows.empty()) return Error::NotFound("there is no data agreement '" + std::string(id) + "'");
  return AgreementFromRow(rows.front());
}

Result<std::optional<ConsentRecord>> LoadRecord(store::Connection& conn, std::string_view where,
                                                std::span<const Value> params) {
  ULUS_ASSIGN_OR_RETURN(
      auto rows,
      conn.Query("SELECT " + std::string(kRecordColumns) + std::string(kRecordFrom) + " WHERE " +
                     std::string(where) + " ORDER BY r.created DESC, r.id DESC LIMIT 1",
                 params));
  if (rows.empty()) return std::optional<ConsentRecord>();
  ULUS_ASSIGN_OR_RETURN(auto record, RecordFromRow(rows.front()));
  return std::optional<ConsentRecord>(std::move(record));
}

Status StoreRecord(store::Connection& tx, const ConsentRecord& r, bool insert) {
  const Value params[] = {r.id,
                          r.individual_id,
                          r.account_id,
                          r.agreement_id,
                          r.agreement_version,
                          r.agreement_revision_hash,
                          int64_t{r.opt_in ? 1 : 0},
                          std::string(ConsentStateName(r.state)),
                          ToUnixMicros(r.created),
                          ToUnixMicros(r.updated),
                          r.withdrawn ? Value(ToUnixMicros(*r.withdrawn)) : Value(),
                          ToUnixMicros(r.expires),
                          r.revision.id};
  if (insert) {
    ULUS_ASSIGN_OR_RETURN(
        const int64_t n,
        tx.Execute("INSERT INTO dan_consent_record (id, individual_id, account_id, agreement_id, "
                   "agreement_version, agreement_revision_hash, opt_in, state, created, updated, "
                   "withdrawn, expires, revision_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                   "$10, $11, $12, $13) ON CONFLICT DO NOTHING",
                   params));
    if (n == 0) return Error::Conflict("consent was given meanwhile by another request; try again");
    return Ok();
  }
  ULUS_TRY(tx.Execute(
      "UPDATE dan_consent_record SET opt_in = $7, state = $8, updated = $10, withdrawn = $11, "
      "expires = $12, revision_id = $13, agreement_version = $5, agreement_revision_hash = $6 "
      "WHERE id = $1 AND individual_id = $2 AND account_id = $3 AND agreement_id = $4 AND "
      "created = $9",
      params));
  return Ok();
}

}  // namespace

std::string_view ConsentStateName(ConsentState state) {
  switch (state) {
    case ConsentState::kGiven: return "given";
    case ConsentState::kWithdrawn: return "withdrawn";
    case ConsentState::kExpired: return "expired";
  }
  return "expired";
}

json ToJson(const ConsentRevision& r) {
  return json{{"id", r.id},
              {"schemaName", r.schema_name},
              {"objectId", r.object_id},
              {"signedWithoutObjectId", false},
              {"serializedSnapshot", r.snapshot},
              {"serializedHash", r.hash},
              {"timestamp", FormatRfc3339(r.timestamp)},
              {"authorizedByIndividual", r.authorized_by_individual},
              {"authorizedByOther", r.authorized_by_other},
              {"predecessorHash", r.predecessor_hash}};
}

json ToJson(const DataAgreement& a) {
  json attributes = json::array();
  for (const auto& attr : a.attributes) {
    attributes.push_back(
        {{"name", attr.name}, {"sensitivity", attr.sensitivity}, {"category", attr.category}});
  }
  return json{{"id", a.id},
              {"version", std::to_string(a.version)},
              {"controller", {{"id", a.controller}, {"name", a.controller}, {"url", ""}}},
              {"purpose", a.purpose},
              {"lawfulBasis", a.lawful_basis},
              {"dataUse", a.data_use},
              {"dpia", a.dpia},
              {"dataAttributes", std::move(attributes)},
              {"periodDays", a.period_days},
              {"active", a.active},
              {"forgettable", a.forgettable},
              {"createdAt", FormatRfc3339(a.created)},
              {"revision", ToJson(a.revision)}};
}

json ToJson(const ConsentRecord& r) {
  return json{{"id", r.id},
              {"dataAgreementId", r.agreement_id},
              {"dataAgreementVersion", std::to_string(r.agreement_version)},
              {"dataAgreementRevisionHash", r.agreement_revision_hash},
              {"individualId", r.individual_id},
              {"optIn", r.opt_in},
              {"state", ConsentStateName(r.state)},
              {"createdAt", FormatRfc3339(r.created)},
              {"updatedAt", FormatRfc3339(r.updated)},
              {"withdrawnAt", r.withdrawn ? json(FormatRfc3339(*r.withdrawn)) : json(nullptr)},
              {"expiresAt", FormatRfc3339(r.expires)},
              {"revision", ToJson(r.revision)}};
}

Result<DataAgreement> DataAgreementFromJson(const json& doc) {
  if (!doc.is_object()) return Error::InvalidArgument("a data agreement must be a JSON object");
  DataAgreement a;
  if (const auto it = doc.find("controller"); it != doc.end() && it->is_object()) {
    ULUS_ASSIGN_OR_RETURN(a.controller, Text(*it, "id", true, 64));
  } else {
    ULUS_ASSIGN_OR_RETURN(a.controller, Text(doc, "controller", true, 64));
  }
  ULUS_ASSIGN_OR_RETURN(a.purpose, Text(doc, "purpose", true));
  ULUS_ASSIGN_OR_RETURN(a.lawful_basis, Text(doc, "lawfulBasis", true));
  if (std::find(kLawfulBases.begin(), kLawfulBases.end(), a.lawful_basis) == kLawfulBases.end()) {
    return Error::InvalidArgument(
        "lawfulBasis must be one of consent, legal_obligation, contract, vital_interest, "
        "public_task, legitimate_interest",
        "lawfulBasis");
  }
  ULUS_ASSIGN_OR_RETURN(a.data_use, Text(doc, "dataUse", false));
  if (!a.data_use.empty() && a.data_use != "data_source" && a.data_use != "data_using_service") {
    return Error::InvalidArgument("dataUse must be data_source or data_using_service", "dataUse");
  }
  ULUS_ASSIGN_OR_RETURN(a.dpia, Text(doc, "dpia", false));
  const auto attrs = doc.find("dataAttributes");
  if (attrs == doc.end() || !attrs->is_array() || attrs->empty()) {
    return Error::InvalidArgument("dataAttributes must list the data the agreement covers",
                                  "dataAttributes");
  }
  if (attrs->size() > kMaxAttributes) {
    return Error::InvalidArgument("an agreement covers at most 200 data attributes",
                                  "dataAttributes");
  }
  for (const auto& item : *attrs) {
    DataAttribute attr;
    if (item.is_string()) {
      attr.name = item.get<std::string>();
    } else if (item.is_object()) {
      ULUS_ASSIGN_OR_RETURN(attr.name, Text(item, "name", true, 200));
      ULUS_ASSIGN_OR_RETURN(attr.sensitivity, Text(item, "sensitivity", false, 200));
      ULUS_ASSIGN_OR_RETURN(attr.category, Text(item, "category", false, 200));
    }
    if (attr.name.empty() || attr.name.size() > 200) {
      return Error::InvalidArgument("each data attribute needs a name of 1 to 200 bytes",
                                    "dataAttributes");
    }
    a.attributes.push_back(std::move(attr));
  }
  if (const auto it = doc.find("periodDays"); it != doc.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1 ||
        it->get<int64_t>() > ConsentService::kMaxPeriodDays) {
      return Error::InvalidArgument("periodDays must be a whole number from 1 to 3650",
                                    "periodDays");
    }
    a.period_days = it->get<int64_t>();
  }
  auto flag = [&](const char* key, bool& target) -> Status {
    const auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) return Ok();
    if (!it->is_boolean()) {
      return Error::InvalidArgument(std::string(key) + " must be true or false", key);
    }
    target = it->get<bool>();
    return Ok();
  };
  ULUS_TRY(flag("active", a.active));
  ULUS_TRY(flag("forgettable", a.forgettable));
  return a;
}

struct ConsentService::Impl {
  store::Database& db;
  KeyStore& keys;
  std::string issuer;
  const Clock& clock;
};

ConsentService::ConsentService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ConsentService::~ConsentService() = default;

const KeyOwner& ConsentService::TokenKeyOwner() {
  return kTokenKey;
}

Result<std::unique_ptr<ConsentService>> ConsentService::Open(store::Database& db, KeyStore& keys,
                                                             std::string issuer,
                                                             const Clock& clock) {
  if (issuer.empty()) return Error::InvalidArgument("the consent token issuer must be set");
  ULUS_TRY(store::Migrate(db, "dan_consent", Migrations()));
  return std::unique_ptr<ConsentService>(
      new ConsentService(std::make_unique<Impl>(Impl{db, keys, std::move(issuer), clock})));
}

const std::vector<store::Migration>& ConsentService::Migrations() {
  // An agreement keeps its full document as JSON text; the columns are what queries need. At
  // most one given record per person and agreement (the partial unique index); withdrawn and
  // expired ones stay for audit. Every change of either is a revision, chained by hash.
  static const std::vector<store::Migration> steps = {
      {.version = 1,
       .name = "data agreements, consent records and revisions",
       .sql = "CREATE TABLE dan_consent_revision ("
              " id TEXT PRIMARY KEY,"
              " schema_name TEXT NOT NULL,"
              " object_id TEXT NOT NULL,"
              " snapshot TEXT NOT NULL,"
              " hash TEXT NOT NULL,"
              " predecessor_hash TEXT,"
              " timestamp BIGINT NOT NULL,"
              " authorized_by_individual TEXT,"
              " authorized_by_other TEXT);"
              "CREATE INDEX dan_consent_revision_object ON dan_consent_revision (object_id, "
              "timestamp);"
              "CREATE TABLE dan_consent_agreement ("
              " id TEXT PRIMARY KEY,"
              " version BIGINT NOT NULL,"
              " controller TEXT NOT NULL,"
              " active INTEGER NOT NULL,"
              " document TEXT NOT NULL,"
              " revision_id TEXT NOT NULL,"
              " created BIGINT NOT NULL);"
              "CREATE INDEX dan_consent_agreement_controller ON dan_consent_agreement "
              "(controller, id);"
              "CREATE TABLE dan_consent_record ("
              " id TEXT PRIMARY KEY,"
              " individual_id TEXT NOT NULL,"
              " account_id TEXT NOT NULL,"
              " agreement_id TEXT NOT NULL,"
              " agreement_version BIGINT NOT NULL,"
              " agreement_revision_hash TEXT NOT NULL,"
              " opt_in INTEGER NOT NULL,"
              " state TEXT NOT NULL,"
              " created BIGINT NOT NULL,"
              " updated BIGINT NOT NULL,"
              " withdrawn BIGINT,"
              " expires BIGINT NOT NULL,"
              " revision_id TEXT NOT NULL);"
              "CREATE UNIQUE INDEX dan_consent_record_given ON dan_consent_record "
              "(individual_id, agreement_id) WHERE state = 'given';"
              "CREATE INDEX dan_consent_record_individual ON dan_consent_record "
              "(individual_id, created);"},
  };
  return steps;
}

Result<DataAgreement> ConsentService::CreateAgreement(DataAgreement agreement,
                                                      std::string_view actor) {
  // Validate through the same path as the API, so both refuse the same documents.
  json doc = ToJson(agreement);
  ULUS_ASSIGN_OR_RETURN(auto checked, DataAgreementFromJson(doc));
  checked.id = NewUuidV7(impl_->clock);
  checked.version = 1;
  checked.created = impl_->clock.Now();
  const Clock& clock = impl_->clock;
  return impl_->db.InTransaction<DataAgreement>(
      [&](store::Connection& tx) -> Result<DataAgreement> {
        DataAgreement a = checked;
        ULUS_ASSIGN_OR_RETURN(
            a.revision, AppendRevision(tx, clock, "DataAgreement", a.id, ObjectData(a), "", "",
                                       std::string(actor)));
        json stored = ObjectData(a);
        const Value params[] = {
            a.id,          a.version,     a.controller,           int64_t{a.active ? 1 : 0},
            stored.dump(), a.revision.id, ToUnixMicros(a.created)};
        ULUS_TRY(tx.Execute(
            "INSERT INTO dan_consent_agreement (id, version, controller, active, document, "
            "revision_id, created) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            params));
        return a;
      });
}

Result<DataAgreement> ConsentService::Agreement(std::string_view id) {
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  return LoadAgreement(*conn, id);
}

Result<std::vector<DataAgreement>> ConsentService::Agreements(std::string_view controller,
                                                              size_t offset, size_t limit) {
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  const Value params[] = {std::string(controller), static_cast<int64_t>(limit),
                          static_cast<int64_t>(offset)};
  ULUS_ASSIGN_OR_RETURN(
      auto rows,
      conn->Query("SELECT " + std::string(kAgreementColumns) + std::string(kAgreementFrom) +
                      " WHERE ($1 = '' OR a.controller = $1) ORDER BY a.id LIMIT $2 "
                      "OFFSET $3",
                  params));
  std::vector<DataAgreement> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    ULUS_ASSIGN_OR_RETURN(auto a, AgreementFromRow(row));
    out.push_back(std::move(a));
  }
  return out;
}

Result<GrantedConsent> ConsentService::Grant(std::string_view national_id,
                                             std::string_view account_id,
                                             std::string_view agreement_id,
                                             std::optional<int64_t> period_days) {
  if (national_id.empty() || account_id.empty()) {
    return Error::InvalidArgument("consent needs the individual's national id and account");
  }
  if (period_days && (*period_days < 1 || *period_days > kMaxPeriodDays)) {
    return Error::InvalidArgument("the consent period must be 1 to 3650 days", "periodDays");
  }
  // The signer first: making the key on first use takes a transaction of its own.
  ULUS_ASSIGN_OR_RETURN(auto signer, impl_->keys.Signer(kTokenKey, crypto::SignatureAlg::kEs256));
  const Clock& clock = impl_->clock;
  DataAgreement agreement;
  ULUS_ASSIGN_OR_RETURN(
      auto record,
      impl_->db.InTransaction<ConsentRecord>([&](store::Connection& tx) -> Result<ConsentRecord> {
        ULUS_ASSIGN_OR_RETURN(agreement, LoadAgreement(tx, agreement_id));
        if (!agreement.active) {
          return Error{ErrorCode::kFailedPrecondition,
                       "data agreement '" + agreement.id + "' no longer takes new consent",
                       {}};
        }
        const int64_t days =
            std::min(period_days.value_or(agreement.period_days), agreement.period_days);
        const TimePoint now = clock.Now();
        const Value key[] = {std::string(national_id), std::string(agreement_id)};
        ULUS_ASSIGN_OR_RETURN(
            auto given,
            LoadRecord(tx, "r.individual_id = $1 AND r.agreement_id = $2 AND r.state = 'given'",
                       key));
        ConsentRecord r;
        std::string predecessor;
        bool insert = true;
        if (given && given->expires > now) {
          r = std::move(*given);  // renew
          predecessor = r.revision.hash;
          insert = false;
        } else {
          if (given) {
            given->state = ConsentState::kExpired;
            given->updated = now;
            ULUS_ASSIGN_OR_RETURN(
                given->revision,
                AppendRevision(tx, clock, "ConsentRecord", given->id, ObjectData(*given),
                               given->revision.hash, "", "expired"));
            ULUS_TRY(StoreRecord(tx, *given, false));
          }
          r.id = NewUuidV7(clock);
          r.individual_id = std::string(national_id);
          r.account_id = std::string(account_id);
          r.agreement_id = agreement.id;
          r.created = now;
        }
        r.agreement_version = agreement.version;
        r.agreement_revision_hash = agreement.revision.hash;
        r.opt_in = true;
        r.state = ConsentState::kGiven;
        r.updated = now;
        r.withdrawn.reset();
        r.expires = now + std::chrono::microseconds(days * kMicrosPerDay);
        ULUS_ASSIGN_OR_RETURN(
            r.revision, AppendRevision(tx, clock, "ConsentRecord", r.id, ObjectData(r), predecessor,
                                       r.individual_id, ""));
        ULUS_TRY(StoreRecord(tx, r, insert));
        return r;
      }));
  json attributes = json::array();
  for (const auto& attr : agreement.attributes) attributes.push_back(attr.name);
  const json claims{
      {"iss", impl_->issuer},
      {"sub", record.individual_id},
      {"jti", record.id},
      {"agreement", record.agreement_id},
      {"agreement_version", record.agreement_version},
      {"agreement_hash", record.agreement_revision_hash},
      {"purpose", agreement.purpose},
      {"controller", agreement.controller},
      {"attributes", std::move(attributes)},
      {"iat",
       std::chrono::duration_cast<std::chrono::seconds>(record.updated.time_since_epoch()).count()},
      {"exp", std::chrono::duration_cast<std::chrono::seconds>(record.expires.time_since_epoch())
                  .count()}};
  ULUS_ASSIGN_OR_RETURN(auto token,
                        crypto::SignJwt({{"typ", std::string(kTokenType)}}, claims, *signer));
  return GrantedConsent{.record = std::move(record), .token = std::move(token)};
}

Result<ConsentRecord> ConsentService::Withdraw(std::string_view record_id,
                                               std::string_view national_id) {
  const Clock& clock = impl_->clock;
  return impl_->db.InTransaction<ConsentRecord>(
      [&](store::Connection& tx) -> Result<ConsentRecord> {
        const Value key[] = {std::string(record_id), std::string(national_id)};
        ULUS_ASSIGN_OR_RETURN(auto found,
                              LoadRecord(tx, "r.id = $1 AND r.individual_id = $2", key));
        if (!found) {
          return Error::NotFound("you have no consent record '" + std::string(record_id) + "'");
        }
        ConsentRecord r = std::move(*found);
        if (r.state == ConsentState::kWithdrawn) return r;
        const TimePoint now = clock.Now();
        r.opt_in = false;
        r.state = ConsentState::kWithdrawn;
        r.updated = now;
        r.withdrawn = now;
        ULUS_ASSIGN_OR_RETURN(r.revision,
                              AppendRevision(tx, clock, "ConsentRecord", r.id, ObjectData(r),
                                             r.revision.hash, r.individual_id, ""));
        ULUS_TRY(StoreRecord(tx, r, false));
        return r;
      });
}

Result<ConsentRecord> ConsentService::Record(std::string_view record_id) {
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  const Value key[] = {std::string(record_id)};
  ULUS_ASSIGN_OR_RETURN(auto found, LoadRecord(*conn, "r.id = $1", key));
  if (!found) return Error::NotFound("there is no consent record '" + std::string(record_id) + "'");
  return std::move(*found);
}

Result<std::optional<ConsentRecord>> ConsentService::CurrentRecord(std::string_view national_id,
                                                                   std::string_view agreement_id) {
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  const Value key[] = {std::string(national_id), std::string(agreement_id)};
  return LoadRecord(*conn, "r.individual_id = $1 AND r.agreement_id = $2", key);
}

Result<std::vector<ConsentRecord>> ConsentService::Records(std::string_view national_id,
                                                           size_t offset, size_t limit) {
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  const Value params[] = {std::string(national_id), static_cast<int64_t>(limit),
                          static_cast<int64_t>(offset)};
  ULUS_ASSIGN_OR_RETURN(
      auto rows, conn->Query("SELECT " + std::string(kRecordColumns) + std::string(kRecordFrom) +
                                 " WHERE r.individual_id = $1 ORDER BY r.created DESC, "
                                 "r.id DESC LIMIT $2 OFFSET $3",
                             params));
  std::vector<ConsentRecord> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    ULUS_ASSIGN_OR_RETURN(auto r, RecordFromRow(row));
    out.push_back(std::move(r));
  }
  return out;
}

Result<crypto::JwkSet> ConsentService::Jwks() {
  return impl_->keys.Jwks(kTokenKey);
}

Result<VerifiedConsent> ConsentService::Verify(std::string_view token, const ConsentCheck& check) {
  if (check.subject.empty() || check.agency.empty()) {
    return Error::InvalidArgument("a consent check names the person and the agency");
  }
  if (check.agreement_id.empty() && check.purpose.empty()) {
    return Error::InvalidArgument("a consent check names the data agreement or the purpose");
  }
  ULUS_ASSIGN_OR_RETURN(auto jwks, Jwks());
  crypto::JwtPolicy policy;
  policy.algorithms = {crypto::SignatureAlg::kEs256};
  policy.issuer = impl_->issuer;
  policy.type = std::string(kTokenType);
  auto verified = crypto::VerifyJwt(token, jwks, policy, impl_->clock);
  if (!verified.ok()) {
    return Error{ErrorCode::kUnauthenticated,
                 "the consent token does not verify: " + verified.error().message,
                 {}};
  }
  const json& claims = verified->claims;
  auto claim = [&](const char* name) {
    const auto it = claims.find(name);
    return it != claims.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (claim("sub") != check.subject) return Denied("the consent token is about another person");
  if (!check.agreement_id.empty() && claim("agreement") != check.agreement_id) {
    return Denied("the consent token is for another data agreement");
  }
  // A consent covers its purpose and every case under it: "services:x" covers a request for
  // "services:x/<application>".
  const std::string purpose = claim("purpose");
  if (!check.purpose.empty() && purpose != check.purpose &&
      !(!purpose.empty() && check.purpose.starts_with(purpose + "/"))) {
    return Denied("the consent token is for another purpose");
  }
  if (claim("controller") != check.agency) {
    return Denied("the consent token was given to another agency");
  }
  // The token verified offline; whether the person has since withdrawn is only in the store.
  auto record = Record(claim("jti"));
  if (!record.ok()) {
    if (record.error().code == ErrorCode::kNotFound) {
      return Denied("the consent token names no consent record");
    }
    return std::move(record).error();
  }
  if (record->individual_id != check.subject || record->agreement_id != claim("agreement")) {
    return Denied("the consent token does not match its consent record");
  }
  if (record->state == ConsentState::kWithdrawn) {
    return Denied("consent record " + record->id + " was withdrawn at " +
                  FormatRfc3339(record->withdrawn.value_or(record->updated)));
  }
  if (record->state != ConsentState::kGiven || record->expires <= impl_->clock.Now()) {
    return Denied("consent record " + record->id + " expired at " + FormatRfc3339(record->expires));
  }
  ULUS_ASSIGN_OR_RETURN(auto agreement, Agreement(record->agreement_id));
  return VerifiedConsent{
      .record = std::move(record).value(), .agreement = std::move(agreement), .claims = claims};
}

}  // namespace ulus::identity
