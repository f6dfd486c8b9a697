#include "ulus/http/async_client.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "test_certificates.hpp"
#include "ulus/http/server.hpp"

namespace ulus::http {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;
using test::Pki;

// Generous: timings here only bound how long a test may hang, never decide a pass.
constexpr auto kPatience = 5s;

// True on the thread that is inside AsyncClient::Send: a handler seeing it was called from Send.
thread_local bool inside_send = false;

// An io_context run by two threads, as a server's I/O threads would run it.
class IoThreads {
 public:
  IoThreads() {
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this] { io_.run(); });
      ids_.insert(threads_.back().get_id());
    }
  }
  ~IoThreads() { Stop(); }
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;

  net::any_io_executor executor() { return io_.get_executor(); }
  [[nodiscard]] bool Runs(std::thread::id id) const { return ids_.contains(id); }

  // Stops the loop, leaving what is queued unrun.
  void Stop() {
    work_.reset();
    io_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> work_{io_.get_executor()};
  std::vector<std::thread> threads_;
  std::set<std::thread::id> ids_;
};

class AsyncClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new Pki(); }  // NOLINT(cppcoreguidelines-owning-memory)
  static void TearDownTestSuite() {
    delete pki_;  // NOLINT(cppcoreguidelines-owning-memory)
    pki_ = nullptr;
  }

  static ServerOptions PlainOptions() {
    ServerOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.threads = 4;
    o.header_timeout = kPatience;
    o.body_timeout = kPatience;
    return o;
  }

  Router TestRouter() {
    Router router;
    router.Add(Method::get, "/hello", [this](Request&) -> Result<Response> {
      handled_.fetch_add(1);
      return Response::Json({{"hello", "world"}});
    });
    // Answers with the body, its type and X-Test as they arrived.
    router.Add(Method::post, "/echo", [this](Request& request) -> Result<Response> {
      handled_.fetch_add(1);
      auto response =
          Response::Text(std::string(request.body()), std::string(request.Header("Content-Type")));
      response.headers.emplace_back("X-Echo", std::string(request.Header("X-Test")));
      return response;
    });
    router.Add(Method::get, "/number", [this](Request& request) -> Result<Response> {
      handled_.fetch_add(1);
      auto response = Response::Text(std::string(request.Header("X-Number")));
      response.headers.emplace_back("X-Number", std::string(request.Header("X-Number")));
      return response;
    });
    router.Add(Method::get, "/sleep", [this](Request& request) -> Result<Response> {
      handled_.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(*request.Query("ms"))));
      return Response::Text("slept");
    });
    router.Add(Method::get, "/whoami", [this](Request& request) -> Result<Response> {
      handled_.fetch_add(1);
      const PeerCertificate* peer = request.peer();
      return Response::Text(peer == nullptr ? "nobody" : peer->sha256);
    });
    return router;
  }

  void StartServer(ServerOptions options = PlainOptions()) {
    auto server = Server::Create(std::move(options), TestRouter());
    ASSERT_TRUE(server.ok()) << server.error().ToString();
    server_ = std::move(server).value();
    const auto started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.error().ToString();
  }

  [[nodiscard]] std::string Origin(std::string_view scheme = "http") const {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(server_->port());
  }

  std::shared_ptr<AsyncClient> NewClient(ClientOptions options = {},
                                         std::string_view scheme = "http") {
    auto client = AsyncClient::Create(io_.executor(), Origin(scheme), std::move(options));
    EXPECT_TRUE(client.ok()) << client.error().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  // Sends and waits for the answer, checking that it came as promised: on an I/O thread, not
  // from inside Send, once.
  Result<ClientResponse> Call(AsyncClient& client, Method method, std::string target,
                              std::string body = {}, Headers headers = {}) {
    auto answer = std::make_shared<std::promise<Result<ClientResponse>>>();
    auto future = answer->get_future();
    inside_send = true;
    client.Send(method, std::move(target), std::move(body), std::move(headers),
                [this, answer](Result<ClientResponse> r) {
                  EXPECT_FALSE(inside_send) << "the handler ran inside Send";
                  EXPECT_TRUE(io_.Runs(std::this_thread::get_id())) << "not on an I/O thread";
                  answer->set_value(std::move(r));
                });
    inside_send = false;
    if (future.wait_for(kPatience) != std::future_status::ready) {
      return Error::Internal("test: no answer within the patience");
    }
    return future.get();
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
  IoThreads io_;
  std::unique_ptr<Server> server_;
  std::atomic<int> handled_{0};
};

Pki* AsyncClientTest::pki_ = nullptr;

// A port that was free a moment ago: nobody listens there.
uint16_t UnusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    throw std::runtime_error("bind failed");
  }
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST_F(AsyncClientTest, SendsGetAndPostAsGiven) {
  StartServer();
  auto client = NewClient();
  ASSERT_TRUE(client);
  const auto got = Call(*client, Method::get, "/hello");
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ(got->status, Status::ok);
  EXPECT_EQ(nlohmann::json::parse(got->body)["hello"], "world");
  EXPECT_EQ(got->Header("Content-Type"), "application/json");
  EXPECT_EQ(got->Header("Content-Length"), std::to_string(got->body.size()));

  // A small body goes out with the head, a large one after it.
  for (const size_t size : {size_t{17}, size_t{100'000}}) {
    std::string body(size, 'x');
    body.front() = '<';
    body.back() = '>';
    const auto posted =
        Call(*client, Method::post, "/echo", body,
             {{"Content-Type", "text/x-test"}, {"X-Test", "value " + body.substr(0, 3)}});
    ASSERT_TRUE(posted.ok()) << posted.error().ToString();
    EXPECT_EQ(posted->status, Status::ok);
    EXPECT_EQ(posted->body, body);
    EXPECT_EQ(posted->Header("Content-Type"), "text/x-test");
    EXPECT_EQ(posted->Header("X-Echo"), "value <xx");
  }
  EXPECT_EQ(ConnectionsAccepted(), 1U);
}

TEST_F(AsyncClientTest, TheLastOfARepeatedHeaderWins) {
  StartServer();
  auto client = NewClient();
  ASSERT_TRUE(client);
  const auto r = Call(*client, Method::post, "/echo", "{}",
                      {{"X-Test", "forged"}, {"Content-Length", "99"}, {"x-test", "real"}});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->Header("X-Echo"), "real");
  EXPECT_EQ(r->body, "{}");
}

TEST_F(AsyncClientTest, ManyThreadsShareThePoolAndEachGetsItsOwnAnswer) {
  StartServer();
  auto client = NewClient();
  ASSERT_TRUE(client);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::mutex mutex;
  std::condition_variable all_done;
  int answered = 0;
  int right = 0;
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string number = std::to_string(t * kPerThread + i);
        client->Send(Method::get, "/number", {}, {{"X-Number", number}},
                     [&, number](Result<ClientResponse> r) {
                       const bool ok = r.ok() && r->status == Status::ok && r->body == number &&
                                       r->Header("X-Number") == number;
                       const std::lock_guard lock(mutex);
                       ++answered;
                       if (ok) ++right;
                       all_done.notify_all();
                     });
      }
    });
  }
  for (auto& t : senders) t.join();
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(
        all_done.wait_for(lock, kPatience, [&] { return answered == kThreads * kPerThread; }))
        << answered << " answered";
    EXPECT_EQ(right, kThreads * kPerThread);
  }
  const auto opened = ConnectionsAccepted();
  EXPECT_LE(opened, uint64_t{kThreads} * kPerThread);

  // One after another, the connections already open are reused.
  for (int i = 0; i < 50; ++i) {
    const auto r = Call(*client, Method::get, "/number", {}, {{"X-Number", std::to_string(i)}});
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->body, std::to_string(i));
  }
  EXPECT_EQ(ConnectionsAccepted(), opened);
}

