// Mutual TLS: the server requires (or accepts) client certificates from a configured CA and shows
// the verified peer to handlers. The PKI is made with OpenSSL's API (test_certificates.hpp).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "test_certificates.hpp"
#include "ulus/http/client.hpp"
#include "ulus/http/server.hpp"

namespace ulus::http {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using test::Pki;

// Generous: timings here only bound how long a test may hang, never decide a pass.
constexpr auto kPatience = 5s;

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
