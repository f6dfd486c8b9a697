// Two security servers and a backend on loopback: an agency system calls its node's /r1/, which
// signs and sends the request over mutual TLS to the provider's node, which checks, logs and
// calls the backend. Certificates come from a real Khur CA; the configuration is signed.
#include "ulus/exchange/node.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "ulus/core/files.hpp"
#include "ulus/crypto/keys.hpp"
#include "ulus/exchange/certificates.hpp"
#include "ulus/http/client.hpp"
#include "ulus/http/server.hpp"
#include "ulus/store/database.hpp"

namespace ulus::exchange {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const ClientId kTax = *ClientId::Parse("MN/GOV/TAX/tax-system");
const ClientId kCivil = *ClientId::Parse("MN/GOV/GASR/civil-registry");

// The value of a result that must be ok in a test's setup.
template <class T>
T Take(Result<T> result) {
  if (!result.ok()) {
    ADD_FAILURE() << result.error().message;
    std::abort();
  }
  return std::move(*result);
}

ServiceId Service(std::string_view code) {
  return {kCivil, std::string(code), std::nullopt};
}

// A node's files: TLS key and certificate from the CA, and its message-signing key.
struct NodeFiles {
  std::string key_file;
  std::string cert_file;
  std::string sha256;
  std::unique_ptr<crypto::SigningKey> signer;
};

class NodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ulus-node-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ca_ = Take(CertificateAuthority::OpenOrCreate(dir_ / "ca", "MN", clock_));
    ca_file_ = (dir_ / "ca" / "ca.pem").string();
    authority_ = std::make_unique<crypto::SigningKey>(
        Take(crypto::SigningKey::Generate(crypto::SignatureAlg::kEs256)));
    tax_files_ = MakeFiles("tax", kTax);
    civil_files_ = MakeFiles("civil", kCivil);
    StartBackend();
    tax_db_ = OpenStore("tax.db");
    civil_db_ = OpenStore("civil.db");
    tax_ = OpenNode(kTax, tax_files_, *tax_db_, {});
    std::map<std::string, std::string, std::less<>> backends = {
        {"person", backend_origin_ + "/data/person"},
        {"health", backend_origin_ + "/data/health"},
        {"slow", backend_origin_ + "/slow"},
        {"secret", backend_origin_ + "/secret"}};
    civil_ = OpenNode(kCivil, civil_files_, *civil_db_, backends);
    ASSERT_TRUE(tax_->Start().ok());
    ASSERT_TRUE(civil_->Start().ok());
    InstallConfig(Content());
    caller_ = Take(http::Client::Create("http://127.0.0.1:" + std::to_string(tax_->client_port())));
  }

  void TearDown() override {
    caller_.reset();
    tax_.reset();
    civil_.reset();
    if (backend_) backend_->Stop(1s);
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<store::Database> OpenStore(const std::string& name) {
    store::DatabaseOptions options;
    options.url = "sqlite:" + (dir_ / name).string();
    return Take(store::Database::Open(options));
  }

  NodeFiles MakeFiles(const std::string& name, const ClientId& id) {
    NodeFiles f;
    auto made = Take(MakeNodeKeyAndCsr(id));
    auto cert = Take(ca_->Issue(made.csr_pem, id, {}, std::chrono::days(30)));
    f.key_file = (dir_ / (name + ".key")).string();
    f.cert_file = (dir_ / (name + ".pem")).string();
    EXPECT_TRUE(WritePrivateFile(f.key_file, made.key_pem).ok());
    EXPECT_TRUE(WritePrivateFile(f.cert_file, cert.pem).ok());
    f.sha256 = cert.sha256;
    f.signer = std::make_unique<crypto::SigningKey>(
        Take(crypto::SigningKey::Generate(crypto::SignatureAlg::kEs256)));
    return f;
  }

  std::unique_ptr<Node> OpenNode(const ClientId& id, const NodeFiles& files, store::Database& db,
                                 std::map<std::string, std::string, std::less<>> backends) {
    NodeOptions o;
    o.subsystem = id;
    o.client_listener.port = 0;
    o.client_listener.threads = 4;
    o.provider_listener.port = 0;
    o.provider_listener.threads = 4;
    o.provider_listener.tls_certificate_file = files.cert_file;
    o.provider_listener.tls_private_key_file = files.key_file;
    o.provider_listener.tls_client_ca_file = ca_file_;
    o.tls_certificate_file = files.cert_file;
    o.tls_private_key_file = files.key_file;
    o.ca_file = ca_file_;
    o.service_backends = std::move(backends);
    o.connect_timeout = 1s;
    o.provider_timeout = 3s;
    o.backend_timeout = 1s;
    o.consent = [](std::string_view token, std::string_view subject, std::string_view purpose,
                   const ClientId& client) -> Status {
      if (token == "good-consent" && subject == "UA90010112" && purpose == "tax-assessment" &&
          client == kTax) {
        return Ok();
      }
      return Error::PermissionDenied("consent withdrawn");
    };
    return Take(Node::Open(std::move(o), db, *files.signer, authority_->Public(), clock_));
  }

  void StartBackend() {
    http::Router router;
    router.Add(http::Method::get, "/data/person/1.0/{id}/read",
               [this](http::Request& r) -> Result<http::Response> {
                 reads_++;
                 json body = {{"id", r.Param("id")},
                              {"caller", r.Header("Information-Mediator-Client")},
                              {"user", r.Header("X-Road-UserId")}};
                 auto response = http::Response::Json(body);
                 response.headers.emplace_back("Cache-Control", "no-store");
                 return response;
               });
    router.Add(
        http::Method::post, "/data/person/1.0/create",
        [this](http::Request& r) -> Result<http::Response> {
          creates_++;
          return http::Response::Json({{"created", json::parse(r.body())}}, http::Status::created);
        });
    // A write the backend takes a while over, for retries that arrive while it is answered.
    router.Add(
        http::Method::post, "/data/person/1.0/slow-create",
        [this](http::Request& r) -> Result<http::Response> {
          std::this_thread::sleep_for(300ms);
          creates_++;
          return http::Response::Json({{"created", json::parse(r.body())}}, http::Status::created);
        });
    router.Add(http::Method::get, "/data/health/1.0/{id}/read",
               [](http::Request& r) -> Result<http::Response> {
                 return http::Response::Json({{"id", r.Param("id")}});
               });
    router.Add(http::Method::get, "/secret/x", [](http::Request&) -> Result<http::Response> {
      return http::Response::Json({{"secret", true}});
    });
    router.Add(http::Method::get, "/slow/x", [](http::Request&) -> Result<http::Response> {
      std::this_thread::sleep_for(2500ms);
      return http::Response::Json({{"late", true}});
    });
    http::ServerOptions o;
    o.port = 0;
    o.threads = 4;
    backend_ = Take(http::Server::Create(o, std::move(router)));
    ASSERT_TRUE(backend_->Start().ok());
    backend_origin_ = "http://127.0.0.1:" + std::to_string(backend_->port());
  }

  GlobalConfigContent Content() {
    GlobalConfigContent c;
    c.instance = "MN";
    c.members = {{kTax.member, "Tax"}, {kCivil.member, "Civil registration"}};
    c.subsystems = {{kTax,
                     {"https://127.0.0.1:" + std::to_string(tax_->provider_port()),
                      {tax_files_.sha256},
                      {tax_files_.signer->PublicJwk()}}},
                    {kCivil,
                     {"https://127.0.0.1:" + std::to_string(civil_->provider_port()),
                      {civil_files_.sha256},
                      {civil_files_.signer->PublicJwk()}}}};
    c.services = {{Service("person"), false, true},
                  {Service("health"), true, true},
                  {Service("slow"), false, false},
                  {Service("secret"), false, false}};
    c.access_rights = {{kTax, Service("person"), AccessMode::kWrite},
                       {kTax, Service("health"), AccessMode::kRead},
                       {kTax, Service("slow"), AccessMode::kRead}};
    c.authority_kid = authority_->Kid();
    c.issued = clock_.Now();
    c.expires = clock_.Now() + 10min;
    return c;
  }

  void InstallConfig(GlobalConfigContent content) {
    auto config = GlobalConfig::Create(std::move(content));
    ASSERT_TRUE(config.ok()) << config.error().message;
    auto jws = SignGlobalConfig(*config, *authority_);
    ASSERT_TRUE(jws.ok());
    auto installed = tax_->InstallConfig(*jws);
    ASSERT_TRUE(installed.ok()) << installed.error().message;
    installed = civil_->InstallConfig(*jws);
    ASSERT_TRUE(installed.ok()) << installed.error().message;
  }

  http::ClientResponse Call(http::Method method, const std::string& target,
                            std::vector<std::pair<std::string, std::string>> headers,
                            std::string_view body = {}) {
    auto response = caller_->Send(method, target, body, headers);
    EXPECT_TRUE(response.ok()) << response.error().message;
    return response.ok() ? *response : http::ClientResponse{};
  }

  static std::vector<std::pair<std::string, std::string>> About(std::string subject) {
    return {{"X-Road-Client", "MN/GOV/TAX/tax-system"},
            {"X-Road-UserId", "officer-7"},
            {"Ulus-Subject", std::move(subject)},
            {"Ulus-Purpose", "tax-assessment"}};
  }

  // Both nodes' signing keys: every record's signature is checked, the peer's too.
  class BothKeys final : public crypto::KeyResolver {
   public:
    BothKeys(const crypto::PublicKey& a, const crypto::PublicKey& b) : a_(a), b_(b) {}
    [[nodiscard]] Result<crypto::PublicKey> Resolve(std::string_view kid) const override {
      if (kid == a_.Kid()) return a_;
      if (kid == b_.Kid()) return b_;
      return Error::NotFound("unknown kid");
    }

   private:
    crypto::PublicKey a_;
    crypto::PublicKey b_;
  };

  int64_t LogCount(Node& node) {
    const BothKeys keys(tax_files_.signer->Public(), civil_files_.signer->Public());
    auto verified = node.log().Verify(&keys);
    EXPECT_TRUE(verified.ok());
    EXPECT_TRUE(verified->ok) << verified->reason;
    return verified->count;
  }

  ManualClock clock_{std::chrono::system_clock::now()};
  std::filesystem::path dir_;
  std::unique_ptr<CertificateAuthority> ca_;
  std::string ca_file_;
  std::unique_ptr<crypto::SigningKey> authority_;
  NodeFiles tax_files_;
  NodeFiles civil_files_;
  std::unique_ptr<http::Server> backend_;
  std::string backend_origin_;
  std::atomic<int> reads_{0};
  std::atomic<int> creates_{0};
  std::unique_ptr<store::Database> tax_db_;
  std::unique_ptr<store::Database> civil_db_;
  std::unique_ptr<Node> tax_;
  std::unique_ptr<Node> civil_;
  std::unique_ptr<http::Client> caller_;
};