TEST_F(AsyncClientTest, SequentialRequestsUseOneConnection) {
  StartServer();
  auto client = NewClient();
  ASSERT_TRUE(client);
  for (int i = 0; i < 50; ++i) {
    const auto r = Call(*client, Method::get, "/hello");
    ASSERT_TRUE(r.ok()) << r.error().ToString();
  }
  EXPECT_EQ(ConnectionsAccepted(), 1U);
  EXPECT_EQ(client->idle_connections(), 256U);
}

TEST_F(AsyncClientTest, ResolvesAHostName) {
  StartServer();
  auto client =
      AsyncClient::Create(io_.executor(), "http://localhost:" + std::to_string(server_->port()));
  ASSERT_TRUE(client.ok());
  for (int i = 0; i < 3; ++i) {
    const auto r = Call(**client, Method::get, "/hello");
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->status, Status::ok);
  }
  EXPECT_EQ(ConnectionsAccepted(), 1U);
}

TEST_F(AsyncClientTest, ReportsARefusedConnectionAsUnavailable) {
  auto client =
      AsyncClient::Create(io_.executor(), "http://127.0.0.1:" + std::to_string(UnusedPort()));
  ASSERT_TRUE(client.ok());
  const auto start = SteadyClock::now();
  const auto r = Call(**client, Method::get, "/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().ToString();
  EXPECT_LT(SteadyClock::now() - start, 2s);
}

TEST_F(AsyncClientTest, TimesOutPromptly) {
  StartServer();
  ClientOptions options;
  options.request_timeout = 300ms;
  auto client = NewClient(options);
  ASSERT_TRUE(client);
  const auto start = SteadyClock::now();
  const auto r = Call(*client, Method::get, "/sleep?ms=2000");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout) << r.error().ToString();
  EXPECT_LT(SteadyClock::now() - start, options.request_timeout + 1s);
  // The pool goes on.
  EXPECT_TRUE(Call(*client, Method::get, "/hello").ok());
}

