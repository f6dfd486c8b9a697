#include "ulus/crypto/random.hpp"

#include <openssl/rand.h>

#include "ulus/core/assert.hpp"
#include "ulus/crypto/encoding.hpp"

namespace ulus::crypto {

std::vector<uint8_t> RandomBytes(size_t n) {
  std::vector<uint8_t> out(n);
  // RAND_bytes fails only if the OS entropy source is broken; nothing safe can follow that.
  ULUS_ASSERT(RAND_bytes(out.data(), static_cast<int>(n)) == 1);
  return out;
}

std::string RandomToken(size_t bytes) {
  return Base64UrlEncode(RandomBytes(bytes));
}

}  // namespace ulus::crypto
