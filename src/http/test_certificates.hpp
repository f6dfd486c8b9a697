#pragma once

// A test PKI made with OpenSSL's API: a CA, a server certificate for localhost and 127.0.0.1,
// client certificates good and bad, written to a temporary directory as the server and client
// options want them. For the http module's TLS tests.

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ulus/http/client.hpp"
#include "ulus/http/server.hpp"

namespace ulus::http::test {

inline constexpr long kHour = 3600;  // NOLINT(google-runtime-int): X509_gmtime_adj takes long

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Certificate = std::unique_ptr<X509, decltype(&X509_free)>;

// A key and the certificate issued for it.
struct Credential {
  Key key{nullptr, &EVP_PKEY_free};
  Certificate cert{nullptr, &X509_free};
};

struct Profile {
  std::string common_name;
  bool ca = false;
  std::string alt_names;        // subjectAltName, empty for none
  std::string key_purposes;     // extendedKeyUsage, empty for none
  long not_before = -kHour;     // NOLINT(google-runtime-int): seconds from now
  long not_after = 24 * kHour;  // NOLINT(google-runtime-int)
  uint64_t serial = 1;
};

inline void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what + " failed");
}

// Issues a certificate for a new P-256 key, signed by `issuer` or, without one, self-signed.
inline Credential Issue(const Profile& profile, const Credential* issuer = nullptr) {
  Credential out;
  out.key.reset(EVP_EC_gen("P-256"));
  out.cert.reset(X509_new());
  Check(out.key && out.cert, "allocation");
  X509* cert = out.cert.get();
  X509_set_version(cert, 2);
  const std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(BN_new(), &BN_free);
  BN_set_word(serial.get(), profile.serial);
  BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert));
  X509_gmtime_adj(X509_getm_notBefore(cert), profile.not_before);
  X509_gmtime_adj(X509_getm_notAfter(cert), profile.not_after);
  X509_set_pubkey(cert, out.key.get());
  X509_NAME* name = X509_get_subject_name(cert);
  const auto add = [name](const char* field, const std::string& value) {
    X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
  };
  add("C", "MN");
  add("O", "Хүр");  // UTF-8 must reach handlers unescaped
  add("CN", profile.common_name);
  X509* issuer_cert = issuer != nullptr ? issuer->cert.get() : cert;
  EVP_PKEY* issuer_key = issuer != nullptr ? issuer->key.get() : out.key.get();
  X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer_cert, cert, nullptr, nullptr, 0);
  std::vector<std::pair<int, std::string>> extensions;
  if (profile.ca) {
    extensions.emplace_back(NID_basic_constraints, "critical,CA:TRUE");
    extensions.emplace_back(NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    extensions.emplace_back(NID_basic_constraints, "critical,CA:FALSE");
    extensions.emplace_back(NID_key_usage, "critical,digitalSignature");
  }
  if (!profile.alt_names.empty()) extensions.emplace_back(NID_subject_alt_name, profile.alt_names);
  if (!profile.key_purposes.empty()) {
    extensions.emplace_back(NID_ext_key_usage, profile.key_purposes);
  }
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    Check(ext != nullptr, "extension");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  Check(X509_sign(cert, issuer_key, EVP_sha256()) > 0, "signing");
  return out;
}

inline std::string Sha256Hex(X509* cert) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int size = 0;
  X509_digest(cert, EVP_sha256(), md.data(), &size);
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    std::array<char, 3> byte{};
    std::snprintf(byte.data(), byte.size(), "%02x", md[i]);
    out += byte.data();
  }
  return out;
}

// Certificates and keys on disk, as the server and client options want them.
class Pki {
 public:
  // Generous: bounds how long a test may hang, never decides a pass.
  static constexpr std::chrono::seconds kPatience{5};