TEST_F(NodeTest, ReadsThroughBothNodesWithXRoadHeadersAndLogsBothSides) {
  auto r = Call(http::Method::get, "/r1/MN/GOV/GASR/civil-registry/person/1.0/UA90010112/read",
                About("UA90010112"));
  ASSERT_EQ(r.status, http::Status::ok) << r.body;
  const json body = json::parse(r.body);
  EXPECT_EQ(body["id"], "UA90010112");
  // The backend learns the authenticated caller and the officer.
  EXPECT_EQ(body["caller"], "MN/GOV/TAX/tax-system");
  EXPECT_EQ(body["user"], "officer-7");
  EXPECT_EQ(r.Header("Cache-Control"), "no-store");
  EXPECT_EQ(r.Header("X-Road-Client"), "MN/GOV/TAX/tax-system");
  EXPECT_EQ(r.Header("X-Road-Service"), "MN/GOV/GASR/civil-registry/person");
  EXPECT_FALSE(r.Header("X-Road-Id").empty());
  EXPECT_FALSE(r.Header("X-Road-Request-Id").empty());
  EXPECT_FALSE(r.Header("X-Road-Request-Hash").empty());
  EXPECT_TRUE(r.Header("Khur-Signature").empty());  // node business, not the client's
  EXPECT_EQ(LogCount(*tax_), 2);
  EXPECT_EQ(LogCount(*civil_), 2);

  // The data tracker saw who read what about whom and why.
  auto usage = civil_->DataUsage("UA90010112", 0, 10);
  ASSERT_TRUE(usage.ok());
  ASSERT_EQ(usage->size(), 1U);
  EXPECT_EQ((*usage)[0].client, "MN/GOV/TAX/tax-system");
  EXPECT_EQ((*usage)[0].user_id, "officer-7");
  EXPECT_EQ((*usage)[0].purpose, "tax-assessment");
  EXPECT_EQ((*usage)[0].service, "MN/GOV/GASR/civil-registry/person");
  EXPECT_TRUE(civil_->DataUsage("UA00000000", 0, 10)->empty());

  // Operational monitoring on both sides, with the four timestamps in order.
  const auto client_side = tax_->Monitoring(0, 10);
  ASSERT_EQ(client_side.size(), 1U);
  EXPECT_TRUE(client_side[0].succeeded);
  EXPECT_LE(client_side[0].request_in_ms, client_side[0].request_out_ms);
  EXPECT_LE(client_side[0].request_out_ms, client_side[0].response_in_ms);
  EXPECT_LE(client_side[0].response_in_ms, client_side[0].response_out_ms);
  EXPECT_EQ(civil_->Monitoring(0, 10).size(), 1U);
  auto metrics = caller_->Get("/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("khur_exchanges_total{side=\"client\""), std::string::npos);
}

