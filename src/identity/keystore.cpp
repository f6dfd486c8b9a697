#include "ulus/identity/keystore.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "ulus/crypto/pkcs11.hpp"

namespace ulus::identity {
namespace {

using crypto::SignatureAlg;
using store::Value;

constexpr size_t kMaxOwnerIdBytes = 200;
// Key creation for one owner and algorithm is serialised in the process by one of these, picked
// by hash: enough to keep unrelated owners from waiting on each other.
constexpr size_t kCreateStripes = 16;

constexpr std::string_view kColumns =
    "kid, owner_kind, owner_id, alg, public_jwk, sealed_private, token_label, in_token, state, "
    "created, retired, publish_until";

Result<KeyState> StateFromName(std::string_view name) {
  if (name == "current") return KeyState::kCurrent;
  if (name == "retired") return KeyState::kRetired;
  if (name == "revoked") return KeyState::kRevoked;
  return Error::Internal("dan_key holds an unknown key state '" + std::string(name) + "'");
}

Result<KeyOwnerKind> KindFromName(std::string_view name) {
  if (name == "platform") return KeyOwnerKind::kPlatform;
  if (name == "agency") return KeyOwnerKind::kAgency;
  if (name == "person") return KeyOwnerKind::kPerson;
  return Error::Internal("dan_key holds an unknown owner kind '" + std::string(name) + "'");
}

Status CheckOwner(const KeyOwner& owner) {
  if (owner.id.empty() || owner.id.size() > kMaxOwnerIdBytes) {
    return Error::InvalidArgument("a key owner id must be 1 to 200 bytes", "owner");
  }
  for (const char c : owner.id) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Error::InvalidArgument("a key owner id must not contain control characters", "owner");
    }
  }
  return Ok();
}

// What a sealed key is bound to besides its kid: a blob copied onto another owner's row does
// not open.
std::string SealContext(const KeyOwner& owner) {
  return "dan_key:" + std::string(KeyOwnerKindName(owner.kind)) + ":" + owner.id;
}

std::string OwnerText(const KeyOwner& owner) {
  return std::string(KeyOwnerKindName(owner.kind)) + " '" + owner.id + "'";
}

// A dan_key row: the public KeyInfo plus where its private half is.
struct KeyRow {
  KeyInfo info;
  std::optional<std::string> sealed;
  std::optional<std::string> label;
};

Result<KeyRow> FromRow(const store::Row& row) {
  KeyRow out;
  out.info.kid = row.Text(0);
  ULUS_ASSIGN_OR_RETURN(out.info.owner.kind, KindFromName(row.Text(1)));
  out.info.owner.id = row.Text(2);
  const auto alg = crypto::AlgFromName(row.Text(3));
  if (!alg) return Error::Internal("dan_key holds an unknown algorithm '" + row.Text(3) + "'");
  out.info.alg = *alg;
  out.info.public_jwk = nlohmann::json::parse(row.Text(4), nullptr, false);
  if (!out.info.public_jwk.is_object()) {
    return Error::Internal("dan_key row " + out.info.kid + " holds a malformed public JWK");
  }
  out.sealed = row.OptionalText(5);
  out.label = row.OptionalText(6);
  out.info.in_token = row.Int(7) != 0;
  ULUS_ASSIGN_OR_RETURN(out.info.state, StateFromName(row.Text(8)));
  out.info.created = FromUnixMicros(row.Int(9));
  if (const auto retired = row.OptionalInt(10)) out.info.retired = FromUnixMicros(*retired);
  if (const auto until = row.OptionalInt(11)) out.info.publish_until = FromUnixMicros(*until);
  return out;
}

Result<std::optional<KeyRow>> CurrentRow(store::Connection& conn, const KeyOwner& owner,
                                         SignatureAlg alg) {
  const Value params[] = {std::string(KeyOwnerKindName(owner.kind)), owner.id,
                          std::string(crypto::AlgName(alg))};
  ULUS_ASSIGN_OR_RETURN(auto rows, conn.Query("SELECT " + std::string(kColumns) +
                                                  " FROM dan_key WHERE owner_kind = $1 AND "
                                                  "owner_id = $2 AND alg = $3 AND state = "
                                                  "'current'",
                                              params));
  if (rows.empty()) return std::optional<KeyRow>();
  ULUS_ASSIGN_OR_RETURN(auto row, FromRow(rows.front()));
  return std::optional<KeyRow>(std::move(row));
}

