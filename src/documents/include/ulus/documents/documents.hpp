#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/crypto/keys.hpp"
#include "ulus/documents/templates.hpp"
#include "ulus/documents/trust_list.hpp"
#include "ulus/documents/verifier.hpp"
#include "ulus/identity/keystore.hpp"
#include "ulus/store/database.hpp"
#include "ulus/store/migration.hpp"

namespace ulus::documents {

struct IssuingAgency {
  std::string code;
  Translations name;
};

struct DocumentsOptions {
  std::string origin;                  // e.g. "https://ulus.gov.mn": issuer URIs, status URLs
  std::string country;                 // the pack's code, "mn"
  std::vector<std::string> languages;  // the pack's; the first is the default
  // A credential longer than this goes into the QR code as a locator and digest.
  size_t qr_max_bytes = 1800;
  std::chrono::seconds revocation_list_max_age{30};
  std::chrono::seconds trust_list_max_age{60};
  std::chrono::hours trust_list_lifetime{24 * 7};
  std::chrono::hours revocation_list_lifetime{24};
  std::chrono::days disclosure_lifetime{30};
  std::chrono::days dcc_default_validity{365};
};

// Who issues or revokes: an agency's back-end (a client-credentials token) or an officer of it.
struct Actor {
  std::string agency;
  std::string who;  // "client:<client id>" or "officer:<account id>"
};

struct IssueRequest {
  std::string template_id;
  std::string holder;  // national ID
  nlohmann::json claims = nlohmann::json::object();
  // The registry records the claims came from: [{registry, record, version}], recorded as given.
  nlohmann::json sources = nlohmann::json::array();
  // The caller's key for this request (its Idempotency-Key header), unique per agency: a retry
  // after a lost answer gets the document issued the first time instead of a second one; the
  // same key with a different request is kConflict. Empty: no such protection.
  std::string idempotency_key;
};

// One issued document (or disclosure) as recorded.
struct IssuedDocument {
  std::string id;
  std::string template_id;
  std::string template_version;
  std::string agency;
  std::string holder;
  std::string issued_by;
  std::string kid;
  TimePoint issued_at;
  std::optional<TimePoint> expires_at;
  nlohmann::json sources;
  std::string credential;             // the VC-JWT
  std::string hc1;                    // the EU DCC, vaccination only
  std::optional<std::string> parent;  // disclosures: the document they disclose
  std::optional<Revocation> revocation;
  int64_t verifications = 0;  // filled by ForHolder
  bool replayed = false;      // Issue: this is the earlier answer to the same idempotency key
};

// An agency's look at a person's document (its record or its PDF), which the holder may see.
struct AccessRecord {
  TimePoint at;
  std::string who;     // "client:<id>" or "officer:<account id>"
  std::string action;  // "read", "pdf"
};

struct VerificationRecord {
  TimePoint at;
  std::string channel;  // "api", "page"
  std::string remote;
  std::string verdict;
  std::string credential_id;  // the document, or the disclosure shown
};

// The documents part: issues documents from the pack's templates, signed by each agency's key in
// Dan's key store; records them; revokes; verifies with an audit row for each verification;
// publishes the trust and revocation lists signed by the platform's "documents" key. Holds
// references to the database and key store, which must outlive it. Thread-safe.
class DocumentService {
 public:
  static Result<std::unique_ptr<DocumentService>> Open(store::Database& db,
                                                       identity::KeyStore& keys,
                                                       std::vector<Template> templates,
                                                       std::vector<IssuingAgency> agencies,
                                                       DocumentsOptions options,
                                                       const Clock& clock = Clock::System());
  static const std::vector<store::Migration>& Migrations();  // component "documents"
  ~DocumentService();

  // Issues a document: `by` must be the template's agency; the claims must fit the template.
  Result<IssuedDocument> Issue(const IssueRequest& request, const Actor& by);
  // A disclosure of `document_id` for its holder: only `fields`, plus predicates such as
  // "age_over_18" when the template names a birth date field. Signed by the same agency.
  Result<IssuedDocument> Disclose(std::string_view document_id, std::string_view holder,
                                  const std::vector<std::string>& fields,
                                  const std::vector<std::string>& predicates);
  // Revokes a document: by its agency; a disclosure also by its holder (holder_national_id).
  Status Revoke(std::string_view id, std::string_view reason, const Actor& by);
  Status WithdrawDisclosure(std::string_view id, std::string_view holder);

  [[nodiscard]] Result<std::optional<IssuedDocument>> Find(std::string_view id) const;
  // The document `agency` issued under an idempotency key, if any: lets a caller that lost
  // track of an answer (a crash) find what it was given.
  [[nodiscard]] Result<std::optional<IssuedDocument>> FindByIdempotencyKey(
      std::string_view agency, std::string_view key) const;
  // The holder's documents (not disclosures), newest first, with how often each was verified.
  [[nodiscard]] Result<std::vector<IssuedDocument>> ForHolder(std::string_view holder, size_t limit,
                                                              size_t offset) const;
  [[nodiscard]] Result<std::vector<VerificationRecord>> Verifications(std::string_view document_id,
                                                                      size_t limit) const;
  // Records that the issuing agency read a person's document, before it is shown; and lists
  // those reads for the holder, newest first.
  Status RecordAccess(std::string_view document_id, std::string_view who, std::string_view action);
  [[nodiscard]] Result<std::vector<AccessRecord>> Accesses(std::string_view document_id,
                                                           size_t limit) const;

  // Verifies and records the verification (channel "api" or "page", the caller's address).
  Result<Verification> Verify(std::string_view text, std::string_view channel,
                              std::string_view remote_address);

  // The document as a one-page PDF in `language` (one of the pack's; else the default).
  [[nodiscard]] Result<std::string> Pdf(const IssuedDocument& document,
                                        std::string_view language) const;
  // What the document's QR code carries: the credential, or a locator when it is too large.
  [[nodiscard]] std::string QrPayload(const IssuedDocument& document) const;

  Result<std::string> TrustListJws();
  Result<std::string> RevocationListJws();
  Result<crypto::PublicKey> TrustAnchor();
  [[nodiscard]] const std::vector<Template>& templates() const;
  [[nodiscard]] const Template* FindTemplate(std::string_view id) const;
  [[nodiscard]] const DocumentsOptions& options() const;

  struct Impl;

 private:
  explicit DocumentService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ulus::documents
