#include "ulus/crypto/sealed.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "key_access.hpp"
#include "sodium_init.hpp"
#include "ulus/crypto/encoding.hpp"

namespace ulus::crypto {
namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr size_t kHeaderBytes = 1 + kNonceBytes;
// Sealed things are keys and small secrets; a larger blob is a mistake or an attack.
constexpr size_t kMaxPlaintextBytes = size_t{64} * 1024;
constexpr std::string_view kSecretPurpose = "secret";
constexpr std::string_view kPrivateKeyPurpose = "private-key";
// A key file is 32 bytes or 64 hex digits and a newline; anything much larger is not one.
constexpr size_t kMaxKeyFileBytes = 256;

static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == MasterKey::kSize);

// Length-prefixed fields, so ("ab", "c") and ("a", "bc") authenticate differently.
void AppendField(std::string& out, std::string_view field) {
  const auto len = static_cast<uint32_t>(field.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(len >> shift));
  out.append(field);
}

std::string AssociatedData(std::string_view purpose, std::string_view binding) {
  std::string ad = "ulus/sealed";
  ad.push_back(static_cast<char>(kVersion));
  AppendField(ad, purpose);
  AppendField(ad, binding);
  return ad;
}

Error CannotOpen() {
  return {ErrorCode::kFailedPrecondition,
          "sealed data does not open: wrong master key, sealed for another key id or owner, or "
          "damaged",
          {}};
}

std::string ErrnoText() {
  return std::strerror(errno);
}

// Wipes a buffer that held key material on every path out of a scope.
class Wiper {
 public:
  explicit Wiper(std::span<uint8_t> bytes) : bytes_(bytes) {}
  Wiper(const Wiper&) = delete;
  Wiper& operator=(const Wiper&) = delete;
  ~Wiper() { sodium_memzero(bytes_.data(), bytes_.size()); }

 private:
  std::span<uint8_t> bytes_;
};

}  // namespace

void MasterKey::Free::operator()(uint8_t* p) const {
  sodium_free(p);
}

MasterKey MasterKey::Generate() {
  detail::EnsureSodium();
  Bytes bytes(static_cast<uint8_t*>(sodium_malloc(kSize)));
  ULUS_ASSERT(bytes != nullptr);
  crypto_aead_xchacha20poly1305_ietf_keygen(bytes.get());
  sodium_mprotect_readonly(bytes.get());
  return MasterKey(std::move(bytes));
}

Result<MasterKey> MasterKey::FromBytes(std::span<const uint8_t> bytes) {
  if (bytes.size() != kSize) {
    return Error::InvalidArgument("a master key is exactly 32 bytes", "master_key");
  }
  detail::EnsureSodium();
  Bytes copy(static_cast<uint8_t*>(sodium_malloc(kSize)));
  if (copy == nullptr) return Error::Internal("cannot allocate protected memory for the key");
  std::memcpy(copy.get(), bytes.data(), kSize);
  sodium_mprotect_readonly(copy.get());
  return MasterKey(std::move(copy));
}

Result<std::string> MasterKey::Seal(std::span<const uint8_t> secret,
                                    std::string_view binding) const {
  return SealFor(kSecretPurpose, secret, binding);
}

Result<std::vector<uint8_t>> MasterKey::Open(std::string_view sealed,
                                             std::string_view binding) const {
  return OpenFor(kSecretPurpose, sealed, binding);
}

Result<std::string> MasterKey::SealFor(std::string_view purpose, std::span<const uint8_t> plaintext,
                                       std::string_view binding) const {
  ULUS_ASSERT(bytes_ != nullptr);  // not moved from
  if (plaintext.size() > kMaxPlaintextBytes) {
    return Error{ErrorCode::kTooLarge, "a sealed secret is at most 64 KiB", {}};
  }
  const std::string ad = AssociatedData(purpose, binding);
  std::vector<uint8_t> blob(kHeaderBytes + plaintext.size() + kTagBytes);
  blob[0] = kVersion;
  // 192-bit random nonces: collisions are negligible however many blobs one key seals.
  randombytes_buf(blob.data() + 1, kNonceBytes);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(blob.data() + kHeaderBytes, &written, plaintext.data(),
                                             plaintext.size(),
                                             reinterpret_cast<const unsigned char*>(ad.data()),
                                             ad.size(), nullptr, blob.data() + 1, bytes_.get());
  ULUS_ASSERT(written == plaintext.size() + kTagBytes);
  return Base64UrlEncode(blob);
}

Result<std::vector<uint8_t>> MasterKey::OpenFor(std::string_view purpose, std::string_view sealed,
                                                std::string_view binding) const {
  ULUS_ASSERT(bytes_ != nullptr);
  if (sealed.size() > 2 * kMaxPlaintextBytes) {
    return Error::InvalidArgument("sealed data is too large", "sealed");
  }
  const auto blob = Base64UrlDecode(sealed);
  if (!blob || blob->size() < kHeaderBytes + kTagBytes) {
    return Error::InvalidArgument("not sealed data (bad base64url or too short)", "sealed");
  }
  if ((*blob)[0] != kVersion) {
    return Error::InvalidArgument("sealed data has an unknown format version", "sealed");
  }
  const std::string ad = AssociatedData(purpose, binding);
  const size_t cipher_len = blob->size() - kHeaderBytes;
  std::vector<uint8_t> plain(cipher_len - kTagBytes);
  unsigned long long plain_len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain.data(), &plain_len, nullptr,
                                                 blob->data() + kHeaderBytes, cipher_len,
                                                 reinterpret_cast<const unsigned char*>(ad.data()),
                                                 ad.size(), blob->data() + 1, bytes_.get()) != 0) {
    return CannotOpen();
  }
  return plain;
}

