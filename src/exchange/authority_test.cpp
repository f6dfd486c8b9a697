// The central authority on SQLite (the shared suite), its HTTP routes, and a node's enrollment
// end to end over real HTTP on loopback.
#include <sys/stat.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "authority_suite.hpp"
#include "ulus/core/files.hpp"
#include "ulus/exchange/enrollment.hpp"
#include "ulus/http/client.hpp"
#include "ulus/http/server.hpp"

namespace ulus::exchange::test {
namespace {

class SqliteTestDatabase final : public TestDatabase {
 public:
  explicit SqliteTestDatabase(std::string url) : url_(std::move(url)) {}
  [[nodiscard]] const std::string& url() const override { return url_; }

 private:
  std::string url_;  // the file lives in the test's directory, removed with it
};

Result<std::unique_ptr<TestDatabase>> MakeSqlite(const std::string& dir) {
  return std::unique_ptr<TestDatabase>(
      std::make_unique<SqliteTestDatabase>("sqlite:" + dir + "/authority.db"));
}

INSTANTIATE_TEST_SUITE_P(Sqlite, AuthorityStoreTest,
                         ::testing::Values(AuthorityBackend{"sqlite", &MakeSqlite}), BackendName);

mode_t FileMode(const std::filesystem::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

constexpr const char* kNodeFiles[] = {"tls.key",       "tls.pem",     "ca.pem",       "sign.key",
                                      "authority.jwk", "global.conf", "subsystem.txt"};

// The authority mounted on a real server on loopback, as `ulus authority` will serve it.
class AuthorityHttpTest : public AuthorityStoreTest {
 protected:
  void SetUp() override {
    AuthorityStoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    server_ = Serve([this](http::Router& router) { authority_->Mount(router); });
    url_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    for (auto& server : servers_) server->Stop(std::chrono::seconds(1));
    AuthorityStoreTest::TearDown();
  }

  http::Server* Serve(const std::function<void(http::Router&)>& mount) {
    http::Router router;
    mount(router);
    http::ServerOptions options;
    options.port = 0;
    options.threads = 2;
    auto server = http::Server::Create(options, std::move(router));
    EXPECT_TRUE(server.ok());
    EXPECT_TRUE((*server)->Start().ok());
    servers_.push_back(std::move(server).value());
    return servers_.back().get();
  }

  Result<http::ClientResponse> Call(http::Method method, const std::string& target,
                                    const std::string& body = {}) {
    ULUS_ASSIGN_OR_RETURN(auto client, http::Client::Create(url_));
    return client->Send(method, target, body, {{"Content-Type", "application/json"}});
  }

  std::string NodeDir(const std::string& name) { return dir_ + "/" + name; }

  Status Enroll(const std::string& token, const ClientId& subsystem, const std::string& dir,
                const std::string& url = {}) {
    return EnrollNode(url.empty() ? url_ : url, token, subsystem, "https://127.0.0.1:8443", dir,
                      {"localhost"}, clock_);
  }

  std::vector<std::unique_ptr<http::Server>> servers_;
  http::Server* server_ = nullptr;
  std::string url_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, AuthorityHttpTest,
                         ::testing::Values(AuthorityBackend{"sqlite", &MakeSqlite}), BackendName);

TEST_P(AuthorityHttpTest, ServesTheConfigurationTheCaAndTheKey) {
  const auto conf = Call(http::Method::get, "/khur/authority/conf");
  ASSERT_TRUE(conf.ok()) << conf.error().ToString();
  EXPECT_EQ(conf->status, http::Status::ok);
  EXPECT_EQ(conf->Header("Content-Type"), "application/jwt");
  EXPECT_EQ(conf->Header("Cache-Control"), "no-store");
  EXPECT_TRUE(Verify(conf->body).ok());

  const auto ca = Call(http::Method::get, "/khur/authority/ca.pem");
  ASSERT_TRUE(ca.ok());
  EXPECT_EQ(ca->body, ca_->CertificatePem());

  const auto key = Call(http::Method::get, "/khur/authority/key");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(json::parse(key->body), signer_->PublicJwk());

  const auto openapi = Call(http::Method::get, "/openapi.json");
  ASSERT_TRUE(openapi.ok());
  const auto paths = json::parse(openapi->body)["paths"];
  EXPECT_TRUE(paths.contains("/khur/authority/register"));
  EXPECT_TRUE(paths.contains("/khur/authority/conf"));
}

TEST_P(AuthorityHttpTest, RegisterAnswersProblemsWithoutTellingWhichTokensExist) {
  const auto node = NewNode(Gasr());
  const auto body_for = [&](const std::string& token) {
    return json{{"token", token},
                {"csr", node.tls.csr_pem},
                {"address", "https://127.0.0.1:8443"},
                {"signing_jwk", node.signing->PublicJwk()}}
        .dump();
  };
  const auto token = Token(Gasr());
  const auto first = Call(http::Method::post, "/khur/authority/register", body_for(token));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->status, http::Status::created) << first->body;
  const auto answer = json::parse(first->body);
  EXPECT_EQ(answer["subsystem"], Gasr().ToString());
  EXPECT_EQ(answer["ca"], ca_->CertificatePem());
  EXPECT_TRUE(Verify(answer["config"].get<std::string>()).ok());

  auto guessed = token;
  guessed[8] = guessed[8] == 'x' ? 'y' : 'x';
  std::vector<json> problems;
  for (const auto& t : {token, guessed, std::string("khur1.nothing"), std::string()}) {
    const auto r = Call(http::Method::post, "/khur/authority/register", body_for(t));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, http::Status::unauthorized) << t;
    EXPECT_EQ(r->Header("Content-Type"), "application/problem+json");
    problems.push_back(json::parse(r->body));
  }
  ASSERT_EQ(problems.size(), 4U);
  for (auto& p : problems) p.erase("instance");
  for (size_t i = 1; i < problems.size(); ++i) EXPECT_EQ(problems[0], problems[i]) << i;
  EXPECT_EQ(problems[0]["field"], "token");

