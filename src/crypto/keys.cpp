#include "ulus/crypto/keys.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <array>
#include <climits>

#include "key_access.hpp"
#include "openssl_util.hpp"
#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"

namespace ulus::crypto {

using detail::BioPtr;
using detail::BnPtr;
using detail::ClearOpenSslErrors;
using detail::EcdsaSigPtr;
using detail::MdCtxPtr;
using detail::ParamBldPtr;
using detail::ParamPtr;
using detail::PkeyCtxPtr;
using detail::PkeyPtr;
using nlohmann::json;

namespace {

constexpr size_t kP256CoordinateBytes = 32;
constexpr size_t kEs256SignatureBytes = 2 * kP256CoordinateBytes;
constexpr size_t kEd25519KeyBytes = 32;
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 4096;
// A PEM or JWK far larger than any key we accept is refused before OpenSSL parses it.
constexpr size_t kMaxKeyTextBytes = size_t{64} * 1024;

Error KeyError(std::string message) {
  return Error::InvalidArgument(std::move(message), "key");
}

Error SignatureError(std::string message) {
  return Error{ErrorCode::kUnauthenticated, std::move(message), "signature"};
}

// Which of our algorithms `pkey` serves, or nothing if it is another kind or size of key.
std::optional<SignatureAlg> AlgOfKey(const EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "EC")) {
    std::array<char, 64> group{};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(pkey, group.data(), group.size(), &len) != 1) return std::nullopt;
    const std::string_view name(group.data(), len);
    if (name == "prime256v1" || name == "P-256") return SignatureAlg::kEs256;
    return std::nullopt;
  }
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    const int bits = EVP_PKEY_get_bits(pkey);
    if (bits < kMinRsaBits || bits > kMaxRsaBits) return std::nullopt;
    return SignatureAlg::kRs256;
  }
  if (EVP_PKEY_is_a(pkey, "ED25519")) return SignatureAlg::kEdDsa;
  return std::nullopt;
}

constexpr std::string_view kUnsupportedKey =
    "unsupported key: Ulus signs with P-256 (ES256), RSA of 2048 to 4096 bits (RS256) or Ed25519 "
    "(EdDSA)";

// SHA-256 fetched once for the process: fetching by name on every call costs more than the
// ECDSA signature itself. Ed25519 hashes internally (PureEdDSA), so it takes no digest.
const EVP_MD* Digest(SignatureAlg alg) {
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  ULUS_ASSERT(sha256 != nullptr);
  return alg == SignatureAlg::kEdDsa ? nullptr : sha256;
}

std::string Base64UrlOfBn(const BIGNUM* bn, size_t pad_to) {
  const auto natural = static_cast<size_t>(BN_num_bytes(bn));
  std::vector<uint8_t> bytes(std::max(natural, pad_to));
  BN_bn2binpad(bn, bytes.data(), static_cast<int>(bytes.size()));
  return Base64UrlEncode(bytes);
}

Result<std::string> Base64UrlOfBnParam(const EVP_PKEY* pkey, const char* name, size_t pad_to) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) {
    ClearOpenSslErrors();
    return Error::Internal("cannot read a public key component");
  }
  const BnPtr bn(raw);
  return Base64UrlOfBn(bn.get(), pad_to);
}

// The members RFC 7638 requires for the thumbprint, which are exactly the public key: nothing
// else, so the JSON's sorted compact form is the canonical input.
Result<json> RequiredMembers(const EVP_PKEY* pkey, SignatureAlg alg) {
  switch (alg) {
    case SignatureAlg::kEs256: {
      ULUS_ASSIGN_OR_RETURN(
          auto x, Base64UrlOfBnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_X, kP256CoordinateBytes));
      ULUS_ASSIGN_OR_RETURN(
          auto y, Base64UrlOfBnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, kP256CoordinateBytes));
      return json{{"kty", "EC"}, {"crv", "P-256"}, {"x", std::move(x)}, {"y", std::move(y)}};
    }
    case SignatureAlg::kRs256: {
      ULUS_ASSIGN_OR_RETURN(auto n, Base64UrlOfBnParam(pkey, OSSL_PKEY_PARAM_RSA_N, 0));
      ULUS_ASSIGN_OR_RETURN(auto e, Base64UrlOfBnParam(pkey, OSSL_PKEY_PARAM_RSA_E, 0));
      return json{{"kty", "RSA"}, {"n", std::move(n)}, {"e", std::move(e)}};
    }
    case SignatureAlg::kEdDsa: {
      std::array<uint8_t, kEd25519KeyBytes> raw{};
      size_t len = raw.size();
      if (EVP_PKEY_get_raw_public_key(pkey, raw.data(), &len) != 1 || len != raw.size()) {
        ClearOpenSslErrors();
        return Error::Internal("cannot read the Ed25519 public key");
      }
      return json{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", Base64UrlEncode(raw)}};
    }
  }
  return Error::Internal("unknown algorithm");
}

