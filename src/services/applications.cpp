#include "ulus/services/applications.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>

#include "fulfilment.hpp"
#include "ulus/core/id.hpp"
#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/random.hpp"
#include "ulus/store/group_commit.hpp"

namespace ulus::services {
namespace {

using nlohmann::json;
using std::chrono::sys_days;
using store::Connection;
using store::Row;
using store::Value;

constexpr size_t kMaxComment = 4000;
constexpr size_t kMaxIdempotencyKey = 200;
constexpr size_t kMaxPage = 200;
constexpr int64_t kMaxWaitingCodes = 3;
// An automatic application still submitted this long after its last change is finished by the
// background sweep (its own request has ended).
constexpr std::chrono::minutes kResumeAfter{2};
// A consent token is a JWS in compact form; Khur's nodes take headers up to 4 KiB.
constexpr size_t kMaxConsentToken = 4 * 1024;

bool LooksLikeJws(std::string_view token) {
  return std::all_of(token.begin(), token.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

// Version 1 in both dialects: they differ only in the auto-increment key and the byte type.
std::string InDialect(std::string sql, bool postgres) {
  for (const auto& [from, to] :
       {std::pair<std::string, std::string>{
            "{serial}", postgres ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY"},
        {"{blob}", postgres ? "BYTEA" : "BLOB"}}) {
    for (size_t at = sql.find(from); at != std::string::npos; at = sql.find(from, at)) {
      sql.replace(at, from.size(), to);
    }
  }
  return sql;
}

const std::vector<store::Migration>& ApplicationMigrations() {
  static constexpr std::string_view kVersion1 =
      R"(CREATE TABLE svc_application (
            id TEXT PRIMARY KEY, service TEXT NOT NULL, agency TEXT NOT NULL,
            applicant TEXT NOT NULL, applicant_account TEXT NOT NULL, state TEXT NOT NULL,
            form TEXT NOT NULL, created BIGINT NOT NULL, updated BIGINT NOT NULL, due BIGINT,
            state_due BIGINT, state_since BIGINT NOT NULL, assignee TEXT NOT NULL,
            filed_by TEXT NOT NULL, confirmation TEXT NOT NULL, document TEXT NOT NULL,
            reason TEXT NOT NULL, sources TEXT NOT NULL, version BIGINT NOT NULL,
            consent_token TEXT NOT NULL, idempotency_key TEXT, request_digest TEXT);
          CREATE INDEX svc_application_applicant ON svc_application (applicant, id);
          CREATE INDEX svc_application_inbox ON svc_application (agency, state, state_due);
          CREATE INDEX svc_application_pending ON svc_application (state, updated);
          CREATE UNIQUE INDEX svc_application_idempotency
            ON svc_application (applicant, idempotency_key);
          CREATE TABLE svc_event (
            id {serial}, application TEXT NOT NULL, at BIGINT NOT NULL,
            actor TEXT NOT NULL, action TEXT NOT NULL, from_state TEXT NOT NULL,
            to_state TEXT NOT NULL, comment TEXT NOT NULL);
          CREATE INDEX svc_event_application ON svc_event (application, id);
          CREATE TABLE svc_notice (
            id {serial}, applicant TEXT NOT NULL, application TEXT NOT NULL,
            service TEXT NOT NULL, at BIGINT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL,
            text TEXT NOT NULL, is_read INTEGER NOT NULL);
          CREATE INDEX svc_notice_applicant ON svc_notice (applicant, id);
          CREATE TABLE svc_attachment (
            id TEXT PRIMARY KEY, application TEXT NOT NULL, name TEXT NOT NULL,
            media_type TEXT NOT NULL, size BIGINT NOT NULL, sha256 TEXT NOT NULL,
            uploaded_by TEXT NOT NULL, at BIGINT NOT NULL);
          CREATE INDEX svc_attachment_application ON svc_attachment (application, at);
          CREATE TABLE svc_blob (sha256 TEXT PRIMARY KEY, bytes {blob} NOT NULL);
          CREATE TABLE svc_desk_challenge (
            id TEXT PRIMARY KEY, officer TEXT NOT NULL, national_id TEXT NOT NULL,
            service TEXT NOT NULL, code_hash TEXT NOT NULL, expires BIGINT NOT NULL,
            attempts INTEGER NOT NULL, used INTEGER NOT NULL);
          CREATE INDEX svc_desk_challenge_person ON svc_desk_challenge (national_id, expires);)";
  static const std::vector<store::Migration> steps = {
      {1, "applications, their events, notices, attachments and desk codes",
       InDialect(std::string(kVersion1), false), InDialect(std::string(kVersion1), true)},
      // An officer's own actions, newest first ("my actions" in the workspace).
      {2, "events by actor", "CREATE INDEX svc_event_actor ON svc_event (actor, id);",
       "CREATE INDEX svc_event_actor ON svc_event (actor, id);"},
  };
  return steps;
}

constexpr std::string_view kColumns =
    "id, service, agency, applicant, applicant_account, state, form, created, updated, due, "
    "state_due, state_since, assignee, filed_by, confirmation, document, reason, sources, "
    "version, consent_token";

constexpr std::string_view kOpenStates = "('submitted', 'in_review', 'information_requested')";

Value DayValue(const std::optional<sys_days>& day) {
  if (!day) return Value();
  return Value(static_cast<int64_t>(day->time_since_epoch().count()));
}
std::optional<sys_days> DayOf(const Row& row, size_t i) {
  auto v = row.OptionalInt(i);
  if (!v) return std::nullopt;
  return sys_days(std::chrono::days(*v));
}

Application ApplicationFromRow(const Row& row) {
  Application a;
  a.id = row.Text(0);
  a.service = row.Text(1);
  a.agency = row.Text(2);
  a.applicant = row.Text(3);
  a.applicant_account = row.Text(4);
  a.state = StateFromName(row.Text(5)).value_or(ApplicationState::kSubmitted);
  a.form = json::parse(row.Text(6), nullptr, false);
  a.created = FromUnixMicros(row.Int(7));
  a.updated = FromUnixMicros(row.Int(8));
  a.due = DayOf(row, 9);
  a.state_due = DayOf(row, 10);
  a.state_since = sys_days(std::chrono::days(row.Int(11)));
  a.assignee = row.Text(12);
  a.filed_by = row.Text(13);
  a.confirmation = row.Text(14);
  a.document = row.Text(15);
  a.reason = row.Text(16);
  a.sources = json::parse(row.Text(17), nullptr, false);
  a.version = row.Int(18);
  a.consent_token = row.Text(19);
  return a;
}

std::string Digest(const json& value) {
  return crypto::HexEncode(crypto::Sha256(value.dump()));
}

// What a file's first bytes say it is; only these are accepted.
std::string SniffMediaType(std::string_view bytes) {
  if (bytes.starts_with("%PDF-")) return "application/pdf";
  if (bytes.starts_with("\x89PNG\r\n\x1a\n")) return "image/png";
  if (bytes.starts_with("\xFF\xD8\xFF")) return "image/jpeg";
  return {};
}

// A file name as shown back: no path, no control characters, at most 200 bytes.
std::string SafeName(std::string_view name) {
  if (auto slash = name.find_last_of("/\\"); slash != std::string_view::npos) {
    name = name.substr(slash + 1);
  }
  std::string out;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7F || c == '"') ? '_' : c;
  }
  // Bidirectional controls (U+202A-202E, U+2066-2069) could show "fdp.exe" as "exe.pdf".
  for (const std::string_view control :
       {"\u202A", "\u202B", "\u202C", "\u202D", "\u202E", "\u2066", "\u2067", "\u2068", "\u2069"}) {
    for (size_t at = out.find(control); at != std::string::npos; at = out.find(control, at)) {
      out.replace(at, control.size(), "_");
    }
  }
  if (out.size() > 200) {
    out.resize(200);
    // Not in the middle of a character: drop continuation bytes, then their lead byte.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80) != 0) out.pop_back();
  }
  return out.empty() ? "attachment" : out;
}

std::string MaskPhone(std::string_view phone) {
  if (phone.size() <= 4) return "****";
  return std::string(phone.size() - 4, '*') + std::string(phone.substr(phone.size() - 4));
}

}  // namespace