  // Without a token at all the request is malformed, which says nothing about tokens either.
  auto no_token = json::parse(body_for(token));
  no_token.erase("token");
  const auto missing = Call(http::Method::post, "/khur/authority/register", no_token.dump());
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, http::Status::bad_request);

  const auto not_json = Call(http::Method::post, "/khur/authority/register", "{");
  ASSERT_TRUE(not_json.ok());
  EXPECT_EQ(not_json->status, http::Status::bad_request);
  const auto bad_hosts = Call(http::Method::post, "/khur/authority/register",
                              json{{"token", token},
                                   {"csr", "x"},
                                   {"address", "https://a"},
                                   {"signing_jwk", json::object()},
                                   {"hosts", "a"}}
                                  .dump());
  ASSERT_TRUE(bad_hosts.ok());
  EXPECT_EQ(bad_hosts->status, http::Status::bad_request);
  EXPECT_EQ(json::parse(bad_hosts->body)["field"], "hosts");
}

TEST_P(AuthorityHttpTest, ANodeEnrollsAndKeepsItsCredentials) {
  const auto token = Token(Gasr());
  const auto dir = NodeDir("gasr");
  const auto enrolled = Enroll(token, Gasr(), dir);
  ASSERT_TRUE(enrolled.ok()) << enrolled.error().ToString();
  for (const char* file : kNodeFiles) {
    ASSERT_TRUE(std::filesystem::exists(dir + "/" + file)) << file;
    EXPECT_EQ(FileMode(dir + "/" + file), 0600U) << file;
  }
  EXPECT_EQ(FileMode(dir), 0700U);

  auto credentials = LoadNodeCredentials(dir);
  ASSERT_TRUE(credentials.ok()) << credentials.error().ToString();
  EXPECT_EQ(credentials->subsystem, Gasr());
  EXPECT_EQ(credentials->authority_key.Thumbprint(), signer_->Public().Thumbprint());
  EXPECT_EQ(credentials->tls_certificate_file, std::filesystem::path(dir) / "tls.pem");
  EXPECT_EQ(ReadText(credentials->ca_file), ca_->CertificatePem());

  // What the node kept is what the authority now publishes.
  const auto config = Verify(*authority_->SignedConfig());
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE(config->NodePresents(Gasr(), credentials->certificate.sha256));
  EXPECT_NE(config->SigningKey(Gasr(), credentials->signing_key.Kid()), nullptr);
  EXPECT_EQ(config->NodeOf(Gasr())->address, "https://127.0.0.1:8443");
  EXPECT_TRUE(
      VerifyGlobalConfig(credentials->global_config_jws, credentials->authority_key, clock_).ok());
  // The certificate names the node's host for peers' TLS checks, and the loopback name asked for.
  EXPECT_TRUE(VerifyNodeCertificate(ReadText(credentials->tls_certificate_file),
                                    ReadText(credentials->tls_key_file), {ca_->CertificatePem()},
                                    clock_)
                  .ok());

  // The token is spent: a second use is refused and leaves the first node's files alone.
  const auto again = Enroll(token, Gasr(), NodeDir("gasr-again"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kUnauthenticated);
  EXPECT_FALSE(std::filesystem::exists(NodeDir("gasr-again")));

  // A missing file is named.
  std::filesystem::remove(dir + "/sign.key");
  const auto missing = LoadNodeCredentials(dir);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("sign.key"), std::string::npos);
}

TEST_P(AuthorityHttpTest, ReEnrollingRotatesTheNodesCredentials) {
  const auto dir = NodeDir("gasr");
  ASSERT_TRUE(Enroll(Token(Gasr()), Gasr(), dir).ok());
  auto first = LoadNodeCredentials(dir);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(Enroll(Token(Gasr()), Gasr(), dir).ok());
  auto second = LoadNodeCredentials(dir);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(first->certificate.sha256, second->certificate.sha256);
  const auto config = Verify(*authority_->SignedConfig());
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(config->NodePresents(Gasr(), first->certificate.sha256));
  EXPECT_TRUE(config->NodePresents(Gasr(), second->certificate.sha256));
  // Both signing keys verify for a while: messages signed before the rotation stay checkable.
  EXPECT_NE(config->SigningKey(Gasr(), first->signing_key.Kid()), nullptr);
  EXPECT_NE(config->SigningKey(Gasr(), second->signing_key.Kid()), nullptr);

  // A cut-short enrollment (a certificate that is not for the key) is named as such.
  ASSERT_TRUE(
      WritePrivateFile(std::filesystem::path(dir) / "tls.pem", first->certificate.pem).ok());
  const auto mixed = LoadNodeCredentials(dir);
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.error().message.find("enroll again"), std::string::npos);
}

