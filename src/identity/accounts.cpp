#include <spdlog/spdlog.h>

#include <algorithm>

#include "throttle.hpp"
#include "ulus/core/id.hpp"
#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/keys.hpp"
#include "ulus/crypto/random.hpp"
#include "ulus/crypto/totp.hpp"
#include "ulus/identity/accounts_service.hpp"
#include "ulus/identity/qr_svg.hpp"

namespace ulus::identity {
namespace {

constexpr size_t kMinPasswordChars = 12;
constexpr size_t kMaxNationalIdBytes = 64;
constexpr int kSignupCodeDigits = 6;
constexpr std::string_view kPlatformAgency = "PLATFORM";
constexpr std::string_view kWrongPassword = "national ID or password is wrong";
// The tables of one-time codes sent to the register's phone; both have the same columns.
constexpr std::string_view kSignupCodes = "dan_signup";
constexpr std::string_view kResetCodes = "dan_password_reset";

int64_t Micros(std::chrono::seconds s) {
  return std::chrono::duration_cast<std::chrono::microseconds>(s).count();
}

// Upper-cases ASCII and the Cyrillic letters of Mongolian register numbers, and drops the
// spaces people type around IDs, so "уб90041212 " and "УБ90041212" are one identifier.
std::string NormalizeNationalId(std::string_view typed) {
  while (!typed.empty() && (typed.front() == ' ' || typed.front() == '\t')) typed.remove_prefix(1);
  while (!typed.empty() && (typed.back() == ' ' || typed.back() == '\t')) typed.remove_suffix(1);
  std::string out(typed);
  for (size_t i = 0; i < out.size(); ++i) {
    auto c = static_cast<unsigned char>(out[i]);
    if (c >= 'a' && c <= 'z') {
      out[i] = static_cast<char>(c - 'a' + 'A');
      continue;
    }
    if (i + 1 >= out.size()) break;
    auto next = static_cast<unsigned char>(out[i + 1]);
    if (c == 0xD0 && next >= 0xB0 && next <= 0xBF) {  // а..п
      out[i + 1] = static_cast<char>(next - 0x20);
    } else if (c == 0xD1 && next >= 0x80 && next <= 0x8F) {  // р..я
      out[i] = static_cast<char>(0xD0);
      out[i + 1] = static_cast<char>(next + 0x20);
    } else if (c == 0xD1 && next == 0x91) {  // ё
      out[i] = static_cast<char>(0xD0);
      out[i + 1] = static_cast<char>(0x81);
    } else if ((c == 0xD2 && next == 0xAF) || (c == 0xD3 && next == 0xA9)) {  // ү, ө
      out[i + 1] = static_cast<char>(next - 1);
    }
    if (c >= 0xC0) ++i;
  }
  return out;
}

// What the audit log and the throttle know an identifier by: the SHA-256 of what was typed.
std::string IdentifierHash(std::string_view normalized) {
  return crypto::HexEncode(crypto::Sha256(normalized));
}

std::string IdentifierKey(std::string_view hash) {
  return "id:" + std::string(hash);
}
std::string AddressKey(std::string_view address) {
  return "addr:" + std::string(address);
}

size_t Utf8Chars(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

Status CheckPasswordRules(std::string_view password, std::string_view national_id) {
  if (password.size() > crypto::PasswordHasher::kMaxPasswordBytes) {
    return Error::InvalidArgument("the password is too long", "password");
  }
  if (Utf8Chars(password) < kMinPasswordChars) {
    return Error::InvalidArgument(
        "the password must be at least " + std::to_string(kMinPasswordChars) + " characters",
        "password");
  }
  if (NormalizeNationalId(password) == national_id) {
    return Error::InvalidArgument("the password must not be your national ID", "password");
  }
  return Ok();
}

std::string NewSignupCode() {
  // Rejection sampling keeps the six digits uniform.
  constexpr uint32_t kRange = 1'000'000;
  constexpr uint32_t kLimit = UINT32_MAX - (UINT32_MAX % kRange);
  for (;;) {
    const auto bytes = crypto::RandomBytes(4);
    const uint32_t v = (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) |
                       (uint32_t{bytes[2]} << 8) | uint32_t{bytes[3]};
    if (v >= kLimit) continue;
    std::string code = std::to_string(v % kRange);
    return std::string(static_cast<size_t>(kSignupCodeDigits) - code.size(), '0') + code;
  }
}

std::string SignupCodeHash(std::string_view salt, std::string_view code) {
  return crypto::HexEncode(crypto::HmacSha256(crypto::AsBytes(salt), code));
}

std::string TotpBinding(std::string_view account_id) {
  return "dan-totp:" + std::string(account_id);
}
std::string PendingTotpBinding(std::string_view account_id) {
  return "dan-totp-pending:" + std::string(account_id);
}

Error Unauthenticated(std::string message, std::string field = {}) {
  return Error{ErrorCode::kUnauthenticated, std::move(message), std::move(field)};
}

// TOTP codes are six digits; recovery codes twelve characters in groups.
bool LooksLikeRecoveryCode(std::string_view code) {
  return std::count_if(code.begin(), code.end(), [](char c) { return c != '-' && c != ' '; }) > 8;
}

// A one-time code waiting in kSignupCodes or kResetCodes.
struct PendingCode {
  std::string code_hash;
  std::string salt;
};

bool CodeMatches(const PendingCode& pending, std::string_view typed) {
  const auto hash = SignupCodeHash(pending.salt, typed);
  return crypto::ConstantTimeEquals(crypto::AsBytes(hash), crypto::AsBytes(pending.code_hash));
}

bool ValidRoleName(std::string_view role, std::string_view agency) {
  if (role == "officer" || role == "admin" || role == "desk") return true;
  return role == "operator" && agency == kPlatformAgency;
}

bool PrintableName(std::string_view s, size_t max) {
  if (s.size() > max) return false;
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

bool IsPlatformOperator(const Caller& caller) {
  return std::any_of(caller.roles.begin(), caller.roles.end(), [](const Role& r) {
    return r.role == "operator" && r.agency == kPlatformAgency;
  });
}

// Whether the caller may manage roles of `agency` at `centre` (empty: agency-wide roles).
bool MayManage(const Caller& caller, std::string_view agency, std::string_view centre) {
  if (IsPlatformOperator(caller)) return true;
  return std::any_of(caller.roles.begin(), caller.roles.end(), [&](const Role& r) {
    return r.role == "admin" && r.agency == agency && (r.centre.empty() || r.centre == centre);
  });
}

constexpr std::string_view kAccountSelect =
    "SELECT a.id, a.national_id, a.status, a.created, a.totp_secret_sealed,"
    " (SELECT COUNT(*) FROM dan_signature_key k WHERE k.account_id = a.id AND k.revoked = 0)"
    " FROM dan_account a ";

Account AccountFromRow(const store::Row& row) {
  Account a;
  a.id = row.Text(0);
  a.national_id = row.Text(1);
  a.status = row.Text(2);
  a.created = FromUnixMicros(row.Int(3));
  a.totp_enabled = !row.IsNull(4);
  a.has_signature_key = row.Int(5) > 0;
  return a;
}

}  // namespace

struct AccountService::Impl {
  Impl(store::Database& db_in, PersonDirectory& people_in, MessageGateway& messages_in,
       AuditLog& audit_in, Sessions& sessions_in, const crypto::MasterKey& master_in,
       AccountServiceOptions options_in, const Clock& clock_in, crypto::PasswordHasher hasher_in)
      : db(db_in),
        people(people_in),
        messages(messages_in),
        audit(audit_in),
        sessions(sessions_in),
        master(master_in),
        options(std::move(options_in)),
        clock(clock_in),
        hasher(hasher_in),
        throttle(db_in, clock_in) {}

  store::Database& db;
  PersonDirectory& people;
  MessageGateway& messages;
  AuditLog& audit;
  Sessions& sessions;
  const crypto::MasterKey& master;
  const AccountServiceOptions options;
  const Clock& clock;
  const crypto::PasswordHasher hasher;
  // Verified against when the account does not exist, so both cases cost one Argon2 run.
  std::string dummy_hash;
  LoginThrottle throttle;

  Result<std::optional<Account>> FindWhere(std::string_view where, std::string_view value) const {
    ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
    const store::Value params[] = {std::string(value)};
    ULUS_ASSIGN_OR_RETURN(auto rows,
                          conn->Query(std::string(kAccountSelect) + std::string(where), params));
    if (rows.empty()) return std::optional<Account>();
    return std::optional<Account>(AccountFromRow(rows.front()));
  }

  // One statement on a connection borrowed only for it, so no caller holds two at once.
  Result<std::vector<store::Row>> Query(std::string_view sql,
                                        std::span<const store::Value> params) const {
    ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
    return conn->Query(sql, params);
  }
  Result<store::Row> QueryOne(std::string_view sql, std::span<const store::Value> params) const {
    ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
    return conn->QueryOne(sql, params);
  }
  Result<int64_t> Execute(std::string_view sql, std::span<const store::Value> params) {
    ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
    return conn->Execute(sql, params);
  }

  Result<std::string> PasswordHash(std::string_view account_id) const {
    const store::Value params[] = {std::string(account_id)};
    ULUS_ASSIGN_OR_RETURN(auto row,
                          QueryOne("SELECT password_hash FROM dan_account WHERE id = $1", params));
    return row.Text(0);
  }

  Result<Account> MustFind(std::string_view account_id) const {
    ULUS_ASSIGN_OR_RETURN(auto account, FindWhere("WHERE a.id = $1", account_id));
    if (!account) return Error::NotFound("no such account");
    return std::move(*account);
  }

  void Audit(const AuditEvent& event) {
    // The audit log failing must not turn a login into a 500; it is logged loudly instead.
    auto status = audit.Record(event);
    if (!status.ok()) {
      spdlog::error("dan_audit: could not record {}: {}", event.event, status.error().ToString());
    }
  }

  AuditEvent Event(std::string name, std::string_view account_id, std::string_view id_hash,
                   const AttemptContext& context,
                   nlohmann::json detail = nlohmann::json::object()) {
    return AuditEvent{std::move(name),   std::string(account_id), std::string(id_hash),
                      context.client_id, context.remote_address,  std::move(detail)};
  }

  // Refuses the attempt before any password work when the identifier or the address is
  // throttled. The message does not say which, nor whether the account exists.
  Status Admit(std::string_view id_hash, std::string_view account_id, const AttemptContext& context,
               std::string_view factor) {
    ULUS_ASSIGN_OR_RETURN(auto verdict,
                          throttle.Admit(IdentifierKey(id_hash), options.per_identifier));
    if (verdict.allowed() && !context.remote_address.empty()) {
      ULUS_ASSIGN_OR_RETURN(
          verdict, throttle.Admit(AddressKey(context.remote_address), options.per_address));
    }
    if (verdict.allowed()) return Ok();
    const bool locked = verdict.kind == ThrottleVerdict::Kind::kLocked;
    Audit(Event(locked ? "login.locked" : "login.throttled", account_id, id_hash, context,
                {{"factor", factor}, {"retry_after", verdict.retry_after.count()}}));
    if (locked) {
      return Error{ErrorCode::kRateLimited, "too many failed attempts; try again later", {}};
    }
    return Error{ErrorCode::kRateLimited,
                 "too many failed attempts; wait " + std::to_string(verdict.retry_after.count()) +
                     " seconds and try again",
                 {}};
  }

  // Counts a failed attempt and answers with `message`.
  Error Failure(std::string_view id_hash, std::string_view account_id,
                const AttemptContext& context, std::string_view factor, std::string message) {
    auto locked = throttle.RecordFailure(IdentifierKey(id_hash), options.per_identifier);
    if (!context.remote_address.empty()) {
      auto by_address =
          throttle.RecordFailure(AddressKey(context.remote_address), options.per_address);
      if (!by_address.ok()) return std::move(by_address).error();
    }
    if (!locked.ok()) return std::move(locked).error();
    Audit(Event("login.failed", account_id, id_hash, context, {{"factor", factor}}));
    if (*locked) Audit(Event("login.locked", account_id, id_hash, context, {{"factor", factor}}));
    return Unauthenticated(std::move(message));
  }

  Result<FactorResult> Success(const Account& account, std::string_view id_hash,
                               const AttemptContext& context, std::string_view factor,
                               Assurance level, std::vector<std::string> amr) {
    ULUS_TRY(throttle.Reset(IdentifierKey(id_hash)));
    Audit(Event("login.succeeded", account.id, id_hash, context,
                {{"factor", factor}, {"acr", AcrValue(level)}}));
    return FactorResult{account, level, std::move(amr)};
  }

  // Stores a fresh one-time code for `nid` in `table` (an empty `code`: a notice is sent instead,
  // and the row only paces messages), with `event` in the same transaction. False when a message
  // went to this ID within the resend interval: nothing is to be sent now.
  Result<bool> StorePhoneCode(std::string_view table, const std::string& nid,
                              const std::string& code, const AuditEvent& event) {
    const auto now = ToUnixMicros(clock.Now());
    const std::string salt = crypto::RandomToken(16);
    const std::string code_hash = code.empty() ? std::string() : SignupCodeHash(salt, code);
    const std::string t(table);
    return db.InTransaction<bool>([&](store::Connection& tx) -> Result<bool> {
      const store::Value params[] = {nid,
                                     code_hash,
                                     salt,
                                     now,
                                     now + Micros(options.signup_code_ttl),
                                     now - Micros(options.signup_resend_interval)};
      ULUS_ASSIGN_OR_RETURN(
          const int64_t changed,
          tx.Execute("INSERT INTO " + t +
                         " (national_id, code_hash, salt, attempts, sent_at, expires)"
                         " VALUES ($1, $2, $3, 0, $4, $5) ON CONFLICT (national_id)"
                         " DO UPDATE SET code_hash = excluded.code_hash, salt = excluded.salt,"
                         " attempts = 0, sent_at = excluded.sent_at, expires = excluded.expires"
                         " WHERE " +
                         t + ".sent_at <= $6",
                     params));
      if (changed == 0) return false;
      const store::Value cleanup[] = {now};
      ULUS_TRY(tx.Execute("DELETE FROM " + t + " WHERE expires < $1", cleanup));
      ULUS_TRY(audit.Record(tx, event));
      return true;
    });
  }

  // Counts one attempt at the code for `nid` and returns it; nullopt when there is none, it has
  // expired or its attempts are used up. The count commits on its own, so a wrong code cannot
  // roll it back.
  Result<std::optional<PendingCode>> CountCodeAttempt(std::string_view table,
                                                      const std::string& nid) {
    const std::string t(table);
    return db.InTransaction<std::optional<PendingCode>>(
        [&](store::Connection& tx) -> Result<std::optional<PendingCode>> {
          const store::Value params[] = {nid, int64_t{options.signup_code_attempts},
                                         ToUnixMicros(clock.Now())};
          ULUS_ASSIGN_OR_RETURN(
              const int64_t changed,
              tx.Execute("UPDATE " + t +
                             " SET attempts = attempts + 1 WHERE national_id = $1"
                             " AND attempts < $2 AND expires > $3 AND code_hash <> ''",
                         params));
          if (changed == 0) return std::optional<PendingCode>();
          const store::Value key[] = {nid};
          ULUS_ASSIGN_OR_RETURN(
              auto row,
              tx.QueryOne("SELECT code_hash, salt FROM " + t + " WHERE national_id = $1", key));
          return std::optional<PendingCode>(PendingCode{row.Text(0), row.Text(1)});
        });
  }

  // Uses the code up inside the caller's transaction; false when a concurrent request did first.
  static Result<bool> ConsumeCode(store::Connection& tx, std::string_view table,
                                  const std::string& nid, const PendingCode& pending) {
    const store::Value used[] = {nid, pending.code_hash};
    ULUS_ASSIGN_OR_RETURN(const int64_t consumed,
                          tx.Execute("DELETE FROM " + std::string(table) +
                                         " WHERE national_id = $1 AND code_hash = $2",
                                     used));
    return consumed > 0;
  }

  std::string CodeMinutes() const {
    return std::to_string(
        std::chrono::duration_cast<std::chrono::minutes>(options.signup_code_ttl).count());
  }

  // The first step shared by sign-up and password reset: a code to the register's phone, or
  // `notice` instead when it is not empty, paced and audited by the row in `flow.table`.
  struct PhoneCodeFlow {
    std::string_view table;
    std::string_view event;
    std::string_view label_mn;  // "бүртгүүлэх", as in "Дан: бүртгүүлэх код 123456"
    std::string_view label_en;  // "sign-up", as in "Dan: your sign-up code is 123456"
  };
  Status SendPhoneCode(const PhoneCodeFlow& flow, const std::string& nid, const std::string& phone,
                       std::string_view account_id, std::string_view kind,
                       const std::string& notice, const AttemptContext& context) {
    const std::string code = notice.empty() ? NewSignupCode() : std::string();
    ULUS_ASSIGN_OR_RETURN(const bool send,
                          StorePhoneCode(flow.table, nid, code,
                                         Event(std::string(flow.event), account_id,
                                               IdentifierHash(nid), context, {{"kind", kind}})));
    if (!send) return Ok();
    if (!notice.empty()) {
      SendToPhone(phone, notice, flow.label_en);
      return Ok();
    }
    const auto minutes = CodeMinutes();
    SendToPhone(phone,
                "Дан: " + std::string(flow.label_mn) + " код " + code + ". " + minutes +
                    " минут хүчинтэй. Хэнд ч бүү хэл.\nDan: your " + std::string(flow.label_en) +
                    " code is " + code + ". It is valid for " + minutes +
                    " minutes. Do not share it.",
                flow.label_en);
    return Ok();
  }

  // A delivery failure is logged, not returned: the answer must not depend on who exists.
  void SendToPhone(const std::string& phone, std::string text, std::string_view what) {
    OutgoingMessage message;
    message.channel = Channel::kSms;
    message.to = phone;
    message.text = std::move(text);
    auto sent = messages.Send(message);
    if (!sent.ok()) spdlog::error("dan: {} message not sent: {}", what, sent.error().ToString());
  }

  // Checks a TOTP code and uses its time step up. False when it is wrong or already used; of two
  // requests racing with one code only one moves the step forward.
  Result<bool> UseTotpCode(const Account& account, std::string_view code) {
    const store::Value key[] = {account.id};
    ULUS_ASSIGN_OR_RETURN(
        auto row,
        QueryOne("SELECT totp_secret_sealed, totp_last_step FROM dan_account WHERE id = $1", key));
    if (row.IsNull(0)) return false;
    ULUS_ASSIGN_OR_RETURN(auto secret, master.Open(row.Text(0), TotpBinding(account.id)));
    std::optional<uint64_t> last_step;
    if (auto last = row.OptionalInt(1)) last_step = static_cast<uint64_t>(*last);
    auto step = crypto::VerifyTotp(secret, code, clock.Now(), last_step);
    if (!step.ok()) return false;
    const store::Value update[] = {account.id, static_cast<int64_t>(*step)};
    ULUS_ASSIGN_OR_RETURN(const int64_t changed,
                          Execute("UPDATE dan_account SET totp_last_step = $2 WHERE id = $1"
                                  " AND (totp_last_step IS NULL OR totp_last_step < $2)",
                                  update));
    return changed > 0;
  }

  // Marks an unused recovery code used and returns how many are left; nullopt when the code is
  // wrong or already used.
  Result<std::optional<int64_t>> UseRecoveryCode(const Account& account, std::string_view code) {
    const store::Value key[] = {account.id};
    ULUS_ASSIGN_OR_RETURN(auto rows, Query("SELECT code_hash FROM dan_recovery_code"
                                           " WHERE account = $1 AND used_at IS NULL",
                                           key));
    std::string matched;
    for (const auto& row : rows) {
      if (crypto::RecoveryCodeMatches(code, account.id, row.Text(0))) matched = row.Text(0);
    }
    if (matched.empty()) return std::optional<int64_t>();
    const store::Value use[] = {account.id, matched, ToUnixMicros(clock.Now())};
    ULUS_ASSIGN_OR_RETURN(const int64_t changed,
                          Execute("UPDATE dan_recovery_code SET used_at = $3 WHERE account = $1"
                                  " AND code_hash = $2 AND used_at IS NULL",
                                  use));
    if (changed == 0) return std::optional<int64_t>();
    return std::optional<int64_t>(static_cast<int64_t>(rows.size()) - 1);
  }

  // Stores a new password hash in place of `old_hash` and records `event` with it; kConflict
  // when the password changed meanwhile.
  Status ReplacePasswordHash(const Account& account, const std::string& old_hash,
                             const std::string& new_hash, const AuditEvent& event,
                             const std::function<Status(store::Connection&)>& also = {}) {
    return db.InTransaction([&](store::Connection& tx) -> Status {
      if (also) ULUS_TRY(also(tx));
      const store::Value params[] = {account.id, new_hash, old_hash};
      ULUS_ASSIGN_OR_RETURN(const int64_t changed,
                            tx.Execute("UPDATE dan_account SET password_hash = $2"
                                       " WHERE id = $1 AND password_hash = $3",
                                       params));
      if (changed == 0) return Error::Conflict("the password was changed meanwhile; try again");
      return audit.Record(tx, event);
    });
  }

  Status InsertRole(store::Connection& tx, std::string_view account_id, const Role& role,
                    std::string_view granted_by, int64_t* changed) {
    const store::Value params[] = {
        std::string(account_id),  role.agency, role.centre, role.role, std::string(granted_by),
        ToUnixMicros(clock.Now())};
    ULUS_ASSIGN_OR_RETURN(
        *changed,
        tx.Execute("INSERT INTO dan_role (account_id, agency, centre, role, granted_by, granted_at)"
                   " VALUES ($1, $2, $3, $4, $5, $6)"
                   " ON CONFLICT (account_id, agency, centre, role) DO NOTHING",
                   params));
    return Ok();
  }
};

const std::vector<store::Migration>& AccountService::Migrations() {
  static const std::vector<store::Migration> steps = {
      {.version = 1,
       .name = "accounts, factors, roles, sign-up, challenges, throttle",
       .sql = "CREATE TABLE dan_account ("
              " id TEXT PRIMARY KEY,"
              " national_id TEXT NOT NULL UNIQUE,"
              " password_hash TEXT NOT NULL,"
              " totp_secret_sealed TEXT,"
              " totp_pending_sealed TEXT,"
              " totp_last_step BIGINT,"
              " status TEXT NOT NULL,"
              " created BIGINT NOT NULL);"
              "CREATE TABLE dan_recovery_code ("
              " account TEXT NOT NULL,"
              " code_hash TEXT NOT NULL,"
              " used_at BIGINT,"
              " PRIMARY KEY (account, code_hash));"
              "CREATE TABLE dan_role ("
              " account_id TEXT NOT NULL,"
              " agency TEXT NOT NULL,"
              " centre TEXT NOT NULL,"
              " role TEXT NOT NULL,"
              " granted_by TEXT NOT NULL,"
              " granted_at BIGINT NOT NULL,"
              " PRIMARY KEY (account_id, agency, centre, role));"
              "CREATE INDEX dan_role_agency ON dan_role (agency, centre);"
              "CREATE TABLE dan_signature_key ("
              " account_id TEXT NOT NULL,"
              " kid TEXT NOT NULL,"
              " public_jwk TEXT NOT NULL,"
              " created BIGINT NOT NULL,"
              " revoked INTEGER NOT NULL,"
              " PRIMARY KEY (account_id, kid));"
              "CREATE TABLE dan_signup ("
              " national_id TEXT PRIMARY KEY,"
              " code_hash TEXT NOT NULL,"
              " salt TEXT NOT NULL,"
              " attempts INTEGER NOT NULL,"
              " sent_at BIGINT NOT NULL,"
              " expires BIGINT NOT NULL);"
              "CREATE TABLE dan_challenge ("
              " id TEXT PRIMARY KEY,"
              " account_id TEXT NOT NULL,"
              " nonce TEXT NOT NULL,"
              " expires BIGINT NOT NULL,"
              " used INTEGER NOT NULL);"
              "CREATE INDEX dan_challenge_expires ON dan_challenge (expires);"
              "CREATE TABLE dan_login_throttle ("
              " throttle_key TEXT PRIMARY KEY,"
              " failures BIGINT NOT NULL,"
              " next_allowed BIGINT NOT NULL,"
              " locked_until BIGINT NOT NULL);",
       .postgres = {}},
      {.version = 2,
       .name = "password reset codes",
       .sql = "CREATE TABLE dan_password_reset ("
              " national_id TEXT PRIMARY KEY,"
              " code_hash TEXT NOT NULL,"
              " salt TEXT NOT NULL,"
              " attempts INTEGER NOT NULL,"
              " sent_at BIGINT NOT NULL,"
              " expires BIGINT NOT NULL);",
       .postgres = {}},
  };
  return steps;
}

Result<std::unique_ptr<AccountService>> AccountService::Open(
    store::Database& db, PersonDirectory& people, MessageGateway& messages, AuditLog& audit,
    Sessions& sessions, const crypto::MasterKey& master, AccountServiceOptions options,
    const Clock& clock) {
  ULUS_TRY(store::Migrate(db, "dan_accounts", Migrations()));
  ULUS_ASSIGN_OR_RETURN(auto hasher, crypto::PasswordHasher::Create(options.argon2));
  auto impl = std::make_unique<Impl>(db, people, messages, audit, sessions, master,
                                     std::move(options), clock, hasher);
  ULUS_ASSIGN_OR_RETURN(impl->dummy_hash, impl->hasher.Hash(crypto::RandomToken(32)));
  return std::unique_ptr<AccountService>(new AccountService(std::move(impl)));
}

AccountService::AccountService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AccountService::~AccountService() = default;

Sessions& AccountService::sessions() const {
  return impl_->sessions;
}

Result<std::optional<Account>> AccountService::FindById(std::string_view id) const {
  return impl_->FindWhere("WHERE a.id = $1", id);
}

Result<std::optional<Account>> AccountService::FindByNationalId(
    std::string_view national_id) const {
  return impl_->FindWhere("WHERE a.national_id = $1", NormalizeNationalId(national_id));
}

Result<std::vector<Role>> AccountService::Roles(std::string_view account_id) const {
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  const store::Value params[] = {std::string(account_id)};
  ULUS_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT agency, centre, role FROM dan_role"
                                               " WHERE account_id = $1"
                                               " ORDER BY agency, centre, role",
                                               params));
  std::vector<Role> roles;
  roles.reserve(rows.size());
  for (const auto& row : rows) roles.push_back(Role{row.Text(0), row.Text(1), row.Text(2)});
  return roles;
}

Status AccountService::StartSignup(std::string_view national_id, const AttemptContext& context) {
  auto& s = *impl_;
  const std::string nid = NormalizeNationalId(national_id);
  if (nid.empty() || nid.size() > kMaxNationalIdBytes) {
    return Error::InvalidArgument("enter your national ID", "national_id");
  }
  ULUS_ASSIGN_OR_RETURN(auto person, s.people.Find(nid));
  if (!person || !person->alive || person->phone.empty()) return Ok();
  ULUS_ASSIGN_OR_RETURN(auto existing, FindByNationalId(nid));
  const bool registered = existing.has_value();
  // A registered person gets a notice instead of a code; the row still paces the messages.
  return s.SendPhoneCode(
      {kSignupCodes, "signup.code_sent", "бүртгүүлэх", "sign-up"}, nid, person->phone,
      registered ? existing->id : std::string(), registered ? "already_registered" : "code",
      registered ? "Дан: таны регистрийн дугаар дээр бүртгэл аль хэдийн үүссэн байна. Та биш бол "
                   "энэ мессежийг үл тоомсорлоно уу.\n"
                   "Dan: an account already exists for your national ID. If this was not you, "
                   "ignore this message."
                 : "",
      context);
}

Result<Account> AccountService::CompleteSignup(std::string_view national_id, std::string_view code,
                                               std::string_view password,
                                               const AttemptContext& context) {
  auto& s = *impl_;
  const std::string nid = NormalizeNationalId(national_id);
  ULUS_TRY(CheckPasswordRules(password, nid));
  const auto wrong = [] { return Unauthenticated("the code is wrong or has expired", "code"); };
  ULUS_ASSIGN_OR_RETURN(auto pending, s.CountCodeAttempt(kSignupCodes, nid));
  if (!pending || !CodeMatches(*pending, code)) return wrong();

  ULUS_ASSIGN_OR_RETURN(auto password_hash, s.hasher.Hash(password));
  Account account;
  account.id = NewUuidV7(s.clock);
  account.national_id = nid;
  account.status = "active";
  account.created = s.clock.Now();
  const Status committed = s.db.InTransaction([&](store::Connection& tx) -> Status {
    ULUS_ASSIGN_OR_RETURN(const bool consumed, Impl::ConsumeCode(tx, kSignupCodes, nid, *pending));
    if (!consumed) return wrong();  // a concurrent request used the code first
    const store::Value params[] = {account.id, nid, password_hash, account.status,
                                   ToUnixMicros(account.created)};
    ULUS_ASSIGN_OR_RETURN(
        const int64_t inserted,
        tx.Execute("INSERT INTO dan_account (id, national_id, password_hash, status, created)"
                   " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (national_id) DO NOTHING",
                   params));
    // The person has just shown they hold the phone on file, so saying this leaks nothing.
    if (inserted == 0) {
      return Error{ErrorCode::kAlreadyExists, "an account already exists for this national ID", {}};
    }
    return s.audit.Record(tx, s.Event("account.created", account.id, IdentifierHash(nid), context));
  });
  ULUS_TRY(committed);
  return account;
}

Status AccountService::ChangePassword(std::string_view account_id,
                                      std::string_view current_password,
                                      std::string_view new_password,
                                      const AttemptContext& context) {
  auto& s = *impl_;
  ULUS_ASSIGN_OR_RETURN(auto account, s.MustFind(account_id));
  ULUS_TRY(CheckPasswordRules(new_password, account.national_id));
  const std::string id_hash = IdentifierHash(account.national_id);
  // The current password is a login factor like any other: guessing it is throttled alike.
  ULUS_TRY(s.Admit(id_hash, account.id, context, "pwd"));
  ULUS_ASSIGN_OR_RETURN(auto stored_hash, s.PasswordHash(account.id));
  bool match = false;
  if (current_password.size() <= crypto::PasswordHasher::kMaxPasswordBytes) {
    ULUS_ASSIGN_OR_RETURN(match, s.hasher.Verify(stored_hash, current_password));
  }
  if (!match) {
    return s.Failure(id_hash, account.id, context, "pwd", "the current password is wrong");
  }
  ULUS_ASSIGN_OR_RETURN(auto new_hash, s.hasher.Hash(new_password));
  ULUS_TRY(s.ReplacePasswordHash(account, stored_hash, new_hash,
                                 s.Event("password.changed", account.id, id_hash, context)));
  ULUS_TRY(s.throttle.Reset(IdentifierKey(id_hash)));
  // Whoever else held a session or a token, perhaps with the old password, is out.
  ULUS_TRY(s.sessions.DestroyAllFor(account.id));
  if (s.options.on_password_replaced) ULUS_TRY(s.options.on_password_replaced(account.id));
  return Ok();
}

Status AccountService::StartPasswordReset(std::string_view national_id,
                                          const AttemptContext& context) {
  auto& s = *impl_;
  const std::string nid = NormalizeNationalId(national_id);
  if (nid.empty() || nid.size() > kMaxNationalIdBytes) {
    return Error::InvalidArgument("enter your national ID", "national_id");
  }
  ULUS_ASSIGN_OR_RETURN(auto person, s.people.Find(nid));
  if (!person || !person->alive || person->phone.empty()) return Ok();
  ULUS_ASSIGN_OR_RETURN(auto account, FindByNationalId(nid));
  // A disabled account is the service desk's to restore, not a text message's.
  if (account && account->status != "active") return Ok();
  const bool has_account = account.has_value();
  // A person without an account gets a notice instead of a code, as sign-up does the other way.
  return s.SendPhoneCode(
      {kResetCodes, "password.reset_code_sent", "нууц үг сэргээх", "password reset"}, nid,
      person->phone, has_account ? account->id : std::string(), has_account ? "code" : "no_account",
      has_account ? ""
                  : "Дан: таны регистрийн дугаараар нууц үг сэргээхийг хүссэн боловч бүртгэл "
                    "байхгүй байна. Та бүртгүүлж болно. Та биш бол энэ мессежийг үл тоомсорлоно "
                    "уу.\nDan: someone asked to reset the password of a Dan account for your "
                    "national ID, but there is none; you can sign up instead. If this was not "
                    "you, ignore this message.",
      context);
}

Result<Account> AccountService::CompletePasswordReset(std::string_view national_id,
                                                      std::string_view code,
                                                      std::string_view new_password,
                                                      std::string_view second_factor,
                                                      const AttemptContext& context) {
  auto& s = *impl_;
  const std::string nid = NormalizeNationalId(national_id);
  ULUS_TRY(CheckPasswordRules(new_password, nid));
  const auto wrong = [] { return Unauthenticated("the code is wrong or has expired", "code"); };
  if (nid.empty() || nid.size() > kMaxNationalIdBytes) return wrong();
  ULUS_ASSIGN_OR_RETURN(auto pending, s.CountCodeAttempt(kResetCodes, nid));
  if (!pending || !CodeMatches(*pending, code)) return wrong();
  ULUS_ASSIGN_OR_RETURN(auto found, FindByNationalId(nid));
  if (!found || found->status != "active") return wrong();
  const Account account = std::move(*found);
  const std::string id_hash = IdentifierHash(nid);

  // The phone alone must not undo a second factor: an account with an authenticator app needs
  // its code, or a recovery code, too. A wrong one counts as a failed login.
  std::string factor = "none";
  if (account.totp_enabled) {
    if (second_factor.empty()) {
      return Unauthenticated(
          "this account has an authenticator app: enter its code or a recovery code",
          "second_factor");
    }
    factor = LooksLikeRecoveryCode(second_factor) ? "recovery" : "otp";
    ULUS_TRY(s.Admit(id_hash, account.id, context, factor));
    bool passed = false;
    if (factor == "recovery") {
      ULUS_ASSIGN_OR_RETURN(const auto left, s.UseRecoveryCode(account, second_factor));
      passed = left.has_value();
      if (passed)
        s.Audit(s.Event("recovery.used", account.id, id_hash, context, {{"left", *left}}));
    } else {
      ULUS_ASSIGN_OR_RETURN(passed, s.UseTotpCode(account, second_factor));
    }
    if (!passed) {
      Error error = s.Failure(id_hash, account.id, context, factor,
                              "the authenticator code or recovery code is wrong or already used");
      if (error.code == ErrorCode::kUnauthenticated) error.field = "second_factor";
      return error;
    }
  }

  ULUS_ASSIGN_OR_RETURN(auto old_hash, s.PasswordHash(account.id));
  ULUS_ASSIGN_OR_RETURN(auto new_hash, s.hasher.Hash(new_password));
  ULUS_TRY(s.ReplacePasswordHash(
      account, old_hash, new_hash,
      s.Event("password.reset", account.id, id_hash, context, {{"second_factor", factor}}),
      [&](store::Connection& tx) -> Status {
        ULUS_ASSIGN_OR_RETURN(const bool consumed,
                              Impl::ConsumeCode(tx, kResetCodes, nid, *pending));
        if (!consumed) return wrong();  // a concurrent request used the code first
        return Ok();
      }));
  // The person has shown the phone on file (and the second factor): earlier failures, perhaps
  // their own, no longer hold the identifier back.
  ULUS_TRY(s.throttle.Reset(IdentifierKey(id_hash)));
  ULUS_TRY(s.sessions.DestroyAllFor(account.id));
  if (s.options.on_password_replaced) ULUS_TRY(s.options.on_password_replaced(account.id));
  return account;
}

Result<FactorResult> AccountService::LoginWithPassword(std::string_view national_id,
                                                       std::string_view password,
                                                       const AttemptContext& context) {
  auto& s = *impl_;
  const std::string nid = NormalizeNationalId(national_id);
  const std::string id_hash = IdentifierHash(nid);
  ULUS_TRY(s.Admit(id_hash, {}, context, "pwd"));

  std::optional<Account> account;
  std::string stored_hash = s.dummy_hash;
  if (!nid.empty() && nid.size() <= kMaxNationalIdBytes) {
    ULUS_ASSIGN_OR_RETURN(account, s.FindWhere("WHERE a.national_id = $1", nid));
  }
  if (account) {
    ULUS_ASSIGN_OR_RETURN(stored_hash, s.PasswordHash(account->id));
  }
  bool match = false;
  if (password.size() <= crypto::PasswordHasher::kMaxPasswordBytes) {
    ULUS_ASSIGN_OR_RETURN(match, s.hasher.Verify(stored_hash, password));
  }
  if (!account || !match) {
    return s.Failure(id_hash, account ? account->id : std::string(), context, "pwd",
                     std::string(kWrongPassword));
  }
  if (account->status != "active") {
    s.Audit(s.Event("login.failed", account->id, id_hash, context,
                    {{"factor", "pwd"}, {"reason", "disabled"}}));
    return Error::PermissionDenied("this account is disabled; contact the service desk");
  }
  if (s.hasher.NeedsRehash(stored_hash)) {
    // A cost raised since the hash was made: store one at today's cost while we hold the password.
    auto fresh = s.hasher.Hash(password);
    if (fresh.ok()) {
      auto status = s.db.InTransaction([&](store::Connection& tx) -> Status {
        const store::Value params[] = {account->id, *fresh, stored_hash};
        ULUS_TRY(
            tx.Execute("UPDATE dan_account SET password_hash = $2"
                       " WHERE id = $1 AND password_hash = $3",
                       params));
        return Ok();
      });
      if (!status.ok()) spdlog::warn("dan: rehash failed: {}", status.error().ToString());
    }
  }
  return s.Success(*account, id_hash, context, "pwd", Assurance::kLow, {"pwd"});
}

Result<FactorResult> AccountService::LoginWithTotp(std::string_view account_id,
                                                   std::string_view code,
                                                   const AttemptContext& context) {
  auto& s = *impl_;
  ULUS_ASSIGN_OR_RETURN(auto account, s.MustFind(account_id));
  const std::string id_hash = IdentifierHash(account.national_id);
  ULUS_TRY(s.Admit(id_hash, account.id, context, "otp"));
  if (!account.totp_enabled) {
    return Error{ErrorCode::kFailedPrecondition, "no authenticator app is set up", {}};
  }
  ULUS_ASSIGN_OR_RETURN(const bool used, s.UseTotpCode(account, code));
  if (!used) {
    return s.Failure(id_hash, account.id, context, "otp", "the code is wrong or already used");
  }
  return s.Success(account, id_hash, context, "otp", Assurance::kSubstantial, {"otp"});
}

Result<FactorResult> AccountService::LoginWithRecoveryCode(std::string_view account_id,
                                                           std::string_view code,
                                                           const AttemptContext& context) {
  auto& s = *impl_;
  ULUS_ASSIGN_OR_RETURN(auto account, s.MustFind(account_id));
  const std::string id_hash = IdentifierHash(account.national_id);
  ULUS_TRY(s.Admit(id_hash, account.id, context, "recovery"));
  ULUS_ASSIGN_OR_RETURN(const auto left, s.UseRecoveryCode(account, code));
  if (!left) {
    return s.Failure(id_hash, account.id, context, "recovery",
                     "the recovery code is wrong or already used");
  }
  s.Audit(s.Event("recovery.used", account.id, id_hash, context, {{"left", *left}}));
  return s.Success(account, id_hash, context, "recovery", Assurance::kSubstantial, {"otp"});
}

Result<SignatureChallenge> AccountService::NewSignatureChallenge(std::string_view account_id) {
  auto& s = *impl_;
  ULUS_ASSIGN_OR_RETURN(auto account, s.MustFind(account_id));
  if (!account.has_signature_key) {
    return Error{ErrorCode::kFailedPrecondition, "no signature key is registered", {}};
  }
  SignatureChallenge challenge;
  challenge.id = NewUuidV7(s.clock);
  challenge.nonce = crypto::RandomToken(32);
  const auto now = s.clock.Now();
  challenge.expires = now + s.options.challenge_ttl;
  const Status committed = s.db.InTransaction([&](store::Connection& tx) -> Status {
    const store::Value cleanup[] = {ToUnixMicros(now)};
    ULUS_TRY(tx.Execute("DELETE FROM dan_challenge WHERE expires < $1", cleanup));
    const store::Value params[] = {challenge.id, account.id, challenge.nonce,
                                   ToUnixMicros(challenge.expires)};
    ULUS_TRY(
        tx.Execute("INSERT INTO dan_challenge (id, account_id, nonce, expires, used)"
                   " VALUES ($1, $2, $3, $4, 0)",
                   params));
    return Ok();
  });
  ULUS_TRY(committed);
  return challenge;
}

Result<FactorResult> AccountService::LoginWithSignature(std::string_view account_id,
                                                        std::string_view challenge_id,
                                                        std::string_view signature_b64url,
                                                        const AttemptContext& context) {
  auto& s = *impl_;
  ULUS_ASSIGN_OR_RETURN(auto account, s.MustFind(account_id));
  const std::string id_hash = IdentifierHash(account.national_id);
  ULUS_TRY(s.Admit(id_hash, account.id, context, "hwk"));
  const auto refuse = [&](std::string message) {
    return s.Failure(id_hash, account.id, context, "hwk", std::move(message));
  };

  // The first attempt uses the challenge up, right or wrong.
  ULUS_ASSIGN_OR_RETURN(
      auto nonce,
      s.db.InTransaction<std::string>([&](store::Connection& tx) -> Result<std::string> {
        const store::Value params[] = {std::string(challenge_id), account.id,
                                       ToUnixMicros(s.clock.Now())};
        ULUS_ASSIGN_OR_RETURN(const int64_t changed,
                              tx.Execute("UPDATE dan_challenge SET used = 1 WHERE id = $1"
                                         " AND account_id = $2 AND used = 0 AND expires > $3",
                                         params));
        if (changed == 0) return std::string();
        const store::Value key[] = {std::string(challenge_id)};
        ULUS_ASSIGN_OR_RETURN(auto row,
                              tx.QueryOne("SELECT nonce FROM dan_challenge WHERE id = $1", key));
        return row.Text(0);
      }));
  if (nonce.empty()) return refuse("the challenge has expired or was already used");

  auto signature = crypto::Base64UrlDecode(signature_b64url);
  if (!signature) return refuse("the signature is not valid base64url");
  const std::string signed_text = "ulus-dan-login:" + nonce;
  ULUS_ASSIGN_OR_RETURN(auto keys, SignatureKeys(account.id));
  for (const auto& info : keys) {
    auto key = crypto::PublicKey::FromJwk(info.public_jwk);
    if (!key.ok()) continue;
    if (key->Verify(key->Alg(), crypto::AsBytes(signed_text), *signature).ok()) {
      return s.Success(account, id_hash, context, "hwk", Assurance::kHigh, {"hwk"});
    }
  }
  return refuse("the signature does not verify with your registered key");
}

Assurance AccountService::StrongestFactor(const Account& account) {
  if (account.has_signature_key) return Assurance::kHigh;
  if (account.totp_enabled) return Assurance::kSubstantial;
  return Assurance::kLow;
}

Result<TotpEnrolment> AccountService::BeginTotpEnrolment(std::string_view account_id) {
  auto& s = *impl_;
  ULUS_ASSIGN_OR_RETURN(auto account, s.MustFind(account_id));
  const auto secret = crypto::NewTotpSecret();
  ULUS_ASSIGN_OR_RETURN(auto sealed, s.master.Seal(secret, PendingTotpBinding(account.id)));
  const Status committed = s.db.InTransaction([&](store::Connection& tx) -> Status {
    const store::Value params[] = {account.id, sealed};
    ULUS_TRY(tx.Execute("UPDATE dan_account SET totp_pending_sealed = $2 WHERE id = $1", params));
    return Ok();
  });
  ULUS_TRY(committed);
  TotpEnrolment enrolment;
  enrolment.secret_base32 = crypto::Base32Encode(secret, false);
  ULUS_ASSIGN_OR_RETURN(enrolment.otpauth_uri,
                        crypto::OtpauthUri(s.options.totp_issuer, account.national_id, secret));
  ULUS_ASSIGN_OR_RETURN(enrolment.qr_svg, QrSvg(enrolment.otpauth_uri, "otpauth QR"));
  return enrolment;
}

Result<std::vector<std::string>> AccountService::ConfirmTotpEnrolment(
    std::string_view account_id, std::string_view code, const AttemptContext& context) {
  auto& s = *impl_;
  ULUS_ASSIGN_OR_RETURN(auto account, s.MustFind(account_id));
  const std::string id_hash = IdentifierHash(account.national_id);
  ULUS_TRY(s.Admit(id_hash, account.id, context, "otp-enrol"));
  const store::Value key[] = {account.id};
  ULUS_ASSIGN_OR_RETURN(
      auto row, s.QueryOne("SELECT totp_pending_sealed FROM dan_account WHERE id = $1", key));
  if (row.IsNull(0)) {
    return Error{ErrorCode::kFailedPrecondition, "start the authenticator set-up again", {}};
  }
  const std::string pending_sealed = row.Text(0);
  ULUS_ASSIGN_OR_RETURN(auto secret, s.master.Open(pending_sealed, PendingTotpBinding(account.id)));
  auto step = crypto::VerifyTotp(secret, code, s.clock.Now(), std::nullopt);
  if (!step.ok()) return s.Failure(id_hash, account.id, context, "otp-enrol", "the code is wrong");
  ULUS_ASSIGN_OR_RETURN(auto sealed, s.master.Seal(secret, TotpBinding(account.id)));
  auto codes = crypto::NewRecoveryCodes();
  const Status committed = s.db.InTransaction([&](store::Connection& tx) -> Status {
    const store::Value params[] = {account.id, sealed, static_cast<int64_t>(*step), pending_sealed};
    ULUS_ASSIGN_OR_RETURN(
        const int64_t changed,
        tx.Execute("UPDATE dan_account SET totp_secret_sealed = $2, totp_last_step = $3,"
                   " totp_pending_sealed = NULL WHERE id = $1 AND totp_pending_sealed = $4",
                   params));
    if (changed == 0) return Error::Conflict("the set-up was restarted elsewhere; start again");
    ULUS_TRY(tx.Execute("DELETE FROM dan_recovery_code WHERE account = $1", key));
    for (const auto& code_text : codes) {
      const store::Value insert[] = {account.id, crypto::HashRecoveryCode(code_text, account.id)};
      ULUS_TRY(tx.Execute(
          "INSERT INTO dan_recovery_code (account, code_hash, used_at) VALUES ($1, $2, NULL)",
          insert));
    }
    return s.audit.Record(tx, s.Event("totp.enrolled", account.id, id_hash, context,
                                      {{"replaced", account.totp_enabled}}));
  });
  ULUS_TRY(committed);
  return codes;
}

Result<int64_t> AccountService::RecoveryCodesLeft(std::string_view account_id) const {
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  const store::Value key[] = {std::string(account_id)};
  return conn->QueryInt(
      "SELECT COUNT(*) FROM dan_recovery_code WHERE account = $1 AND used_at IS NULL", key);
}

Result<std::string> AccountService::RegisterSignatureKey(std::string_view account_id,
                                                         const nlohmann::json& public_jwk,
                                                         const AttemptContext& context) {
  auto& s = *impl_;
  ULUS_ASSIGN_OR_RETURN(auto account, s.MustFind(account_id));
  auto key = crypto::PublicKey::FromJwk(public_jwk);
  if (!key.ok()) {
    return Error::InvalidArgument("not a usable public key: " + key.error().message, "jwk");
  }
  const std::string kid = key->Thumbprint();
  const Status committed = s.db.InTransaction([&](store::Connection& tx) -> Status {
    const store::Value params[] = {account.id, kid, key->Jwk().dump(), ToUnixMicros(s.clock.Now())};
    ULUS_ASSIGN_OR_RETURN(
        const int64_t changed,
        tx.Execute("INSERT INTO dan_signature_key (account_id, kid, public_jwk, created, revoked)"
                   " VALUES ($1, $2, $3, $4, 0) ON CONFLICT (account_id, kid) DO NOTHING",
                   params));
    if (changed == 0) {
      return Error{ErrorCode::kAlreadyExists, "this key is already registered", {}};
    }
    return s.audit.Record(
        tx, s.Event("signature_key.registered", account.id, IdentifierHash(account.national_id),
                    context, {{"kid", kid}, {"alg", crypto::AlgName(key->Alg())}}));
  });
  ULUS_TRY(committed);
  return kid;
}

Result<std::vector<SignatureKeyInfo>> AccountService::SignatureKeys(
    std::string_view account_id) const {
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  const store::Value key[] = {std::string(account_id)};
  ULUS_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT kid, public_jwk, created"
                                               " FROM dan_signature_key"
                                               " WHERE account_id = $1 AND revoked = 0"
                                               " ORDER BY created",
                                               key));
  std::vector<SignatureKeyInfo> out;
  for (const auto& row : rows) {
    out.push_back(SignatureKeyInfo{row.Text(0), nlohmann::json::parse(row.Text(1), nullptr, false),
                                   FromUnixMicros(row.Int(2))});
  }
  return out;
}