std::string ThumbprintOf(const json& required_members) {
  return Base64UrlEncode(Sha256(required_members.dump()));
}

Result<std::vector<uint8_t>> DecodeMember(const json& jwk, const char* name) {
  const auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return KeyError(std::string("the JWK has no string member \"") + name + "\"");
  }
  auto bytes = Base64UrlDecode(it->get_ref<const std::string&>());
  if (!bytes || bytes->empty()) {
    return KeyError(std::string("the JWK member \"") + name + "\" is not base64url");
  }
  return std::move(*bytes);
}

Result<PkeyPtr> FromParams(const char* type, const ParamBldPtr& bld) {
  const ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  const PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ClearOpenSslErrors();
    return KeyError("the JWK does not describe a valid public key");
  }
  return PkeyPtr(raw);
}

// Checks that an EC point lies on the curve and an RSA modulus is sane: a point off the curve
// is the classic invalid-curve attack on keys that arrive from outside.
Status CheckPublic(EVP_PKEY* pkey) {
  const PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx || EVP_PKEY_public_check(ctx.get()) != 1) {
    ClearOpenSslErrors();
    return KeyError("the public key fails validation (point not on the curve or bad modulus)");
  }
  return Ok();
}

Result<PkeyPtr> EcFromJwk(const json& jwk) {
  ULUS_ASSIGN_OR_RETURN(auto x, DecodeMember(jwk, "x"));
  ULUS_ASSIGN_OR_RETURN(auto y, DecodeMember(jwk, "y"));
  // RFC 7518 §6.2.1.2: coordinates are the full 32 bytes, never shortened.
  if (x.size() != kP256CoordinateBytes || y.size() != kP256CoordinateBytes) {
    return KeyError("P-256 coordinates must be 32 bytes each");
  }
  std::vector<uint8_t> point{POINT_CONVERSION_UNCOMPRESSED};
  point.insert(point.end(), x.begin(), x.end());
  point.insert(point.end(), y.begin(), y.end());
  const ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Error::Internal("cannot build EC key parameters");
  }
  return FromParams("EC", bld);
}

Result<PkeyPtr> RsaFromJwk(const json& jwk) {
  ULUS_ASSIGN_OR_RETURN(auto n_bytes, DecodeMember(jwk, "n"));
  ULUS_ASSIGN_OR_RETURN(auto e_bytes, DecodeMember(jwk, "e"));
  if (n_bytes.size() > static_cast<size_t>(kMaxRsaBits / CHAR_BIT) + 1 || e_bytes.size() > 8) {
    return KeyError(std::string(kUnsupportedKey));
  }
  const BnPtr n(BN_bin2bn(n_bytes.data(), static_cast<int>(n_bytes.size()), nullptr));
  const BnPtr e(BN_bin2bn(e_bytes.data(), static_cast<int>(e_bytes.size()), nullptr));
  const ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!n || !e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return Error::Internal("cannot build RSA key parameters");
  }
  return FromParams("RSA", bld);
}

Result<PkeyPtr> Ed25519FromJwk(const json& jwk) {
  ULUS_ASSIGN_OR_RETURN(auto x, DecodeMember(jwk, "x"));
  if (x.size() != kEd25519KeyBytes) return KeyError("an Ed25519 public key is 32 bytes");
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr, x.data(), x.size()));
  if (!pkey) {
    ClearOpenSslErrors();
    return KeyError("the JWK does not describe a valid Ed25519 key");
  }
  return pkey;
}

Result<std::vector<uint8_t>> DerToJose(std::span<const uint8_t> der) {
  const unsigned char* p = der.data();
  const EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) {
    ClearOpenSslErrors();
    return Error::Internal("the ECDSA signature could not be decoded");
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::vector<uint8_t> out(kEs256SignatureBytes);
  if (BN_bn2binpad(r, out.data(), kP256CoordinateBytes) < 0 ||
      BN_bn2binpad(s, out.data() + kP256CoordinateBytes, kP256CoordinateBytes) < 0) {
    return Error::Internal("the ECDSA signature does not fit P-256");
  }
  return out;
}

