#include "ulus/documents/documents.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <set>

#include "ulus/core/id.hpp"
#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/documents/credential.hpp"
#include "ulus/documents/dcc.hpp"
#include "ulus/documents/pdf.hpp"
#include "ulus/documents/transliteration.hpp"
#include "ulus/store/group_commit.hpp"

namespace ulus::documents {

using nlohmann::json;
using store::Value;

namespace {

constexpr std::string_view kAnchorUse = "documents";
constexpr size_t kMaxReason = 500;
constexpr size_t kMaxHolder = 64;
constexpr size_t kMaxIdempotencyKey = 200;
// A stale trust list is rebuilt at once when a credential names a key it lacks (a rotation),
// but not more often than this, so forged input cannot make every request rebuild it.
constexpr auto kTrustRefreshFloor = std::chrono::seconds(1);

const std::vector<store::Migration>& DocumentMigrations() {
  static const std::vector<store::Migration> steps = {
      {1, "documents and verifications",
       R"(CREATE TABLE doc_document (
            id TEXT PRIMARY KEY, template TEXT NOT NULL, template_version TEXT NOT NULL,
            agency TEXT NOT NULL, holder TEXT NOT NULL, issued_by TEXT NOT NULL,
            issued_at BIGINT NOT NULL, expires_at BIGINT, kid TEXT NOT NULL,
            sources TEXT NOT NULL, credential TEXT NOT NULL, hc1 TEXT NOT NULL,
            parent TEXT, revoked_at BIGINT, revoked_reason TEXT, revoked_by TEXT);
          CREATE INDEX doc_document_holder ON doc_document (holder, issued_at);
          CREATE INDEX doc_document_parent ON doc_document (parent);
          CREATE INDEX doc_document_revoked ON doc_document (revoked_at);
          CREATE TABLE doc_verification (
            id INTEGER PRIMARY KEY, document_id TEXT NOT NULL, credential_id TEXT NOT NULL,
            at BIGINT NOT NULL, channel TEXT NOT NULL, remote TEXT NOT NULL,
            verdict TEXT NOT NULL);
          CREATE INDEX doc_verification_document ON doc_verification (document_id, at);)",
       R"(CREATE TABLE doc_document (
            id TEXT PRIMARY KEY, template TEXT NOT NULL, template_version TEXT NOT NULL,
            agency TEXT NOT NULL, holder TEXT NOT NULL, issued_by TEXT NOT NULL,
            issued_at BIGINT NOT NULL, expires_at BIGINT, kid TEXT NOT NULL,
            sources TEXT NOT NULL, credential TEXT NOT NULL, hc1 TEXT NOT NULL,
            parent TEXT, revoked_at BIGINT, revoked_reason TEXT, revoked_by TEXT);
          CREATE INDEX doc_document_holder ON doc_document (holder, issued_at);
          CREATE INDEX doc_document_parent ON doc_document (parent);
          CREATE INDEX doc_document_revoked ON doc_document (revoked_at);
          CREATE TABLE doc_verification (
            id BIGSERIAL PRIMARY KEY, document_id TEXT NOT NULL, credential_id TEXT NOT NULL,
            at BIGINT NOT NULL, channel TEXT NOT NULL, remote TEXT NOT NULL,
            verdict TEXT NOT NULL);
          CREATE INDEX doc_verification_document ON doc_verification (document_id, at);)"},
      {2, "idempotency keys of issue requests",
       R"(ALTER TABLE doc_document ADD COLUMN idempotency_key TEXT;
          ALTER TABLE doc_document ADD COLUMN request_digest TEXT;
          CREATE UNIQUE INDEX doc_document_idempotency ON doc_document (agency, idempotency_key);)",
       ""},
      {3, "agencies' reads of documents",
       R"(CREATE TABLE doc_access (
            id INTEGER PRIMARY KEY, document_id TEXT NOT NULL, at BIGINT NOT NULL,
            who TEXT NOT NULL, action TEXT NOT NULL);
          CREATE INDEX doc_access_document ON doc_access (document_id, at);)",
       R"(CREATE TABLE doc_access (
            id BIGSERIAL PRIMARY KEY, document_id TEXT NOT NULL, at BIGINT NOT NULL,
            who TEXT NOT NULL, action TEXT NOT NULL);
          CREATE INDEX doc_access_document ON doc_access (document_id, at);)"},
  };
  return steps;
}

constexpr std::string_view kDocumentColumns =
    "id, template, template_version, agency, holder, issued_by, issued_at, expires_at, kid, "
    "sources, credential, hc1, parent, revoked_at, revoked_reason";