Result<std::vector<RoleGrant>> AccountService::ListRoles(const Caller& caller,
                                                         std::string_view agency) const {
  const bool any_admin = IsPlatformOperator(caller) ||
                         std::any_of(caller.roles.begin(), caller.roles.end(), [&](const Role& r) {
                           return r.role == "admin" && r.agency == agency;
                         });
  if (!any_admin) return Error::PermissionDenied("you are not an admin of this agency");
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  const store::Value params[] = {std::string(agency)};
  ULUS_ASSIGN_OR_RETURN(
      auto rows, conn->Query("SELECT r.account_id, a.national_id, r.agency, r.centre, r.role,"
                             " r.granted_by, r.granted_at FROM dan_role r"
                             " JOIN dan_account a ON a.id = r.account_id WHERE r.agency = $1"
                             " ORDER BY r.centre, r.role, a.national_id",
                             params));
  std::vector<RoleGrant> out;
  for (const auto& row : rows) {
    RoleGrant grant{row.Text(0), row.Text(1), Role{row.Text(2), row.Text(3), row.Text(4)},
                    row.Text(5), FromUnixMicros(row.Int(6))};
    // A centre's admin sees that centre's officers only.
    if (MayManage(caller, agency, grant.role.centre)) out.push_back(std::move(grant));
  }
  return out;
}

