#include "ulus/exchange/certificates.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include "ulus/core/files.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/random.hpp"

namespace ulus::exchange {
namespace {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
using NamePtr = std::unique_ptr<GENERAL_NAME, Deleter<GENERAL_NAME_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;

// PEM certificate requests and certificates are a kilobyte or two; this bounds what we parse.
constexpr size_t kMaxPemBytes = size_t{64} * 1024;
constexpr size_t kSerialBytes = 16;  // 128 random bits
constexpr size_t kMaxDnsName = 253;
constexpr size_t kMaxDnsLabel = 63;
constexpr int kX509Version3 = 2;  // X.509's version field counts from 0
constexpr const char* kKeyFile = "ca.key";
constexpr const char* kCertificateFile = "ca.pem";

// Drops OpenSSL's thread-local error queue so a failure does not linger into an unrelated call.
void ClearErrors() {
  ERR_clear_error();
}

Error Invalid(std::string message, std::string field) {
  ClearErrors();
  return Error::InvalidArgument(std::move(message), std::move(field));
}

Error Precondition(std::string message) {
  ClearErrors();
  return Error{ErrorCode::kFailedPrecondition, std::move(message), {}};
}

Error Internal(std::string message) {
  ClearErrors();
  return Error::Internal(std::move(message));
}

int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) {
  return -1;
}

BioPtr ReadOnlyBio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);  // NOLINT(google-runtime-int): OpenSSL's type
  if (size <= 0 || data == nullptr) return {};
  return {data, static_cast<size_t>(size)};
}

std::string LowerHex(const unsigned char* bytes, size_t size) {
  return crypto::HexEncode(std::span<const uint8_t>(bytes, size));
}

TimePoint ToTimePoint(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return TimePoint{};
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

bool SetTime(ASN1_TIME* field, TimePoint at) {
  return ASN1_TIME_set(field, std::chrono::system_clock::to_time_t(at)) != nullptr;
}

// RFC 4514 text with UTF-8 left unescaped: the same as http's PeerCertificate::subject.
std::string DistinguishedName(const X509_NAME* name) {
  const BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return {};
  constexpr auto kFlags = static_cast<unsigned long>(  // NOLINT(google-runtime-int)
      XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  if (X509_NAME_print_ex(bio.get(), name, 0, kFlags) < 0) return {};
  return BioText(bio.get());
}

bool IsP256(const EVP_PKEY* pkey) {
  if (pkey == nullptr || !EVP_PKEY_is_a(pkey, "EC")) return false;
  std::array<char, 64> group{};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(pkey, group.data(), group.size(), &len) != 1) return false;
  const std::string_view name(group.data(), len);
  return name == "prime256v1" || name == "P-256";
}

Result<PkeyPtr> GenerateP256() {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256") != 1) {
    return Internal("cannot set up P-256 key generation");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &raw) != 1) return Internal("P-256 key generation failed");
  return PkeyPtr(raw);
}

Result<std::string> PrivateKeyPem(EVP_PKEY* pkey) {
  const BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Internal("cannot write the private key as PEM");
  }
  return BioText(bio.get());
}

Result<PkeyPtr> ReadPrivateKey(std::string_view pem, std::string_view what) {
  if (pem.size() > kMaxPemBytes) return Invalid(std::string(what) + " is too long", "key");
  const BioPtr bio = ReadOnlyBio(pem);
  PkeyPtr pkey(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  if (!pkey) return Invalid(std::string(what) + " is not an unencrypted PEM private key", "key");
  return pkey;
}

Result<X509Ptr> ReadX509(std::string_view pem, const std::string& field) {
  if (pem.size() > kMaxPemBytes) return Invalid("the certificate text is too long", field);
  const BioPtr bio = ReadOnlyBio(pem);
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  if (!cert) return Invalid("not a PEM certificate", field);
  return cert;
}

// Every certificate in a PEM bundle.
Result<std::vector<X509Ptr>> ReadX509Bundle(std::string_view pem, const std::string& field) {
  if (pem.size() > kMaxPemBytes) return Invalid("the certificate text is too long", field);
  const BioPtr bio = ReadOnlyBio(pem);
  std::vector<X509Ptr> out;
  while (bio) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr));
    if (!cert) break;
    out.push_back(std::move(cert));
  }
  ClearErrors();  // the read past the last certificate leaves "no start line" behind
  if (out.empty()) return Invalid("not a PEM certificate", field);
  return out;
}