// A key made by Create: its row, and its signer unless another writer's key won.
struct Created {
  KeyRow row;
  std::shared_ptr<const crypto::Signer> signer;
};

}  // namespace

std::string_view KeyOwnerKindName(KeyOwnerKind kind) {
  switch (kind) {
    case KeyOwnerKind::kPlatform: return "platform";
    case KeyOwnerKind::kAgency: return "agency";
    case KeyOwnerKind::kPerson: return "person";
  }
  return "person";
}

struct KeyStore::Impl {
  Impl(store::Database& database, crypto::MasterKey master_key, KeyStoreOptions opts,
       const Clock& c)
      : db(database), master(std::move(master_key)), options(std::move(opts)), clock(c) {}

  store::Database& db;
  const crypto::MasterKey master;
  const KeyStoreOptions options;
  const Clock& clock;
  std::optional<crypto::Pkcs11Token> token;  // set at Open when options.pkcs11 is

  std::array<std::mutex, kCreateStripes> create_mu;

  // The keys a SELECT of kColumns finds, in its order.
  Result<std::vector<KeyInfo>> QueryKeys(const std::string& sql, const std::vector<Value>& params);

  std::mutex mu;
  // Signers opened so far, by kid. Guarded by mu.
  std::map<std::string, std::shared_ptr<const crypto::Signer>, std::less<>> signers;

  std::mutex& CreateLock(const KeyOwner& owner, SignatureAlg alg) {
    const size_t h = std::hash<std::string>{}(std::string(KeyOwnerKindName(owner.kind)) + '\n' +
                                              owner.id + '\n' + std::string(crypto::AlgName(alg)));
    return create_mu[h % kCreateStripes];
  }

  // The token holds ES256 keys of the platform and agencies; anything else is sealed.
  [[nodiscard]] bool InToken(const KeyOwner& owner, SignatureAlg alg) const {
    return token.has_value() && owner.kind != KeyOwnerKind::kPerson && alg == SignatureAlg::kEs256;
  }

  Result<std::optional<KeyRow>> Current(const KeyOwner& owner, SignatureAlg alg) {
    ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
    return CurrentRow(*conn, owner, alg);
  }

  Result<std::shared_ptr<const crypto::Signer>> Open(const KeyRow& row) {
    {
      const std::lock_guard lock(mu);
      if (const auto it = signers.find(row.info.kid); it != signers.end()) return it->second;
    }
    std::shared_ptr<const crypto::Signer> signer;
    if (row.info.in_token) {
      if (!token) {
        return Error{ErrorCode::kFailedPrecondition,
                     "key " + row.info.kid + " is held in a PKCS#11 token, and none is configured",
                     {}};
      }
      if (!row.label) return Error::Internal("dan_key row " + row.info.kid + " has no label");
      ULUS_ASSIGN_OR_RETURN(auto found, token->FindKey(*row.label));
      signer = std::move(found);
    } else {
      if (!row.sealed) return Error::Internal("dan_key row " + row.info.kid + " has no sealed key");
      auto key =
          crypto::UnsealPrivateKey(*row.sealed, master, row.info.kid, SealContext(row.info.owner));
      if (!key.ok()) {
        return Error{ErrorCode::kFailedPrecondition,
                     "the private key " + row.info.kid + " of " + OwnerText(row.info.owner) +
                         " does not open: a different master key, or a damaged or moved row",
                     {}};
      }
      signer = std::make_shared<const crypto::SigningKey>(std::move(key).value());
    }
    if (signer->Kid() != row.info.kid) {
      return Error{ErrorCode::kFailedPrecondition,
                   "the private key found for " + row.info.kid + " is a different key",
                   {}};
    }
    const std::lock_guard lock(mu);
    return signers.emplace(row.info.kid, std::move(signer)).first->second;
  }