TEST_F(NodeTest, RefusesRequestsThatBreakTheProtocolWithTheSpecsErrorTypes) {
  auto no_client = Call(http::Method::get, "/r1/MN/GOV/GASR/civil-registry/person/1.0/x/read", {});
  EXPECT_EQ(no_client.status, http::Status::bad_request);
  EXPECT_EQ(no_client.Header("X-Road-Error"), "Client.InvalidClientIdentifier");
  EXPECT_EQ(json::parse(no_client.body)["type"], "Client.InvalidClientIdentifier");

  // Another subsystem than the node's own.
  auto foreign = Call(http::Method::get, "/r1/MN/GOV/GASR/civil-registry/person/1.0/x/read",
                      {{"X-Road-Client", "MN/GOV/GASR/civil-registry"}});
  EXPECT_EQ(foreign.Header("X-Road-Error"), "Client.InvalidClientIdentifier");

  auto unknown = Call(http::Method::get, "/r1/MN/GOV/NOPE/none/person",
                      {{"X-Road-Client", "MN/GOV/TAX/tax-system"}});
  EXPECT_EQ(unknown.Header("X-Road-Error"), "Server.ClientProxy.UnknownMember");

  // A personal-data service without subject and purpose.
  auto no_subject = Call(http::Method::get, "/r1/MN/GOV/GASR/civil-registry/person/1.0/x/read",
                         {{"X-Road-Client", "MN/GOV/TAX/tax-system"}});
  EXPECT_EQ(no_subject.status, http::Status::bad_request);
  EXPECT_EQ(no_subject.Header("X-Road-Error"), "Client.BadRequest");
  EXPECT_EQ(reads_.load(), 0);
}