Result<RoleGrant> AccountService::GrantRole(const Caller& caller, std::string_view agency,
                                            std::string_view national_id, std::string_view role,
                                            std::string_view centre,
                                            const AttemptContext& context) {
  auto& s = *impl_;
  if (!MayManage(caller, agency, centre)) {
    return Error::PermissionDenied("you may not manage roles of this agency");
  }
  if (agency.empty() || !PrintableName(agency, kMaxNationalIdBytes) ||
      !PrintableName(centre, kMaxNationalIdBytes)) {
    return Error::InvalidArgument("agency and centre must be short printable names", "agency");
  }
  if (!ValidRoleName(role, agency)) {
    return Error::InvalidArgument("role must be officer or admin (operator only in PLATFORM)",
                                  "role");
  }
  ULUS_ASSIGN_OR_RETURN(auto account, FindByNationalId(national_id));
  if (!account)
    return Error::NotFound("no account for this national ID; the person signs up first");
  RoleGrant grant{account->id, account->national_id,
                  Role{std::string(agency), std::string(centre), std::string(role)},
                  caller.account_id, s.clock.Now()};
  const Status committed = s.db.InTransaction([&](store::Connection& tx) -> Status {
    int64_t changed = 0;
    ULUS_TRY(s.InsertRole(tx, account->id, grant.role, caller.account_id, &changed));
    if (changed == 0)
      return Error{ErrorCode::kAlreadyExists, "the person already holds this role", {}};
    return s.audit.Record(
        tx,
        s.Event(
            "role.granted", account->id, {}, context,
            {{"agency", agency}, {"centre", centre}, {"role", role}, {"by", caller.account_id}}));
  });
  ULUS_TRY(committed);
  return grant;
}

