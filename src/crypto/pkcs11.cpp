#include "ulus/crypto/pkcs11.hpp"

#include <dlfcn.h>
#include <p11-kit/pkcs11.h>

#include <array>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>

#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"

namespace ulus::crypto {
namespace detail {
namespace {

// DER of the P-256 curve's OID (1.2.840.10045.3.1.7), the CKA_EC_PARAMS of our keys.
constexpr std::array<CK_BYTE, 10> kP256Params{0x06, 0x08, 0x2A, 0x86, 0x48,
                                              0xCE, 0x3D, 0x03, 0x01, 0x07};
constexpr size_t kCoordinateBytes = 32;
constexpr size_t kPointBytes = 1 + 2 * kCoordinateBytes;  // uncompressed: 04 || x || y
constexpr size_t kSignatureBytes = 2 * kCoordinateBytes;
constexpr size_t kLabelBytes = 32;  // CK_TOKEN_INFO.label, blank-padded

std::string RvText(CK_RV rv) {
  switch (rv) {
    case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
    case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
    case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
    case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
    case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID";
    case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
    case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
    case CKR_KEY_HANDLE_INVALID: return "CKR_KEY_HANDLE_INVALID";
    default: break;
  }
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "CKR 0x%lx", rv);
  return buf.data();
}

Error TokenError(std::string_view what, CK_RV rv) {
  const ErrorCode code = rv == CKR_DEVICE_ERROR || rv == CKR_TOKEN_NOT_PRESENT
                             ? ErrorCode::kUnavailable
                             : ErrorCode::kInternal;
  return {code, "PKCS#11 " + std::string(what) + " failed: " + RvText(rv), {}};
}

CK_ATTRIBUTE Attr(CK_ATTRIBUTE_TYPE type, const void* value, size_t len) {
  // PKCS#11 templates take non-const pointers even for values the module only reads.
  return CK_ATTRIBUTE{type, const_cast<void*>(value), len};
}

// A loaded and initialised module. C_Initialize is once per process per module, so one Module
// serves every token opened from the same path.
struct Module {
  void* handle = nullptr;
  CK_FUNCTION_LIST_PTR fn = nullptr;
  bool finalize = false;  // false when someone else in the process had initialised it

  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  ~Module() {
    if (finalize) fn->C_Finalize(nullptr);
    if (handle != nullptr) dlclose(handle);
  }
};

// Loaded modules by path. An entry whose module is expired is being unloaded by its last user;
// a new Open waits for that to finish rather than initialise the module while it finalises.
struct ModuleRegistry {
  std::mutex mu;
  std::condition_variable unloaded;
  std::map<std::string, std::weak_ptr<Module>> modules;  // guarded by mu
};

ModuleRegistry& Modules() {
  static ModuleRegistry registry;
  return registry;
}

Result<std::shared_ptr<Module>> LoadModule(const std::string& path) {
  ModuleRegistry& registry = Modules();
  std::unique_lock lock(registry.mu);
  for (auto it = registry.modules.find(path); it != registry.modules.end();
       it = registry.modules.find(path)) {
    if (auto existing = it->second.lock()) return existing;
    registry.unloaded.wait(lock);
  }

  auto module = std::make_unique<Module>();
  module->handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (module->handle == nullptr) {
    const char* why = dlerror();
    return Error::Unavailable("cannot load PKCS#11 module " + path + ": " +
                              (why != nullptr ? why : "unknown error"));
  }
  void* symbol = dlsym(module->handle, "C_GetFunctionList");
  if (symbol == nullptr) {
    return Error::Unavailable(path + " is not a PKCS#11 module (no C_GetFunctionList)");
  }
  const auto get_function_list = reinterpret_cast<CK_C_GetFunctionList>(symbol);
  if (const CK_RV rv = get_function_list(&module->fn); rv != CKR_OK || module->fn == nullptr) {
    return TokenError("C_GetFunctionList", rv);
  }
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;  // we call from many threads
  const CK_RV rv = module->fn->C_Initialize(&args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) return TokenError("C_Initialize", rv);
  module->finalize = rv == CKR_OK;

  std::shared_ptr<Module> shared(module.release(), [path](Module* raw) {
    std::unique_ptr<Module> owned(raw);
    ModuleRegistry& modules = Modules();
    const std::lock_guard unload_lock(modules.mu);
    owned.reset();  // C_Finalize and dlclose before anyone may load the module again
    modules.modules.erase(path);
    modules.unloaded.notify_all();
  });
  registry.modules[path] = shared;
  return shared;
}

Result<CK_SLOT_ID> FindSlot(CK_FUNCTION_LIST_PTR fn, std::string_view label) {
  CK_ULONG count = 0;
  if (const CK_RV rv = fn->C_GetSlotList(CK_TRUE, nullptr, &count); rv != CKR_OK) {
    return TokenError("C_GetSlotList", rv);
  }
  std::vector<CK_SLOT_ID> slots(count);
  if (const CK_RV rv = fn->C_GetSlotList(CK_TRUE, slots.data(), &count); rv != CKR_OK) {
    return TokenError("C_GetSlotList", rv);
  }
  slots.resize(count);
  for (const CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    if (fn->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    std::string_view name(reinterpret_cast<const char*>(info.label), kLabelBytes);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\0')) name.remove_suffix(1);
    if (name == label && (info.flags & CKF_TOKEN_INITIALIZED) != 0) return slot;
  }
  return Error::NotFound("no initialised PKCS#11 token is labelled \"" + std::string(label) + "\"");
}

}  // namespace

// One logged-in session, shared by a Pkcs11Token and its signers.
struct Pkcs11Session {
  std::shared_ptr<Module> module;
  CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
  // PKCS#11 allows one active operation per session: every call that starts one (find, sign,
  // generate) holds this until it is finished.
  mutable std::mutex mu;