TEST_F(NodeTest, RefusesAndLogsCallsTheConfigurationDoesNotAllow) {
  auto denied = Call(http::Method::get, "/r1/MN/GOV/GASR/civil-registry/secret/x",
                     {{"X-Road-Client", "MN/GOV/TAX/tax-system"}});
  EXPECT_EQ(denied.status, http::Status::internal_server_error);
  EXPECT_EQ(denied.Header("X-Road-Error"), "Server.ServerProxy.AccessDenied");
  // The refused request and its answer are in both logs.
  EXPECT_EQ(LogCount(*civil_), 2);
  EXPECT_EQ(LogCount(*tax_), 2);
  // Write needs a write right: health is read-only for the tax system.
  auto write = Call(http::Method::post, "/r1/MN/GOV/GASR/civil-registry/health/1.0/create",
                    About("UA90010112"), R"({"id":"x"})");
  EXPECT_EQ(write.Header("X-Road-Error"), "Server.ServerProxy.AccessDenied");
  auto unknown = Call(http::Method::get, "/r1/MN/GOV/GASR/civil-registry/nothing/x",
                      {{"X-Road-Client", "MN/GOV/TAX/tax-system"}});
  EXPECT_EQ(unknown.Header("X-Road-Error"), "Server.ServerProxy.UnknownService");
}

