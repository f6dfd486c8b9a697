#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/result.hpp"
#include "ulus/crypto/keys.hpp"

namespace ulus::crypto {

class MasterKey;

// A signing key encrypted for storage: PKCS#8 DER sealed with XChaCha20-Poly1305 under the
// master key, as base64url text. The key id and `context` (for example "citizen/<id>") are
// authenticated, not stored: the blob opens only with the same kid and context, so a sealed key
// copied onto another key's row is refused.
Result<std::string> SealPrivateKey(const SigningKey& key, const MasterKey& master,
                                   std::string_view context = {});
// The key sealed by SealPrivateKey, given the kid and context it was sealed for. Fails (with
// kFailedPrecondition) for a wrong master key, kid or context, or any changed byte.
Result<SigningKey> UnsealPrivateKey(std::string_view sealed, const MasterKey& master,
                                    std::string_view kid, std::string_view context = {});

// The platform's 32-byte master key, which encrypts private keys and other secrets at rest. Its
// bytes live in memory from sodium_malloc (guard pages, locked against swapping where the system
// allows) that is wiped when the key is destroyed, and no accessor returns them. Move-only; safe
// to use from many threads.
class MasterKey {
 public:
  static constexpr size_t kSize = 32;

  static MasterKey Generate();
  static Result<MasterKey> FromBytes(std::span<const uint8_t> bytes);

  MasterKey(MasterKey&& other) noexcept = default;
  MasterKey& operator=(MasterKey&& other) noexcept = default;
  MasterKey(const MasterKey&) = delete;
  MasterKey& operator=(const MasterKey&) = delete;
  ~MasterKey() = default;

  // Encrypts `secret` (a TOTP seed, say) with XChaCha20-Poly1305 and a random nonce; the result
  // is base64url text: a version byte, the nonce and the ciphertext with its tag. `binding` is
  // authenticated but not stored, so Open needs the same binding (name the row the secret
  // belongs to). Secrets sealed here can never be opened as private keys, nor the reverse.
  // kTooLarge past 64 KiB: this is for keys and seeds, not documents.
  [[nodiscard]] Result<std::string> Seal(std::span<const uint8_t> secret,
                                         std::string_view binding) const;
  [[nodiscard]] Result<std::vector<uint8_t>> Open(std::string_view sealed,
                                                  std::string_view binding) const;

 private:
  struct Free {
    void operator()(uint8_t* p) const;
  };
  using Bytes = std::unique_ptr<uint8_t[], Free>;

  explicit MasterKey(Bytes bytes) : bytes_(std::move(bytes)) {}
  [[nodiscard]] Result<std::string> SealFor(std::string_view purpose,
                                            std::span<const uint8_t> plaintext,
                                            std::string_view binding) const;
  [[nodiscard]] Result<std::vector<uint8_t>> OpenFor(std::string_view purpose,
                                                     std::string_view sealed,
                                                     std::string_view binding) const;

  friend Result<std::string> SealPrivateKey(const SigningKey& key, const MasterKey& master,
                                            std::string_view context);
  friend Result<SigningKey> UnsealPrivateKey(std::string_view sealed, const MasterKey& master,
                                             std::string_view kid, std::string_view context);

  Bytes bytes_;
};

// Reads a master key file: exactly 32 raw bytes, or 64 hex digits (surrounding whitespace
// allowed). Refuses a file that others (not owner or group) may read or write.
Result<MasterKey> LoadMasterKey(const std::filesystem::path& path);
// As LoadMasterKey, but first creates the file with a new random key (64 hex digits, mode 0600)
// if it does not exist. Safe against a concurrent creator: one key wins and both load it.
Result<MasterKey> LoadOrCreateMasterKey(const std::filesystem::path& path);

}  // namespace ulus::crypto
