#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/core/working_days.hpp"
#include "ulus/documents/documents.hpp"
#include "ulus/http/metrics.hpp"
#include "ulus/services/catalogue.hpp"
#include "ulus/store/database.hpp"
#include "ulus/store/migration.hpp"

namespace ulus::services {

// An application's states. Automatic services go submitted -> completed (or rejected) in one
// request; review services wait for an officer of the owning agency.
enum class ApplicationState {
  kSubmitted,             // waiting for an officer to take it up
  kInReview,              // an officer works on it
  kInformationRequested,  // waiting for the applicant; the agency's clock stops
  kCompleted,             // approved, and its document issued (when the service has one)
  kRejected,              // with a reason
  kWithdrawn,             // by the applicant
};
std::string_view StateName(ApplicationState state);
std::optional<ApplicationState> StateFromName(std::string_view name);
// Completed, rejected and withdrawn: nothing happens to the application any more.
bool IsFinal(ApplicationState state);

struct Application {
  std::string id;  // UUIDv7
  std::string service;
  std::string agency;
  std::string applicant;          // national ID
  std::string applicant_account;  // Dan account id
  ApplicationState state = ApplicationState::kSubmitted;
  nlohmann::json form = nlohmann::json::object();  // the applicant's e-form entries
  TimePoint created;
  TimePoint updated;
  // Deadlines as days (working days on the pack's calendar): the whole application, and the
  // current state (taking up, review, the applicant's answer). Unset for final states.
  std::optional<std::chrono::sys_days> due;
  std::optional<std::chrono::sys_days> state_due;
  std::chrono::sys_days state_since{};
  std::string assignee;  // the officer's account id, once taken up
  // "citizen", or "desk:<officer account id>" for a one-stop centre filing; with the citizen's
  // confirmation ("otp:<challenge id>").
  std::string filed_by = "citizen";
  std::string confirmation;
  std::string document;                              // the issued document's id
  std::string reason;                                // why it was rejected
  nlohmann::json sources = nlohmann::json::array();  // the Khur reads: registry, record, x-road id
  std::string consent_token;  // Dan's consent token, for services that read consent-bound data
  int64_t version = 1;        // bumped by every change
};

struct ApplicationEvent {
  int64_t id = 0;
  TimePoint at;
  std::string actor;   // "citizen:<account>", "officer:<account>", "desk:<account>", "system"
  std::string action;  // submit, take, comment, request_information, respond, approve, ...
  std::string from_state;
  std::string to_state;
  std::string comment;
};

// An event with the application it belongs to: an officer's own actions.
struct ActorEvent {
  ApplicationEvent event;
  std::string application;
  std::string service;
};

// A line of the applicant's inbox: every change of their applications.
struct Notice {
  int64_t id = 0;
  std::string application;
  std::string service;
  TimePoint at;
  std::string kind;  // the event's action
  std::string state;
  std::string text;  // the comment or reason, when there is one
  bool read = false;
};

struct Attachment {
  std::string id;
  std::string application;
  std::string name;
  std::string media_type;
  int64_t size = 0;
  std::string sha256;
  std::string uploaded_by;
  TimePoint at;
};

// A registry as the services part reads it through Khur (the app fills these from the pack).
struct RegistrySource {
  std::string name;
  std::string version = "1.0";
  std::string provider;      // the owning subsystem, "MN/GOV/GASR/civil-registry"
  std::string service_code;  // Khur's service for it ("social-insurance"); empty: the name
  std::string primary_key = "id";
  std::string subject_field;  // empty: reached only through another registry's reference
  std::map<std::string, std::string, std::less<>> refs;         // field -> registry it references
  std::map<std::string, std::string, std::less<>> field_types;  // field -> string, date, ...
  bool consent_required = false;
};

// One read of a registry: records whose `field` equals `value`, about `subject`.
struct PullRequest {
  const RegistrySource* registry = nullptr;
  std::string field;
  std::string value;
  std::string subject;
  std::string purpose;  // "services:<service>/<application>"
  std::string user_id;  // the officer, or "citizen"
  std::string consent_token;
};

struct Pulled {
  std::vector<nlohmann::json> records;
  std::string x_road_id;  // the exchange's id in the nodes' message logs
};

// Where registry data comes from: Khur (KhurExchange) in the platform.
class DataExchange {
 public:
  virtual ~DataExchange() = default;
  virtual Result<Pulled> Pull(const PullRequest& request) = 0;
};

// Reads registries through an agency node's client interface (/r1/...) as `client`
// ("MN/GOV/MDDIC/platform"), with Ulus-Subject, Ulus-Purpose, X-Road-UserId and, for
// consent-bound registries, Ulus-Consent. `node_url` says where the node's client interface is
// ("http://127.0.0.1:8100"), or empty while there is none (kUnavailable). Thread-safe.
class KhurExchange final : public DataExchange {
 public:
  KhurExchange(std::function<std::string()> node_url, std::string client);
  ~KhurExchange() override;
  Result<Pulled> Pull(const PullRequest& request) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Who acts on an application; the API builds it from a Dan token.
struct Actor {
  std::string account;      // Dan account id
  std::string national_id;  // the person's own
  // Agencies whose applications they may work (officer or admin role, login at substantial or
  // higher).
  std::vector<std::string> officer_of;
  // May file applications at a one-stop centre for a present citizen (role "desk" or officer).
  bool desk = false;
  [[nodiscard]] bool IsOfficerOf(std::string_view agency) const;
};

struct Submission {
  std::string service;
  nlohmann::json form = nlohmann::json::object();
  // Dan's consent token for this service's purpose, when it reads consent-bound registries.
  std::string consent_token;
  // The client's Idempotency-Key: a retry gets the first application, not a second one.
  std::string idempotency_key;
};

// An officer's (or the applicant's) step in the workflow.
struct Action {
  // take, comment, amend (an officer corrects the e-form), request_information, respond,
  // approve, reject, withdraw
  std::string name;
  std::string comment;  // required for request_information, respond and reject (the reason)
  nlohmann::json claims = nlohmann::json::object();  // approve: the fields mapped to "officer"
  nlohmann::json form = nlohmann::json::object();    // respond, amend: corrected e-form entries
  int64_t expected_version = 0;  // when set, kConflict if the application has moved on
};

struct InboxQuery {
  std::string agency;
  std::optional<ApplicationState> state;  // unset: every open state
  std::string service;
  std::string assignee;
  size_t limit = 50;
  size_t offset = 0;
};

struct ApplicationsOptions {
  int take_up_days = 1;       // working days to take a submitted application up
  int information_days = 10;  // working days the applicant has to answer a request
  size_t max_attachment_bytes = 5 * 1024 * 1024;
  size_t max_attachments = 20;
  std::chrono::seconds otp_lifetime{300};
  int otp_attempts = 5;
  // The country's civil time: which day it is for deadlines and document dates.
  std::chrono::minutes utc_offset{0};
  // The data agreement (in Dan's consent service) each consent-bound service's consent is given
  // to; named to an applicant who has not given it yet.
  std::map<std::string, std::string, std::less<>> consent_agreements;
};

// What the services part needs from Dan, given by the app: the phone of a person's account (for
// the one-stop centre's code) and a way to send it.
struct DeskMessaging {
  std::function<Result<std::string>(std::string_view national_id)> phone_of;
  std::function<Status(std::string_view phone, std::string_view text)> send_sms;
};

// A one-stop centre filing waiting for the citizen's code.
struct DeskChallenge {
  std::string id;
  std::string masked_phone;  // "+976 ****1234"
  TimePoint expires;
};

// Applications for the catalogue's services: submission (automatic ones finish in the same
// call: Khur pulls, claims, document issued), the review workflow, the applicant's inbox,
// attachments, the officer's inbox with working-day deadlines, and one-stop centre filings.
// Every transition is one transaction with its event and the applicant's notice. Objects passed
// to Open must outlive the service. Thread-safe.
class ApplicationService {
 public:
  static Result<std::unique_ptr<ApplicationService>> Open(
      store::Database& db, const Catalogue& catalogue, documents::DocumentService& documents,
      DataExchange& exchange, std::vector<RegistrySource> registries, WorkingDays calendar,
      DeskMessaging desk, ApplicationsOptions options = {}, const Clock& clock = Clock::System());
  static const std::vector<store::Migration>& Migrations();  // component "services"
  ~ApplicationService();