TEST_F(NodeTest, ConsentRequiredServicesNeedAValidConsent) {
  auto none = Call(http::Method::get, "/r1/MN/GOV/GASR/civil-registry/health/1.0/UA90010112/read",
                   About("UA90010112"));
  EXPECT_EQ(none.Header("X-Road-Error"), "Server.ServerProxy.AccessDenied");
  auto headers = About("UA90010112");
  headers.emplace_back("Ulus-Consent", "withdrawn-consent");
  auto withdrawn =
      Call(http::Method::get, "/r1/MN/GOV/GASR/civil-registry/health/1.0/UA90010112/read", headers);
  EXPECT_EQ(withdrawn.Header("X-Road-Error"), "Server.ServerProxy.AccessDenied");
  EXPECT_NE(withdrawn.body.find("consent withdrawn"), std::string::npos);
  headers.back().second = "good-consent";
  auto good =
      Call(http::Method::get, "/r1/MN/GOV/GASR/civil-registry/health/1.0/UA90010112/read", headers);
  EXPECT_EQ(good.status, http::Status::ok) << good.body;
  // A consent for another person does not cover this one.
  auto other = About("UA80010112");
  other.emplace_back("Ulus-Consent", "good-consent");
  auto wrong_person =
      Call(http::Method::get, "/r1/MN/GOV/GASR/civil-registry/health/1.0/UA80010112/read", other);
  EXPECT_EQ(wrong_person.Header("X-Road-Error"), "Server.ServerProxy.AccessDenied");
}

TEST_F(NodeTest, ARetriedXRoadIdIsAnsweredOnceAndTheSameWay) {
  auto headers = About("UA90010112");
  headers.emplace_back("X-Road-Id", "0190a0b0-0000-7000-8000-000000000001");
  headers.emplace_back("Content-Type", "application/json");
  auto first = Call(http::Method::post, "/r1/MN/GOV/GASR/civil-registry/person/1.0/create", headers,
                    R"({"id":"UA90010112"})");
  ASSERT_EQ(first.status, http::Status::created) << first.body;
  auto again = Call(http::Method::post, "/r1/MN/GOV/GASR/civil-registry/person/1.0/create", headers,
                    R"({"id":"UA90010112"})");
  EXPECT_EQ(again.status, http::Status::created);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(creates_.load(), 1);
  // The same X-Road-Id for a different request is refused.
  auto other = Call(http::Method::post, "/r1/MN/GOV/GASR/civil-registry/person/1.0/create", headers,
                    R"({"id":"UA80010112"})");
  EXPECT_EQ(other.Header("X-Road-Error"), "Client.BadRequest");
  EXPECT_EQ(creates_.load(), 1);

  // A read retried: answered from memory, the backend reads once.
  auto read_headers = About("UA90010112");
  read_headers.emplace_back("X-Road-Id", "0190a0b0-0000-7000-8000-000000000002");
  Call(http::Method::get, "/r1/MN/GOV/GASR/civil-registry/person/1.0/UA90010112/read",
       read_headers);
  Call(http::Method::get, "/r1/MN/GOV/GASR/civil-registry/person/1.0/UA90010112/read",
       read_headers);
  EXPECT_EQ(reads_.load(), 1);
}