// The DER form OpenSSL verifies, from JOSE's raw r||s; nothing if the length is wrong.
std::optional<std::vector<uint8_t>> JoseToDer(std::span<const uint8_t> raw) {
  if (raw.size() != kEs256SignatureBytes) return std::nullopt;
  BnPtr r(BN_bin2bn(raw.data(), kP256CoordinateBytes, nullptr));
  BnPtr s(BN_bin2bn(raw.data() + kP256CoordinateBytes, kP256CoordinateBytes, nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  static_cast<void>(r.release());  // owned by sig now
  static_cast<void>(s.release());
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return std::nullopt;
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* q = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &q) != len) return std::nullopt;
  return der;
}

Result<std::vector<uint8_t>> SignWith(EVP_PKEY* pkey, SignatureAlg alg,
                                      std::span<const uint8_t> data) {
  const MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, Digest(alg), nullptr, pkey) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, data.data(), data.size()) != 1) {
    ClearOpenSslErrors();
    return Error::Internal("signing failed to start");
  }
  std::vector<uint8_t> sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, data.data(), data.size()) != 1) {
    ClearOpenSslErrors();
    return Error::Internal("signing failed");
  }
  sig.resize(len);
  if (alg == SignatureAlg::kEs256) return DerToJose(sig);
  return sig;
}

int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) {
  return -1;
}

BioPtr ReadOnlyBio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

}  // namespace

std::string_view AlgName(SignatureAlg alg) {
  switch (alg) {
    case SignatureAlg::kEs256: return "ES256";
    case SignatureAlg::kRs256: return "RS256";
    case SignatureAlg::kEdDsa: return "EdDSA";
  }
  return "?";
}

std::optional<SignatureAlg> AlgFromName(std::string_view name) {
  for (const auto alg : {SignatureAlg::kEs256, SignatureAlg::kRs256, SignatureAlg::kEdDsa}) {
    if (AlgName(alg) == name) return alg;
  }
  return std::nullopt;
}

struct PublicKey::Impl {
  std::shared_ptr<EVP_PKEY> pkey;  // public half only; shared by WithKid copies
  SignatureAlg alg = SignatureAlg::kEs256;
  json required;  // the RFC 7638 members
  std::string thumbprint;
  std::string kid;
};

namespace {

// A PublicKey from a public-only EVP_PKEY, validated.
Result<std::shared_ptr<const PublicKey::Impl>> MakePublicImpl(PkeyPtr pkey,
                                                              std::optional<std::string> kid) {
  const auto alg = AlgOfKey(pkey.get());
  if (!alg) return KeyError(std::string(kUnsupportedKey));
  if (*alg != SignatureAlg::kEdDsa) ULUS_TRY(CheckPublic(pkey.get()));
  ULUS_ASSIGN_OR_RETURN(auto required, RequiredMembers(pkey.get(), *alg));
  auto impl = std::make_shared<PublicKey::Impl>();
  impl->pkey = std::shared_ptr<EVP_PKEY>(pkey.release(), EVP_PKEY_free);
  impl->alg = *alg;
  impl->thumbprint = ThumbprintOf(required);
  impl->kid = kid ? std::move(*kid) : impl->thumbprint;
  impl->required = std::move(required);
  return std::shared_ptr<const PublicKey::Impl>(std::move(impl));
}

}  // namespace