Result<CertificateInfo> Describe(X509* cert) {
  CertificateInfo info;
  const BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return Internal("cannot write a certificate as PEM");
  }
  info.pem = BioText(bio.get());
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int size = 0;
  if (X509_digest(cert, EVP_sha256(), md.data(), &size) != 1) {
    return Internal("cannot hash a certificate");
  }
  info.sha256 = LowerHex(md.data(), size);
  info.subject = DistinguishedName(X509_get_subject_name(cert));
  info.not_after = ToTimePoint(X509_get0_notAfter(cert));
  return info;
}

Status AddNameEntry(X509_NAME* name, const char* field, const std::string& value,
                    const std::string& error_field) {
  if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.c_str()),  // NOLINT
                                 static_cast<int>(value.size()), -1, 0) != 1) {
    return Invalid(std::string("\"") + value + "\" does not fit a certificate's " + field +
                       " (at most 64 characters)",
                   error_field);
  }
  return Ok();
}

Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  const ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return Internal(std::string("cannot add the certificate extension ") + OBJ_nid2sn(nid));
  }
  return Ok();
}

Status SetRandomSerial(X509* cert) {
  const auto bytes = crypto::RandomBytes(kSerialBytes);
  const BnPtr serial(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  // A zero serial is not allowed (RFC 5280 §4.1.2.2); 2^-128 odds, but cheap to rule out.
  if (!serial || (BN_is_zero(serial.get()) && BN_set_word(serial.get(), 1) != 1) ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) {
    return Internal("cannot set a certificate serial");
  }
  return Ok();
}

bool IsDnsName(std::string_view name) {
  if (name.empty() || name.size() > kMaxDnsName) return false;
  size_t start = 0;
  while (start <= name.size()) {
    const size_t dot = std::min(name.find('.', start), name.size());
    const std::string_view label = name.substr(start, dot - start);
    if (label.empty() || label.size() > kMaxDnsLabel || label.front() == '-' ||
        label.back() == '-') {
      return false;
    }
    for (const char c : label) {
      if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-') return false;
    }
    start = dot + 1;
  }
  return true;
}

// subjectAltName built from structures rather than OpenSSL's "DNS:a,IP:b" text, so no host can
// smuggle in a name of another kind through a comma.
Status AddSubjectAltNames(X509* cert, const std::vector<std::string>& hosts) {
  const NamesPtr names(GENERAL_NAMES_new());
  if (!names) return Internal("out of memory");
  std::set<std::string> seen;
  for (size_t i = 0; i < hosts.size(); ++i) {
    const std::string field = "hosts[" + std::to_string(i) + "]";
    std::string host = hosts[i];
    std::transform(host.begin(), host.end(), host.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!seen.insert(host).second) continue;
    NamePtr name(GENERAL_NAME_new());
    if (!name) return Internal("out of memory");
    if (ASN1_OCTET_STRING* ip = a2i_IPADDRESS(host.c_str()); ip != nullptr) {
      GENERAL_NAME_set0_value(name.get(), GEN_IPADD, ip);
    } else {
      ClearErrors();
      if (!IsDnsName(host)) {
        return Invalid("\"" + hosts[i] +
                           "\" is neither an IP address nor a DNS name (letters, digits, '-' "
                           "and '.'; no wildcards)",
                       field);
      }
      ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
      if (dns == nullptr || ASN1_STRING_set(dns, host.data(), static_cast<int>(host.size())) != 1) {
        ASN1_IA5STRING_free(dns);
        return Internal("out of memory");
      }
      GENERAL_NAME_set0_value(name.get(), GEN_DNS, dns);
    }
    if (sk_GENERAL_NAME_push(names.get(), name.get()) <= 0) return Internal("out of memory");
    static_cast<void>(name.release());  // owned by `names` now
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return Internal("cannot add subjectAltName");
  }
  return Ok();
}

Result<std::string> ReadFileText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Precondition("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string RootName(std::string_view instance) {
  return std::string(instance) + " Khur CA";
}

Result<X509Ptr> MakeRoot(EVP_PKEY* key, std::string_view instance, const Clock& clock) {
  X509Ptr cert(X509_new());
  if (!cert) return Internal("out of memory");
  const auto now = clock.Now();
  if (X509_set_version(cert.get(), kX509Version3) != 1 ||
      !SetTime(X509_getm_notBefore(cert.get()), now - CertificateAuthority::kBackdate) ||
      !SetTime(X509_getm_notAfter(cert.get()), now + CertificateAuthority::kRootValidity) ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return Internal("cannot fill in the CA certificate");
  }
  ULUS_TRY(SetRandomSerial(cert.get()));
  X509_NAME* name = X509_get_subject_name(cert.get());
  ULUS_TRY(AddNameEntry(name, "CN", RootName(instance), "instance"));
  if (X509_set_issuer_name(cert.get(), name) != 1) return Internal("cannot set the CA's issuer");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  ULUS_TRY(AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  ULUS_TRY(AddExtension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign"));
  ULUS_TRY(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key, EVP_sha256()) <= 0) return Internal("cannot sign the CA");
  return cert;
}

}  // namespace

struct CertificateAuthority::Impl {
  PkeyPtr key;
  X509Ptr cert;
  CertificateInfo info;
  const Clock* clock = nullptr;
};

CertificateAuthority::CertificateAuthority(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CertificateAuthority::~CertificateAuthority() = default;

const std::string& CertificateAuthority::CertificatePem() const {
  return impl_->info.pem;
}

const CertificateInfo& CertificateAuthority::Certificate() const {
  return impl_->info;
}

Result<std::unique_ptr<CertificateAuthority>> CertificateAuthority::OpenOrCreate(
    const std::filesystem::path& dir, std::string_view instance, const Clock& clock) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return Precondition("cannot create " + dir.string() + ": " + ec.message());
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  }
  const auto key_path = dir / kKeyFile;
  const auto cert_path = dir / kCertificateFile;
  const bool have_key = std::filesystem::exists(key_path, ec);
  const bool have_cert = std::filesystem::exists(cert_path, ec);
  if (!have_key && have_cert) {
    return Precondition(cert_path.string() + " exists without its key " + key_path.string() +
                        "; restore the key or move the certificate away to make a new CA");
  }

  auto impl = std::make_unique<Impl>();
  impl->clock = &clock;
  if (have_key) {
    ULUS_ASSIGN_OR_RETURN(const auto pem, ReadFileText(key_path));
    auto key = ReadPrivateKey(pem, key_path.string());
    if (!key.ok()) return Precondition(key.error().message);
    impl->key = std::move(key).value();
    if (!IsP256(impl->key.get())) return Precondition(key_path.string() + " is not a P-256 key");
  } else {
    ULUS_ASSIGN_OR_RETURN(impl->key, GenerateP256());
    ULUS_ASSIGN_OR_RETURN(const auto pem, PrivateKeyPem(impl->key.get()));
    ULUS_TRY(WritePrivateFile(key_path, pem));
  }

  if (have_cert) {
    ULUS_ASSIGN_OR_RETURN(const auto pem, ReadFileText(cert_path));
    auto cert = ReadX509(pem, "ca.pem");
    if (!cert.ok()) return Precondition(cert_path.string() + " is not a PEM certificate");
    impl->cert = std::move(cert).value();
  } else {
    ULUS_ASSIGN_OR_RETURN(impl->cert, MakeRoot(impl->key.get(), instance, clock));
    ULUS_ASSIGN_OR_RETURN(const auto info, Describe(impl->cert.get()));
    ULUS_TRY(WritePrivateFile(cert_path, info.pem));
    spdlog::info("Khur CA created in {}: {}, SHA-256 {}", dir.string(), info.subject, info.sha256);
  }

  if (X509_check_private_key(impl->cert.get(), impl->key.get()) != 1) {
    return Precondition(cert_path.string() + " does not belong to the key " + key_path.string());
  }
  if (X509_check_ca(impl->cert.get()) == 0) {
    return Precondition(cert_path.string() + " is not a CA certificate");
  }
  ULUS_ASSIGN_OR_RETURN(impl->info, Describe(impl->cert.get()));
  const std::string expected_subject = "CN=" + RootName(instance);
  if (impl->info.subject != expected_subject) {
    return Precondition(cert_path.string() + " is the CA \"" + impl->info.subject + "\", not \"" +
                        expected_subject + "\"; is this the right directory?");
  }
  if (impl->info.not_after <= clock.Now()) {
    return Precondition("the CA in " + dir.string() + " expired at " +
                        FormatRfc3339(impl->info.not_after) +
                        "; move ca.key and ca.pem away to make a new one");
  }
  return std::unique_ptr<CertificateAuthority>(new CertificateAuthority(std::move(impl)));
}

