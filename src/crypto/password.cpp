#include "ulus/crypto/password.hpp"

#include <array>
#include <cstring>

#include "sodium_init.hpp"

namespace ulus::crypto {
namespace {

// Beyond these a hash takes minutes or gigabytes: a configuration mistake, not a choice.
constexpr uint64_t kMaxOpsLimit = 64;
constexpr size_t kMaxMemLimitBytes = size_t{4} * 1024 * 1024 * 1024;

}  // namespace

Result<PasswordHasher> PasswordHasher::Create(Argon2idCost cost) {
  if (cost.ops_limit < crypto_pwhash_argon2id_OPSLIMIT_MIN || cost.ops_limit > kMaxOpsLimit) {
    return Error::InvalidArgument("Argon2id passes must be between 1 and 64", "ops_limit");
  }
  if (cost.mem_limit_bytes < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
      cost.mem_limit_bytes > kMaxMemLimitBytes) {
    return Error::InvalidArgument("Argon2id memory must be between 8 KiB and 4 GiB",
                                  "mem_limit_bytes");
  }
  return PasswordHasher(cost);
}

Result<std::string> PasswordHasher::Hash(std::string_view password) const {
  if (password.size() > kMaxPasswordBytes) {
    return Error::InvalidArgument("the password is too long", "password");
  }
  detail::EnsureSodium();
  std::array<char, crypto_pwhash_argon2id_STRBYTES> out{};
  if (crypto_pwhash_argon2id_str(out.data(), password.data(), password.size(), cost_.ops_limit,
                                 cost_.mem_limit_bytes) != 0) {
    // libsodium fails here only when it cannot allocate the memory the cost asks for.
    return Error::Unavailable("not enough memory to hash the password; try again");
  }
  return std::string(out.data());
}

Result<bool> PasswordHasher::Verify(std::string_view encoded, std::string_view password) const {
  // The verifier reads a C string, so copy into a terminated buffer of the documented size.
  std::array<char, crypto_pwhash_STRBYTES> stored{};
  if (encoded.size() >= stored.size() || !encoded.starts_with("$argon2")) {
    return Error::InvalidArgument("the stored password hash is not an Argon2 hash");
  }
  if (password.size() > kMaxPasswordBytes) return false;
  detail::EnsureSodium();
  std::memcpy(stored.data(), encoded.data(), encoded.size());
  return crypto_pwhash_str_verify(stored.data(), password.data(), password.size()) == 0;
}

bool PasswordHasher::NeedsRehash(std::string_view encoded) const {
  std::array<char, crypto_pwhash_STRBYTES> stored{};
  if (encoded.size() >= stored.size()) return true;
  detail::EnsureSodium();
  std::memcpy(stored.data(), encoded.data(), encoded.size());
  // 1 means other parameters, -1 not Argon2id at all (argon2i, or something older): both rehash.
  return crypto_pwhash_argon2id_str_needs_rehash(stored.data(), cost_.ops_limit,
                                                 cost_.mem_limit_bytes) != 0;
}

}  // namespace ulus::crypto
