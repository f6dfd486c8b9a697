#include "ulus/crypto/totp.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/random.hpp"

namespace ulus::crypto {
namespace {

constexpr int kMinDigits = 6;
constexpr int kMaxDigits = 8;
constexpr size_t kTotpSecretBytes = 20;
constexpr size_t kRecoveryCodeLength = 12;
constexpr size_t kRecoveryGroup = 4;
// 32 symbols, so each random byte's low five bits pick one uniformly; no 0/O or 1/I to confuse.
constexpr std::string_view kRecoveryAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
static_assert(kRecoveryAlphabet.size() == 32);

const EVP_MD* Md(OtpHash hash) {
  switch (hash) {
    case OtpHash::kSha1: return EVP_sha1();
    case OtpHash::kSha256: return EVP_sha256();
    case OtpHash::kSha512: return EVP_sha512();
  }
  return EVP_sha1();
}

std::string_view HashName(OtpHash hash) {
  switch (hash) {
    case OtpHash::kSha1: return "SHA1";
    case OtpHash::kSha256: return "SHA256";
    case OtpHash::kSha512: return "SHA512";
  }
  return "SHA1";
}

uint32_t PowerOfTen(int digits) {
  uint32_t p = 1;
  for (int i = 0; i < digits; ++i) p *= 10;
  return p;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    size_t extra = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    constexpr std::array<uint32_t, 4> kMinForLength{0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[extra] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

// RFC 3986 percent-encoding of everything but the unreserved characters; UTF-8 bytes become
// %XX each, and a space is %20 (never '+', which some apps would show literally).
std::string PercentEncode(std::string_view s) {
  constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<uint8_t>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
  return out;
}

std::string NormalizeRecoveryCode(std::string_view code) {
  std::string out;
  for (const char c : code) {
    if (c == '-' || c == ' ') continue;
    out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

}  // namespace

std::string Hotp(std::span<const uint8_t> secret, uint64_t counter, int digits, OtpHash hash) {
  ULUS_ASSERT(digits >= kMinDigits && digits <= kMaxDigits);
  std::array<uint8_t, 8> message{};
  for (size_t i = 0; i < message.size(); ++i) {
    message[message.size() - 1 - i] = static_cast<uint8_t>(counter >> (8 * i));
  }
  std::array<uint8_t, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  static constexpr uint8_t kEmpty = 0;  // HMAC wants a pointer even for an empty key
  const auto* ok =
      HMAC(Md(hash), secret.empty() ? &kEmpty : secret.data(), static_cast<int>(secret.size()),
           message.data(), message.size(), mac.data(), &mac_len);
  ULUS_ASSERT(ok != nullptr && mac_len >= 20);
  // RFC 4226 §5.3 dynamic truncation.
  const size_t offset = mac[mac_len - 1] & 0x0Fu;
  const uint32_t binary = (uint32_t{mac[offset]} & 0x7Fu) << 24 | uint32_t{mac[offset + 1]} << 16 |
                          uint32_t{mac[offset + 2]} << 8 | uint32_t{mac[offset + 3]};
  std::string code = std::to_string(binary % PowerOfTen(digits));
  code.insert(0, static_cast<size_t>(digits) - code.size(), '0');
  return code;
}

uint64_t TotpStep(TimePoint at, std::chrono::seconds period) {
  ULUS_ASSERT(period.count() > 0);
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
  if (seconds < 0) return 0;
  return static_cast<uint64_t>(seconds / period.count());
}

std::string Totp(std::span<const uint8_t> secret, TimePoint at, const TotpConfig& config) {
  return Hotp(secret, TotpStep(at, config.period), config.digits, config.hash);
}

Result<uint64_t> VerifyTotp(std::span<const uint8_t> secret, std::string_view code, TimePoint now,
                            std::optional<uint64_t> last_used_step, const TotpConfig& config) {
  ULUS_ASSERT(config.window >= 0);
  const bool all_digits =
      code.find_first_not_of("0123456789") == std::string_view::npos && !code.empty();
  if (code.size() != static_cast<size_t>(config.digits) || !all_digits) {
    return Error::InvalidArgument("the code must be " + std::to_string(config.digits) + " digits",
                                  "code");
  }
  const uint64_t current = TotpStep(now, config.period);
  const auto window = static_cast<uint64_t>(config.window);
  const uint64_t first = current >= window ? current - window : 0;
  std::optional<uint64_t> matched;
  for (uint64_t step = first; step <= current + window; ++step) {
    const std::string expected = Hotp(secret, step, config.digits, config.hash);
    if (ConstantTimeEquals(AsBytes(expected), AsBytes(code)) && !matched) matched = step;
  }
  if (!matched) {
    return Error{ErrorCode::kUnauthenticated, "the code is wrong or has expired", "code"};
  }
  if (last_used_step && *matched <= *last_used_step) {
    return Error{ErrorCode::kUnauthenticated, "the code was already used; wait for the next one",
                 "code"};
  }
  return *matched;
}

std::vector<uint8_t> NewTotpSecret() {
  return RandomBytes(kTotpSecretBytes);
}

Result<std::string> OtpauthUri(std::string_view issuer, std::string_view account,
                               std::span<const uint8_t> secret, const TotpConfig& config) {
  if (issuer.empty() || issuer.find(':') != std::string_view::npos || !IsValidUtf8(issuer)) {
    return Error::InvalidArgument("the issuer must be non-empty UTF-8 without ':'", "issuer");
  }
  if (account.empty() || account.find(':') != std::string_view::npos || !IsValidUtf8(account)) {
    return Error::InvalidArgument("the account must be non-empty UTF-8 without ':'", "account");
  }
  if (secret.empty()) return Error::InvalidArgument("the secret is empty", "secret");
  const std::string encoded_issuer = PercentEncode(issuer);
  std::string uri = "otpauth://totp/" + encoded_issuer + ":" + PercentEncode(account);
  uri += "?secret=" + Base32Encode(secret, /*pad=*/false);
  uri += "&issuer=" + encoded_issuer;
  uri += "&algorithm=" + std::string(HashName(config.hash));
  uri += "&digits=" + std::to_string(config.digits);
  uri += "&period=" + std::to_string(config.period.count());
  return uri;
}

std::vector<std::string> NewRecoveryCodes(size_t count) {
  std::vector<std::string> codes;
  codes.reserve(count);
  for (size_t n = 0; n < count; ++n) {
    const auto random = RandomBytes(kRecoveryCodeLength);
    std::string code;
    for (size_t i = 0; i < random.size(); ++i) {
      if (i > 0 && i % kRecoveryGroup == 0) code.push_back('-');
      code.push_back(kRecoveryAlphabet[random[i] & 31u]);
    }
    codes.push_back(std::move(code));
  }
  return codes;
}

std::string HashRecoveryCode(std::string_view code, std::string_view account) {
  // Length-prefixed so no (account, code) pair can collide with another by shifting characters.
  std::string input = "ulus/recovery-code/" + std::to_string(account.size()) + ":";
  input.append(account);
  input += ':';
  input += NormalizeRecoveryCode(code);
  return HexEncode(Sha256(input));
}

bool RecoveryCodeMatches(std::string_view code, std::string_view account,
                         std::string_view stored_hash) {
  return ConstantTimeEquals(AsBytes(HashRecoveryCode(code, account)), AsBytes(stored_hash));
}

}  // namespace ulus::crypto