Status AccountService::RevokeRole(const Caller& caller, std::string_view agency,
                                  std::string_view account_id, std::string_view role,
                                  std::string_view centre, const AttemptContext& context) {
  auto& s = *impl_;
  if (!MayManage(caller, agency, centre)) {
    return Error::PermissionDenied("you may not manage roles of this agency");
  }
  return s.db.InTransaction([&](store::Connection& tx) -> Status {
    const store::Value params[] = {std::string(account_id), std::string(agency),
                                   std::string(centre), std::string(role)};
    ULUS_ASSIGN_OR_RETURN(const int64_t changed,
                          tx.Execute("DELETE FROM dan_role WHERE account_id = $1 AND agency = $2"
                                     " AND centre = $3 AND role = $4",
                                     params));
    if (changed == 0) return Error::NotFound("the account does not hold this role");
    return s.audit.Record(
        tx,
        s.Event(
            "role.revoked", account_id, {}, context,
            {{"agency", agency}, {"centre", centre}, {"role", role}, {"by", caller.account_id}}));
  });
}

Status AccountService::GrantRole(std::string_view national_id, const Role& role) {
  auto& s = *impl_;
  if (role.agency.empty() || !ValidRoleName(role.role, role.agency)) {
    return Error::InvalidArgument("role must be officer or admin (operator only in PLATFORM)",
                                  "role");
  }
  ULUS_ASSIGN_OR_RETURN(auto account, FindByNationalId(national_id));
  if (!account) return Error::NotFound("no account for this national ID");
  return s.db.InTransaction([&](store::Connection& tx) -> Status {
    int64_t changed = 0;
    ULUS_TRY(s.InsertRole(tx, account->id, role, "cli", &changed));
    if (changed == 0) return Ok();
    return s.audit.Record(tx, s.Event("role.granted", account->id, {}, AttemptContext{},
                                      {{"agency", role.agency},
                                       {"centre", role.centre},
                                       {"role", role.role},
                                       {"by", "cli"}}));
  });
}

