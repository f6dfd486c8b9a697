#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/crypto/keys.hpp"
#include "ulus/exchange/certificates.hpp"
#include "ulus/exchange/identifiers.hpp"

namespace ulus::exchange {

// The files of an enrolled node's directory, each written 0600 and atomically.
inline constexpr std::string_view kNodeTlsKeyFile = "tls.key";       // PKCS#8 PEM, P-256
inline constexpr std::string_view kNodeCertificateFile = "tls.pem";  // issued by the authority
inline constexpr std::string_view kNodeCaFile = "ca.pem";            // the authority's CA
inline constexpr std::string_view kNodeSigningKeyFile = "sign.key";  // ES256 message signing
inline constexpr std::string_view kNodeAuthorityKeyFile = "authority.jwk";  // pinned public JWK
inline constexpr std::string_view kNodeSubsystemFile = "subsystem.txt";
inline constexpr std::string_view kNodeGlobalConfigFile = "global.conf";  // the JWS

// Registers a node with the central authority at `authority_url` ("https://host[:port][/prefix]"
// or http for a local authority: the answer is checked by signature, not by transport) and
// keeps what it is given in `node_dir` (created 0700).
//
// Makes a new TLS key with its certificate request and a new ES256 signing key, POSTs them with
// the one-time `token`, `subsystem` (so the authority refuses, without spending it, a token of
// another subsystem) and `node_address` (the https URL peers will call) to
// /khur/authority/register, then trusts nothing in the answer until: the authority's JWK has
// the RFC 7638 thumbprint the token carries (else kUnauthenticated: a man in the middle, or a
// token of another authority); the configuration verifies with that key and lists this
// subsystem at `node_address` with the new certificate and signing key; the certificate is for
// the new key and chains to a CA the signed configuration lists; the answered CA is one of
// those; and the registered subsystem is `subsystem`. Only then are the files written;
// subsystem.txt last, so its presence marks a complete enrollment. Enrolling again (a key or
// certificate rotation) replaces the files with a new token.
//
// The token travels in the request body: use an https authority URL outside a lab, or whoever
// reads it on the way can register first. Such a theft cannot go unnoticed (the real node's
// enrollment then fails with the token spent), but it is better not to invite it. An https
// authority is checked against the system's CAs.
Status EnrollNode(std::string_view authority_url, std::string_view token, const ClientId& subsystem,
                  std::string_view node_address, const std::filesystem::path& node_dir,
                  const std::vector<std::string>& hosts = {}, const Clock& clock = Clock::System());

// An enrolled node's credentials, read back from its directory: file paths for http's server
// and client options (tls_certificate_file/tls_private_key_file, tls_client_ca_file/ca_file),
// the keys, and the configuration copy from enrollment (a node fetches fresher ones).
struct NodeCredentials {
  ClientId subsystem;
  std::filesystem::path tls_key_file;
  std::filesystem::path tls_certificate_file;
  std::filesystem::path ca_file;
  CertificateInfo certificate;
  crypto::SigningKey signing_key;
  crypto::PublicKey authority_key;
  std::string global_config_jws;
};

// kFailedPrecondition naming the file that is missing or unreadable, or when the TLS key does
// not fit the certificate (an enrollment that was cut short: enroll again).
Result<NodeCredentials> LoadNodeCredentials(const std::filesystem::path& node_dir);

}  // namespace ulus::exchange