TEST_P(AuthorityHttpTest, WrongTokensAreRefusedAndWriteNothing) {
  const auto dir = NodeDir("node");
  // Unknown subsystem: no token to begin with.
  EXPECT_FALSE(authority_->IssueRegistrationToken(Sub("MN/GOV/NOBODY/x")).ok());

  // A tampered secret.
  auto token = Token(Gasr());
  auto tampered = token;
  tampered[8] = tampered[8] == 'Q' ? 'R' : 'Q';
  auto r = Enroll(tampered, Gasr(), dir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);

  // A thumbprint of another authority's key: the authority refuses a token it did not issue.
  const auto other_key = NewEs256Key();
  auto parsed = ParseRegistrationToken(token);
  ASSERT_TRUE(parsed.ok());
  const auto rethumbed = "khur1." + parsed->secret + "." + other_key->Public().Thumbprint();
  r = Enroll(rethumbed, Gasr(), dir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);

  // Not a token at all: the node refuses before it calls.
  r = Enroll("not-a-token", Gasr(), dir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "token");

  // Another subsystem's token: refused before it is spent.
  const auto gosi_token = Token(Gosi());
  r = Enroll(gosi_token, Gasr(), dir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << r.error().ToString();

  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_EQ(Count("exchange_authority_node"), 0);
  // The real tokens still work.
  EXPECT_TRUE(Enroll(token, Gasr(), NodeDir("gasr")).ok());
  EXPECT_TRUE(Enroll(gosi_token, Gosi(), NodeDir("gosi")).ok());
}

// A man in the middle of the node's first contact answers as an authority of its own (its key,
// its CA, its configuration, all consistent). The node has a token from the real authority, whose
// thumbprint it pins, and refuses.
TEST_P(AuthorityHttpTest, ANodeRefusesAnAuthorityItsTokenDoesNotName) {
  store::DatabaseOptions options;
  options.url = "sqlite:" + dir_ + "/mitm.db";
  auto mitm_db = store::Database::Open(options);
  ASSERT_TRUE(mitm_db.ok());
  const auto mitm_key = NewEs256Key();
  auto mitm_ca = CertificateAuthority::OpenOrCreate(dir_ + "/mitm-ca", "MN", clock_);
  ASSERT_TRUE(mitm_ca.ok());
  auto mitm = Authority::Open(**mitm_db, *mitm_key, **mitm_ca, SmallPack(), clock_);
  ASSERT_TRUE(mitm.ok());
  auto* server = Serve([&](http::Router& router) {
    router.Add(http::Method::post, "/khur/authority/register",
               [&](http::Request& request) -> Result<http::Response> {
                 ULUS_ASSIGN_OR_RETURN(const auto body, request.Json());
                 // It swaps the token for one of its own so that its registration succeeds.
                 ULUS_ASSIGN_OR_RETURN(const auto own_token,
                                       (*mitm)->IssueRegistrationToken(Gasr()));
                 RegistrationRequest r;
                 r.token = own_token;
                 r.csr_pem = body["csr"].get<std::string>();
                 r.address = body["address"].get<std::string>();
                 r.signing_jwk = body["signing_jwk"];
                 ULUS_ASSIGN_OR_RETURN(auto reg, (*mitm)->Register(r));
                 return http::Response::Json({{"subsystem", reg.subsystem.ToString()},
                                              {"certificate", reg.certificate_pem},
                                              {"ca", reg.ca_pem},
                                              {"authority_jwk", reg.authority_jwk},
                                              {"config", reg.config_jws}},
                                             http::Status::created);
               });
  });
  const auto dir = NodeDir("fooled");
  const auto token = Token(Gasr());
  const auto r =
      Enroll(token, Gasr(), dir, "http://127.0.0.1:" + std::to_string(server->port()) + "/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(r.error().field, "authority_jwk");
  EXPECT_NE(r.error().message.find("man in the middle"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir));
  // The genuine token was never presented to the real authority and still works there.
  EXPECT_TRUE(Enroll(token, Gasr(), NodeDir("gasr")).ok());
  server->Stop(std::chrono::seconds(1));
}

TEST_P(AuthorityHttpTest, EnrollmentReportsAnUnreachableAuthority) {
  server_->Stop(std::chrono::seconds(1));
  const auto r = Enroll(Token(Gasr()), Gasr(), NodeDir("node"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().ToString();
}

}  // namespace
}  // namespace ulus::exchange::test