Result<Account> AccountService::EnsureDemoAccount(std::string_view national_id,
                                                  std::string_view password,
                                                  const std::vector<Role>& roles) {
  auto& s = *impl_;
  const std::string nid = NormalizeNationalId(national_id);
  if (nid.empty()) return Error::InvalidArgument("national ID is empty", "national_id");
  ULUS_ASSIGN_OR_RETURN(auto account, FindByNationalId(nid));
  if (!account) {
    if (password.empty() || password.size() > crypto::PasswordHasher::kMaxPasswordBytes) {
      return Error::InvalidArgument("a demo account needs a password", "password");
    }
    ULUS_ASSIGN_OR_RETURN(auto password_hash, s.hasher.Hash(password));
    const std::string id = NewUuidV7(s.clock);
    const Status committed = s.db.InTransaction([&](store::Connection& tx) -> Status {
      const store::Value params[] = {id, nid, password_hash, std::string("active"),
                                     ToUnixMicros(s.clock.Now())};
      ULUS_ASSIGN_OR_RETURN(
          const int64_t inserted,
          tx.Execute("INSERT INTO dan_account (id, national_id, password_hash, status, created)"
                     " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (national_id) DO NOTHING",
                     params));
      if (inserted == 0) return Ok();  // another process made it first
      return s.audit.Record(tx, s.Event("account.created", id, IdentifierHash(nid),
                                        AttemptContext{}, {{"demo", true}}));
    });
    ULUS_TRY(committed);
    ULUS_ASSIGN_OR_RETURN(account, FindByNationalId(nid));
    if (!account) return Error::Internal("the demo account vanished after it was made");
  }
  for (const auto& role : roles) ULUS_TRY(GrantRole(nid, role));
  return std::move(*account);
}

Result<std::optional<Person>> AccountService::PersonOf(const Account& account) const {
  return impl_->people.Find(account.national_id);
}

Result<std::vector<AuditEntry>> AccountService::LoginHistory(std::string_view account_id,
                                                             size_t limit) const {
  return impl_->audit.List(account_id, "login.", limit);
}

}  // namespace ulus::identity