  // Makes a key for owner and alg. With `retire_for`, the current key is retired and stays
  // published that long; without, an existing current key wins. The caller holds CreateLock.
  Result<Created> Create(const KeyOwner& owner, SignatureAlg alg,
                         std::optional<std::chrono::seconds> retire_for) {
    const bool in_token = InToken(owner, alg);
    // Generate outside the transaction: an RSA key takes a while, and the write lock is shared.
    std::shared_ptr<const crypto::Signer> fresh;
    std::optional<std::string> sealed;
    if (!in_token) {
      ULUS_ASSIGN_OR_RETURN(auto key, crypto::SigningKey::Generate(alg));
      ULUS_ASSIGN_OR_RETURN(auto blob, crypto::SealPrivateKey(key, master, SealContext(owner)));
      sealed = std::move(blob);
      fresh = std::make_shared<const crypto::SigningKey>(std::move(key));
    }
    const std::string kind(KeyOwnerKindName(owner.kind));
    const std::string alg_name(crypto::AlgName(alg));
    auto made = db.InTransaction<Created>([&](store::Connection& tx) -> Result<Created> {
      const int64_t now = ToUnixMicros(clock.Now());
      if (retire_for) {
        const int64_t until =
            now + std::chrono::duration_cast<std::chrono::microseconds>(*retire_for).count();
        const Value params[] = {kind, owner.id, alg_name, now, until};
        ULUS_TRY(tx.Execute(
            "UPDATE dan_key SET state = 'retired', retired = $4, publish_until = $5 WHERE "
            "owner_kind = $1 AND owner_id = $2 AND alg = $3 AND state = 'current'",
            params));
      } else {
        ULUS_ASSIGN_OR_RETURN(auto current, CurrentRow(tx, owner, alg));
        if (current) return Created{.row = std::move(*current), .signer = nullptr};
      }
      std::shared_ptr<const crypto::Signer> signer = fresh;
      std::optional<std::string> label;
      if (in_token) {
        // Labels do not depend on the key, so a creator that died between token and row, or a
        // concurrent one, finds the same key again instead of leaving an orphan in the token.
        const Value count_params[] = {kind, owner.id, alg_name};
        ULUS_ASSIGN_OR_RETURN(const int64_t n, tx.QueryInt("SELECT COUNT(*) FROM dan_key WHERE "
                                                           "owner_kind = $1 AND owner_id = $2 "
                                                           "AND alg = $3",
                                                           count_params));
        label = kind + ":" + owner.id + ":" + alg_name + ":" + std::to_string(n + 1);
        ULUS_ASSIGN_OR_RETURN(auto key, token->FindOrGenerateKey(*label));
        signer = std::move(key);
      }
      KeyRow row;
      row.info.kid = signer->Kid();
      row.info.owner = owner;
      row.info.alg = alg;
      row.info.public_jwk = signer->PublicJwk();
      row.info.state = KeyState::kCurrent;
      row.info.in_token = in_token;
      row.info.created = FromUnixMicros(now);
      row.sealed = sealed;
      row.label = label;
      const Value params[] = {row.info.kid,
                              kind,
                              owner.id,
                              alg_name,
                              row.info.public_jwk.dump(),
                              sealed ? Value(*sealed) : Value(),
                              label ? Value(*label) : Value(),
                              int64_t{in_token ? 1 : 0},
                              now};
      ULUS_ASSIGN_OR_RETURN(
          const int64_t inserted,
          tx.Execute("INSERT INTO dan_key (kid, owner_kind, owner_id, alg, public_jwk, "
                     "sealed_private, token_label, in_token, state, created) VALUES ($1, $2, $3, "
                     "$4, $5, $6, $7, $8, 'current', $9) ON CONFLICT DO NOTHING",
                     params));
      if (inserted == 1) return Created{.row = std::move(row), .signer = std::move(signer)};
      // Another process made the current key first (PostgreSQL: it committed while we waited
      // on the unique index); use that one.
      ULUS_ASSIGN_OR_RETURN(auto current, CurrentRow(tx, owner, alg));
      if (!current) return Error::Conflict("signing keys of " + owner.id + " changed meanwhile");
      return Created{.row = std::move(*current), .signer = nullptr};
    });
    if (!made.ok()) return std::move(made).error();
    if (made->signer) {
      spdlog::info("dan_key: made {} key {} for {}", alg_name, made->row.info.kid,
                   OwnerText(owner));
      const std::lock_guard lock(mu);
      signers.emplace(made->row.info.kid, made->signer);
    }
    return made;
  }
};