TEST_F(AsyncClientTest, TimesOutOnAServerThatNeverAnswers) {
  // A listening socket nobody accepts from: the kernel completes the handshake, then silence.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ClientOptions options;
  options.request_timeout = 300ms;
  auto client = AsyncClient::Create(
      io_.executor(), "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)), options);
  ASSERT_TRUE(client.ok());
  const auto start = SteadyClock::now();
  const auto r = Call(**client, Method::get, "/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout) << r.error().ToString();
  EXPECT_LT(SteadyClock::now() - start, options.request_timeout + 1s);
  ::close(fd);
}

TEST_F(AsyncClientTest, SurvivesTheServerClosingAnIdleConnection) {
  auto options = PlainOptions();
  options.idle_timeout = 200ms;
  StartServer(options);
  auto client = NewClient();
  ASSERT_TRUE(client);
  ASSERT_TRUE(Call(*client, Method::get, "/hello").ok());
  std::this_thread::sleep_for(600ms);
  const auto r = Call(*client, Method::get, "/hello");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, Status::ok);
  EXPECT_EQ(ConnectionsAccepted(), 2U);
}

// A server that answers the first request on a connection and closes it on the second without a
// byte in reply, as a server does when its idle timeout and a new request cross.
class ClosingServer {
 public:
  ClosingServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(fd_, 16) != 0) {
      throw std::runtime_error("bind or listen failed");
    }
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ClosingServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  ClosingServer(const ClosingServer&) = delete;
  ClosingServer& operator=(const ClosingServer&) = delete;

  [[nodiscard]] uint16_t port() const { return port_; }
  [[nodiscard]] int connections() const { return connections_.load(); }

 private:
  void Serve() {
    for (;;) {
      const int conn = ::accept(fd_, nullptr, nullptr);
      if (conn < 0) return;
      const int number = connections_.fetch_add(1) + 1;
      if (ReadRequest(conn)) {
        const std::string body = "connection " + std::to_string(number);
        const std::string reply =
            "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        ::send(conn, reply.data(), reply.size(), MSG_NOSIGNAL);
        ReadRequest(conn);
      }
      ::close(conn);
    }
  }

  static bool ReadRequest(int conn) {
    std::string data;
    char chunk[4096];
    while (data.find("\r\n\r\n") == std::string::npos) {
      const auto n = ::recv(conn, chunk, sizeof(chunk), 0);
      if (n <= 0) return false;
      data.append(chunk, static_cast<size_t>(n));
    }
    return true;
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

TEST_F(AsyncClientTest, RetriesOnceWhenAReusedConnectionTurnsOutClosed) {
  ClosingServer closing;
  auto client =
      AsyncClient::Create(io_.executor(), "http://127.0.0.1:" + std::to_string(closing.port()));
  ASSERT_TRUE(client.ok());
  const auto first = Call(**client, Method::get, "/");
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(first->body, "connection 1");
  // Connection 1 is closed when this arrives; it is sent again on connection 2.
  const auto second = Call(**client, Method::get, "/");
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_EQ(second->body, "connection 2");
  EXPECT_EQ(closing.connections(), 2);
}

TEST_F(AsyncClientTest, RefusesLineBreaksAsynchronously) {
  StartServer();
  auto client = NewClient();
  ASSERT_TRUE(client);
  const auto header = Call(*client, Method::get, "/hello", {}, {{"X-Test", "a\r\nX-Evil: 1"}});
  ASSERT_FALSE(header.ok());
  EXPECT_EQ(header.error().code, ErrorCode::kInvalidArgument);
  const auto target = Call(*client, Method::get, "/hello HTTP/1.1\r\nX-Evil: 1\r\n\r\nGET /");
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(target.error().code, ErrorCode::kInvalidArgument);
  const auto nul = Call(*client, Method::get, "/hello", {}, {{std::string("X\0Y", 3), "v"}});
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_EQ(ConnectionsAccepted(), 0U);
}

TEST_F(AsyncClientTest, EnforcesTheResponseBodyLimit) {
  StartServer();
  ClientOptions options;
  options.response_body_limit = 8;
  auto client = NewClient(options);
  ASSERT_TRUE(client);
  const auto r = Call(*client, Method::get, "/hello");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTooLarge) << r.error().ToString();
}

TEST_F(AsyncClientTest, AnswersHeadWithoutABody) {
  StartServer();
  auto client = NewClient();
  ASSERT_TRUE(client);
  const auto head = Call(*client, Method::head, "/hello");
  ASSERT_TRUE(head.ok()) << head.error().ToString();
  EXPECT_EQ(head->status, Status::ok);
  EXPECT_TRUE(head->body.empty());
  // The connection is still in step.
  const auto get = Call(*client, Method::get, "/hello");
  ASSERT_TRUE(get.ok()) << get.error().ToString();
  EXPECT_EQ(nlohmann::json::parse(get->body)["hello"], "world");
  EXPECT_EQ(ConnectionsAccepted(), 1U);
}

TEST_F(AsyncClientTest, SpeaksMutualTlsWithAPinnedServer) {
  StartServer(pki_->Server());
  auto options = pki_->Client(Pki::As::kClient);
  options.pinned_sha256 = {pki_->server_sha256()};
  auto client = NewClient(options, "https");
  ASSERT_TRUE(client);
  for (int i = 0; i < 5; ++i) {
    const auto r = Call(*client, Method::get, "/whoami");
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->body, pki_->client_sha256());
  }
  EXPECT_EQ(ConnectionsAccepted(), 1U);
  EXPECT_EQ(handled_.load(), 5);

  // By name: SNI, and the name checked against the certificate.
  auto by_name = AsyncClient::Create(
      io_.executor(), "https://localhost:" + std::to_string(server_->port()), options);
  ASSERT_TRUE(by_name.ok());
  const auto r = Call(**by_name, Method::get, "/whoami");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, pki_->client_sha256());
}