  Pkcs11Session() = default;
  Pkcs11Session(const Pkcs11Session&) = delete;
  Pkcs11Session& operator=(const Pkcs11Session&) = delete;
  // Closing the application's last session with the token also logs it out (PKCS#11 §5.6);
  // C_Logout is not called, as it would log out other sessions of this process too.
  ~Pkcs11Session() {
    if (handle != CK_INVALID_HANDLE) module->fn->C_CloseSession(handle);
  }

  [[nodiscard]] CK_FUNCTION_LIST_PTR Functions() const { return module->fn; }
};

namespace {

// Handles of objects of `cls` labelled `label`; at most two, enough to tell one from many.
Result<std::vector<CK_OBJECT_HANDLE>> FindObjects(const Pkcs11Session& session, CK_OBJECT_CLASS cls,
                                                  std::string_view label) {
  const CK_KEY_TYPE type = CKK_EC;
  std::array<CK_ATTRIBUTE, 3> query{Attr(CKA_CLASS, &cls, sizeof cls),
                                    Attr(CKA_KEY_TYPE, &type, sizeof type),
                                    Attr(CKA_LABEL, label.data(), label.size())};
  CK_FUNCTION_LIST_PTR fn = session.Functions();
  if (const CK_RV rv = fn->C_FindObjectsInit(session.handle, query.data(), query.size());
      rv != CKR_OK) {
    return TokenError("C_FindObjectsInit", rv);
  }
  std::array<CK_OBJECT_HANDLE, 2> found{};
  CK_ULONG count = 0;
  const CK_RV rv = fn->C_FindObjects(session.handle, found.data(), found.size(), &count);
  fn->C_FindObjectsFinal(session.handle);
  if (rv != CKR_OK) return TokenError("C_FindObjects", rv);
  return std::vector<CK_OBJECT_HANDLE>(found.begin(), found.begin() + static_cast<long>(count));
}

Result<std::vector<CK_BYTE>> ReadAttribute(const Pkcs11Session& session, CK_OBJECT_HANDLE object,
                                           CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE attr = Attr(type, nullptr, 0);
  CK_FUNCTION_LIST_PTR fn = session.Functions();
  if (const CK_RV rv = fn->C_GetAttributeValue(session.handle, object, &attr, 1); rv != CKR_OK) {
    return TokenError("C_GetAttributeValue", rv);
  }
  std::vector<CK_BYTE> value(attr.ulValueLen);
  attr.pValue = value.data();
  if (const CK_RV rv = fn->C_GetAttributeValue(session.handle, object, &attr, 1); rv != CKR_OK) {
    return TokenError("C_GetAttributeValue", rv);
  }
  value.resize(attr.ulValueLen);
  return value;
}

// The public key from CKA_EC_POINT, which PKCS#11 v2.40 says is a DER OCTET STRING holding the
// point; some modules give the bare point, so both are accepted.
Result<PublicKey> PublicKeyFromPoint(std::span<const CK_BYTE> ec_point) {
  std::span<const CK_BYTE> point = ec_point;
  if (point.size() == kPointBytes + 2 && point[0] == 0x04 && point[1] == kPointBytes) {
    point = point.subspan(2);
  }
  if (point.size() != kPointBytes || point[0] != 0x04) {
    return Error::Internal("the token's EC public key is not an uncompressed P-256 point");
  }
  const nlohmann::json jwk{
      {"kty", "EC"},
      {"crv", "P-256"},
      {"x", Base64UrlEncode(point.subspan(1, kCoordinateBytes))},
      {"y", Base64UrlEncode(point.subspan(1 + kCoordinateBytes, kCoordinateBytes))}};
  return PublicKey::FromJwk(jwk);
}

// An ES256 signer whose private key stays inside the token.
class Pkcs11Signer final : public Signer {
 public:
  Pkcs11Signer(std::shared_ptr<Pkcs11Session> session, CK_OBJECT_HANDLE private_key,
               PublicKey public_key)
      : session_(std::move(session)),
        private_key_(private_key),
        public_key_(std::move(public_key)) {}