std::string_view StateName(ApplicationState state) {
  switch (state) {
    case ApplicationState::kSubmitted: return "submitted";
    case ApplicationState::kInReview: return "in_review";
    case ApplicationState::kInformationRequested: return "information_requested";
    case ApplicationState::kCompleted: return "completed";
    case ApplicationState::kRejected: return "rejected";
    case ApplicationState::kWithdrawn: return "withdrawn";
  }
  return "submitted";
}

std::optional<ApplicationState> StateFromName(std::string_view name) {
  for (auto s : {ApplicationState::kSubmitted, ApplicationState::kInReview,
                 ApplicationState::kInformationRequested, ApplicationState::kCompleted,
                 ApplicationState::kRejected, ApplicationState::kWithdrawn}) {
    if (StateName(s) == name) return s;
  }
  return std::nullopt;
}

bool IsFinal(ApplicationState state) {
  return state == ApplicationState::kCompleted || state == ApplicationState::kRejected ||
         state == ApplicationState::kWithdrawn;
}

bool Actor::IsOfficerOf(std::string_view agency) const {
  return std::find(officer_of.begin(), officer_of.end(), agency) != officer_of.end();
}

struct ApplicationService::Impl {
  store::Database& db;
  const Catalogue& catalogue;
  documents::DocumentService& documents;
  DataExchange& exchange;
  std::map<std::string, RegistrySource, std::less<>> registries;
  WorkingDays calendar;
  DeskMessaging desk;
  ApplicationsOptions options;
  const Clock& clock;
  std::unique_ptr<store::GroupCommit> commits;
  std::atomic<int64_t> step_count{0}, pull_ns{0}, claims_ns{0}, issue_ns{0}, record_ns{0};
  // Set once by ExportMetrics before serving; null until then.
  enum Step { kToken, kPull, kClaims, kIssue, kRecord, kSteps };
  std::array<http::Metrics::Histogram*, kSteps> step_metrics{};

  void Note(Step step, std::chrono::nanoseconds took) {
    if (auto* h = step_metrics[step]) h->Observe(std::chrono::duration<double>(took).count());
  }

  Impl(store::Database& d, const Catalogue& c, documents::DocumentService& docs, DataExchange& x,
       WorkingDays cal, DeskMessaging dm, ApplicationsOptions o, const Clock& cl)
      : db(d),
        catalogue(c),
        documents(docs),
        exchange(x),
        calendar(std::move(cal)),
        desk(std::move(dm)),
        options(o),
        clock(cl),
        commits(std::make_unique<store::GroupCommit>(d)) {}

  [[nodiscard]] sys_days Today() const {
    return std::chrono::floor<std::chrono::days>(clock.Now() + options.utc_offset);
  }

  static Result<std::optional<Application>> Load(Connection& conn, std::string_view id) {
    const Value params[] = {std::string(id)};
    ULUS_ASSIGN_OR_RETURN(auto rows, conn.Query("SELECT " + std::string(kColumns) +
                                                    " FROM svc_application WHERE id = $1",
                                                params));
    if (rows.empty()) return std::optional<Application>();
    return std::optional<Application>(ApplicationFromRow(rows[0]));
  }

  Result<Application> LoadVisible(std::string_view id, const Actor& actor) const {
    if (!IsUuid(id)) return Error::NotFound("no application " + std::string(id) + " of yours");
    ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
    ULUS_ASSIGN_OR_RETURN(auto found, Load(*conn, id));
    if (!found || !Visible(*found, actor)) {
      return Error::NotFound("no application " + std::string(id) + " of yours");
    }
    return *std::move(found);
  }

  static bool Visible(const Application& a, const Actor& actor) {
    if (!actor.national_id.empty() && a.applicant == actor.national_id) return true;
    // A desk clerk who filed it does not keep access: the file is the citizen's and the agency's.
    return actor.IsOfficerOf(a.agency);
  }

  // Writes the application's new row (guarded by its version), its event and the applicant's
  // notice: one transaction's worth.
  // Writes `a` as the next version of its row (guarded by the version it was read at) with its
  // event and the applicant's notice. `a` must already hold the new state; repeatable, as a
  // group commit may run it again.
  Status Record(Connection& conn, const Application& a, std::string_view from,
                std::string_view actor, std::string_view action, std::string_view comment) {
    const int64_t old_version = a.version - 1;
    const Value params[] = {std::string(StateName(a.state)),
                            a.form.dump(),
                            ToUnixMicros(a.updated),
                            DayValue(a.due),
                            DayValue(a.state_due),
                            static_cast<int64_t>(a.state_since.time_since_epoch().count()),
                            a.assignee,
                            a.document,
                            a.reason,
                            a.sources.dump(),
                            a.version,
                            a.consent_token,
                            a.id,
                            old_version};
    ULUS_ASSIGN_OR_RETURN(
        auto changed,
        conn.Execute(
            "UPDATE svc_application SET state = $1, form = $2, updated = $3, due = $4, "
            "state_due = $5, state_since = $6, assignee = $7, document = $8, "
            "reason = $9, sources = $10, version = $11, consent_token = $12 WHERE id = $13 "
            "AND version = $14",
            params));
    if (changed != 1) {
      return Error::Conflict("application " + a.id + " was changed meanwhile; load it again");
    }
    return Event(conn, a, from, actor, action, comment);
  }

