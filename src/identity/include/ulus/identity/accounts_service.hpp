#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/crypto/password.hpp"
#include "ulus/crypto/sealed.hpp"
#include "ulus/http/message.hpp"
#include "ulus/http/router.hpp"
#include "ulus/identity/accounts.hpp"
#include "ulus/identity/assurance.hpp"
#include "ulus/identity/audit.hpp"
#include "ulus/identity/directory.hpp"
#include "ulus/identity/messages.hpp"
#include "ulus/identity/sessions.hpp"
#include "ulus/store/database.hpp"
#include "ulus/store/migration.hpp"

namespace ulus::identity {

// How failed attempts slow down one key (a login identifier or a source address): the first
// `free_failures` cost nothing, each next attempt must wait a doubling delay from `first_delay`
// up to `max_delay`, and at `lock_after` failures the key is locked for `lock_for`.
struct ThrottleLimits {
  int free_failures = 3;
  std::chrono::seconds first_delay{1};
  std::chrono::seconds max_delay{60};
  int lock_after = 10;
  std::chrono::seconds lock_for{15 * 60};
};

struct AccountServiceOptions {
  crypto::Argon2idCost argon2 = crypto::kDefaultArgon2idCost;
  std::string totp_issuer = "Dan";  // the issuer authenticator apps show
  ThrottleLimits per_identifier;
  // A source address may be a whole office behind one NAT, so its limits are looser.
  ThrottleLimits per_address{20, std::chrono::seconds(1), std::chrono::seconds(60), 50,
                             std::chrono::seconds(15 * 60)};
  // One-time codes sent to the register's phone, for sign-up and for a password reset alike.
  std::chrono::seconds signup_code_ttl{10 * 60};
  int signup_code_attempts = 5;
  // A new code for the same national ID is sent at most this often (no SMS bombing).
  std::chrono::seconds signup_resend_interval{60};
  std::chrono::seconds challenge_ttl{5 * 60};
  // Called after a password change or reset has committed, with the account id: Dan ends the
  // account's OpenID Connect grants there, so a token taken with the old password dies with it.
  std::function<Status(std::string_view account_id)> on_password_replaced;
};

// Where an attempt comes from, for throttling and the audit log.
struct AttemptContext {
  std::string remote_address;
  std::string client_id;
};

// A factor presented successfully: who, and the level and methods it proves.
struct FactorResult {
  Account account;
  Assurance assurance = Assurance::kNone;
  std::vector<std::string> amr;
};

// A TOTP enrolment waiting for its first code. The secret is shown once so the citizen can type
// it by hand when the camera fails.
struct TotpEnrolment {
  std::string secret_base32;
  std::string otpauth_uri;
  std::string qr_svg;  // inline <svg> of the URI
};

// A signature-login challenge: the citizen signs "ulus-dan-login:" + nonce with their key.
struct SignatureChallenge {
  std::string id;
  std::string nonce;
  TimePoint expires;
  [[nodiscard]] std::string SignedText() const { return "ulus-dan-login:" + nonce; }
};

struct SignatureKeyInfo {
  std::string kid;
  nlohmann::json public_jwk;
  TimePoint created;
};

struct RoleGrant {
  std::string account_id;
  std::string national_id;
  Role role;
  std::string granted_by;  // account id, or "cli"
  TimePoint granted_at;
};

// Who calls the officer API, as resolved from a session cookie or a bearer token.
struct Caller {
  std::string account_id;
  std::vector<Role> roles;
};
// Resolves the caller of a request; kUnauthenticated when it carries no valid credential.
using CallerResolver = std::function<Result<Caller>(const http::Request&)>;

// The login side of Dan: accounts bound to register persons, sign-up by one-time code, the
// password, TOTP, recovery-code and signature factors, throttling of failures, and officer roles.
// Every security event goes to the AuditLog. Holds references to everything passed to Open,
// which must outlive it. Thread-safe.
class AccountService final : public AccountDirectory {
 public:
  static Result<std::unique_ptr<AccountService>> Open(store::Database& db, PersonDirectory& people,
                                                      MessageGateway& messages, AuditLog& audit,
                                                      Sessions& sessions,
                                                      const crypto::MasterKey& master,
                                                      AccountServiceOptions options = {},
                                                      const Clock& clock = Clock::System());
  static const std::vector<store::Migration>& Migrations();  // component "dan_accounts"
  ~AccountService() override;

  // AccountDirectory.
  [[nodiscard]] Result<std::optional<Account>> FindById(std::string_view id) const override;
  [[nodiscard]] Result<std::optional<Account>> FindByNationalId(
      std::string_view national_id) const override;
  [[nodiscard]] Result<std::vector<Role>> Roles(std::string_view account_id) const override;

  // Sign-up, step one. Sends a one-time code to the register's phone for the person, or a notice
  // when they already have an account. Answers Ok alike whether or not anything was sent, so the
  // answer does not tell who is in the register.
  Status StartSignup(std::string_view national_id, const AttemptContext& context);
  // Sign-up, step two: the code and the chosen password. kInvalidArgument for a password that
  // breaks the rules (checked before the code, so a typo does not burn an attempt);
  // kUnauthenticated for a wrong, expired or exhausted code.
  Result<Account> CompleteSignup(std::string_view national_id, std::string_view code,
                                 std::string_view password, const AttemptContext& context);

  // Password change by a signed-in citizen. kInvalidArgument for a new password that breaks the
  // sign-up rules (checked first); kUnauthenticated for a wrong current password, which counts as
  // a failed login of the account's identifier; kRateLimited while that is throttled. On success
  // every session of the account is ended: the caller opens a new one for the browser that made
  // the change.
  Status ChangePassword(std::string_view account_id, std::string_view current_password,
                        std::string_view new_password, const AttemptContext& context);

