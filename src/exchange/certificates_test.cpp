// Khur's certificate authority: the root it keeps, the node certificates it issues (checked with
// OpenSSL's own API), the requests it refuses, and a real mutual-TLS handshake with its
// certificates.
#include "ulus/exchange/certificates.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ulus/core/files.hpp"
#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/http/client.hpp"
#include "ulus/http/server.hpp"

namespace ulus::exchange {
namespace {

using namespace std::chrono_literals;
constexpr std::chrono::days kDay{1};

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
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
using EkuPtr = std::unique_ptr<EXTENDED_KEY_USAGE, Deleter<EXTENDED_KEY_USAGE_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;

ClientId Sub(const std::string& text) {
  auto id = ClientId::Parse(text);
  EXPECT_TRUE(id.ok()) << text;
  return *id;
}

std::string MakeTempDir() {
  std::string dir = (std::filesystem::temp_directory_path() / "ulus-ca-test-XXXXXX").string();
  EXPECT_NE(::mkdtemp(dir.data()), nullptr);
  return dir;
}

X509Ptr ParseCert(const std::string& pem) {
  const BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

PkeyPtr Generate(const char* type, const char* group, int rsa_bits = 0) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EXPECT_TRUE(ctx && EVP_PKEY_keygen_init(ctx.get()) == 1);
  if (group != nullptr) {
    EXPECT_EQ(EVP_PKEY_CTX_set_group_name(ctx.get(), group), 1);
  }
  if (rsa_bits > 0) {
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), rsa_bits), 1);
  }
  EVP_PKEY* raw = nullptr;
  EXPECT_EQ(EVP_PKEY_generate(ctx.get(), &raw), 1);
  return PkeyPtr(raw);
}

// A request for `public_key`'s key, signed with `signer`: a mismatch gives a bad signature.
std::string MakeCsr(EVP_PKEY* signer, EVP_PKEY* public_key) {
  const ReqPtr req(X509_REQ_new());
  X509_REQ_set_pubkey(req.get(), signer);
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("MN/GOV/EVIL/x"), -1, -1, 0);
  EXPECT_GT(X509_REQ_sign(req.get(), signer, EVP_sha256()), 0);
  if (public_key != signer) X509_REQ_set_pubkey(req.get(), public_key);
  const BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);  // NOLINT(google-runtime-int)
  return {data, static_cast<size_t>(size)};
}

std::set<std::string> AltNames(X509* cert) {
  std::set<std::string> out;
  const NamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      const auto* s = name->d.dNSName;
      out.insert("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                      static_cast<size_t>(ASN1_STRING_length(s))));
    } else if (name->type == GEN_IPADD) {
      const auto* s = name->d.iPAddress;
      const unsigned char* b = ASN1_STRING_get0_data(s);
      if (ASN1_STRING_length(s) == 4) {
        out.insert("IP:" + std::to_string(b[0]) + "." + std::to_string(b[1]) + "." +
                   std::to_string(b[2]) + "." + std::to_string(b[3]));
      } else {
        out.insert("IP6:" + crypto::HexEncode(std::span<const uint8_t>(
                                b, static_cast<size_t>(ASN1_STRING_length(s)))));
      }
    } else {
      out.insert("other");
    }
  }
  return out;
}

std::string DerSha256(X509* cert) {
  unsigned char* der = nullptr;
  const int size = i2d_X509(cert, &der);
  EXPECT_GT(size, 0);
  const auto digest = crypto::Sha256(std::span<const uint8_t>(der, static_cast<size_t>(size)));
  OPENSSL_free(der);
  return crypto::HexEncode(digest);
}

mode_t FileMode(const std::filesystem::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

class CertificatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    auto ca = CertificateAuthority::OpenOrCreate(dir_ + "/ca", "MN", clock_);
    ASSERT_TRUE(ca.ok()) << ca.error().ToString();
    ca_ = std::move(ca).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  CertificateInfo IssueFor(const ClientId& subsystem, const std::vector<std::string>& hosts,
                           std::string* key_pem = nullptr) {
    auto node = MakeNodeKeyAndCsr(subsystem);
    EXPECT_TRUE(node.ok());
    auto info = ca_->Issue(node->csr_pem, subsystem, hosts, std::chrono::days(730));
    EXPECT_TRUE(info.ok()) << info.error().ToString();
    if (key_pem != nullptr) *key_pem = node->key_pem;
    return *info;
  }

  ManualClock clock_{std::chrono::system_clock::now()};
  std::string dir_;
  std::unique_ptr<CertificateAuthority> ca_;
};