  Status Event(Connection& conn, const Application& a, std::string_view from,
               std::string_view actor, std::string_view action, std::string_view comment) {
    const int64_t at = ToUnixMicros(clock.Now());
    const Value event[] = {a.id,
                           at,
                           std::string(actor),
                           std::string(action),
                           std::string(from),
                           std::string(StateName(a.state)),
                           std::string(comment)};
    ULUS_TRY(conn.Execute(
        "INSERT INTO svc_event (application, at, actor, action, from_state, to_state, comment) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        event));
    const Value notice[] = {a.applicant,         a.id,
                            a.service,           at,
                            std::string(action), std::string(StateName(a.state)),
                            std::string(comment)};
    ULUS_TRY(conn.Execute(
        "INSERT INTO svc_notice (applicant, application, service, at, kind, state, text, "
        "is_read) VALUES ($1, $2, $3, $4, $5, $6, $7, 0)",
        notice));
    return Ok();
  }

  Status Insert(Connection& conn, const Application& a, const std::string& key,
                const std::string& digest, std::string_view actor) {
    const Value params[] = {a.id,
                            a.service,
                            a.agency,
                            a.applicant,
                            a.applicant_account,
                            std::string(StateName(a.state)),
                            a.form.dump(),
                            ToUnixMicros(a.created),
                            ToUnixMicros(a.updated),
                            DayValue(a.due),
                            DayValue(a.state_due),
                            static_cast<int64_t>(a.state_since.time_since_epoch().count()),
                            a.assignee,
                            a.filed_by,
                            a.confirmation,
                            a.document,
                            a.reason,
                            a.sources.dump(),
                            a.version,
                            a.consent_token,
                            key.empty() ? Value() : Value(key),
                            key.empty() ? Value() : Value(digest)};
    ULUS_TRY(conn.Execute("INSERT INTO svc_application (" + std::string(kColumns) +
                              ", idempotency_key, request_digest) VALUES ($1, $2, $3, $4, $5, "
                              "$6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, "
                              "$20, $21, $22)",
                          params));
    return Event(conn, a, "", actor, "submit", "");
  }

  // Moves `a` to `to` durably; `a` is updated only when that committed. Commits are shared
  // between concurrent applications (one fsync for many).
  Status Save(Application& a, ApplicationState to, std::string_view actor, std::string_view action,
              std::string_view comment) {
    Application next = a;
    const std::string from(StateName(a.state));
    next.state = to;
    next.updated = clock.Now();
    next.version = a.version + 1;
    if (IsFinal(to)) {
      next.state_due.reset();
      next.consent_token.clear();  // a credential kept no longer than the reads need it
    }
    ULUS_TRY(commits->Submit(
        [&](Connection& conn) { return Record(conn, next, from, actor, action, comment); }));
    a = std::move(next);
    return Ok();
  }

  // Pulls the data, builds the claims and issues the document. Errors are the application's
  // (kFailedPrecondition: the registries say no) or the platform's (kUnavailable...).
  // Pulls the data, builds the claims and issues the document. kFailedPrecondition is the
  // registries' no (the application's rejection, with the reason for the applicant); anything
  // else is the platform's and leaves the application as it was.
  Result<documents::IssuedDocument> Fulfil(Application& a, const ServiceDefinition& service,
                                           const std::string& user_id, const json* officer,
                                           const std::string& issued_by) {
    // A document issued before a crash is found, not made again, and the registries are not
    // read again for it. The key names the application's version: a document revoked because
    // the application moved on (Complete) is not the answer for its next version.
    const std::string key = a.id + "@" + std::to_string(a.version);
    ULUS_ASSIGN_OR_RETURN(auto earlier, documents.FindByIdempotencyKey(a.agency, key));
    if (earlier) {
      a.sources = earlier->sources;
      return *std::move(earlier);
    }
    using Steady = std::chrono::steady_clock;
    const auto t0 = Steady::now();
    fulfilment::PullContext context{.subject = a.applicant,
                                    .purpose = "services:" + a.service + "/" + a.id,
                                    .user_id = user_id,
                                    .consent_token = a.consent_token};
    auto data = fulfilment::Pull(service, registries, exchange, context);
    if (!data.ok()) {
      // A node's refusal (no right, no or a wrong consent) is an answer about this application.
      if (data.error().code == ErrorCode::kPermissionDenied) {
        return Error{ErrorCode::kFailedPrecondition, data.error().message, "consentToken"};
      }
      return data.error();
    }
    a.sources = data->sources;
    const auto t1 = Steady::now();
    ULUS_TRY(CheckApplicant(service, *data));
    const auto* t = documents.FindTemplate(service.document);
    if (t == nullptr) return Error::Internal("no template " + service.document);
    const std::string today = FormatIsoDay(Today());
    auto claims = fulfilment::BuildClaims(service, *t,
                                          {.data = &*data,
                                           .form = &a.form,
                                           .officer = officer,
                                           .application_id = a.id,
                                           .date = today});
    if (!claims.ok()) {
      // An officer's missing or mistyped entry goes back to the officer.
      if (officer != nullptr && claims.error().code == ErrorCode::kInvalidArgument) {
        return claims.error();
      }
      if (claims.error().code == ErrorCode::kFailedPrecondition) return claims.error();
      // The registries hold something the document cannot take: the pack's or the registry's
      // fault, not the applicant's.
      spdlog::error("application {} of {}: the registry data does not fit {}: {}", a.id, a.service,
                    service.document, claims.error().message);
      return Error{ErrorCode::kFailedPrecondition,
                   "the registries' data does not fit this document; the agency has been told",
                   "claims"};
    }
    const auto t2 = Steady::now();
    auto issued = documents.Issue({.template_id = service.document,
                                   .holder = a.applicant,
                                   .claims = *std::move(claims),
                                   .sources = data->sources,
                                   .idempotency_key = key},
                                  {.agency = a.agency, .who = issued_by});
    if (!issued.ok()) {
      if (issued.error().code == ErrorCode::kUnavailable) return issued.error();
      return Error::Internal("the document could not be issued: " + issued.error().message);
    }
    const auto t3 = Steady::now();
    pull_ns += (t1 - t0).count();
    claims_ns += (t2 - t1).count();
    issue_ns += (t3 - t2).count();
    Note(kPull, t1 - t0);
    Note(kClaims, t2 - t1);
    Note(kIssue, t3 - t2);
    return issued;
  }

  // Records the completion with its document; when the application moved on meanwhile (the
  // applicant withdrew, another officer decided), the document just issued is revoked, so no
  // valid document stands for an application that did not complete.
  Status Complete(Application& a, const documents::IssuedDocument& issued, std::string_view actor,
                  std::string_view action, std::string_view comment) {
    Application next = a;
    next.document = issued.id;
    auto saved = Save(next, ApplicationState::kCompleted, actor, action, comment);
    if (!saved.ok()) {
      if (saved.error().code == ErrorCode::kConflict) {
        auto revoked = documents.Revoke(
            issued.id, "the application changed before it was completed; it stands withdrawn",
            {.agency = a.agency, .who = "service:" + a.service});
        if (!revoked.ok()) {
          spdlog::error("document {} of application {} could not be revoked: {}", issued.id, a.id,
                        revoked.error().message);
        }
      }
      return saved;
    }
    a = std::move(next);
    return Ok();
  }

  // Who may apply, where the registries can tell: adults by the person's birth date.
  Status CheckApplicant(const ServiceDefinition& service, const fulfilment::PulledData& data) {
    if (service.applicants != Applicants::kAdult) return Ok();
    auto person = data.records.find("person");
    if (person == data.records.end() || person->second.empty()) return Ok();
    const auto field = person->second.front().find("birth_date");
    if (field == person->second.front().end() || !field->is_string()) return Ok();
    const auto birth = ParseIsoDay(field->get<std::string>());
    if (!birth) return Ok();
    // Adult from the 18th birthday (for 29 February, from 1 March).
    const std::chrono::year_month_day born(*birth);
    if (std::chrono::sys_days(born + std::chrono::years(18)) > Today()) {
      return Error{ErrorCode::kFailedPrecondition, "only adults may apply for this service",
                   "applicants"};
    }
    return Ok();
  }

  // An automatic application after its submission row: completed with its document, rejected
  // when the registries say no, or left submitted (for ResumePending) when Khur is unreachable.
  Result<Application> FinishAutomatic(Application a, const ServiceDefinition& service) {
    auto issued = Fulfil(a, service, "citizen", nullptr, "service:" + service.id);
    if (!issued.ok()) {
      if (issued.error().code == ErrorCode::kFailedPrecondition) {
        a.reason = issued.error().message;
        ULUS_TRY(Save(a, ApplicationState::kRejected, "system", "reject", a.reason));
        return a;
      }
      spdlog::warn("application {} of {} is not finished yet: {}", a.id, a.service,
                   issued.error().message);
      return a;  // still submitted; ResumePending finishes it
    }
    const auto t0 = std::chrono::steady_clock::now();
    ULUS_TRY(Complete(a, *issued, "system", "complete", ""));
    const auto took = std::chrono::steady_clock::now() - t0;
    record_ns += took.count();
    Note(kRecord, took);
    ++step_count;
    return a;
  }

  Result<Application> SubmitAs(const Submission& submission, std::string national_id,
                               std::string account, std::string filed_by, std::string confirmation,
                               std::string_view actor) {
    const ServiceDefinition* service = catalogue.Find(submission.service);
    if (service == nullptr) return Error::NotFound("no service " + submission.service);
    ULUS_ASSIGN_OR_RETURN(json form, fulfilment::CheckForm(*service, submission.form));
    if (submission.idempotency_key.size() > kMaxIdempotencyKey) {
      return Error::InvalidArgument("the Idempotency-Key is at most 200 characters",
                                    "Idempotency-Key");
    }
    bool needs_consent = false;
    for (const auto& name : service->data) {
      auto it = registries.find(name);
      needs_consent = needs_consent || (it != registries.end() && it->second.consent_required);
    }
    if (submission.consent_token.size() > kMaxConsentToken ||
        !LooksLikeJws(submission.consent_token)) {
      return Error::InvalidArgument("consentToken is Dan's consent token (a JWS of at most 4 KiB)",
                                    "consentToken");
    }
    if (needs_consent && submission.consent_token.empty()) {
      auto agreement = options.consent_agreements.find(service->id);
      return Error{ErrorCode::kFailedPrecondition,
                   "this service reads data only with your consent: give it in Dan to the data "
                   "agreement " +
                       (agreement == options.consent_agreements.end() ? std::string("for")
                                                                      : agreement->second + ",") +
                       " purpose services:" + service->id + ", and send the consent token",
                   "consentToken"};
    }
    const json request = {{"service", service->id}, {"form", form}};
    const std::string digest = Digest(request);
    if (!submission.idempotency_key.empty()) {
      ULUS_ASSIGN_OR_RETURN(auto earlier,
                            FindByKey(national_id, submission.idempotency_key, digest));
      if (earlier) return *std::move(earlier);
    }
    Application a;
    a.id = NewUuidV7(clock);
    a.service = service->id;
    a.agency = service->agency;
    a.applicant = std::move(national_id);
    a.applicant_account = std::move(account);
    a.form = std::move(form);
    a.created = a.updated = clock.Now();
    a.state_since = Today();
    a.filed_by = std::move(filed_by);
    a.confirmation = std::move(confirmation);
    // Kept for the reads made later (an officer's approval, a resumed application): the token
    // is what the agency presents, bound to this person, purpose and agency, and expires.
    if (needs_consent) a.consent_token = submission.consent_token;
    if (service->workflow == WorkflowKind::kReview) {
      a.due = calendar.Add(a.state_since, service->deadline_days);
      a.state_due = std::min(*a.due, calendar.Add(a.state_since, options.take_up_days));
    }
    auto inserted = commits->Submit([&](Connection& conn) {
      return Insert(conn, a, submission.idempotency_key, digest, actor);
    });
    if (!inserted.ok()) {
      // Two requests raced under one key: the first one's answer.
      if (!submission.idempotency_key.empty()) {
        ULUS_ASSIGN_OR_RETURN(auto earlier,
                              FindByKey(a.applicant, submission.idempotency_key, digest));
        if (earlier) return *std::move(earlier);
      }
      return inserted.error();
    }
    if (service->workflow == WorkflowKind::kAutomatic) {
      return FinishAutomatic(std::move(a), *service);
    }
    return a;
  }

  Result<std::optional<Application>> FindByKey(const std::string& applicant, const std::string& key,
                                               const std::string& digest) {
    ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
    const Value params[] = {applicant, key};
    ULUS_ASSIGN_OR_RETURN(auto rows,
                          conn->Query("SELECT " + std::string(kColumns) +
                                          ", request_digest FROM svc_application "
                                          "WHERE applicant = $1 AND idempotency_key = $2",
                                      params));
    if (rows.empty()) return std::optional<Application>();
    if (rows[0].OptionalText(20).value_or("") != digest) {
      return Error::Conflict("the Idempotency-Key " + key +
                             " was used for a different application; use a new key");
    }
    return std::optional<Application>(ApplicationFromRow(rows[0]));
  }
};

ApplicationService::ApplicationService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApplicationService::~ApplicationService() = default;

const std::vector<store::Migration>& ApplicationService::Migrations() {
  return ApplicationMigrations();
}

Status ApplicationService::CheckService(const ServiceDefinition& service,
                                        const documents::Template* document_template,
                                        const std::vector<RegistrySource>& registries) {
  return fulfilment::CheckService(service, document_template, registries);
}

Result<std::unique_ptr<ApplicationService>> ApplicationService::Open(
    store::Database& db, const Catalogue& catalogue, documents::DocumentService& documents,
    DataExchange& exchange, std::vector<RegistrySource> registries, WorkingDays calendar,
    DeskMessaging desk, ApplicationsOptions options, const Clock& clock) {
  for (const auto& service : catalogue.services()) {
    const auto* t = service.document.empty() ? nullptr : documents.FindTemplate(service.document);
    if (!service.document.empty() && t == nullptr) {
      return Error::InvalidArgument("service " + service.id + " produces " + service.document +
                                    ", which is no template");
    }
    ULUS_TRY(fulfilment::CheckService(service, t, registries));
  }
  ULUS_TRY(store::Migrate(db, "services", Migrations()));
  auto impl = std::make_unique<Impl>(db, catalogue, documents, exchange, std::move(calendar),
                                     std::move(desk), options, clock);
  for (auto& r : registries) {
    auto name = r.name;
    impl->registries.emplace(std::move(name), std::move(r));
  }
  return std::unique_ptr<ApplicationService>(new ApplicationService(std::move(impl)));
}

Result<Application> ApplicationService::Submit(const Submission& submission,
                                               const Actor& applicant) {
  if (applicant.national_id.empty()) {
    return Error::PermissionDenied("only a person with a national ID may apply");
  }
  return impl_->SubmitAs(submission, applicant.national_id, applicant.account, "citizen", "",
                         "citizen:" + applicant.account);
}

Result<DeskChallenge> ApplicationService::StartDeskFiling(const Actor& officer,
                                                          std::string_view national_id,
                                                          std::string_view service_id) {
  const ServiceDefinition* service = impl_->catalogue.Find(service_id);
  if (service == nullptr) return Error::NotFound("no service " + std::string(service_id));
  if (!officer.desk && !officer.IsOfficerOf(service->agency)) {
    return Error::PermissionDenied("filing at a service centre needs the desk role");
  }
  if (national_id.empty() || national_id == officer.national_id) {
    return Error::InvalidArgument("file for another person, by their national ID", "nationalId");
  }
  if (!impl_->desk.phone_of || !impl_->desk.send_sms) {
    return Error::Unavailable("no text message gateway is configured for service centres");
  }
  ULUS_ASSIGN_OR_RETURN(const std::string phone, impl_->desk.phone_of(national_id));
  DeskChallenge challenge;
  challenge.id = NewUuidV7(impl_->clock);
  challenge.masked_phone = MaskPhone(phone);
  challenge.expires = impl_->clock.Now() + impl_->options.otp_lifetime;
  const auto random = crypto::RandomBytes(4);
  const uint32_t n = (uint32_t{random[0]} << 24 | uint32_t{random[1]} << 16 |
                      uint32_t{random[2]} << 8 | random[3]) %
                     1'000'000;
  char code[8];
  std::snprintf(code, sizeof code, "%06u", n);
  const Value params[] = {challenge.id,
                          officer.account,
                          std::string(national_id),
                          service->id,
                          crypto::HexEncode(crypto::Sha256(challenge.id + ":" + code)),
                          ToUnixMicros(challenge.expires)};
  const Status stored = impl_->db.InTransaction([&](Connection& conn) -> Status {
    // A few codes waiting per person at most: no flood of texts, no pile of codes to guess at.
    const Value who[] = {std::string(national_id), ToUnixMicros(impl_->clock.Now())};
    ULUS_ASSIGN_OR_RETURN(auto waiting,
                          conn.QueryInt("SELECT COUNT(*) FROM svc_desk_challenge WHERE "
                                        "national_id = $1 AND used = 0 AND expires >= $2",
                                        who));
    if (waiting >= kMaxWaitingCodes) {
      return Error{ErrorCode::kRateLimited,
                   "this person has codes waiting; use the newest or try again in five minutes",
                   "nationalId"};
    }
    ULUS_TRY(
        conn.Execute("INSERT INTO svc_desk_challenge (id, officer, national_id, service, "
                     "code_hash, expires, attempts, used) VALUES ($1, $2, $3, $4, $5, $6, "
                     "0, 0)",
                     params));
    return Ok();
  });
  if (!stored.ok()) return stored.error();
  ULUS_TRY(impl_->desk.send_sms(
      phone, "Ulus: a service centre asks to file \"" + Translate(service->title, "") +
                 "\" for you. If you are there, give the officer this code: " + code +
                 ". Never give it over the phone."));
  return challenge;
}

Result<Application> ApplicationService::ConfirmDeskFiling(const Actor& officer,
                                                          std::string_view challenge,
                                                          std::string_view code,
                                                          const Submission& submission) {
  std::string national_id;
  const auto now = ToUnixMicros(impl_->clock.Now());
  // Spending the code and counting a wrong guess are committed whatever follows.
  auto checked = impl_->db.InTransaction<bool>([&](Connection& conn) -> Result<bool> {
    // Each try is claimed first, in one statement, so concurrent tries cannot share one of the
    // five, and a code is spent in one statement, so two tries cannot both use it.
    const Value claim[] = {std::string(challenge), officer.account,
                           static_cast<int64_t>(impl_->options.otp_attempts), now};
    ULUS_ASSIGN_OR_RETURN(auto claimed,
                          conn.Execute("UPDATE svc_desk_challenge SET attempts = attempts + 1 "
                                       "WHERE id = $1 AND officer = $2 AND used = 0 AND "
                                       "attempts < $3 AND expires >= $4",
                                       claim));
    const Value key[] = {std::string(challenge), officer.account};
    ULUS_ASSIGN_OR_RETURN(auto rows, conn.Query("SELECT national_id, service, code_hash, expires, "
                                                "attempts, used FROM svc_desk_challenge "
                                                "WHERE id = $1 AND officer = $2",
                                                key));
    if (rows.empty()) return Error::NotFound("no filing " + std::string(challenge) + " of yours");
    const Row& row = rows[0];
    if (claimed != 1) {
      if (row.Int(5) != 0) return Error{ErrorCode::kFailedPrecondition, "the code was used", {}};
      if (row.Int(3) < now) return Error{ErrorCode::kFailedPrecondition, "the code expired", {}};
      return Error{ErrorCode::kRateLimited, "too many wrong codes; start the filing again", {}};
    }
    if (row.Text(1) != submission.service) {
      return Error::InvalidArgument("the citizen confirmed another service", "service");
    }
    const auto expected = crypto::HexDecode(row.Text(2)).value_or(std::vector<uint8_t>{});
    const auto given = crypto::Sha256(std::string(challenge) + ":" + std::string(code));
    if (!crypto::ConstantTimeEquals(expected, given)) return false;
    ULUS_ASSIGN_OR_RETURN(auto spent,
                          conn.Execute("UPDATE svc_desk_challenge SET used = 1 WHERE id = $1 "
                                       "AND used = 0",
                                       std::span<const Value>(key, 1)));
    if (spent != 1) return Error{ErrorCode::kFailedPrecondition, "the code was used", {}};
    national_id = row.Text(0);
    return true;
  });
  if (!checked.ok()) return checked.error();
  if (!*checked) return Error::PermissionDenied("the code is wrong");
  return impl_->SubmitAs(submission, national_id, "", "desk:" + officer.account,
                         "otp:" + std::string(challenge), "desk:" + officer.account);
}

Result<Application> ApplicationService::Get(std::string_view id, const Actor& actor) const {
  return impl_->LoadVisible(id, actor);
}

Result<std::vector<ApplicationEvent>> ApplicationService::History(std::string_view id,
                                                                  const Actor& actor) const {
  if (auto visible = impl_->LoadVisible(id, actor); !visible.ok()) return visible.error();
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  const Value params[] = {std::string(id)};
  ULUS_ASSIGN_OR_RETURN(auto rows,
                        conn->Query("SELECT id, at, actor, action, from_state, to_state, comment "
                                    "FROM svc_event WHERE application = $1 ORDER BY id",
                                    params));
  std::vector<ApplicationEvent> out;
  for (const auto& row : rows) {
    out.push_back({.id = row.Int(0),
                   .at = FromUnixMicros(row.Int(1)),
                   .actor = row.Text(2),
                   .action = row.Text(3),
                   .from_state = row.Text(4),
                   .to_state = row.Text(5),
                   .comment = row.Text(6)});
  }
  return out;
}

Result<std::vector<ActorEvent>> ApplicationService::ActionsOf(const Actor& officer, size_t limit,
                                                              size_t offset) const {
  if (officer.account.empty()) return std::vector<ActorEvent>{};
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  // Officers' and desks' events are recorded under their account; both are listed.
  const Value params[] = {"officer:" + officer.account, "desk:" + officer.account,
                          static_cast<int64_t>(std::min(limit, kMaxPage)),
                          static_cast<int64_t>(offset)};
  ULUS_ASSIGN_OR_RETURN(
      auto rows,
      conn->Query("SELECT e.id, e.at, e.actor, e.action, e.from_state, e.to_state, e.comment, "
                  "e.application, a.service FROM svc_event e JOIN svc_application a "
                  "ON a.id = e.application WHERE e.actor IN ($1, $2) "
                  "ORDER BY e.id DESC LIMIT $3 OFFSET $4",
                  params));
  std::vector<ActorEvent> out;
  for (const auto& row : rows) {
    out.push_back({.event = {.id = row.Int(0),
                             .at = FromUnixMicros(row.Int(1)),
                             .actor = row.Text(2),
                             .action = row.Text(3),
                             .from_state = row.Text(4),
                             .to_state = row.Text(5),
                             .comment = row.Text(6)},
                   .application = row.Text(7),
                   .service = row.Text(8)});
  }
  return out;
}

Result<std::vector<Application>> ApplicationService::Mine(const Actor& applicant, size_t limit,
                                                          size_t offset) const {
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  const Value params[] = {applicant.national_id, static_cast<int64_t>(std::min(limit, kMaxPage)),
                          static_cast<int64_t>(offset)};
  ULUS_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT " + std::string(kColumns) +
                                                   " FROM svc_application WHERE applicant = $1 "
                                                   "ORDER BY id DESC LIMIT $2 OFFSET $3",
                                               params));
  std::vector<Application> out;
  for (const auto& row : rows) out.push_back(ApplicationFromRow(row));
  return out;
}