IssuedDocument DocumentFromRow(const store::Row& row) {
  IssuedDocument d;
  d.id = row.Text(0);
  d.template_id = row.Text(1);
  d.template_version = row.Text(2);
  d.agency = row.Text(3);
  d.holder = row.Text(4);
  d.issued_by = row.Text(5);
  d.issued_at = FromUnixMicros(row.Int(6));
  if (auto e = row.OptionalInt(7)) d.expires_at = FromUnixMicros(*e);
  d.kid = row.Text(8);
  d.sources = json::parse(row.Text(9), nullptr, false);
  d.credential = row.Text(10);
  d.hc1 = row.Text(11);
  d.parent = row.OptionalText(12);
  if (auto at = row.OptionalInt(13)) {
    d.revocation = Revocation{.document_id = d.id,
                              .reason = row.OptionalText(14).value_or(""),
                              .at = FromUnixMicros(*at)};
  }
  return d;
}

TimePoint FloorToSecond(TimePoint t) {
  return FromUnixSeconds(ToUnixSeconds(t));
}

std::string FormatDate(TimePoint t) {
  return FormatRfc3339(t).substr(0, 10);
}

bool IsPlainText(std::string_view text) {
  return std::none_of(text.begin(), text.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

}  // namespace

struct DocumentService::Impl {
  store::Database& db;
  identity::KeyStore& keys;
  std::vector<Template> templates;
  std::vector<IssuingAgency> agencies;
  DocumentsOptions options;
  const Clock& clock;
  std::string country_code;  // ISO 3166-1 alpha-2 in capitals, as the DCC writes it
  std::unique_ptr<store::GroupCommit> commits;

  mutable std::mutex mu;
  // The trust list in memory and as signed text, rebuilt when older than trust_list_max_age.
  std::shared_ptr<const TrustList> trust;  // guarded by mu
  std::string trust_jws;                   // guarded by mu
  TimePoint trust_built;                   // guarded by mu
  std::string revocation_jws;              // guarded by mu
  TimePoint revocation_built;              // guarded by mu

  Impl(store::Database& d, identity::KeyStore& k, std::vector<Template> t,
       std::vector<IssuingAgency> a, DocumentsOptions o, const Clock& c)
      : db(d),
        keys(k),
        templates(std::move(t)),
        agencies(std::move(a)),
        options(std::move(o)),
        clock(c),
        country_code(options.country),
        commits(std::make_unique<store::GroupCommit>(d)) {
    for (char& ch : country_code) {
      ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
  }

  [[nodiscard]] std::string DefaultLanguage() const {
    return options.languages.empty() ? std::string("en") : options.languages.front();
  }
  [[nodiscard]] std::string AgencyUri(std::string_view code) const {
    return options.origin + "/documents/agencies/" + std::string(code);
  }
  [[nodiscard]] const IssuingAgency* Agency(std::string_view code) const {
    for (const auto& a : agencies) {
      if (a.code == code) return &a;
    }
    return nullptr;
  }
  [[nodiscard]] const Template* FindTemplate(std::string_view id) const {
    for (const auto& t : templates) {
      if (t.id == id) return &t;
    }
    return nullptr;
  }

  Result<std::shared_ptr<const crypto::Signer>> Anchor() {
    return keys.Signer({identity::KeyOwnerKind::kPlatform, std::string(kAnchorUse)},
                       crypto::SignatureAlg::kEs256);
  }

  Result<TrustList> BuildTrustList() {
    TrustList list;
    list.issuer = options.origin;
    list.issued_at = FloorToSecond(clock.Now());
    list.expires_at = list.issued_at + options.trust_list_lifetime;
    std::set<std::string> issuing;
    for (const auto& t : templates) issuing.insert(t.agency);
    for (const auto& code : issuing) {
      const IssuingAgency* agency = Agency(code);
      TrustedIssuer issuer{.agency = code,
                           .name = agency ? Translate(agency->name, "en") : code,
                           .uri = AgencyUri(code),
                           .keys = {}};
      ULUS_ASSIGN_OR_RETURN(auto infos, keys.KeysEverUsed({identity::KeyOwnerKind::kAgency, code}));
      for (const auto& info : infos) {
        if (info.alg != crypto::SignatureAlg::kEs256) continue;
        ULUS_ASSIGN_OR_RETURN(auto key, crypto::PublicKey::FromJwk(info.public_jwk));
        TrustedKey trusted{.key = key,
                           .dcc_kid = crypto::Base64Encode(DccKeyId(key)),
                           .valid_from = FloorToSecond(info.created),
                           .valid_until = info.retired};
        issuer.keys.push_back(std::move(trusted));
      }
      list.issuers.push_back(std::move(issuer));
    }
    return list;
  }

  // The current trust list; rebuilt when older than the maximum age, or (for a key a credential
  // names but the list lacks) when `force` and the list is older than the floor.
  Result<std::shared_ptr<const TrustList>> Trust(bool force = false) {
    const TimePoint now = clock.Now();
    {
      std::lock_guard lock(mu);
      const auto age = now - trust_built;
      if (trust && age < options.trust_list_max_age && !(force && age >= kTrustRefreshFloor)) {
        return trust;
      }
    }
    ULUS_ASSIGN_OR_RETURN(auto built, BuildTrustList());
    ULUS_ASSIGN_OR_RETURN(auto anchor, Anchor());
    ULUS_ASSIGN_OR_RETURN(auto jws, SignTrustList(built, *anchor));
    auto shared = std::make_shared<const TrustList>(std::move(built));
    std::lock_guard lock(mu);
    trust = shared;
    trust_jws = std::move(jws);
    trust_built = now;
    return shared;
  }

  // Called with each signer used: a key the cached trust list lacks (an agency's first document,
  // a rotation) makes the next verification rebuild the list rather than call its documents
  // forged.
  void NoteSigningKey(const std::string& kid) {
    std::lock_guard lock(mu);
    if (trust && trust->FindKey(kid).first == nullptr) trust_built = TimePoint{};
  }

  Result<std::optional<Revocation>> LookupRevocation(std::string_view id) {
    ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
    const Value params[] = {std::string(id)};
    ULUS_ASSIGN_OR_RETURN(auto rows,
                          conn->Query("SELECT revoked_at, revoked_reason FROM doc_document "
                                      "WHERE id = $1 AND revoked_at IS NOT NULL",
                                      params));
    if (rows.empty()) return std::optional<Revocation>();
    return std::optional<Revocation>(Revocation{.document_id = std::string(id),
                                                .reason = rows[0].OptionalText(1).value_or(""),
                                                .at = FromUnixMicros(rows[0].Int(0))});
  }

  Result<std::optional<std::string>> FetchCredential(std::string_view id) {
    ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
    const Value params[] = {std::string(id)};
    ULUS_ASSIGN_OR_RETURN(auto rows,
                          conn->Query("SELECT credential FROM doc_document WHERE id = $1", params));
    if (rows.empty()) return std::optional<std::string>();
    return std::optional<std::string>(rows[0].Text(0));
  }

  // Records a document; kAlreadyExists when its agency already used `key` (a concurrent retry).
  Status Insert(const IssuedDocument& d, const std::string& key = {},
                const std::string& digest = {}) {
    return commits->Submit([&](store::Connection& conn) -> Status {
      const Value params[] = {d.id,
                              d.template_id,
                              d.template_version,
                              d.agency,
                              d.holder,
                              d.issued_by,
                              ToUnixMicros(d.issued_at),
                              d.expires_at ? Value(ToUnixMicros(*d.expires_at)) : Value(),
                              d.kid,
                              d.sources.dump(),
                              d.credential,
                              d.hc1,
                              d.parent ? Value(*d.parent) : Value(),
                              key.empty() ? Value() : Value(key),
                              digest.empty() ? Value() : Value(digest)};
      ULUS_ASSIGN_OR_RETURN(
          auto inserted,
          conn.Execute("INSERT INTO doc_document (id, template, template_version, agency, holder, "
                       "issued_by, issued_at, expires_at, kid, sources, credential, hc1, parent, "
                       "idempotency_key, request_digest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                       "$9, $10, $11, $12, $13, $14, $15) "
                       "ON CONFLICT (agency, idempotency_key) DO NOTHING",
                       params));
      if (inserted == 0) return Error{ErrorCode::kAlreadyExists, "idempotency key taken", {}};
      return Ok();
    });
  }

  // The document an agency issued under an idempotency key: the same request gets it back, a
  // different one under the same key is a conflict.
  Result<std::optional<IssuedDocument>> Replay(const std::string& agency, const std::string& key,
                                               const std::string& digest) {
    ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
    const Value params[] = {agency, key};
    ULUS_ASSIGN_OR_RETURN(
        auto rows, conn->Query("SELECT " + std::string(kDocumentColumns) +
                                   ", request_digest FROM doc_document WHERE agency = $1 AND "
                                   "idempotency_key = $2",
                               params));
    if (rows.empty()) return std::optional<IssuedDocument>();
    if (rows[0].OptionalText(15).value_or("") != digest) {
      return Error::Conflict("the Idempotency-Key " + key +
                             " was used for a different request; use a new key");
    }
    IssuedDocument d = DocumentFromRow(rows[0]);
    d.replayed = true;
    return std::optional<IssuedDocument>(std::move(d));
  }

  Result<json> DccPayload(const Template& t, const json& claims, const std::string& id) const {
    const IssuingAgency* agency = Agency(t.agency);
    // Template::Check has made every DCC field present and of its type (LoadTemplates insists).
    const auto family = claims.at("family_name").get<std::string>();
    const auto given = claims.at("given_name").get<std::string>();
    json dose = {{"tg", claims.at("disease")},
                 {"vp", claims.at("vaccine_type")},
                 {"mp", claims.at("product")},
                 {"ma", claims.at("manufacturer")},
                 {"dn", claims.at("dose")},
                 {"sd", claims.at("total_doses")},
                 {"dt", claims.at("date")},
                 {"co", country_code},
                 {"is", agency ? Translate(agency->name, "en") : t.agency},
                 {"ci", UvciForDocument(options.country, id)}};
    return json{
        {"ver", "1.3.0"},
        {"nam",
         {{"fn", family}, {"fnt", IcaoName(family)}, {"gn", given}, {"gnt", IcaoName(given)}}},
        {"dob", claims.at("birth_date")},
        {"v", json::array({dose})}};
  }
};

DocumentService::DocumentService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DocumentService::~DocumentService() = default;

const std::vector<store::Migration>& DocumentService::Migrations() {
  return DocumentMigrations();
}

Result<std::unique_ptr<DocumentService>> DocumentService::Open(
    store::Database& db, identity::KeyStore& keys, std::vector<Template> templates,
    std::vector<IssuingAgency> agencies, DocumentsOptions options, const Clock& clock) {
  ULUS_TRY(store::Migrate(db, "documents", Migrations()));
  for (const auto& t : templates) {
    const bool known = std::any_of(agencies.begin(), agencies.end(),
                                   [&](const IssuingAgency& a) { return a.code == t.agency; });
    if (!known) {
      return Error::InvalidArgument("document template " + t.id + " names agency " + t.agency +
                                    ", which the pack does not have");
    }
  }
  auto impl = std::make_unique<Impl>(db, keys, std::move(templates), std::move(agencies),
                                     std::move(options), clock);
  return std::unique_ptr<DocumentService>(new DocumentService(std::move(impl)));
}

const std::vector<Template>& DocumentService::templates() const {
  return impl_->templates;
}
const Template* DocumentService::FindTemplate(std::string_view id) const {
  return impl_->FindTemplate(id);
}
const DocumentsOptions& DocumentService::options() const {
  return impl_->options;
}

Result<IssuedDocument> DocumentService::Issue(const IssueRequest& request, const Actor& by) {
  const Template* t = impl_->FindTemplate(request.template_id);
  if (t == nullptr) {
    return Error::InvalidArgument("no document template " + request.template_id, "template");
  }
  if (by.agency != t->agency) {
    return Error::PermissionDenied("only " + t->agency + " issues " + t->id + " documents");
  }
  if (request.holder.empty() || request.holder.size() > kMaxHolder ||
      !IsPlainText(request.holder)) {
    return Error::InvalidArgument("holder must be the person's national ID", "holder");
  }
  ULUS_TRY(t->Check(request.claims));
  if (t->Field("national_id") != nullptr &&
      request.claims.value("national_id", "") != request.holder) {
    return Error::InvalidArgument(
        "the holder must be the person the document names (claims.national_id)", "holder");
  }
  if (!request.sources.is_array()) {
    return Error::InvalidArgument("sources must be an array of {registry, record, version}",
                                  "sources");
  }
  std::string digest;
  if (!request.idempotency_key.empty()) {
    if (request.idempotency_key.size() > kMaxIdempotencyKey ||
        !IsPlainText(request.idempotency_key)) {
      return Error::InvalidArgument("an Idempotency-Key is 1 to 200 printable characters",
                                    "Idempotency-Key");
    }
    digest =
        crypto::HexEncode(crypto::Sha256(t->id + "\n" + request.holder + "\n" +
                                         request.claims.dump() + "\n" + request.sources.dump()));
    ULUS_ASSIGN_OR_RETURN(auto earlier, impl_->Replay(t->agency, request.idempotency_key, digest));
    if (earlier) return *std::move(earlier);
  }
  ULUS_ASSIGN_OR_RETURN(auto signer,
                        impl_->keys.Signer({identity::KeyOwnerKind::kAgency, t->agency},
                                           crypto::SignatureAlg::kEs256));
  impl_->NoteSigningKey(signer->Kid());
  IssuedDocument d;
  d.id = NewUuidV7(impl_->clock);
  d.template_id = t->id;
  d.template_version = t->version;
  d.agency = t->agency;
  d.holder = request.holder;
  d.issued_by = by.who;
  d.kid = signer->Kid();
  // Whole seconds: the JWT and the CWT carry seconds, and the record must say the same.
  d.issued_at = FloorToSecond(impl_->clock.Now());
  if (t->validity) d.expires_at = d.issued_at + *t->validity;
  d.sources = request.sources;
  Credential c{.id = d.id,
               .issuer = impl_->AgencyUri(t->agency),
               .holder = "urn:ulus:" + impl_->options.country + ":person:" + request.holder,
               .type = t->type,
               .name = Translate(t->title, impl_->DefaultLanguage()),
               .issued_at = d.issued_at,
               .expires_at = d.expires_at,
               .subject = request.claims,
               .status_url = impl_->options.origin + "/documents/v1/status/" + d.id,
               .parent = std::nullopt};
  ULUS_ASSIGN_OR_RETURN(d.credential, SignCredential(c, *signer));
  if (t->dcc == "vaccination") {
    ULUS_ASSIGN_OR_RETURN(auto hcert, impl_->DccPayload(*t, request.claims, d.id));
    DccClaims claims{
        .issuer_country = impl_->country_code,
        .issued_at = d.issued_at,
        .expires_at = d.expires_at.value_or(d.issued_at + impl_->options.dcc_default_validity),
        .hcert = std::move(hcert)};
    ULUS_ASSIGN_OR_RETURN(d.hc1, EncodeHc1(claims, *signer));
  }
  if (auto inserted = impl_->Insert(d, request.idempotency_key, digest); !inserted.ok()) {
    if (inserted.error().code != ErrorCode::kAlreadyExists) return inserted.error();
    // A retry with the same key won the race: answer with its document.
    ULUS_ASSIGN_OR_RETURN(auto earlier, impl_->Replay(t->agency, request.idempotency_key, digest));
    if (!earlier) return Error::Internal("an idempotency key is taken but its document is gone");
    return *std::move(earlier);
  }
  return d;
}

Result<IssuedDocument> DocumentService::Disclose(std::string_view document_id,
                                                 std::string_view holder,
                                                 const std::vector<std::string>& fields,
                                                 const std::vector<std::string>& predicates) {
  ULUS_ASSIGN_OR_RETURN(auto found, Find(document_id));
  if (!found || found->holder != holder || found->parent) {
    return Error::NotFound("you hold no document " + std::string(document_id));
  }
  if (found->revocation) {
    return Error{ErrorCode::kFailedPrecondition, "the document is revoked", {}};
  }
  if (found->expires_at && *found->expires_at <= impl_->clock.Now()) {
    return Error{ErrorCode::kFailedPrecondition, "the document has expired", {}};
  }
  const Template* t = impl_->FindTemplate(found->template_id);
  if (t == nullptr) return Error::Internal("the template of the document is gone");
  if (fields.empty() && predicates.empty()) {
    return Error::InvalidArgument("choose at least one field or predicate", "fields");
  }
  auto parsed = ParseJws(found->credential);
  if (!parsed.ok()) return Error::Internal("a stored credential does not parse");
  ULUS_ASSIGN_OR_RETURN(auto parent, CredentialFromClaims(parsed->payload));
  json subject = json::object();
  for (const auto& name : fields) {
    if (t->Field(name) == nullptr) {
      return Error::InvalidArgument("the document has no field " + name, "fields");
    }
    if (parent.subject.contains(name)) subject[name] = parent.subject[name];
  }
  const TimePoint now = FloorToSecond(impl_->clock.Now());
  for (const auto& predicate : predicates) {
    constexpr std::string_view kAgeOver = "age_over_";
    int years = 0;
    if (predicate.starts_with(kAgeOver)) {
      const std::string digits = predicate.substr(kAgeOver.size());
      if (!digits.empty() && digits.size() <= 3 &&
          std::all_of(digits.begin(), digits.end(),
                      [](char ch) { return ch >= '0' && ch <= '9'; })) {
        years = std::stoi(digits);
      }
    }
    if (years < 1 || years > 150) {
      return Error::InvalidArgument("unknown predicate " + predicate + " (age_over_NN)",
                                    "predicates");
    }
    if (t->birth_date_field.empty() || !parent.subject.contains(t->birth_date_field)) {
      return Error::InvalidArgument("the document has no birth date to prove an age with",
                                    "predicates");
    }
    const std::string birth = parent.subject[t->birth_date_field].get<std::string>();
    const std::string today = FormatDate(now);
    const int age = std::stoi(today.substr(0, 4)) - std::stoi(birth.substr(0, 4)) -
                    (today.substr(5) < birth.substr(5) ? 1 : 0);
    subject[predicate] = age >= years;
  }
  ULUS_ASSIGN_OR_RETURN(auto signer,
                        impl_->keys.Signer({identity::KeyOwnerKind::kAgency, found->agency},
                                           crypto::SignatureAlg::kEs256));
  impl_->NoteSigningKey(signer->Kid());
  IssuedDocument d;
  d.id = NewUuidV7(impl_->clock);
  d.template_id = found->template_id;
  d.template_version = found->template_version;
  d.agency = found->agency;
  d.holder = found->holder;
  d.issued_by = "holder";
  d.kid = signer->Kid();
  d.issued_at = now;
  d.expires_at = now + impl_->options.disclosure_lifetime;
  if (found->expires_at && *found->expires_at < *d.expires_at) d.expires_at = found->expires_at;
  d.sources = json::array();
  d.parent = found->id;
  Credential c{.id = d.id,
               .issuer = impl_->AgencyUri(found->agency),
               // Not the national ID: a disclosure tells the verifier only what it discloses.
               .holder = "urn:ulus:" + impl_->options.country + ":disclosure:" + d.id,
               .type = std::string(kDisclosureType),
               .name = parent.name,
               .issued_at = now,
               .expires_at = d.expires_at,
               .subject = std::move(subject),
               .status_url = impl_->options.origin + "/documents/v1/status/" + d.id,
               .parent = found->id};
  ULUS_ASSIGN_OR_RETURN(d.credential, SignCredential(c, *signer));
  ULUS_TRY(impl_->Insert(d));
  return d;
}

Status DocumentService::Revoke(std::string_view id, std::string_view reason, const Actor& by) {
  if (reason.size() < 3 || reason.size() > kMaxReason || !IsPlainText(reason)) {
    return Error::InvalidArgument("give the reason for the revocation (3 to 500 characters)",
                                  "reason");
  }
  ULUS_ASSIGN_OR_RETURN(auto found, Find(id));
  if (!found || found->agency != by.agency) {
    return Error::NotFound("your agency issued no document " + std::string(id));
  }
  if (found->revocation) {
    return Error::Conflict("the document was already revoked on " +
                           FormatRfc3339(found->revocation->at));
  }
  const int64_t at = ToUnixMicros(impl_->clock.Now());
  return impl_->db.InTransaction([&](store::Connection& conn) -> Status {
    const Value params[] = {at, std::string(reason), by.who, std::string(id)};
    ULUS_ASSIGN_OR_RETURN(auto changed, conn.Execute("UPDATE doc_document SET revoked_at = $1, "
                                                     "revoked_reason = $2, revoked_by = $3 "
                                                     "WHERE id = $4 AND revoked_at IS NULL",
                                                     params));
    if (changed != 1) return Error::Conflict("the document was revoked meanwhile");
    return Ok();
  });
}

Status DocumentService::WithdrawDisclosure(std::string_view id, std::string_view holder) {
  ULUS_ASSIGN_OR_RETURN(auto found, Find(id));
  if (!found || found->holder != holder || !found->parent) {
    return Error::NotFound("you made no disclosure " + std::string(id));
  }
  if (found->revocation) return Ok();
  return impl_->db.InTransaction([&](store::Connection& conn) -> Status {
    const Value params[] = {ToUnixMicros(impl_->clock.Now()), std::string(id)};
    ULUS_TRY(
        conn.Execute("UPDATE doc_document SET revoked_at = $1, revoked_reason = 'withdrawn by the "
                     "holder', revoked_by = 'holder' WHERE id = $2 AND revoked_at IS NULL",
                     params));
    return Ok();
  });
}

Result<std::optional<IssuedDocument>> DocumentService::Find(std::string_view id) const {
  if (!IsUuid(id)) return std::optional<IssuedDocument>();
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  const Value params[] = {std::string(id)};
  ULUS_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT " + std::string(kDocumentColumns) +
                                                   " FROM doc_document WHERE id = $1",
                                               params));
  if (rows.empty()) return std::optional<IssuedDocument>();
  return std::optional<IssuedDocument>(DocumentFromRow(rows[0]));
}