Result<std::string> SealPrivateKey(const SigningKey& key, const MasterKey& master,
                                   std::string_view context) {
  ULUS_ASSIGN_OR_RETURN(auto der, detail::SigningKeyAccess::ExportPkcs8(key));
  const Wiper wipe(der);
  std::string binding;
  AppendField(binding, key.Kid());
  AppendField(binding, context);
  return master.SealFor(kPrivateKeyPurpose, der, binding);
}

Result<SigningKey> UnsealPrivateKey(std::string_view sealed, const MasterKey& master,
                                    std::string_view kid, std::string_view context) {
  std::string binding;
  AppendField(binding, kid);
  AppendField(binding, context);
  ULUS_ASSIGN_OR_RETURN(auto der, master.OpenFor(kPrivateKeyPurpose, sealed, binding));
  const Wiper wipe(der);
  ULUS_ASSIGN_OR_RETURN(auto key, detail::SigningKeyAccess::ImportPkcs8(der));
  // Only a holder of the master key could seal a key under another key's id; refuse it anyway.
  if (key.Kid() != kid) return CannotOpen();
  return key;
}

Result<MasterKey> LoadMasterKey(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const ErrorCode code = errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kFailedPrecondition;
    return Error{code, "cannot open master key file " + path.string() + ": " + ErrnoText(), {}};
  }
  struct stat st {};
  std::array<uint8_t, kMaxKeyFileBytes + 1> buf{};
  const Wiper wipe(buf);
  size_t len = 0;
  bool read_ok = ::fstat(fd, &st) == 0;
  while (read_ok && len < buf.size()) {
    const ssize_t n = ::read(fd, buf.data() + len, buf.size() - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) read_ok = false;
    if (n <= 0) break;
    len += static_cast<size_t>(n);
  }
  ::close(fd);
  if (!read_ok) {
    return Error{ErrorCode::kFailedPrecondition,
                 "cannot read master key file " + path.string() + ": " + ErrnoText(),
                 {}};
  }
  if (!S_ISREG(st.st_mode)) {
    return Error{ErrorCode::kFailedPrecondition, path.string() + " is not a regular file", {}};
  }
  if ((st.st_mode & (S_IRWXO | S_IWGRP)) != 0) {
    return Error{
        ErrorCode::kFailedPrecondition,
        "master key file " + path.string() + " is readable or writable by others; chmod 600 it",
        {}};
  }
  if (len == MasterKey::kSize) return MasterKey::FromBytes(std::span(buf.data(), len));

  std::string_view text(reinterpret_cast<const char*>(buf.data()), len);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  if (text.size() != 2 * MasterKey::kSize) {
    return Error{
        ErrorCode::kFailedPrecondition,
        "master key file " + path.string() + " holds neither 32 raw bytes nor 64 hex digits",
        {}};
  }
  auto bytes = HexDecode(text);
  if (!bytes) {
    return Error{
        ErrorCode::kFailedPrecondition,
        "master key file " + path.string() + " holds neither 32 raw bytes nor 64 hex digits",
        {}};
  }
  const Wiper wipe_bytes(*bytes);
  return MasterKey::FromBytes(*bytes);
}

Result<MasterKey> LoadOrCreateMasterKey(const std::filesystem::path& path) {
  auto loaded = LoadMasterKey(path);
  if (loaded.ok() || loaded.error().code != ErrorCode::kNotFound) return loaded;

  // Write a complete file under a temporary name, then link it into place: link() fails if the
  // name exists, so a concurrent creator cannot be overwritten and nobody reads a half file.
  std::string tmp = path.string() + ".tmp.XXXXXX";
  const int fd = ::mkstemp(tmp.data());  // mode 0600
  if (fd < 0) {
    return Error{ErrorCode::kFailedPrecondition,
                 "cannot create master key file next to " + path.string() + ": " + ErrnoText(),
                 {}};
  }
  detail::EnsureSodium();
  std::array<uint8_t, MasterKey::kSize> key{};
  const Wiper wipe(key);
  randombytes_buf(key.data(), key.size());
  std::string hex = HexEncode(key) + "\n";
  const Wiper wipe_hex(std::span(reinterpret_cast<uint8_t*>(hex.data()), hex.size()));
  bool ok = ::fchmod(fd, S_IRUSR | S_IWUSR) == 0;
  size_t done = 0;
  while (ok && done < hex.size()) {
    const ssize_t n = ::write(fd, hex.data() + done, hex.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  const bool linked = ok && ::link(tmp.c_str(), path.c_str()) == 0;
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (!linked && !(ok && link_errno == EEXIST)) {
    errno = link_errno;
    return Error{ErrorCode::kFailedPrecondition,
                 "cannot create master key file " + path.string() + ": " + ErrnoText(),
                 {}};
  }
  if (linked) {
    // Make the new name durable too, not only the file's contents.
    const int dir = ::open(path.parent_path().empty() ? "." : path.parent_path().c_str(),
                           O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
  }
  return LoadMasterKey(path);
}

}  // namespace ulus::crypto