Result<std::vector<Application>> ApplicationService::Inbox(const InboxQuery& query,
                                                           const Actor& officer) const {
  if (!officer.IsOfficerOf(query.agency)) {
    return Error::PermissionDenied("the inbox of " + query.agency + " is for its officers");
  }
  std::string sql = "SELECT " + std::string(kColumns) + " FROM svc_application WHERE agency = $1";
  // A fixed array rather than a growing vector: GCC 12 misreads the latter's variant moves.
  std::array<Value, 6> params;
  size_t n = 0;
  const auto bind = [&](Value value) {
    params[n++] = std::move(value);
    return "$" + std::to_string(n);
  };
  bind(query.agency);
  if (query.state) {
    sql += " AND state = " + bind(std::string(StateName(*query.state)));
  } else {
    sql += " AND state IN " + std::string(kOpenStates);
  }
  if (!query.service.empty()) sql += " AND service = " + bind(query.service);
  if (!query.assignee.empty()) sql += " AND assignee = " + bind(query.assignee);
  sql += " ORDER BY state_due, id LIMIT " +
         bind(static_cast<int64_t>(std::min(query.limit, kMaxPage)));
  sql += " OFFSET " + bind(static_cast<int64_t>(query.offset));
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  ULUS_ASSIGN_OR_RETURN(auto rows, conn->Query(sql, std::span<const Value>(params.data(), n)));
  std::vector<Application> out;
  for (const auto& row : rows) out.push_back(ApplicationFromRow(row));
  return out;
}