  // Password reset, step one. Sends a one-time code to the register's phone when the person has
  // an active account, or a notice when they have none; paced, timed and limited as sign-up
  // codes are. Answers Ok alike whether or not anything was sent.
  Status StartPasswordReset(std::string_view national_id, const AttemptContext& context);
  // Password reset, step two. When the account has an authenticator app, `second_factor` must be
  // a TOTP code or an unused recovery code as well, so the phone alone cannot undo a second
  // factor. kInvalidArgument for a password that breaks the rules (checked before the code);
  // kUnauthenticated for a wrong, expired or exhausted code (field "code") or a missing or wrong
  // second factor (field "second_factor", counted as a failed login); kRateLimited while the
  // identifier is throttled. On success every session of the account is ended.
  Result<Account> CompletePasswordReset(std::string_view national_id, std::string_view code,
                                        std::string_view new_password,
                                        std::string_view second_factor,
                                        const AttemptContext& context);

  // First factor. kUnauthenticated ("national ID or password is wrong") alike for an unknown ID
  // and a wrong password; kRateLimited while throttled or locked.
  Result<FactorResult> LoginWithPassword(std::string_view national_id, std::string_view password,
                                         const AttemptContext& context);
  // Second factors, for an account that has passed the password: a TOTP code or an unused
  // recovery code gives kSubstantial. Throttled with the account's identifier.
  Result<FactorResult> LoginWithTotp(std::string_view account_id, std::string_view code,
                                     const AttemptContext& context);
  Result<FactorResult> LoginWithRecoveryCode(std::string_view account_id, std::string_view code,
                                             const AttemptContext& context);
  // Signature login: a challenge for the account, then its signature (base64url) by one of the
  // account's registered keys gives kHigh. A challenge is used up by the first attempt.
  Result<SignatureChallenge> NewSignatureChallenge(std::string_view account_id);
  Result<FactorResult> LoginWithSignature(std::string_view account_id,
                                          std::string_view challenge_id,
                                          std::string_view signature_b64url,
                                          const AttemptContext& context);

  // The level an account's strongest factor gives. Adding or replacing a factor needs a session
  // at this level, so a stolen password cannot be used to enrol the thief's own factors.
  [[nodiscard]] static Assurance StrongestFactor(const Account& account);

  // TOTP enrolment: a fresh pending secret (replacing any earlier pending one), then the first
  // code confirms it and returns the recovery codes, shown once; earlier ones stop working.
  Result<TotpEnrolment> BeginTotpEnrolment(std::string_view account_id);
  Result<std::vector<std::string>> ConfirmTotpEnrolment(std::string_view account_id,
                                                        std::string_view code,
                                                        const AttemptContext& context);
  // How many recovery codes are left unused.
  Result<int64_t> RecoveryCodesLeft(std::string_view account_id) const;

  // Registers a public JWK for signature login; returns its kid (RFC 7638 thumbprint).
  Result<std::string> RegisterSignatureKey(std::string_view account_id,
                                           const nlohmann::json& public_jwk,
                                           const AttemptContext& context);
  Result<std::vector<SignatureKeyInfo>> SignatureKeys(std::string_view account_id) const;

  // Officer roles, checked against the caller: an "admin" of the agency (for a centre-bound
  // admin, only at that centre) or an "operator" of PLATFORM. kPermissionDenied otherwise.
  Result<std::vector<RoleGrant>> ListRoles(const Caller& caller, std::string_view agency) const;
  Result<RoleGrant> GrantRole(const Caller& caller, std::string_view agency,
                              std::string_view national_id, std::string_view role,
                              std::string_view centre, const AttemptContext& context);
  Status RevokeRole(const Caller& caller, std::string_view agency, std::string_view account_id,
                    std::string_view role, std::string_view centre, const AttemptContext& context);
  // Bootstrap from the command line: no caller check. The account must exist.
  Status GrantRole(std::string_view national_id, const Role& role);

  // For `ulus up`: the account with this ID (made with `password` if missing; an existing
  // password is left alone) holding at least `roles`. Idempotent.
  Result<Account> EnsureDemoAccount(std::string_view national_id, std::string_view password,
                                    const std::vector<Role>& roles);

  // The person the account is bound to, for display; nullopt when the register has no record.
  Result<std::optional<Person>> PersonOf(const Account& account) const;
  // Recent login events of one account, newest first, for the citizen's own view.
  Result<std::vector<AuditEntry>> LoginHistory(std::string_view account_id, size_t limit) const;

  [[nodiscard]] Sessions& sessions() const;

  struct Impl;

 private:
  explicit AccountService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct LoginPagesOptions {
  // Where a finished login goes when it has no return_to.
  std::string default_return = "/dan/account";
};

// Dan's server-rendered login, sign-up, password reset and account pages under /dan (no script;
// in the page languages of pages.hpp: Mongolian, English, Kazakh, Russian as the pack offers).
// Pre-login forms carry a double-submit token (cookie "dan_csrf"); signed-in forms the session's
// CSRF token. The service and sessions must outlive the router.
void MountLoginPages(http::Router& router, AccountService& accounts, Sessions& sessions,
                     LoginPagesOptions options = {});

// The officer-role JSON API under /dan/api/agencies/{agency}/roles. `resolve` names the caller;
// authorization is the service's.
void MountAccountApi(http::Router& router, AccountService& accounts, CallerResolver resolve);

// A resolver for browser callers: the session cookie's account and its roles.
CallerResolver SessionCallerResolver(AccountService& accounts, Sessions& sessions);

}  // namespace ulus::identity