TEST_F(CertificatesTest, CreatesARootOnceAndReopensTheSame) {
  const auto root = ParseCert(ca_->CertificatePem());
  ASSERT_TRUE(root);
  EXPECT_EQ(ca_->Certificate().subject, "CN=MN Khur CA");
  EXPECT_EQ(X509_check_ca(root.get()), 1);
  EXPECT_EQ(X509_check_issued(root.get(), root.get()), X509_V_OK);  // self-signed
  EXPECT_EQ(X509_verify(root.get(), X509_get0_pubkey(root.get())), 1);
  EXPECT_TRUE(X509_get_key_usage(root.get()) & KU_KEY_CERT_SIGN);
  EXPECT_TRUE(X509_get_key_usage(root.get()) & KU_CRL_SIGN);
  EXPECT_NE(X509_get0_subject_key_id(root.get()), nullptr);
  const int bc = X509_get_ext_by_NID(root.get(), NID_basic_constraints, -1);
  ASSERT_GE(bc, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(root.get(), bc)), 1);
  EXPECT_TRUE(EVP_PKEY_is_a(X509_get0_pubkey(root.get()), "EC"));
  EXPECT_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(root.get())), 256);
  // Ten years.
  EXPECT_NEAR(std::chrono::duration<double>(ca_->Certificate().not_after - clock_.Now()).count(),
              std::chrono::duration<double>(CertificateAuthority::kRootValidity).count(), 10.0);
  EXPECT_EQ(FileMode(dir_ + "/ca/ca.key"), 0600U);

  auto again = CertificateAuthority::OpenOrCreate(dir_ + "/ca", "MN", clock_);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ((*again)->CertificatePem(), ca_->CertificatePem());
  // A certificate issued by the reopened CA chains to the first one's root.
  auto node = MakeNodeKeyAndCsr(Sub("MN/GOV/GASR/civil-registry"));
  ASSERT_TRUE(node.ok());
  auto info =
      (*again)->Issue(node->csr_pem, Sub("MN/GOV/GASR/civil-registry"), {}, std::chrono::days(30));
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(
      VerifyNodeCertificate(info->pem, node->key_pem, {ca_->CertificatePem()}, clock_).ok());
}

TEST_F(CertificatesTest, RefusesADirectoryOfAnotherInstanceOrAHalfCa) {
  auto other = CertificateAuthority::OpenOrCreate(dir_ + "/ca", "KZ", clock_);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kFailedPrecondition);

  // A certificate without its key is not silently replaced.
  std::filesystem::create_directories(dir_ + "/half");
  ASSERT_TRUE(WritePrivateFile(dir_ + "/half/ca.pem", ca_->CertificatePem()).ok());
  auto half = CertificateAuthority::OpenOrCreate(dir_ + "/half", "MN", clock_);
  ASSERT_FALSE(half.ok());
  EXPECT_EQ(half.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(half.error().message.find("without its key"), std::string::npos);

  // A key without its certificate (a crash between the two writes) gets one.
  std::filesystem::remove(dir_ + "/ca/ca.pem");
  auto healed = CertificateAuthority::OpenOrCreate(dir_ + "/ca", "MN", clock_);
  ASSERT_TRUE(healed.ok()) << healed.error().ToString();
  const auto a = ParseCert(ca_->CertificatePem());
  const auto b = ParseCert((*healed)->CertificatePem());
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(a.get()), X509_get0_pubkey(b.get())), 1);
}

TEST_F(CertificatesTest, IssuesANodeCertificateTheAuthorityDecides) {
  const auto subsystem = Sub("MN/GOV/GASR/civil-registry");
  std::string key_pem;
  const auto info = IssueFor(subsystem, {"127.0.0.1", "Node-1.Gasr.Example", "::1"}, &key_pem);
  const auto cert = ParseCert(info.pem);
  const auto root = ParseCert(ca_->CertificatePem());
  ASSERT_TRUE(cert && root);

  EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(root.get())), 1);
  EXPECT_EQ(X509_check_issued(root.get(), cert.get()), X509_V_OK);
  // Authority key identifier = the root's subject key identifier.
  const ASN1_OCTET_STRING* akid = X509_get0_authority_key_id(cert.get());
  ASSERT_NE(akid, nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(akid, X509_get0_subject_key_id(root.get())), 0);
  EXPECT_NE(X509_get0_subject_key_id(cert.get()), nullptr);

  EXPECT_EQ(info.subject, "CN=MN/GOV/GASR/civil-registry,O=GASR");
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  const uint32_t xku = X509_get_extended_key_usage(cert.get());
  EXPECT_TRUE(xku & XKU_SSL_SERVER);
  EXPECT_TRUE(xku & XKU_SSL_CLIENT);
  const EkuPtr eku(static_cast<EXTENDED_KEY_USAGE*>(
      X509_get_ext_d2i(cert.get(), NID_ext_key_usage, nullptr, nullptr)));
  ASSERT_TRUE(eku);
  EXPECT_EQ(sk_ASN1_OBJECT_num(eku.get()), 2);
  EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(AltNames(cert.get()), (std::set<std::string>{"IP:127.0.0.1", "DNS:node-1.gasr.example",
                                                         "IP6:00000000000000000000000000000001"}));

  EXPECT_EQ(info.sha256, DerSha256(cert.get()));
  EXPECT_EQ(info.sha256.size(), 64U);
  // 128 random bits: two certificates never share a serial.
  const BnPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr));
  EXPECT_LE(BN_num_bits(serial.get()), 128);
  EXPECT_GT(BN_num_bits(serial.get()), 64);
  const auto second = ParseCert(IssueFor(subsystem, {}).pem);
  EXPECT_NE(
      ASN1_INTEGER_cmp(X509_get0_serialNumber(cert.get()), X509_get0_serialNumber(second.get())),
      0);

  EXPECT_NEAR(std::chrono::duration<double>(info.not_after - clock_.Now()).count(),
              std::chrono::duration<double>(std::chrono::days(730)).count(), 10.0);
  EXPECT_TRUE(VerifyNodeCertificate(info.pem, key_pem, {ca_->CertificatePem()}, clock_).ok());
  EXPECT_TRUE(CheckKeyPair(info.pem, key_pem).ok());
}