Result<Application> ApplicationService::Act(std::string_view id, const Action& action,
                                            const Actor& actor) {
  ULUS_ASSIGN_OR_RETURN(Application a, impl_->LoadVisible(id, actor));
  if (action.expected_version != 0 && action.expected_version != a.version) {
    return Error::Conflict("application " + a.id + " has moved on to version " +
                           std::to_string(a.version));
  }
  if (action.comment.size() > kMaxComment) {
    return Error::InvalidArgument("a comment is at most 4000 bytes", "comment");
  }
  const ServiceDefinition* service = impl_->catalogue.Find(a.service);
  if (service == nullptr) return Error::Internal("the service " + a.service + " is gone");
  const bool is_applicant = !actor.national_id.empty() && a.applicant == actor.national_id;
  const bool is_officer = actor.IsOfficerOf(a.agency);
  std::string who = "officer:" + actor.account;
  const auto refuse = [&](std::string_view what) {
    return Error{
        ErrorCode::kFailedPrecondition,
        "an application " + std::string(StateName(a.state)) + " cannot be " + std::string(what),
        "state"};
  };
  const auto need_comment = [&](std::string_view what) -> Status {
    if (action.comment.find_first_not_of(" \t\r\n") == std::string::npos) {
      return Error::InvalidArgument(std::string(what) + " needs a comment", "comment");
    }
    return Ok();
  };
  const sys_days today = impl_->Today();
  const std::string& name = action.name;
  // The applicant's own steps (an officer filing their own application acts as its applicant).
  if (name == "withdraw" || name == "respond" || (name == "comment" && is_applicant)) {
    if (!is_applicant) return Error::PermissionDenied("only the applicant may " + name);
    who = "citizen:" + actor.account;
    if (IsFinal(a.state)) return refuse(name == "comment" ? "commented on" : name + "n");
    if (name == "withdraw") {
      ULUS_TRY(impl_->Save(a, ApplicationState::kWithdrawn, who, "withdraw", action.comment));
      return a;
    }
    ULUS_TRY(need_comment(name));
    if (name == "comment") {
      ULUS_TRY(impl_->Save(a, a.state, who, "comment", action.comment));
      return a;
    }
    if (a.state != ApplicationState::kInformationRequested) return refuse("answered");
    if (!action.form.empty()) {
      json merged = a.form;
      merged.update(action.form);
      ULUS_ASSIGN_OR_RETURN(a.form, fulfilment::CheckForm(*service, merged));
    }
    // The agency's clock stopped while the applicant was asked: its deadline moves on by the
    // working days spent waiting.
    const int waited = impl_->calendar.Between(a.state_since, today);
    if (a.due) a.due = impl_->calendar.Add(*a.due, waited);
    a.state_due = a.due;
    a.state_since = today;
    ULUS_TRY(impl_->Save(a, ApplicationState::kInReview, who, "respond", action.comment));
    return a;
  }
  if (!is_officer)
    return Error::PermissionDenied("only an officer of " + a.agency + " may " + name);
  if (is_applicant) {
    return Error::PermissionDenied("an officer does not decide their own application");
  }
  if (IsFinal(a.state)) return refuse("changed");
  if (name == "comment") {
    ULUS_TRY(need_comment(name));
    ULUS_TRY(impl_->Save(a, a.state, who, "comment", action.comment));
    return a;
  }
  if (name == "amend") {
    // An officer's correction of the e-form (GovStack's operator form data), recorded with what
    // the officer says and shown to the applicant.
    if (action.form.empty()) return Error::InvalidArgument("amend needs form entries", "form");
    json merged = a.form;
    merged.update(action.form);
    ULUS_ASSIGN_OR_RETURN(a.form, fulfilment::CheckForm(*service, merged));
    std::string changed;
    for (const auto& [key, value] : action.form.items())
      changed += (changed.empty() ? "" : ", ") + key;
    ULUS_TRY(impl_->Save(a, a.state, who, "amend",
                         action.comment.empty() ? "corrected: " + changed : action.comment));
    return a;
  }
  if (name == "take") {
    if (a.state != ApplicationState::kSubmitted) return refuse("taken up");
    a.assignee = actor.account;
    a.state_due = a.due;
    a.state_since = today;
    ULUS_TRY(impl_->Save(a, ApplicationState::kInReview, who, "take", action.comment));
    return a;
  }
  if (name == "request_information") {
    if (a.state != ApplicationState::kInReview) return refuse("asked for information");
    ULUS_TRY(need_comment(name));
    a.state_since = today;
    a.state_due = impl_->calendar.Add(today, impl_->options.information_days);
    ULUS_TRY(impl_->Save(a, ApplicationState::kInformationRequested, who, "request_information",
                         action.comment));
    return a;
  }
  if (name == "reject") {
    ULUS_TRY(need_comment("a rejection"));
    a.reason = action.comment;
    ULUS_TRY(impl_->Save(a, ApplicationState::kRejected, who, "reject", action.comment));
    return a;
  }
  if (name == "approve") {
    if (a.state != ApplicationState::kInReview) return refuse("approved");
    if (!service->document.empty()) {
      // Errors go back to the officer, who decides: nothing changes on the application.
      ULUS_ASSIGN_OR_RETURN(auto issued, impl_->Fulfil(a, *service, actor.account, &action.claims,
                                                       "officer:" + actor.account));
      ULUS_TRY(impl_->Complete(a, issued, who, "approve", action.comment));
      return a;
    }
    ULUS_TRY(impl_->Save(a, ApplicationState::kCompleted, who, "approve", action.comment));
    return a;
  }
  return Error::InvalidArgument("unknown action " + name +
                                    "; take, comment, amend, request_information, respond, "
                                    "approve, reject or withdraw",
                                "action");
}

