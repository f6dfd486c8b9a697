// Mutual TLS: the server requires (or accepts) client certificates from a configured CA and shows
// the verified peer to handlers. The PKI is made here with OpenSSL's API.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ulus/http/client.hpp"
#include "ulus/http/server.hpp"

namespace ulus::http {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// Generous: timings here only bound how long a test may hang, never decide a pass.
constexpr auto kPatience = 5s;
constexpr long kHour = 3600;  // NOLINT(google-runtime-int): X509_gmtime_adj takes long

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

void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what + " failed");
}

// Issues a certificate for a new P-256 key, signed by `issuer` or, without one, self-signed.
Credential Issue(const Profile& profile, const Credential* issuer = nullptr) {
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

std::string Sha256Hex(X509* cert) {
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
  Pki() {
    std::string dir_template = "/tmp/ulus-mtls-test-XXXXXX";
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
  }
  ~Pki() { std::filesystem::remove_all(dir_); }
  Pki(const Pki&) = delete;
  Pki& operator=(const Pki&) = delete;

  [[nodiscard]] const std::string& ca_file() const { return ca_file_; }
  [[nodiscard]] const Credential& client() const { return client_; }
  [[nodiscard]] const std::string& client_sha256() const { return client_sha256_; }

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
  std::string ca_file_;
  std::string server_cert_, server_key_;
  std::string client_cert_, client_key_;
  std::string stranger_cert_, stranger_key_;
  std::string expired_cert_, expired_key_;
  std::string server_only_cert_, server_only_key_;
};

class MtlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new Pki(); }  // NOLINT(cppcoreguidelines-owning-memory)
  static void TearDownTestSuite() {
    delete pki_;  // NOLINT(cppcoreguidelines-owning-memory)
    pki_ = nullptr;
  }

  // /whoami answers with what the handler sees of the peer.
  void StartServer(ServerOptions options) {
    Router router;
    router.Add(Method::get, "/whoami", [this](Request& request) -> Result<Response> {
      handled_.fetch_add(1);
      const PeerCertificate* peer = request.peer();
      if (peer == nullptr) return Response::Json({{"peer", nullptr}});
      return Response::Json({{"peer",
                              {{"subject", peer->subject},
                               {"issuer", peer->issuer},
                               {"common_name", peer->common_name},
                               {"serial", peer->serial},
                               {"sha256", peer->sha256},
                               {"not_after", std::chrono::duration_cast<std::chrono::seconds>(
                                                 peer->not_after.time_since_epoch())
                                                 .count()}}}});
    });
    auto server = Server::Create(std::move(options), std::move(router));
    ASSERT_TRUE(server.ok()) << server.error().ToString();
    server_ = std::move(server).value();
    const auto started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.error().ToString();
  }

  [[nodiscard]] std::string Origin(std::string_view scheme = "https") const {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(server_->port());
  }

  Result<ClientResponse> WhoAmI(Pki::As as) {
    auto client = Client::Create(Origin(), pki_->Client(as));
    if (!client.ok()) return client.error();
    return (*client)->Get("/whoami");
  }

  // A refused client fails promptly with kUnavailable, and no handler runs.
  void ExpectRefused(Pki::As as) {
    const auto start = SteadyClock::now();
    const auto r = WhoAmI(as);
    ASSERT_FALSE(r.ok()) << r->body;
    EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().ToString();
    EXPECT_LT(SteadyClock::now() - start, kPatience);
    EXPECT_EQ(handled_.load(), 0);
  }

  uint64_t ConnectionsAccepted() {
    return server_->metrics()
        .GetCounter("ulus_http_connections_total", "Client connections accepted.")
        .value();
  }

  void TearDown() override {
    if (server_) server_->Stop(1s);
  }

  static Pki* pki_;
  std::unique_ptr<Server> server_;
  std::atomic<int> handled_{0};
};

Pki* MtlsTest::pki_ = nullptr;

nlohmann::json PeerOf(const ClientResponse& r) {
  return nlohmann::json::parse(r.body)["peer"];
}

TEST_F(MtlsTest, ShowsTheVerifiedClientCertificateToHandlers) {
  StartServer(pki_->Server());
  const auto r = WhoAmI(Pki::As::kClient);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, Status::ok);
  const auto peer = PeerOf(*r);
  EXPECT_EQ(peer["common_name"], "node-1");
  EXPECT_EQ(peer["subject"], "CN=node-1,O=Хүр,C=MN");
  EXPECT_EQ(peer["issuer"], "CN=Khur Test CA,O=Хүр,C=MN");
  EXPECT_EQ(peer["serial"], "abcdef01");
  EXPECT_EQ(peer["sha256"], pki_->client_sha256());
  EXPECT_EQ(peer["sha256"].get<std::string>().size(), 64U);
  // Issued for a day from now.
  const auto expected_not_after = std::chrono::duration_cast<std::chrono::seconds>(
                                      (std::chrono::system_clock::now() + 24h).time_since_epoch())
                                      .count();
  EXPECT_NEAR(peer["not_after"].get<double>(), static_cast<double>(expected_not_after), 120.0);
}

TEST_F(MtlsTest, EveryRequestOnAKeptAliveConnectionSeesThePeer) {
  StartServer(pki_->Server());
  auto client = Client::Create(Origin(), pki_->Client(Pki::As::kClient));
  ASSERT_TRUE(client.ok());
  for (int i = 0; i < 4; ++i) {
    const auto r = (*client)->Get("/whoami");
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(PeerOf(*r)["sha256"], pki_->client_sha256()) << "request " << i;
    EXPECT_EQ(PeerOf(*r)["common_name"], "node-1");
  }
  EXPECT_EQ(ConnectionsAccepted(), 1U);
}