  Pki() {
    std::string dir_template = "/tmp/ulus-tls-test-XXXXXX";
    if (::mkdtemp(dir_template.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = dir_template;
    ca_ = Issue({.common_name = "Khur Test CA", .ca = true, .serial = 100});
    other_ca_ = Issue({.common_name = "Some Other CA", .ca = true, .serial = 200});
    const auto server = Issue({.common_name = "security-server-1",
                               .alt_names = "DNS:localhost,IP:127.0.0.1",
                               .key_purposes = "serverAuth",
                               .serial = 2},
                              &ca_);
    client_ =
        Issue({.common_name = "node-1", .key_purposes = "clientAuth", .serial = 0xABCDEF01}, &ca_);
    const auto stranger =
        Issue({.common_name = "node-1", .key_purposes = "clientAuth", .serial = 3}, &other_ca_);
    const auto expired = Issue({.common_name = "node-1",
                                .key_purposes = "clientAuth",
                                .not_before = -48 * kHour,
                                .not_after = -kHour,
                                .serial = 4},
                               &ca_);
    const auto server_only = Issue({.common_name = "node-1",
                                    .alt_names = "IP:127.0.0.1",
                                    .key_purposes = "serverAuth",
                                    .serial = 5},
                                   &ca_);
    ca_file_ = Write("ca.pem", {&ca_});
    Write("server.pem", server, server_cert_, server_key_);
    Write("client.pem", client_, client_cert_, client_key_);
    Write("stranger.pem", stranger, stranger_cert_, stranger_key_);
    Write("expired.pem", expired, expired_cert_, expired_key_);
    Write("server-only.pem", server_only, server_only_cert_, server_only_key_);
    client_sha256_ = Sha256Hex(client_.cert.get());
    server_sha256_ = Sha256Hex(server.cert.get());
  }
  ~Pki() { std::filesystem::remove_all(dir_); }
  Pki(const Pki&) = delete;
  Pki& operator=(const Pki&) = delete;

  [[nodiscard]] const std::string& ca_file() const { return ca_file_; }
  [[nodiscard]] const Credential& client() const { return client_; }
  [[nodiscard]] const std::string& client_sha256() const { return client_sha256_; }
  [[nodiscard]] const std::string& server_sha256() const { return server_sha256_; }

  [[nodiscard]] ServerOptions Server(bool with_client_ca = true) const {
    ServerOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.threads = 2;
    o.header_timeout = kPatience;
    o.body_timeout = kPatience;
    o.tls_certificate_file = server_cert_;
    o.tls_private_key_file = server_key_;
    if (with_client_ca) o.tls_client_ca_file = ca_file_;
    return o;
  }

  enum class As { kNobody, kClient, kStranger, kExpired, kServerOnly };

  [[nodiscard]] ClientOptions Client(As as) const {
    ClientOptions o;
    o.connect_timeout = kPatience;
    o.request_timeout = kPatience;
    o.ca_file = ca_file_;  // the client trusts the exchange's CA for the server too
    const auto use = [&o](const std::string& cert, const std::string& key) {
      o.certificate_file = cert;
      o.private_key_file = key;
    };
    switch (as) {
      case As::kNobody: break;
      case As::kClient: use(client_cert_, client_key_); break;
      case As::kStranger: use(stranger_cert_, stranger_key_); break;
      case As::kExpired: use(expired_cert_, expired_key_); break;
      case As::kServerOnly: use(server_only_cert_, server_only_key_); break;
    }
    return o;
  }

 private:
  std::string Write(const std::string& name, std::initializer_list<const Credential*> certs) {
    const std::string path = dir_ + "/" + name;
    FILE* f = std::fopen(path.c_str(), "w");
    Check(f != nullptr, "fopen");
    for (const auto* c : certs) PEM_write_X509(f, c->cert.get());
    std::fclose(f);
    return path;
  }

  void Write(const std::string& name, const Credential& credential, std::string& cert_path,
             std::string& key_path) {
    cert_path = Write(name, {&credential});
    key_path = dir_ + "/key-" + name;
    FILE* f = std::fopen(key_path.c_str(), "w");
    Check(f != nullptr, "fopen");
    PEM_write_PrivateKey(f, credential.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
  }

  std::string dir_;
  Credential ca_;
  Credential other_ca_;
  Credential client_;
  std::string client_sha256_;
  std::string server_sha256_;
  std::string ca_file_;
  std::string server_cert_, server_key_;
  std::string client_cert_, client_key_;
  std::string stranger_cert_, stranger_key_;
  std::string expired_cert_, expired_key_;
  std::string server_only_cert_, server_only_key_;
};

}  // namespace ulus::http::test