KeyStore::KeyStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KeyStore::~KeyStore() = default;

Result<std::unique_ptr<KeyStore>> KeyStore::Open(store::Database& db, crypto::MasterKey master,
                                                 KeyStoreOptions options, const Clock& clock) {
  ULUS_TRY(store::Migrate(db, "dan_key", Migrations()));
  auto impl = std::make_unique<Impl>(db, std::move(master), std::move(options), clock);
  if (impl->options.pkcs11) {
    const Pkcs11Options& p = *impl->options.pkcs11;
    ULUS_ASSIGN_OR_RETURN(auto token,
                          crypto::Pkcs11Token::Open(p.module_path, p.token_label, p.pin));
    impl->token.emplace(std::move(token));
  }
  return std::unique_ptr<KeyStore>(new KeyStore(std::move(impl)));
}

const std::vector<store::Migration>& KeyStore::Migrations() {
  // At most one current key per owner and algorithm, enforced by the partial unique index, so
  // two creators racing cannot both succeed. Times are Unix microseconds.
  static const std::vector<store::Migration> steps = {
      {.version = 1,
       .name = "signing keys",
       .sql = "CREATE TABLE dan_key ("
              " kid TEXT PRIMARY KEY,"
              " owner_kind TEXT NOT NULL,"
              " owner_id TEXT NOT NULL,"
              " alg TEXT NOT NULL,"
              " public_jwk TEXT NOT NULL,"
              " sealed_private TEXT,"
              " token_label TEXT,"
              " in_token INTEGER NOT NULL,"
              " state TEXT NOT NULL,"
              " created BIGINT NOT NULL,"
              " retired BIGINT,"
              " publish_until BIGINT);"
              "CREATE UNIQUE INDEX dan_key_current ON dan_key (owner_kind, owner_id, alg)"
              " WHERE state = 'current';"
              "CREATE INDEX dan_key_owner ON dan_key (owner_kind, owner_id, created);"},
  };
  return steps;
}

Result<std::shared_ptr<const crypto::Signer>> KeyStore::Signer(const KeyOwner& owner,
                                                               crypto::SignatureAlg alg) {
  ULUS_TRY(CheckOwner(owner));
  ULUS_ASSIGN_OR_RETURN(auto current, impl_->Current(owner, alg));
  if (current) return impl_->Open(*current);
  const std::lock_guard lock(impl_->CreateLock(owner, alg));
  ULUS_ASSIGN_OR_RETURN(current, impl_->Current(owner, alg));
  if (current) return impl_->Open(*current);
  ULUS_ASSIGN_OR_RETURN(auto made, impl_->Create(owner, alg, std::nullopt));
  if (made.signer) return made.signer;
  return impl_->Open(made.row);
}

Result<std::shared_ptr<const crypto::Signer>> KeyStore::CurrentSigner(const KeyOwner& owner,
                                                                      crypto::SignatureAlg alg) {
  ULUS_TRY(CheckOwner(owner));
  ULUS_ASSIGN_OR_RETURN(auto current, impl_->Current(owner, alg));
  if (!current) {
    return Error::NotFound(OwnerText(owner) + " has no current " +
                           std::string(crypto::AlgName(alg)) + " key");
  }
  return impl_->Open(*current);
}

Result<KeyInfo> KeyStore::Rotate(const KeyOwner& owner, crypto::SignatureAlg alg,
                                 std::chrono::seconds keep_published) {
  ULUS_TRY(CheckOwner(owner));
  if (keep_published.count() < 0) {
    return Error::InvalidArgument("keep_published must not be negative", "keep_published");
  }
  const std::lock_guard lock(impl_->CreateLock(owner, alg));
  ULUS_ASSIGN_OR_RETURN(auto made, impl_->Create(owner, alg, keep_published));
  return std::move(made.row.info);
}