Result<std::vector<Notice>> ApplicationService::Notices(const Actor& applicant, bool unread_only,
                                                        size_t limit, size_t offset) const {
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  const Value params[] = {applicant.national_id, static_cast<int64_t>(std::min(limit, kMaxPage)),
                          static_cast<int64_t>(offset)};
  ULUS_ASSIGN_OR_RETURN(
      auto rows,
      conn->Query(std::string("SELECT id, application, service, at, kind, state, text, is_read "
                              "FROM svc_notice WHERE applicant = $1") +
                      (unread_only ? " AND is_read = 0" : "") +
                      " ORDER BY id DESC LIMIT $2 OFFSET $3",
                  params));
  std::vector<Notice> out;
  for (const auto& row : rows) {
    out.push_back({.id = row.Int(0),
                   .application = row.Text(1),
                   .service = row.Text(2),
                   .at = FromUnixMicros(row.Int(3)),
                   .kind = row.Text(4),
                   .state = row.Text(5),
                   .text = row.Text(6),
                   .read = row.Int(7) != 0});
  }
  return out;
}

Status ApplicationService::MarkNoticesRead(const Actor& applicant, int64_t up_to_id) {
  return impl_->db.InTransaction([&](Connection& conn) -> Status {
    const Value params[] = {applicant.national_id, up_to_id};
    ULUS_TRY(conn.Execute("UPDATE svc_notice SET is_read = 1 WHERE applicant = $1 AND id <= $2",
                          params));
    return Ok();
  });
}

