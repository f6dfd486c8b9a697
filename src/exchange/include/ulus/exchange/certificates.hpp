#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/exchange/identifiers.hpp"

namespace ulus::exchange {

// One X.509 certificate as Khur handles it: its PEM text (re-encoded, one certificate) and the
// facts nodes compare. `sha256` is the SHA-256 of the DER certificate in 64 lowercase hex digits,
// the form http::PeerCertificate gives and the global configuration lists; `subject` is RFC 4514
// text as http::PeerCertificate writes it.
struct CertificateInfo {
  std::string pem;
  std::string sha256;
  std::string subject;
  TimePoint not_after;
};

// Reads the first certificate of a PEM text. kInvalidArgument when there is none or it does not
// parse.
Result<CertificateInfo> ReadCertificate(std::string_view pem);

// Khur's small certificate authority: a P-256 (ES256) root that issues each node's one TLS
// certificate, used both as server and as client in node-to-node mutual TLS. Its key and
// certificate live as PEM files in one directory (the key 0600); authority processes that share
// a database must share that directory too (one CA), and it must be created by one of them
// first. Issue() only reads the key, so a CertificateAuthority is safe to use from many threads.
// The clock it is opened with must outlive it.
class CertificateAuthority {
 public:
  static constexpr std::chrono::days kRootValidity{3653};  // ten years
  // Issued certificates start this far in the past, so a node whose clock is a little behind
  // the authority's accepts a certificate issued a moment ago.
  static constexpr std::chrono::minutes kBackdate{5};
  static constexpr size_t kMaxHosts = 32;

  // Opens the CA kept in `dir` (ca.key, ca.pem), or creates one: a new P-256 key and a
  // self-signed root "CN=<instance> Khur CA" valid for kRootValidity, with basicConstraints
  // CA:TRUE (pathlen 0: it issues node certificates only), keyUsage keyCertSign and cRLSign and
  // a subjectKeyIdentifier. A key without its certificate (a crash between the two writes) gets a
  // new certificate; a certificate without its key, a key that does not fit the certificate, or
  // a certificate that is not a CA is kFailedPrecondition: nothing is overwritten.
  static Result<std::unique_ptr<CertificateAuthority>> OpenOrCreate(
      const std::filesystem::path& dir, std::string_view instance, const Clock& clock);

  CertificateAuthority(const CertificateAuthority&) = delete;
  CertificateAuthority& operator=(const CertificateAuthority&) = delete;
  ~CertificateAuthority();

  [[nodiscard]] const std::string& CertificatePem() const;
  [[nodiscard]] const CertificateInfo& Certificate() const;

  // Issues a node's certificate for the key in `csr_pem` (a PKCS#10 request). The request's
  // self-signature must verify (proof that the requester holds the key) and its key must be
  // P-256; everything else in it (subject, extensions) is ignored, because the authority decides
  // what a node is: subject O=<member code>, CN=<subsystem id>; subjectAltName from `hosts` (IP
  // literals as IP addresses, other names as DNS names; ["127.0.0.1", "localhost"] when empty);
  // extendedKeyUsage serverAuth and clientAuth; keyUsage digitalSignature; basicConstraints
  // CA:FALSE; a random 128-bit serial; subject and authority key identifiers. Valid from
  // kBackdate ago for `validity`, never past the root's own notAfter. Errors are
  // kInvalidArgument naming "csr", "subsystem" or "hosts[i]".
  [[nodiscard]] Result<CertificateInfo> Issue(std::string_view csr_pem, const ClientId& subsystem,
                                              const std::vector<std::string>& hosts,
                                              std::chrono::days validity) const;

  struct Impl;

 private:
  explicit CertificateAuthority(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A fresh P-256 private key as unencrypted PKCS#8 PEM: a node's TLS key, and its ES256
// message-signing key (crypto::SigningKey::FromPem reads it).
Result<std::string> GenerateP256KeyPem();

// What a node makes before it registers: a new P-256 TLS key (PKCS#8 PEM) and a certificate
// request for it, signed with it, naming the subsystem (which the authority ignores).
struct NodeKeyAndCsr {
  std::string key_pem;
  std::string csr_pem;
};
Result<NodeKeyAndCsr> MakeNodeKeyAndCsr(const ClientId& subsystem);

// A node's check of the certificate the authority answered with: it is for `private_key_pem`,
// chains to one of `ca_pems` (the root alone, as Khur issues directly from it), is valid at
// `clock`'s time and fit for both TLS client and server. kFailedPrecondition saying what is
// wrong otherwise.
Status VerifyNodeCertificate(std::string_view certificate_pem, std::string_view private_key_pem,
                             const std::vector<std::string>& ca_pems, const Clock& clock);

// Whether the certificate is for this private key; kFailedPrecondition if not or if either does
// not parse.
Status CheckKeyPair(std::string_view certificate_pem, std::string_view private_key_pem);

}  // namespace ulus::exchange