Result<PublicKey> PublicKey::FromJwk(const json& jwk) {
  if (!jwk.is_object()) return KeyError("a JWK must be a JSON object");
  for (const char* member : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
    if (jwk.contains(member)) {
      return KeyError("the JWK holds private key material; give the public key only");
    }
  }
  const auto kty = jwk.find("kty");
  if (kty == jwk.end() || !kty->is_string()) return KeyError("the JWK has no \"kty\"");
  if (const auto use = jwk.find("use"); use != jwk.end() && *use != "sig") {
    return KeyError(R"(the JWK is not a signature key ("use" is not "sig"))");
  }
  std::optional<SignatureAlg> declared_alg;
  if (const auto alg = jwk.find("alg"); alg != jwk.end()) {
    if (!alg->is_string()) return KeyError("the JWK \"alg\" must be a string");
    declared_alg = AlgFromName(alg->get_ref<const std::string&>());
    if (!declared_alg) return KeyError("the JWK \"alg\" is not ES256, RS256 or EdDSA");
  }
  std::optional<std::string> kid;
  if (const auto it = jwk.find("kid"); it != jwk.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
      return KeyError("the JWK \"kid\" must be a non-empty string");
    }
    kid = it->get<std::string>();
  }

  const auto& type = kty->get_ref<const std::string&>();
  const auto crv_it = jwk.find("crv");  // not json::value(), which throws on a non-string
  const std::string crv =
      crv_it != jwk.end() && crv_it->is_string() ? crv_it->get<std::string>() : std::string();
  Result<PkeyPtr> pkey = KeyError(std::string(kUnsupportedKey));
  if (type == "EC" && crv == "P-256") {
    pkey = EcFromJwk(jwk);
  } else if (type == "RSA") {
    pkey = RsaFromJwk(jwk);
  } else if (type == "OKP" && crv == "Ed25519") {
    pkey = Ed25519FromJwk(jwk);
  }
  if (!pkey.ok()) return std::move(pkey).error();
  ULUS_ASSIGN_OR_RETURN(auto impl, MakePublicImpl(std::move(pkey).value(), std::move(kid)));
  if (declared_alg && *declared_alg != impl->alg) {
    return KeyError("the JWK \"alg\" does not fit its key type");
  }
  return PublicKey(std::move(impl));
}

Result<PublicKey> PublicKey::FromPem(std::string_view pem) {
  if (pem.size() > kMaxKeyTextBytes) return KeyError("the PEM text is too long for a key");
  const BioPtr bio = ReadOnlyBio(pem);
  PkeyPtr pkey(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  if (!pkey) {
    ClearOpenSslErrors();
    return KeyError("the text is not a PEM public key (\"BEGIN PUBLIC KEY\")");
  }
  ULUS_ASSIGN_OR_RETURN(auto impl, MakePublicImpl(std::move(pkey), std::nullopt));
  return PublicKey(std::move(impl));
}

SignatureAlg PublicKey::Alg() const {
  return impl_->alg;
}
const std::string& PublicKey::Kid() const {
  return impl_->kid;
}
const std::string& PublicKey::Thumbprint() const {
  return impl_->thumbprint;
}

json PublicKey::Jwk() const {
  json jwk = impl_->required;
  jwk["kid"] = impl_->kid;
  jwk["alg"] = AlgName(impl_->alg);
  jwk["use"] = "sig";
  return jwk;
}

std::string PublicKey::ToPem() const {
  const BioPtr bio(BIO_new(BIO_s_mem()));
  ULUS_ASSERT(bio && PEM_write_bio_PUBKEY(bio.get(), impl_->pkey.get()) == 1);
  char* data = nullptr;
  const long len = BIO_ctrl(bio.get(), BIO_CTRL_INFO, 0, &data);
  ULUS_ASSERT(len > 0 && data != nullptr);
  return {data, static_cast<size_t>(len)};
}

Status PublicKey::Verify(SignatureAlg alg, std::span<const uint8_t> data,
                         std::span<const uint8_t> signature) const {
  if (alg != impl_->alg) {
    return SignatureError(std::string("algorithm ") + std::string(AlgName(alg)) +
                          " does not match the key, which is " + std::string(AlgName(impl_->alg)));
  }
  std::optional<std::vector<uint8_t>> der;
  if (alg == SignatureAlg::kEs256) {
    der = JoseToDer(signature);
    if (!der) return SignatureError("signature is invalid: an ES256 signature is 64 bytes");
    signature = *der;
  }
  const MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, Digest(alg), nullptr, impl_->pkey.get()) != 1) {
    ClearOpenSslErrors();
    return Error::Internal("signature verification failed to start");
  }
  const int rc =
      EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), data.data(), data.size());
  if (rc != 1) {
    ClearOpenSslErrors();
    return SignatureError("signature is invalid");
  }
  return Ok();
}

PublicKey PublicKey::WithKid(std::string kid) const {
  auto impl = std::make_shared<Impl>(*impl_);
  impl->kid = std::move(kid);
  return PublicKey(std::move(impl));
}

struct SigningKey::Impl {
  PkeyPtr pkey;
  PublicKey public_key;
};