TEST_F(NodeTest, RetriesArrivingWhileTheFirstIsAnsweredGetItsAnswerAndTheBackendRunsOnce) {
  auto headers = About("UA90010112");
  headers.emplace_back("X-Road-Id", "0190a0b0-0000-7000-8000-000000000003");
  headers.emplace_back("Content-Type", "application/json");
  const std::string target = "/r1/MN/GOV/GASR/civil-registry/person/1.0/slow-create";
  const std::string origin = "http://127.0.0.1:" + std::to_string(tax_->client_port());
  constexpr size_t kCallers = 6;
  std::vector<http::ClientResponse> answers(kCallers);
  std::vector<std::thread> callers;
  for (size_t i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, i] {
      auto client = http::Client::Create(origin);
      if (!client.ok()) return;
      auto r = (*client)->Send(http::Method::post, target, R"({"id":"UA90010112"})", headers);
      if (r.ok()) answers[i] = std::move(r).value();
    });
  }
  for (auto& t : callers) t.join();
  for (const auto& answer : answers) {
    EXPECT_EQ(answer.status, http::Status::created) << answer.body;
    EXPECT_EQ(answer.body, answers[0].body);
    EXPECT_TRUE(answer.Header("X-Road-Error").empty());
  }
  EXPECT_EQ(creates_.load(), 1);
  // Every one of them is a message on both sides: six requests and six answers each.
  EXPECT_EQ(LogCount(*tax_), static_cast<int64_t>(2 * kCallers));
  EXPECT_EQ(LogCount(*civil_), static_cast<int64_t>(2 * kCallers));
}

TEST_F(NodeTest, AProviderThatIsDownOrSlowGivesAPromptNetworkError) {
  auto start = std::chrono::steady_clock::now();
  auto slow = Call(http::Method::get, "/r1/MN/GOV/GASR/civil-registry/slow/x",
                   {{"X-Road-Client", "MN/GOV/TAX/tax-system"}});
  // The backend outlives the provider node's deadline: the provider reports the failed service.
  EXPECT_EQ(slow.Header("X-Road-Error"), "Server.ServerProxy.ServiceFailed");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2400ms);

  civil_->Stop();
  start = std::chrono::steady_clock::now();
  auto down = Call(http::Method::get, "/r1/MN/GOV/GASR/civil-registry/person/1.0/x/read",
                   About("UA90010112"));
  EXPECT_EQ(down.status, http::Status::internal_server_error);
  EXPECT_EQ(down.Header("X-Road-Error"), "Server.ClientProxy.NetworkError");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(NodeTest, AnExpiredConfigurationStopsTraffic) {
  clock_.Advance(11min);
  auto r = Call(http::Method::get, "/r1/MN/GOV/GASR/civil-registry/person/1.0/x/read",
                About("UA90010112"));
  EXPECT_EQ(r.status, http::Status::internal_server_error);
  EXPECT_EQ(r.Header("X-Road-Error"), "Server.ClientProxy.OutdatedGlobalConf");
  EXPECT_EQ(reads_.load(), 0);
}

TEST_F(NodeTest, ANodeWhoseCertificateOrKeyIsNotTheConfiguredOneIsRefused) {
  // The configuration names another certificate for the provider: the client node will not talk
  // to the one that answers.
  auto content = Content();
  auto stranger = MakeFiles("stranger", kCivil);
  content.subsystems[1].node.tls_sha256 = {stranger.sha256};
  content.issued = clock_.Now() + 1s;
  InstallConfig(content);
  auto pinned = Call(http::Method::get, "/r1/MN/GOV/GASR/civil-registry/person/1.0/x/read",
                     About("UA90010112"));
  EXPECT_EQ(pinned.Header("X-Road-Error"), "Server.ClientProxy.SslAuthenticationFailed");

  // The configuration names another signing key for the tax system: its requests are refused.
  content = Content();
  content.subsystems[0].node.signing_keys = {stranger.signer->PublicJwk()};
  content.issued = clock_.Now() + 2s;
  InstallConfig(content);
  auto unsigned_request = Call(
      http::Method::get, "/r1/MN/GOV/GASR/civil-registry/person/1.0/x/read", About("UA90010112"));
  EXPECT_EQ(unsigned_request.Header("X-Road-Error"), "Server.ServerProxy.InvalidSignatureValue");
  EXPECT_EQ(reads_.load(), 0);
}

}  // namespace
}  // namespace ulus::exchange