TEST_F(MtlsTest, RefusesAClientWithoutACertificate) {
  StartServer(pki_->Server());
  ExpectRefused(Pki::As::kNobody);
}

TEST_F(MtlsTest, RefusesACertificateFromAnotherCa) {
  StartServer(pki_->Server());
  ExpectRefused(Pki::As::kStranger);
}

TEST_F(MtlsTest, RefusesAnExpiredCertificate) {
  StartServer(pki_->Server());
  ExpectRefused(Pki::As::kExpired);
}

TEST_F(MtlsTest, RefusesACertificateNotMeantForClients) {
  StartServer(pki_->Server());
  ExpectRefused(Pki::As::kServerOnly);
}

TEST_F(MtlsTest, OptionalClientCertificatesMayBeLeftOutButNotFaked) {
  auto options = pki_->Server();
  options.tls_client_optional = true;
  StartServer(options);
  const auto anonymous = WhoAmI(Pki::As::kNobody);
  ASSERT_TRUE(anonymous.ok()) << anonymous.error().ToString();
  EXPECT_TRUE(PeerOf(*anonymous).is_null());
  const auto known = WhoAmI(Pki::As::kClient);
  ASSERT_TRUE(known.ok()) << known.error().ToString();
  EXPECT_EQ(PeerOf(*known)["sha256"], pki_->client_sha256());
  handled_ = 0;
  ExpectRefused(Pki::As::kStranger);
  ExpectRefused(Pki::As::kExpired);
}

TEST_F(MtlsTest, TlsWithoutAClientCaNeitherAsksNorShowsAPeer) {
  StartServer(pki_->Server(false));
  for (const auto as : {Pki::As::kNobody, Pki::As::kClient, Pki::As::kStranger}) {
    const auto r = WhoAmI(as);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->status, Status::ok);
    EXPECT_TRUE(PeerOf(*r).is_null());
  }
}

TEST_F(MtlsTest, PlainHttpShowsNoPeer) {
  auto options = pki_->Server(false);
  options.tls_certificate_file.clear();
  options.tls_private_key_file.clear();
  StartServer(options);
  auto client = Client::Create(Origin("http"));
  ASSERT_TRUE(client.ok());
  const auto r = (*client)->Get("/whoami");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_TRUE(PeerOf(*r).is_null());
}

// The client library speaks TLS 1.3, where a missing certificate is only reported after the
// client's side of the handshake; TLS 1.2 must refuse it within the handshake itself.
TEST_F(MtlsTest, Tls12ClientsAreVerifiedInTheHandshake) {
  StartServer(pki_->Server());
  const auto handshake = [this](bool with_certificate) {
    const std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                                &SSL_CTX_free);
    SSL_CTX_set_max_proto_version(ctx.get(), TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    SSL_CTX_load_verify_locations(ctx.get(), pki_->ca_file().c_str(), nullptr);
    if (with_certificate) {
      SSL_CTX_use_certificate(ctx.get(), pki_->client().cert.get());
      SSL_CTX_use_PrivateKey(ctx.get(), pki_->client().key.get());
    }
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server_->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{.tv_sec = 5, .tv_usec = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    const std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), &SSL_free);
    SSL_set_fd(ssl.get(), fd);
    ok = ok && SSL_connect(ssl.get()) == 1;
    if (ok) {
      constexpr std::string_view kRequest = "GET /whoami HTTP/1.1\r\nHost: x\r\n\r\n";
      ok = SSL_write(ssl.get(), kRequest.data(), static_cast<int>(kRequest.size())) > 0;
      std::string reply;
      std::array<char, 4096> chunk{};
      int n = 0;
      while (ok && reply.find(pki_->client_sha256()) == std::string::npos &&
             (n = SSL_read(ssl.get(), chunk.data(), static_cast<int>(chunk.size()))) > 0) {
        reply.append(chunk.data(), static_cast<size_t>(n));
      }
      ok = ok && reply.find(pki_->client_sha256()) != std::string::npos;
    }
    ::close(fd);
    return ok;
  };
  EXPECT_FALSE(handshake(false));
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_TRUE(handshake(true));
}

TEST(MtlsCreateTest, RefusesIncoherentClientCaOptions) {
  ServerOptions options;
  options.port = 0;
  options.tls_client_ca_file = "/nonexistent/ca.pem";
  const auto without_tls = Server::Create(options, Router());
  ASSERT_FALSE(without_tls.ok());
  EXPECT_EQ(without_tls.error().field, "tls_client_ca_file");

  ServerOptions optional_alone;
  optional_alone.tls_client_optional = true;
  const auto optional = Server::Create(optional_alone, Router());
  ASSERT_FALSE(optional.ok());
  EXPECT_EQ(optional.error().field, "tls_client_optional");
}

TEST_F(MtlsTest, RefusesAMissingOrEmptyClientCaFile) {
  auto options = pki_->Server();
  options.tls_client_ca_file = "/nonexistent/ca.pem";
  const auto missing = Server::Create(options, Router());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(missing.error().field, "tls_client_ca_file");

  options.tls_client_ca_file = "/dev/null";
  const auto empty = Server::Create(options, Router());
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().field, "tls_client_ca_file");
}

}  // namespace
}  // namespace ulus::http