Result<std::optional<IssuedDocument>> DocumentService::FindByIdempotencyKey(
    std::string_view agency, std::string_view key) const {
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  const Value params[] = {std::string(agency), std::string(key)};
  ULUS_ASSIGN_OR_RETURN(
      auto rows, conn->Query("SELECT " + std::string(kDocumentColumns) +
                                 " FROM doc_document WHERE agency = $1 AND idempotency_key = $2",
                             params));
  if (rows.empty()) return std::optional<IssuedDocument>();
  return std::optional<IssuedDocument>(DocumentFromRow(rows[0]));
}

Result<std::vector<IssuedDocument>> DocumentService::ForHolder(std::string_view holder,
                                                               size_t limit, size_t offset) const {
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  const Value params[] = {std::string(holder), static_cast<int64_t>(limit),
                          static_cast<int64_t>(offset)};
  ULUS_ASSIGN_OR_RETURN(
      auto rows,
      conn->Query("SELECT " + std::string(kDocumentColumns) +
                      ", (SELECT COUNT(*) FROM doc_verification v WHERE v.document_id = d.id) "
                      "FROM doc_document d WHERE holder = $1 AND parent IS NULL "
                      "ORDER BY issued_at DESC, id DESC LIMIT $2 OFFSET $3",
                  params));
  std::vector<IssuedDocument> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    out.push_back(DocumentFromRow(row));
    out.back().verifications = row.Int(15);
  }
  return out;
}