TEST_F(AsyncClientTest, RefusesAServerItDoesNotTrust) {
  StartServer(pki_->Server(/*with_client_ca=*/false));
  auto options = pki_->Client(Pki::As::kNobody);
  options.ca_file.clear();  // the system's CAs do not know the test CA
  auto client = NewClient(options, "https");
  ASSERT_TRUE(client);
  const auto r = Call(*client, Method::get, "/whoami");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().ToString();
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(AsyncClientTest, RefusesAServerWithAnotherPin) {
  StartServer(pki_->Server());
  auto options = pki_->Client(Pki::As::kClient);
  options.pinned_sha256 = {std::string(64, '0')};
  auto client = NewClient(options, "https");
  ASSERT_TRUE(client);
  const auto r = Call(*client, Method::get, "/whoami");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated) << r.error().ToString();
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(AsyncClientTest, FailsWithoutTheClientCertificateTheServerRequires) {
  StartServer(pki_->Server());
  auto client = NewClient(pki_->Client(Pki::As::kNobody), "https");
  ASSERT_TRUE(client);
  const auto r = Call(*client, Method::get, "/whoami");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().ToString();
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(AsyncClientTest, RefusesBadOriginsAndTlsFiles) {
  for (const auto* origin : {"ftp://x", "http://", "http://host/path", "http://[::1"}) {
    EXPECT_FALSE(AsyncClient::Create(io_.executor(), origin).ok()) << origin;
  }
  ClientOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  const auto bad = AsyncClient::Create(io_.executor(), "https://127.0.0.1:1", options);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().field, "ca_file");
}

TEST_F(AsyncClientTest, SendsAfterCloseOnNewConnections) {
  StartServer();
  auto client = NewClient();
  ASSERT_TRUE(client);
  ASSERT_TRUE(Call(*client, Method::get, "/hello").ok());
  client->Close();
  ASSERT_TRUE(Call(*client, Method::get, "/hello").ok());
  ASSERT_TRUE(Call(*client, Method::get, "/hello").ok());
  EXPECT_EQ(ConnectionsAccepted(), 2U);
}

TEST_F(AsyncClientTest, AnswersRequestsInFlightWhenDestroyed) {
  StartServer();
  auto client = NewClient();
  ASSERT_TRUE(client);
  constexpr int kRequests = 8;
  std::vector<std::future<Result<ClientResponse>>> answers;
  for (int i = 0; i < kRequests; ++i) {
    auto answer = std::make_shared<std::promise<Result<ClientResponse>>>();
    answers.push_back(answer->get_future());
    client->Send(Method::get, "/sleep?ms=200", {}, {},
                 [answer](Result<ClientResponse> r) { answer->set_value(std::move(r)); });
  }
  client.reset();
  for (auto& answer : answers) {
    ASSERT_EQ(answer.wait_for(kPatience), std::future_status::ready);
    const auto r = answer.get();
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->body, "slept");
  }
}

TEST_F(AsyncClientTest, DropsHandlersWhenTheLoopStopsUnderThem) {
  StartServer();
  auto called = std::make_shared<std::atomic<int>>(0);
  {
    IoThreads io;
    auto client = AsyncClient::Create(io.executor(), Origin());
    ASSERT_TRUE(client.ok());
    for (int i = 0; i < 4; ++i) {
      (*client)->Send(Method::get, "/sleep?ms=300", {}, {},
                      [called](const Result<ClientResponse>&) { called->fetch_add(1); });
    }
    std::this_thread::sleep_for(100ms);
    io.Stop();
    client->reset();
  }
  EXPECT_EQ(called->load(), 0);
}

}  // namespace
}  // namespace ulus::http