  [[nodiscard]] const PublicKey& Public() const override { return public_key_; }

  [[nodiscard]] Result<std::vector<uint8_t>> Sign(std::span<const uint8_t> data) const override {
    // CKM_ECDSA signs a digest we supply, so large inputs never cross into the token.
    Sha256Digest digest = Sha256(data);
    CK_MECHANISM mechanism{CKM_ECDSA, nullptr, 0};
    std::array<CK_BYTE, size_t{2} * 66> signature{};  // room for any curve the token might use
    CK_ULONG len = signature.size();
    CK_FUNCTION_LIST_PTR fn = session_->Functions();
    const std::lock_guard lock(session_->mu);
    if (const CK_RV rv = fn->C_SignInit(session_->handle, &mechanism, private_key_); rv != CKR_OK) {
      return TokenError("C_SignInit", rv);
    }
    if (const CK_RV rv =
            fn->C_Sign(session_->handle, digest.data(), digest.size(), signature.data(), &len);
        rv != CKR_OK) {
      return TokenError("C_Sign", rv);
    }
    // CKM_ECDSA already gives r || s, each the size of the curve order: JOSE's form exactly.
    if (len != kSignatureBytes) return Error::Internal("the token's signature is not P-256 sized");
    return std::vector<uint8_t>(signature.begin(), signature.begin() + kSignatureBytes);
  }