Result<Attachment> ApplicationService::Attach(std::string_view application, std::string_view name,
                                              std::string_view media_type, std::string_view bytes,
                                              const Actor& actor) {
  ULUS_ASSIGN_OR_RETURN(Application a, impl_->LoadVisible(application, actor));
  const bool is_applicant = !actor.national_id.empty() && a.applicant == actor.national_id;
  if (!is_applicant && !actor.IsOfficerOf(a.agency)) {
    return Error::PermissionDenied("only the applicant or an officer of " + a.agency +
                                   " may attach files");
  }
  if (IsFinal(a.state)) {
    return Error{ErrorCode::kFailedPrecondition,
                 "the application is " + std::string(StateName(a.state)), "state"};
  }
  if (bytes.empty()) return Error::InvalidArgument("the file is empty", "body");
  if (bytes.size() > impl_->options.max_attachment_bytes) {
    return Error{
        ErrorCode::kTooLarge,
        "a file is at most " + std::to_string(impl_->options.max_attachment_bytes) + " bytes",
        "body"};
  }
  const std::string sniffed = SniffMediaType(bytes);
  if (sniffed.empty() || (!media_type.empty() && media_type != sniffed)) {
    return Error{ErrorCode::kUnsupportedMediaType,
                 "attach a PDF, PNG or JPEG file whose Content-Type says what it is",
                 "Content-Type"};
  }
  Attachment out;
  out.id = NewUuidV7(impl_->clock);
  out.application = a.id;
  out.name = SafeName(name);
  out.media_type = sniffed;
  out.size = static_cast<int64_t>(bytes.size());
  out.sha256 = crypto::HexEncode(crypto::Sha256(bytes));
  out.uploaded_by = is_applicant ? "citizen:" + actor.account : "officer:" + actor.account;
  out.at = impl_->clock.Now();
  const Status stored = impl_->db.InTransaction([&](Connection& conn) -> Status {
    const Value count_params[] = {a.id};
    ULUS_ASSIGN_OR_RETURN(
        auto count,
        conn.QueryInt("SELECT COUNT(*) FROM svc_attachment WHERE application = $1", count_params));
    if (static_cast<size_t>(count) >= impl_->options.max_attachments) {
      return Error{ErrorCode::kTooLarge,
                   "an application holds at most " +
                       std::to_string(impl_->options.max_attachments) + " files",
                   "body"};
    }
    store::Blob blob{std::vector<uint8_t>(bytes.begin(), bytes.end())};
    const Value blob_params[] = {out.sha256, std::move(blob)};
    ULUS_TRY(
        conn.Execute("INSERT INTO svc_blob (sha256, bytes) VALUES ($1, $2) "
                     "ON CONFLICT (sha256) DO NOTHING",
                     blob_params));
    const Value params[] = {out.id,   out.application, out.name,        out.media_type,
                            out.size, out.sha256,      out.uploaded_by, ToUnixMicros(out.at)};
    ULUS_TRY(
        conn.Execute("INSERT INTO svc_attachment (id, application, name, media_type, size, "
                     "sha256, uploaded_by, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                     params));
    return impl_->Event(conn, a, StateName(a.state), out.uploaded_by, "attach", out.name);
  });
  if (!stored.ok()) return stored.error();
  return out;
}

Result<std::vector<Attachment>> ApplicationService::Attachments(std::string_view application,
                                                                const Actor& actor) const {
  ULUS_ASSIGN_OR_RETURN(Application a, impl_->LoadVisible(application, actor));
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  const Value params[] = {a.id};
  ULUS_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT id, application, name, media_type, size, "
                                               "sha256, uploaded_by, at FROM svc_attachment "
                                               "WHERE application = $1 ORDER BY at, id",
                                               params));
  std::vector<Attachment> out;
  for (const auto& row : rows) {
    out.push_back({.id = row.Text(0),
                   .application = row.Text(1),
                   .name = row.Text(2),
                   .media_type = row.Text(3),
                   .size = row.Int(4),
                   .sha256 = row.Text(5),
                   .uploaded_by = row.Text(6),
                   .at = FromUnixMicros(row.Int(7))});
  }
  return out;
}