Result<std::vector<VerificationRecord>> DocumentService::Verifications(std::string_view document_id,
                                                                       size_t limit) const {
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  const Value params[] = {std::string(document_id), static_cast<int64_t>(limit)};
  ULUS_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT at, channel, remote, verdict, credential_id "
                                               "FROM doc_verification WHERE document_id = $1 "
                                               "ORDER BY at DESC, id DESC LIMIT $2",
                                               params));
  std::vector<VerificationRecord> out;
  for (const auto& row : rows) {
    out.push_back({.at = FromUnixMicros(row.Int(0)),
                   .channel = row.Text(1),
                   .remote = row.Text(2),
                   .verdict = row.Text(3),
                   .credential_id = row.Text(4)});
  }
  return out;
}

Status DocumentService::RecordAccess(std::string_view document_id, std::string_view who,
                                     std::string_view action) {
  const auto record = [&](store::Connection& conn) -> Status {
    const Value params[] = {std::string(document_id), ToUnixMicros(impl_->clock.Now()),
                            std::string(who), std::string(action)};
    ULUS_TRY(conn.Execute(
        "INSERT INTO doc_access (document_id, at, who, action) VALUES ($1, $2, $3, $4)", params));
    return Ok();
  };
  return impl_->commits->Submit(record);
}