 private:
  std::shared_ptr<Pkcs11Session> session_;
  CK_OBJECT_HANDLE private_key_;
  PublicKey public_key_;
};

// Find under the session lock already held.
Result<std::unique_ptr<Signer>> FindLocked(const std::shared_ptr<Pkcs11Session>& session,
                                           std::string_view label) {
  ULUS_ASSIGN_OR_RETURN(auto privates, FindObjects(*session, CKO_PRIVATE_KEY, label));
  ULUS_ASSIGN_OR_RETURN(auto publics, FindObjects(*session, CKO_PUBLIC_KEY, label));
  if (privates.empty()) {
    return Error::NotFound("the token has no EC key labelled \"" + std::string(label) + "\"");
  }
  if (privates.size() > 1 || publics.size() > 1) {
    return Error::Conflict("the token has several EC keys labelled \"" + std::string(label) + "\"");
  }
  if (publics.empty()) {
    return Error::Internal("the token has a private key labelled \"" + std::string(label) +
                           "\" but no public key to go with it");
  }
  ULUS_ASSIGN_OR_RETURN(auto params, ReadAttribute(*session, publics[0], CKA_EC_PARAMS));
  if (!std::equal(params.begin(), params.end(), kP256Params.begin(), kP256Params.end())) {
    return Error::Internal("the token's key \"" + std::string(label) + "\" is not on P-256");
  }
  ULUS_ASSIGN_OR_RETURN(auto point, ReadAttribute(*session, publics[0], CKA_EC_POINT));
  ULUS_ASSIGN_OR_RETURN(auto public_key, PublicKeyFromPoint(point));
  return std::unique_ptr<Signer>(
      std::make_unique<Pkcs11Signer>(session, privates[0], std::move(public_key)));
}

Result<std::unique_ptr<Signer>> GenerateLocked(const std::shared_ptr<Pkcs11Session>& session,
                                               std::string_view label) {
  ULUS_ASSIGN_OR_RETURN(auto existing, FindObjects(*session, CKO_PRIVATE_KEY, label));
  if (!existing.empty()) {
    return Error{ErrorCode::kAlreadyExists,
                 "the token already has an EC key labelled \"" + std::string(label) + "\"",
                 {}};
  }
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  // CKA_ID pairs the halves for tools like pkcs11-tool; the label is as good an id as any.
  std::array<CK_ATTRIBUTE, 6> public_template{
      Attr(CKA_TOKEN, &yes, sizeof yes),
      Attr(CKA_VERIFY, &yes, sizeof yes),
      Attr(CKA_EC_PARAMS, kP256Params.data(), kP256Params.size()),
      Attr(CKA_LABEL, label.data(), label.size()),
      Attr(CKA_ID, label.data(), label.size()),
      Attr(CKA_PRIVATE, &no, sizeof no),
  };
  // Sensitive and never extractable: the private key cannot leave the token, even wrapped.
  std::array<CK_ATTRIBUTE, 7> private_template{
      Attr(CKA_TOKEN, &yes, sizeof yes),        Attr(CKA_SIGN, &yes, sizeof yes),
      Attr(CKA_PRIVATE, &yes, sizeof yes),      Attr(CKA_SENSITIVE, &yes, sizeof yes),
      Attr(CKA_EXTRACTABLE, &no, sizeof no),    Attr(CKA_LABEL, label.data(), label.size()),
      Attr(CKA_ID, label.data(), label.size()),
  };
  CK_MECHANISM mechanism{CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  CK_OBJECT_HANDLE public_key = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE private_key = CK_INVALID_HANDLE;
  if (const CK_RV rv = session->Functions()->C_GenerateKeyPair(
          session->handle, &mechanism, public_template.data(), public_template.size(),
          private_template.data(), private_template.size(), &public_key, &private_key);
      rv != CKR_OK) {
    return TokenError("C_GenerateKeyPair", rv);
  }
  return FindLocked(session, label);
}

}  // namespace
}  // namespace detail

Result<Pkcs11Token> Pkcs11Token::Open(const std::string& module_path, std::string_view token_label,
                                      std::string_view pin) {
  ULUS_ASSIGN_OR_RETURN(auto module, detail::LoadModule(module_path));
  ULUS_ASSIGN_OR_RETURN(const CK_SLOT_ID slot, detail::FindSlot(module->fn, token_label));
  auto session = std::make_shared<detail::Pkcs11Session>();
  session->module = std::move(module);
  if (const CK_RV rv = session->Functions()->C_OpenSession(
          slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session->handle);
      rv != CKR_OK) {
    return detail::TokenError("C_OpenSession", rv);
  }
  std::string pin_copy(pin);  // C_Login takes a non-const pointer
  const CK_RV rv = session->Functions()->C_Login(
      session->handle, CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(pin_copy.data()), pin_copy.size());
  std::fill(pin_copy.begin(), pin_copy.end(), '\0');
  if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED) {
    return Error{
        ErrorCode::kUnauthenticated,
        "PKCS#11 login to token \"" + std::string(token_label) + "\" failed: " + detail::RvText(rv),
        {}};
  }
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) return detail::TokenError("C_Login", rv);
  return Pkcs11Token(std::move(session));
}

Result<std::unique_ptr<Signer>> Pkcs11Token::FindKey(std::string_view label) const {
  const std::lock_guard lock(session_->mu);
  return detail::FindLocked(session_, label);
}

Result<std::unique_ptr<Signer>> Pkcs11Token::GenerateKey(std::string_view label) const {
  const std::lock_guard lock(session_->mu);
  return detail::GenerateLocked(session_, label);
}

Result<std::unique_ptr<Signer>> Pkcs11Token::FindOrGenerateKey(std::string_view label) const {
  // One lock across find and generate, so two callers cannot both create the key.
  const std::lock_guard lock(session_->mu);
  auto found = detail::FindLocked(session_, label);
  if (found.ok() || found.error().code != ErrorCode::kNotFound) return found;
  return detail::GenerateLocked(session_, label);
}

}  // namespace ulus::crypto