  // Checks each service's claims map against its document template, form and registries.
  static Status CheckService(const ServiceDefinition& service,
                             const documents::Template* document_template,
                             const std::vector<RegistrySource>& registries);

  // The applicant applies. kNotFound unknown service; kInvalidArgument a bad form;
  // kFailedPrecondition consent needed (the detail names the service) or the applicant cannot
  // apply. An automatic service comes back completed (or rejected with the reason).
  Result<Application> Submit(const Submission& submission, const Actor& applicant);

  // One-stop centre: the officer starts a filing for the present citizen, who gets a code by
  // SMS; with the code the application is filed as the citizen's, the officer and the
  // confirmation recorded on it.
  Result<DeskChallenge> StartDeskFiling(const Actor& officer, std::string_view national_id,
                                        std::string_view service);
  Result<Application> ConfirmDeskFiling(const Actor& officer, std::string_view challenge,
                                        std::string_view code, const Submission& submission);

  // The application if `actor` applied for it or is an officer of its agency; kNotFound else.
  Result<Application> Get(std::string_view id, const Actor& actor) const;
  Result<std::vector<ApplicationEvent>> History(std::string_view id, const Actor& actor) const;
  // The applicant's applications, newest first.
  Result<std::vector<Application>> Mine(const Actor& applicant, size_t limit, size_t offset) const;
  // What an officer or desk clerk did themselves, newest first, across agencies.
  Result<std::vector<ActorEvent>> ActionsOf(const Actor& officer, size_t limit,
                                            size_t offset) const;
  // An agency's open applications by state deadline, oldest first (the officer's inbox).
  Result<std::vector<Application>> Inbox(const InboxQuery& query, const Actor& officer) const;