TEST_F(CertificatesTest, HostsDefaultToLoopback) {
  const auto cert = ParseCert(IssueFor(Sub("MN/GOV/GOSI/social-insurance"), {}).pem);
  EXPECT_EQ(AltNames(cert.get()), (std::set<std::string>{"IP:127.0.0.1", "DNS:localhost"}));
}

TEST_F(CertificatesTest, IgnoresTheRequestsOwnSubject) {
  // MakeCsr names "MN/GOV/EVIL/x"; the authority names the subsystem it was told.
  const auto key = Generate("EC", "P-256");
  const auto info =
      ca_->Issue(MakeCsr(key.get(), key.get()), Sub("MN/GOV/GOSI/social-insurance"), {}, kDay);
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(info->subject, "CN=MN/GOV/GOSI/social-insurance,O=GOSI");
}

TEST_F(CertificatesTest, RefusesBadRequests) {
  const auto subsystem = Sub("MN/GOV/GASR/civil-registry");
  const auto expect_refused = [&](const std::string& csr, const std::string& why) {
    const auto r = ca_->Issue(csr, subsystem, {}, kDay);
    ASSERT_FALSE(r.ok()) << why;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << why;
    EXPECT_EQ(r.error().field, "csr") << why;
  };
  const auto a = Generate("EC", "P-256");
  const auto b = Generate("EC", "P-256");
  expect_refused(MakeCsr(a.get(), b.get()), "signed with another key than it carries");
  const auto rsa = Generate("RSA", nullptr, 2048);
  expect_refused(MakeCsr(rsa.get(), rsa.get()), "an RSA key");
  const auto p384 = Generate("EC", "P-384");
  expect_refused(MakeCsr(p384.get(), p384.get()), "a P-384 key");
  expect_refused("", "empty");
  expect_refused("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
                 "garbage");
  expect_refused(ca_->CertificatePem(), "a certificate, not a request");

  // Hosts that are neither IP addresses nor DNS names, and a subsystem-less client.
  auto node = MakeNodeKeyAndCsr(subsystem);
  ASSERT_TRUE(node.ok());
  for (const std::string host : {"a,IP:10.0.0.1", "*.example", "exa mple", "-x.example", ""}) {
    const auto r = ca_->Issue(node->csr_pem, subsystem, {"ok.example", host}, kDay);
    ASSERT_FALSE(r.ok()) << host;
    EXPECT_EQ(r.error().field, "hosts[1]") << host;
  }
  const auto member_only = ca_->Issue(node->csr_pem, Sub("MN/GOV/GASR"), {}, kDay);
  ASSERT_FALSE(member_only.ok());
  EXPECT_EQ(member_only.error().field, "subsystem");
}

TEST_F(CertificatesTest, NodeChecksTheCertificateItIsGiven) {
  const auto subsystem = Sub("MN/GOV/GASR/civil-registry");
  std::string key_pem;
  const auto info = IssueFor(subsystem, {}, &key_pem);
  std::string other_key;
  IssueFor(subsystem, {}, &other_key);
  const auto not_ours = VerifyNodeCertificate(info.pem, other_key, {ca_->CertificatePem()}, clock_);
  ASSERT_FALSE(not_ours.ok());
  EXPECT_EQ(not_ours.error().code, ErrorCode::kFailedPrecondition);

  ManualClock other_clock{clock_.Now()};
  auto stranger = CertificateAuthority::OpenOrCreate(dir_ + "/stranger", "MN", other_clock);
  ASSERT_TRUE(stranger.ok());
  const auto wrong_ca =
      VerifyNodeCertificate(info.pem, key_pem, {(*stranger)->CertificatePem()}, clock_);
  ASSERT_FALSE(wrong_ca.ok());
  EXPECT_NE(wrong_ca.error().message.find("does not chain"), std::string::npos);
  // Either CA in the list will do.
  EXPECT_TRUE(VerifyNodeCertificate(info.pem, key_pem,
                                    {(*stranger)->CertificatePem(), ca_->CertificatePem()}, clock_)
                  .ok());

  ManualClock later{info.not_after + 1h};
  EXPECT_FALSE(VerifyNodeCertificate(info.pem, key_pem, {ca_->CertificatePem()}, later).ok());
}