Result<std::vector<AccessRecord>> DocumentService::Accesses(std::string_view document_id,
                                                            size_t limit) const {
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  const Value params[] = {std::string(document_id), static_cast<int64_t>(limit)};
  ULUS_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT at, who, action FROM doc_access "
                                               "WHERE document_id = $1 ORDER BY at DESC, id DESC "
                                               "LIMIT $2",
                                               params));
  std::vector<AccessRecord> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    out.push_back({.at = FromUnixMicros(row.Int(0)), .who = row.Text(1), .action = row.Text(2)});
  }
  return out;
}

Result<Verification> DocumentService::Verify(std::string_view text, std::string_view channel,
                                             std::string_view remote_address) {
  const TimePoint now = impl_->clock.Now();
  auto decide = [&](const TrustList& trust) {
    Verifier verifier(
        trust, [this](std::string_view id) { return impl_->LookupRevocation(id); },
        [this](std::string_view id) { return impl_->FetchCredential(id); });
    return verifier.Verify(text, now);
  };
  ULUS_ASSIGN_OR_RETURN(auto trust, impl_->Trust());
  ULUS_ASSIGN_OR_RETURN(auto result, decide(*trust));
  if (result.verdict == Verdict::kForged &&
      result.reason.find("not on the trust list") != std::string::npos) {
    // Perhaps a key rotated since the list was built.
    ULUS_ASSIGN_OR_RETURN(auto fresh, impl_->Trust(/*force=*/true));
    if (fresh != trust) {
      ULUS_ASSIGN_OR_RETURN(result, decide(*fresh));
    }
  }
  // The audit row; a verification nobody could attribute to a document is still recorded.
  const std::string verdict(VerdictName(result.verdict));
  const auto record = [&](store::Connection& conn) -> Status {
    const Value params[] = {result.document_id,   result.credential_id,        ToUnixMicros(now),
                            std::string(channel), std::string(remote_address), verdict};
    ULUS_TRY(
        conn.Execute("INSERT INTO doc_verification (document_id, credential_id, at, channel, "
                     "remote, verdict) VALUES ($1, $2, $3, $4, $5, $6)",
                     params));
    return Ok();
  };
  ULUS_TRY(impl_->commits->Submit(record));
  return result;
}