Status KeyStore::Revoke(const KeyOwner& owner, std::string_view kid) {
  ULUS_TRY(CheckOwner(owner));
  const int64_t now = ToUnixMicros(impl_->clock.Now());
  const Value params[] = {std::string(kid), std::string(KeyOwnerKindName(owner.kind)), owner.id,
                          now};
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  ULUS_ASSIGN_OR_RETURN(
      const int64_t changed,
      conn->Execute("UPDATE dan_key SET state = 'revoked', retired = COALESCE(retired, $4), "
                    "publish_until = NULL WHERE kid = $1 AND owner_kind = $2 AND owner_id = $3",
                    params));
  if (changed == 0) return Error::NotFound(OwnerText(owner) + " has no key " + std::string(kid));
  {
    const std::lock_guard lock(impl_->mu);
    if (const auto it = impl_->signers.find(kid); it != impl_->signers.end()) {
      impl_->signers.erase(it);
    }
  }
  spdlog::warn("dan_key: revoked key {} of {}", kid, OwnerText(owner));
  return Ok();
}

Result<std::vector<KeyInfo>> KeyStore::KeysEverUsed(const KeyOwner& owner) {
  ULUS_TRY(CheckOwner(owner));
  return impl_->QueryKeys(
      "SELECT " + std::string(kColumns) +
          " FROM dan_key WHERE owner_kind = $1 AND owner_id = $2 AND state IN ('current', "
          "'retired') ORDER BY created DESC, kid",
      {std::string(KeyOwnerKindName(owner.kind)), owner.id});
}

Result<std::vector<KeyInfo>> KeyStore::Keys(const KeyOwner& owner) {
  ULUS_TRY(CheckOwner(owner));
  return impl_->QueryKeys(
      "SELECT " + std::string(kColumns) +
          " FROM dan_key WHERE owner_kind = $1 AND owner_id = $2 AND (state = 'current' OR "
          "(state = 'retired' AND publish_until > $3)) ORDER BY CASE state WHEN 'current' THEN 0 "
          "ELSE 1 END, created DESC, kid",
      {std::string(KeyOwnerKindName(owner.kind)), owner.id, ToUnixMicros(impl_->clock.Now())});
}

Result<std::vector<KeyInfo>> KeyStore::Impl::QueryKeys(const std::string& sql,
                                                       const std::vector<Value>& params) {
  ULUS_ASSIGN_OR_RETURN(auto conn, db.Acquire());
  ULUS_ASSIGN_OR_RETURN(auto rows, conn->Query(sql, params));
  std::vector<KeyInfo> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    ULUS_ASSIGN_OR_RETURN(auto row, FromRow(r));
    out.push_back(std::move(row.info));
  }
  return out;
}

Result<crypto::JwkSet> KeyStore::Jwks(const KeyOwner& owner) {
  ULUS_ASSIGN_OR_RETURN(auto keys, Keys(owner));
  crypto::JwkSet set;
  for (const auto& key : keys) {
    ULUS_ASSIGN_OR_RETURN(auto public_key, crypto::PublicKey::FromJwk(key.public_jwk));
    ULUS_TRY(set.Add(std::move(public_key)));
  }
  return set;
}

Result<KeyInfo> KeyStore::Find(std::string_view kid) {
  ULUS_ASSIGN_OR_RETURN(auto conn, impl_->db.Acquire());
  const Value params[] = {std::string(kid)};
  ULUS_ASSIGN_OR_RETURN(
      auto rows,
      conn->Query("SELECT " + std::string(kColumns) + " FROM dan_key WHERE kid = $1", params));
  if (rows.empty()) return Error::NotFound("there is no signing key " + std::string(kid));
  ULUS_ASSIGN_OR_RETURN(auto row, FromRow(rows.front()));
  return std::move(row.info);
}

}  // namespace ulus::identity