TEST_F(CertificatesTest, ReadsCertificates) {
  const auto info = ReadCertificate(ca_->CertificatePem());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->sha256, ca_->Certificate().sha256);
  EXPECT_EQ(info->pem, ca_->CertificatePem());
  EXPECT_FALSE(ReadCertificate("no").ok());
}

// The CA's certificates in a real handshake: the http server requires client certificates from
// the CA and shows the verified peer; a certificate of another CA never gets a request through.
TEST_F(CertificatesTest, CertificatesWorkForMutualTls) {
  const auto subsystem = Sub("MN/GOV/GASR/civil-registry");
  const auto client_subsystem = Sub("MN/GOV/MDDIC/platform");
  std::string server_key, client_key;
  const auto server_cert = IssueFor(subsystem, {"127.0.0.1"}, &server_key);
  const auto client_cert = IssueFor(client_subsystem, {}, &client_key);
  const std::string files = dir_ + "/files/";
  ASSERT_TRUE(WritePrivateFile(files + "ca.pem", ca_->CertificatePem()).ok());
  ASSERT_TRUE(WritePrivateFile(files + "server.pem", server_cert.pem).ok());
  ASSERT_TRUE(WritePrivateFile(files + "server.key", server_key).ok());
  ASSERT_TRUE(WritePrivateFile(files + "client.pem", client_cert.pem).ok());
  ASSERT_TRUE(WritePrivateFile(files + "client.key", client_key).ok());

  ManualClock stranger_clock{clock_.Now()};
  auto stranger_ca = CertificateAuthority::OpenOrCreate(dir_ + "/stranger", "MN", stranger_clock);
  ASSERT_TRUE(stranger_ca.ok());
  auto stranger_node = MakeNodeKeyAndCsr(client_subsystem);
  ASSERT_TRUE(stranger_node.ok());
  auto stranger_cert = (*stranger_ca)->Issue(stranger_node->csr_pem, client_subsystem, {}, kDay);
  ASSERT_TRUE(stranger_cert.ok());
  ASSERT_TRUE(WritePrivateFile(files + "stranger.pem", stranger_cert->pem).ok());
  ASSERT_TRUE(WritePrivateFile(files + "stranger.key", stranger_node->key_pem).ok());

  http::Router router;
  router.Add(http::Method::get, "/whoami", [](http::Request& request) -> Result<http::Response> {
    const auto* peer = request.peer();
    if (peer == nullptr) return http::Response::Json({{"sha256", nullptr}});
    return http::Response::Json({{"sha256", peer->sha256}, {"cn", peer->common_name}});
  });
  http::ServerOptions options;
  options.port = 0;
  options.threads = 2;
  options.tls_certificate_file = files + "server.pem";
  options.tls_private_key_file = files + "server.key";
  options.tls_client_ca_file = files + "ca.pem";
  auto server = http::Server::Create(options, std::move(router));
  ASSERT_TRUE(server.ok()) << server.error().ToString();
  ASSERT_TRUE((*server)->Start().ok());
  const std::string origin = "https://127.0.0.1:" + std::to_string((*server)->port());

  http::ClientOptions as_client;
  as_client.ca_file = files + "ca.pem";
  as_client.certificate_file = files + "client.pem";
  as_client.private_key_file = files + "client.key";
  as_client.connect_timeout = 5s;
  as_client.request_timeout = 5s;
  auto client = http::Client::Create(origin, as_client);
  ASSERT_TRUE(client.ok());
  const auto answer = (*client)->Get("/whoami");
  ASSERT_TRUE(answer.ok()) << answer.error().ToString();
  const auto body = nlohmann::json::parse(answer->body);
  EXPECT_EQ(body["sha256"], client_cert.sha256);
  EXPECT_EQ(body["cn"], "MN/GOV/MDDIC/platform");

  http::ClientOptions as_stranger = as_client;
  as_stranger.certificate_file = files + "stranger.pem";
  as_stranger.private_key_file = files + "stranger.key";
  auto stranger = http::Client::Create(origin, as_stranger);
  ASSERT_TRUE(stranger.ok());
  const auto refused = (*stranger)->Get("/whoami");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable) << refused.error().ToString();

  (*server)->Stop(1s);
}

}  // namespace
}  // namespace ulus::exchange