Result<CertificateInfo> CertificateAuthority::Issue(std::string_view csr_pem,
                                                    const ClientId& subsystem,
                                                    const std::vector<std::string>& hosts,
                                                    std::chrono::days validity) const {
  if (!subsystem.subsystem) {
    return Invalid("a node certificate is for a subsystem, INSTANCE/CLASS/MEMBER/SUBSYSTEM",
                   "subsystem");
  }
  if (validity.count() <= 0) return Invalid("validity must be positive", "validity");
  if (hosts.size() > kMaxHosts) {
    return Invalid("at most " + std::to_string(kMaxHosts) + " host names", "hosts");
  }
  if (csr_pem.size() > kMaxPemBytes) return Invalid("the certificate request is too long", "csr");
  const BioPtr bio = ReadOnlyBio(csr_pem);
  const ReqPtr req(bio ? PEM_read_bio_X509_REQ(bio.get(), nullptr, NoPassphrase, nullptr)
                       : nullptr);
  if (!req) return Invalid("not a PEM certificate request (PKCS#10)", "csr");
  EVP_PKEY* public_key = X509_REQ_get0_pubkey(req.get());
  if (!IsP256(public_key)) return Invalid("the request's key must be an EC P-256 key", "csr");
  if (X509_REQ_verify(req.get(), public_key) != 1) {
    return Invalid("the request's signature does not verify with its own key", "csr");
  }

  X509Ptr cert(X509_new());
  if (!cert) return Internal("out of memory");
  const auto now = impl_->clock->Now();
  const auto not_after = std::min(now + validity, impl_->info.not_after);
  if (X509_set_version(cert.get(), kX509Version3) != 1 ||
      !SetTime(X509_getm_notBefore(cert.get()), now - kBackdate) ||
      !SetTime(X509_getm_notAfter(cert.get()), not_after) ||
      X509_set_pubkey(cert.get(), public_key) != 1 ||
      X509_set_issuer_name(cert.get(), X509_get_subject_name(impl_->cert.get())) != 1) {
    return Internal("cannot fill in a certificate");
  }
  ULUS_TRY(SetRandomSerial(cert.get()));
  X509_NAME* name = X509_get_subject_name(cert.get());
  ULUS_TRY(AddNameEntry(name, "O", subsystem.member.member_code, "subsystem"));
  ULUS_TRY(AddNameEntry(name, "CN", subsystem.ToString(), "subsystem"));

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, impl_->cert.get(), cert.get(), nullptr, nullptr, 0);
  ULUS_TRY(AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
  ULUS_TRY(AddExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature"));
  ULUS_TRY(AddExtension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth,clientAuth"));
  ULUS_TRY(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  ULUS_TRY(AddExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  const std::vector<std::string> default_hosts = {"127.0.0.1", "localhost"};
  ULUS_TRY(AddSubjectAltNames(cert.get(), hosts.empty() ? default_hosts : hosts));
  if (X509_sign(cert.get(), impl_->key.get(), EVP_sha256()) <= 0) {
    return Internal("cannot sign a certificate");
  }
  return Describe(cert.get());
}

Result<CertificateInfo> ReadCertificate(std::string_view pem) {
  ULUS_ASSIGN_OR_RETURN(const auto cert, ReadX509(pem, "certificate"));
  return Describe(cert.get());
}

Result<std::string> GenerateP256KeyPem() {
  ULUS_ASSIGN_OR_RETURN(const auto key, GenerateP256());
  return PrivateKeyPem(key.get());
}

Result<NodeKeyAndCsr> MakeNodeKeyAndCsr(const ClientId& subsystem) {
  ULUS_ASSIGN_OR_RETURN(const auto key, GenerateP256());
  const ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1) {
    return Internal("cannot make a certificate request");
  }
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  ULUS_TRY(AddNameEntry(name, "CN", subsystem.ToString(), "subsystem"));
  if (X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) {
    return Internal("cannot sign the certificate request");
  }
  const BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) {
    return Internal("cannot write the certificate request");
  }
  NodeKeyAndCsr out;
  out.csr_pem = BioText(bio.get());
  ULUS_ASSIGN_OR_RETURN(out.key_pem, PrivateKeyPem(key.get()));
  return out;
}

Status CheckKeyPair(std::string_view certificate_pem, std::string_view private_key_pem) {
  auto cert = ReadX509(certificate_pem, "certificate");
  if (!cert.ok()) return Precondition("the certificate is not a PEM certificate");
  auto key = ReadPrivateKey(private_key_pem, "the TLS key");
  if (!key.ok()) return Precondition(key.error().message);
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    return Precondition("the certificate is not for this key");
  }
  return Ok();
}

Status VerifyNodeCertificate(std::string_view certificate_pem, std::string_view private_key_pem,
                             const std::vector<std::string>& ca_pems, const Clock& clock) {
  ULUS_TRY(CheckKeyPair(certificate_pem, private_key_pem));
  auto cert = ReadX509(certificate_pem, "certificate");
  if (!cert.ok()) return Precondition("the certificate is not a PEM certificate");
  const StorePtr store(X509_STORE_new());
  if (!store) return Internal("out of memory");
  for (size_t i = 0; i < ca_pems.size(); ++i) {
    auto bundle = ReadX509Bundle(ca_pems[i], "ca_certificates[" + std::to_string(i) + "]");
    if (!bundle.ok()) return Precondition("a CA certificate is not a PEM certificate");
    for (const auto& ca : *bundle) {
      if (X509_STORE_add_cert(store.get(), ca.get()) != 1) ClearErrors();  // a duplicate
    }
  }
  const StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), cert->get(), nullptr) != 1) {
    return Internal("cannot set up certificate verification");
  }
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()),
                             std::chrono::system_clock::to_time_t(clock.Now()));
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  if (X509_verify_cert(ctx.get()) != 1) {
    const int error = X509_STORE_CTX_get_error(ctx.get());
    return Precondition(
        std::string("the issued certificate does not chain to the authority's CA: ") +
        X509_verify_cert_error_string(error));
  }
  if (X509_check_purpose(cert->get(), X509_PURPOSE_SSL_SERVER, 0) != 1) {
    return Precondition("the issued certificate is not fit for a TLS server");
  }
  return Ok();
}

}  // namespace ulus::exchange