std::string DocumentService::QrPayload(const IssuedDocument& document) const {
  if (document.credential.size() <= impl_->options.qr_max_bytes) return document.credential;
  return MakeLocator(impl_->options.origin + "/documents/v1/credentials/" + document.id,
                     document.credential);
}

Result<std::string> DocumentService::Pdf(const IssuedDocument& document,
                                         std::string_view language) const {
  const Template* t = impl_->FindTemplate(document.template_id);
  if (t == nullptr) return Error::Internal("the template of the document is gone");
  std::string lang(language);
  if (std::find(impl_->options.languages.begin(), impl_->options.languages.end(), lang) ==
      impl_->options.languages.end()) {
    lang = impl_->DefaultLanguage();
  }
  auto parsed = ParseJws(document.credential);
  if (!parsed.ok()) return Error::Internal("a stored credential does not parse");
  ULUS_ASSIGN_OR_RETURN(auto credential, CredentialFromClaims(parsed->payload));
  PdfPage page;
  page.language = lang;
  const IssuingAgency* agency = impl_->Agency(document.agency);
  page.issuer = agency ? Translate(agency->name, lang) : document.agency;
  page.title = Translate(t->title, lang);
  if (lang != "en") page.subtitle = Translate(t->title, "en");
  for (const auto& field : t->fields) {
    if (!credential.subject.contains(field.name)) continue;
    const json& value = credential.subject[field.name];
    std::string text;
    if (value.is_string()) {
      text = value.get<std::string>();
    } else if (value.is_boolean()) {
      text = value.get<bool>() ? "✓" : "✗";
    } else {
      text = value.dump();
    }
    std::string label = Translate(field.label, lang);
    if (lang != "en") {
      const std::string english = Translate(field.label, "en");
      if (english != label) label += " / " + english;
    }
    page.fields.push_back({.label = std::move(label), .value = std::move(text)});
  }
  const std::string verify_at = impl_->options.origin + "/verify";
  page.codes.push_back({.payload = QrPayload(document), .caption = verify_at});
  if (!document.hc1.empty()) {
    page.codes.push_back({.payload = document.hc1, .caption = "EU DCC"});
  }
  page.footer = document.id + " · " + FormatDate(document.issued_at) +
                (document.expires_at ? " – " + FormatDate(*document.expires_at) : std::string()) +
                " · " + verify_at;
  return RenderPdf(page);
}

