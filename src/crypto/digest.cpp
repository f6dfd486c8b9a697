#include "ulus/crypto/digest.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ulus/core/assert.hpp"
#include "ulus/crypto/encoding.hpp"

namespace ulus::crypto {

Sha256Digest Sha256(std::span<const uint8_t> data) {
  Sha256Digest out{};
  unsigned int len = 0;
  const int rc = EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  ULUS_ASSERT(rc == 1 && len == out.size());
  return out;
}

Sha256Digest Sha256(std::string_view data) {
  return Sha256(AsBytes(data));
}

Sha256Digest HmacSha256(std::span<const uint8_t> key, std::string_view data) {
  Sha256Digest out{};
  unsigned int len = 0;
  const auto* rc = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                        AsBytes(data).data(), data.size(), out.data(), &len);
  ULUS_ASSERT(rc != nullptr && len == out.size());
  return out;
}

bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace ulus::crypto