Result<std::pair<Attachment, std::string>> ApplicationService::AttachmentBytes(
    std::string_view application, std::string_view attachment, const Actor& actor) const {
  ULUS_ASSIGN_OR_RETURN(auto list, Attachments(application, actor));
  for (auto& item : list) {
    if (item.id != attachment) continue;
    ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
    const Value params[] = {item.sha256};
    ULUS_ASSIGN_OR_RETURN(auto row,
                          conn->QueryOne("SELECT bytes FROM svc_blob WHERE sha256 = $1", params));
    const auto& bytes = row.Bytes(0).bytes;
    return std::make_pair(std::move(item), std::string(bytes.begin(), bytes.end()));
  }
  return Error::NotFound("no attachment " + std::string(attachment));
}

const Catalogue& ApplicationService::catalogue() const {
  return impl_->catalogue;
}

bool ApplicationService::Late(const Application& application) const {
  if (IsFinal(application.state)) return false;
  const auto today = impl_->Today();
  const bool state_late = application.state_due && *application.state_due < today;
  // While the applicant is asked, the agency's clock stands still: only the answer can be late.
  if (application.state == ApplicationState::kInformationRequested) return state_late;
  return state_late || (application.due && *application.due < today);
}

ApplicationService::StepTimes ApplicationService::AutomaticStepTimes() const {
  return {.count = impl_->step_count.load(),
          .pull = std::chrono::nanoseconds(impl_->pull_ns.load()),
          .claims = std::chrono::nanoseconds(impl_->claims_ns.load()),
          .issue = std::chrono::nanoseconds(impl_->issue_ns.load()),
          .record = std::chrono::nanoseconds(impl_->record_ns.load())};
}

void ApplicationService::ExportMetrics(http::Metrics& metrics) {
  static constexpr const char* kNames[] = {"token", "pull", "claims", "issue", "record"};
  for (size_t i = 0; i < Impl::kSteps; ++i) {
    impl_->step_metrics[i] = &metrics.GetHistogram(
        "ulus_services_step_seconds",
        "Time in each step of applications: token check, Khur pulls, claims, document issue, "
        "application record.",
        {{"step", kNames[i]}});
  }
}

void ApplicationService::NoteTokenCheck(std::chrono::nanoseconds took) {
  impl_->Note(Impl::kToken, took);
}

Result<size_t> ApplicationService::ResumePending(bool at_start) {
  // Automatic applications still submitted a while after their last change: the request that
  // made them has long finished (or died), so finishing them races nobody. At start no request
  // of this process can be running, so every one is taken.
  std::vector<Value> params;
  params.reserve(impl_->catalogue.services().size() + 1);
  params.emplace_back(ToUnixMicros(at_start ? impl_->clock.Now() + std::chrono::seconds(1)
                                            : impl_->clock.Now() - kResumeAfter));
  std::string services;
  for (const auto& s : impl_->catalogue.services()) {
    if (s.workflow != WorkflowKind::kAutomatic) continue;
    params.emplace_back(s.id);
    services += (services.empty() ? "$" : ", $") + std::to_string(params.size());
  }
  if (services.empty()) return size_t{0};
  std::vector<Application> pending;
  {
    ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
    ULUS_ASSIGN_OR_RETURN(auto rows,
                          conn->Query("SELECT " + std::string(kColumns) +
                                          " FROM svc_application WHERE state = "
                                          "'submitted' AND updated < $1 AND service IN (" +
                                          services + ") ORDER BY updated LIMIT 200",
                                      params));
    for (const auto& row : rows) pending.push_back(ApplicationFromRow(row));
  }
  size_t finished = 0;
  for (auto& a : pending) {
    const ServiceDefinition* service = impl_->catalogue.Find(a.service);
    if (service == nullptr) continue;
    auto done = impl_->FinishAutomatic(a, *service);
    if (!done.ok()) {
      // One application's trouble (changed meanwhile) does not hold up the others.
      spdlog::warn("application {} stays unfinished: {}", a.id, done.error().message);
      continue;
    }
    if (done->state != ApplicationState::kSubmitted) {
      ++finished;
    } else {
      break;  // Khur is still unreachable: the next sweep tries again
    }
  }
  return finished;
}

}  // namespace ulus::services