Result<std::string> DocumentService::TrustListJws() {
  ULUS_TRY(impl_->Trust());
  std::lock_guard lock(impl_->mu);
  return impl_->trust_jws;
}

Result<std::string> DocumentService::RevocationListJws() {
  const TimePoint now = impl_->clock.Now();
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->revocation_jws.empty() &&
        now - impl_->revocation_built < impl_->options.revocation_list_max_age) {
      return impl_->revocation_jws;
    }
  }
  RevocationList list;
  list.issuer = impl_->options.origin;
  list.issued_at = FloorToSecond(now);
  list.expires_at = list.issued_at + impl_->options.revocation_list_lifetime;
  {
    ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
    ULUS_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT id, revoked_reason, revoked_at FROM "
                                                 "doc_document WHERE revoked_at IS NOT NULL "
                                                 "ORDER BY id"));
    list.revoked.reserve(rows.size());
    for (const auto& row : rows) {
      list.revoked.push_back({.document_id = row.Text(0),
                              .reason = row.OptionalText(1).value_or(""),
                              .at = FromUnixMicros(row.Int(2))});
    }
  }
  ULUS_ASSIGN_OR_RETURN(auto anchor, impl_->Anchor());
  ULUS_ASSIGN_OR_RETURN(auto jws, SignRevocationList(list, *anchor));
  std::lock_guard lock(impl_->mu);
  impl_->revocation_jws = jws;
  impl_->revocation_built = now;
  return jws;
}

Result<crypto::PublicKey> DocumentService::TrustAnchor() {
  ULUS_ASSIGN_OR_RETURN(auto anchor, impl_->Anchor());
  return anchor->Public();
}

}  // namespace ulus::documents
