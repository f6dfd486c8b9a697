#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ulus/core/result.hpp"
#include "ulus/crypto/keys.hpp"

namespace ulus::crypto::detail {

// The one door to a SigningKey's private half, for sealing it under the master key. Private to
// the crypto module.
class SigningKeyAccess {
 public:
  // PKCS#8 DER of the private key. The caller must wipe the bytes (sodium_memzero) when done.
  static Result<std::vector<uint8_t>> ExportPkcs8(const SigningKey& key);
  static Result<SigningKey> ImportPkcs8(std::span<const uint8_t> der);
  static SigningKey Wrap(std::unique_ptr<SigningKey::Impl> impl);
};

}  // namespace ulus::crypto::detail
