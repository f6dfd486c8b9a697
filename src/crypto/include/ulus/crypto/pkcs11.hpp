#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ulus/core/result.hpp"
#include "ulus/crypto/keys.hpp"

namespace ulus::crypto {

namespace detail {
struct Pkcs11Session;
}  // namespace detail

// A logged-in session with one token of a PKCS#11 module (an HSM, or SoftHSM2 in tests), for
// agency and platform keys that must never exist outside the token. Keys are EC P-256, made
// non-extractable and sensitive; signing hashes with SHA-256 here and has the token sign the
// digest (CKM_ECDSA), giving ES256 signatures.
//
// A token and the signers it hands out share the session, which lives until the last of them is
// gone. Signing is safe from many threads but serialised on the session (PKCS#11 allows one
// operation at a time per session).
class Pkcs11Token {
 public:
  // Loads the module (e.g. /usr/lib/softhsm/libsofthsm2.so), finds the initialised token whose
  // label is `token_label` and logs in as its user with `pin`. kNotFound for an unknown label,
  // kUnauthenticated for a wrong PIN, kUnavailable when the module cannot be loaded.
  static Result<Pkcs11Token> Open(const std::string& module_path, std::string_view token_label,
                                  std::string_view pin);

  // The key pair labelled `label`: kNotFound when there is none.
  Result<std::unique_ptr<Signer>> FindKey(std::string_view label) const;
  // Makes a new P-256 key pair labelled `label` on the token: kAlreadyExists if one exists.
  Result<std::unique_ptr<Signer>> GenerateKey(std::string_view label) const;
  Result<std::unique_ptr<Signer>> FindOrGenerateKey(std::string_view label) const;

 private:
  explicit Pkcs11Token(std::shared_ptr<detail::Pkcs11Session> session)
      : session_(std::move(session)) {}
  std::shared_ptr<detail::Pkcs11Session> session_;
};

}  // namespace ulus::crypto