  Result<Application> Act(std::string_view id, const Action& action, const Actor& actor);

  Result<std::vector<Notice>> Notices(const Actor& applicant, bool unread_only, size_t limit,
                                      size_t offset) const;
  Status MarkNoticesRead(const Actor& applicant, int64_t up_to_id);

  // Attachments: PDF, PNG or JPEG (checked by their first bytes, not the name), at most
  // max_attachment_bytes; by the applicant or an officer of the agency while the application
  // is open.
  Result<Attachment> Attach(std::string_view application, std::string_view name,
                            std::string_view media_type, std::string_view bytes,
                            const Actor& actor);
  Result<std::vector<Attachment>> Attachments(std::string_view application,
                                              const Actor& actor) const;
  Result<std::pair<Attachment, std::string>> AttachmentBytes(std::string_view application,
                                                             std::string_view attachment,
                                                             const Actor& actor) const;

  [[nodiscard]] const Catalogue& catalogue() const;
  // Is the application past its deadline today?
  [[nodiscard]] bool Late(const Application& application) const;

  // Time spent in each step of automatic applications since start.
  struct StepTimes {
    int64_t count = 0;
    std::chrono::nanoseconds pull{0}, claims{0}, issue{0}, record{0};
  };
  [[nodiscard]] StepTimes AutomaticStepTimes() const;
  // Publishes the steps' times as ulus_services_step_seconds{step} histograms (token, pull,
  // claims, issue, record), so an operator or a benchmark sees where an application's time goes.
  // Call before serving.
  void ExportMetrics(http::Metrics& metrics);
  // The API's share: checking the caller's access token.
  void NoteTokenCheck(std::chrono::nanoseconds took);

  // Finishes automatic applications left submitted by a crash or an unreachable registry
  // (the document is issued at most once: its idempotency key is the application). Takes those
  // unchanged for two minutes, or, `at_start`, all of them (no request of this process can be
  // working on one yet). Returns how many were finished.
  Result<size_t> ResumePending(bool at_start = false);

  struct Impl;

 private:
  explicit ApplicationService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ulus::services