namespace {

Result<SigningKey> FromPrivatePkey(PkeyPtr pkey);

}  // namespace

SigningKey::SigningKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SigningKey::SigningKey(SigningKey&& other) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&& other) noexcept = default;
SigningKey::~SigningKey() = default;

const PublicKey& SigningKey::Public() const {
  return impl_->public_key;
}

Result<std::vector<uint8_t>> SigningKey::Sign(std::span<const uint8_t> data) const {
  return SignWith(impl_->pkey.get(), impl_->public_key.Alg(), data);
}

Result<SigningKey> SigningKey::Generate(SignatureAlg alg, int rsa_bits) {
  PkeyCtxPtr ctx;
  switch (alg) {
    case SignatureAlg::kEs256:
      ctx.reset(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
      if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
          EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256") != 1) {
        ctx.reset();
      }
      break;
    case SignatureAlg::kRs256:
      if (rsa_bits != 2048 && rsa_bits != 3072 && rsa_bits != 4096) {
        return Error::InvalidArgument("RSA keys are 2048, 3072 or 4096 bits", "rsa_bits");
      }
      ctx.reset(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
      if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
          EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), rsa_bits) != 1) {
        ctx.reset();
      }
      break;
    case SignatureAlg::kEdDsa:
      ctx.reset(EVP_PKEY_CTX_new_from_name(nullptr, "ED25519", nullptr));
      if (ctx && EVP_PKEY_keygen_init(ctx.get()) != 1) ctx.reset();
      break;
  }
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_generate(ctx.get(), &raw) != 1) {
    ClearOpenSslErrors();
    return Error::Internal("key generation failed");
  }
  return FromPrivatePkey(PkeyPtr(raw));
}

Result<SigningKey> SigningKey::FromPem(std::string_view pem) {
  if (pem.size() > kMaxKeyTextBytes) return KeyError("the PEM text is too long for a key");
  const BioPtr bio = ReadOnlyBio(pem);
  PkeyPtr pkey(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  if (!pkey) {
    ClearOpenSslErrors();
    // Never quote the input: it is a private key.
    return KeyError("the text is not an unencrypted PEM private key");
  }
  return FromPrivatePkey(std::move(pkey));
}

namespace {

Result<SigningKey> FromPrivatePkey(PkeyPtr pkey) {
  const auto alg = AlgOfKey(pkey.get());
  if (!alg) return KeyError(std::string(kUnsupportedKey));
  ULUS_ASSIGN_OR_RETURN(auto required, RequiredMembers(pkey.get(), *alg));
  ULUS_ASSIGN_OR_RETURN(auto public_key, PublicKey::FromJwk(required));
  auto impl =
      std::make_unique<SigningKey::Impl>(SigningKey::Impl{std::move(pkey), std::move(public_key)});
  return detail::SigningKeyAccess::Wrap(std::move(impl));
}

}  // namespace

namespace detail {

SigningKey SigningKeyAccess::Wrap(std::unique_ptr<SigningKey::Impl> impl) {
  return SigningKey(std::move(impl));
}

Result<std::vector<uint8_t>> SigningKeyAccess::ExportPkcs8(const SigningKey& key) {
  using EncoderPtr =
      std::unique_ptr<OSSL_ENCODER_CTX, OpenSslDeleter<OSSL_ENCODER_CTX, OSSL_ENCODER_CTX_free>>;
  const EncoderPtr enc(OSSL_ENCODER_CTX_new_for_pkey(key.impl_->pkey.get(), EVP_PKEY_KEYPAIR, "DER",
                                                     "PrivateKeyInfo", nullptr));
  unsigned char* data = nullptr;
  size_t len = 0;
  if (!enc || OSSL_ENCODER_to_data(enc.get(), &data, &len) != 1) {
    ClearOpenSslErrors();
    return Error::Internal("the private key could not be encoded");
  }
  std::vector<uint8_t> der(data, data + len);
  OPENSSL_clear_free(data, len);
  return der;
}

Result<SigningKey> SigningKeyAccess::ImportPkcs8(std::span<const uint8_t> der) {
  const unsigned char* p = der.data();
  PkeyPtr pkey(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size())));
  if (!pkey) {
    ClearOpenSslErrors();
    return KeyError("the bytes are not a PKCS#8 private key");
  }
  return FromPrivatePkey(std::move(pkey));
}

}  // namespace detail

}  // namespace ulus::crypto
