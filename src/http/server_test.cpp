#include "ulus/http/server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "ulus/http/client.hpp"

namespace ulus::http {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// Generous: timings here only bound how long a test may hang, never decide a pass.
constexpr auto kPatience = 5s;

struct RawResponse {
  int status = 0;  // 0: no complete response (closed or timed out)
  std::string head;
  std::string body;

  [[nodiscard]] std::string Header(std::string_view name) const {
    std::string lower_head = head;
    std::string lower_name = "\r\n" + std::string(name) + ":";
    for (auto& c : lower_head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (auto& c : lower_name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto at = lower_head.find(lower_name);
    if (at == std::string::npos) return {};
    auto start = at + lower_name.size();
    while (start < head.size() && head[start] == ' ') ++start;
    return head.substr(start, head.find("\r\n", start) - start);
  }
};

// A client socket under the test's full control, for what a well-behaved client never sends.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  [[nodiscard]] bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      const auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // One response, framed by Content-Length; status 0 when the connection closed first.
  RawResponse ReadResponse(std::chrono::milliseconds timeout = kPatience, bool head_only = false) {
    const auto deadline = SteadyClock::now() + timeout;
    RawResponse r;
    size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(deadline)) return r;
    }
    r.head = buffer_.substr(0, head_end + 2);
    buffer_.erase(0, head_end + 4);
    const auto length_text = r.Header("Content-Length");
    const size_t length = head_only || length_text.empty() ? 0 : std::stoul(length_text);
    while (buffer_.size() < length) {
      if (!Fill(deadline)) return r;
    }
    r.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    r.status = std::stoi(r.head.substr(9, 3));
    return r;
  }

  // True when the server closes the connection within `timeout`; drops whatever it sends.
  bool WaitClosed(std::chrono::milliseconds timeout = kPatience) {
    const auto deadline = SteadyClock::now() + timeout;
    while (SteadyClock::now() < deadline) {
      if (!Fill(deadline)) return !timed_out_;
    }
    return false;
  }

 private:
  // Reads more into buffer_; false on close, error or deadline (then timed_out_ says which).
  bool Fill(SteadyClock::time_point deadline) {
    timed_out_ = false;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left <= 0ms) {
      timed_out_ = true;
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      timed_out_ = true;
      return false;
    }
    char chunk[16384];
    const auto n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool timed_out_ = false;
  std::string buffer_;
};

// A self-signed certificate for localhost and 127.0.0.1, made with OpenSSL's API.
struct TlsFiles {
  std::string dir;
  std::string certificate;
  std::string private_key;
};

TlsFiles MakeSelfSignedCertificate() {
  char dir_template[] = "/tmp/ulus-http-test-XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  if (dir == nullptr) throw std::runtime_error("mkdtemp failed");
  TlsFiles files{dir, std::string(dir) + "/cert.pem", std::string(dir) + "/key.pem"};
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24L * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"},
                                   std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert, key, EVP_sha256());
  FILE* f = std::fopen(files.certificate.c_str(), "w");
  PEM_write_X509(f, cert);
  std::fclose(f);
  f = std::fopen(files.private_key.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(cert);
  EVP_PKEY_free(key);
  return files;
}

class ServerTest : public ::testing::Test {
 protected:
  static ServerOptions TestOptions() {
    ServerOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.threads = 4;
    o.header_limit = 4096;
    o.body_limit = size_t{64} * 1024;
    o.header_timeout = 5s;
    o.body_timeout = 5s;
    o.idle_timeout = 30s;
    o.service_name = "test-service";
    o.version = "9.9.9";
    return o;
  }

  Router TestRouter() {
    Router router;
    router.Add(Method::get, "/hello", [](Request&) -> Result<Response> {
      return Response::Json({{"hello", "world"}});
    });
    router.Add(Method::post, "/echo",
               [this](Request& request) -> Result<Response> {
                 ++echo_calls_;
                 ULUS_ASSIGN_OR_RETURN(auto body, request.Json());
                 return Response::Json(body);
               },
               {{"summary", "Echoes a JSON body."}});
    router.Add(Method::post, "/people", [](Request& request) -> Result<Response> {
      ULUS_ASSIGN_OR_RETURN(const auto body, request.Json());
      if (!body.contains("age") || !body["age"].is_number_integer()) {
        return Error::InvalidArgument("age must be a whole number", "age");
      }
      return Response::Json({{"age", body["age"]}}, Status::created);
    });
    router.Add(Method::get, "/items/{id}", [](Request& request) -> Result<Response> {
      return Response::Json(
          {{"id", request.Param("id")}, {"q", request.Query("q").value_or("(none)")}});
    });
    router.Add(Method::get, "/slow", [](Request&) -> Result<Response> {
      std::this_thread::sleep_for(300ms);
      return Response::Text("finally");
    });
    router.Add(Method::get, "/throw", [](Request&) -> Result<Response> {
      throw std::runtime_error("secret-internal-detail");
    });
    router.Add(Method::get, "/internal", [](Request&) -> Result<Response> {
      return Error::Internal("database password rejected");
    });
    router.Add(Method::get, "/request-id", [](Request& request) -> Result<Response> {
      return Response::Text(std::string(request.Header("X-Request-Id")));
    });
    // Asynchronous: answered later from a thread of the test's own, as a proxy answers when its
    // peer does; "/later/throw" throws before answering, "/later/twice" answers twice,
    // "/later/drop" never answers, and "/later/fail" answers with an error.
    router.AddPrefixAsync("/later/", [this](std::shared_ptr<Request> request, Responder respond) {
      const std::string path(request->path());
      if (path == "/later/throw") throw std::runtime_error("secret-async-detail");
      if (path == "/later/drop") return;  // the Responder is dropped uncalled
      if (path == "/later/fail") {
        return respond(Error::NotFound("nothing later at " + path));
      }
      std::lock_guard lock(later_mu_);
      later_.emplace_back([request, respond = std::move(respond), path] {
        respond(Response::Text(path + " " + std::string(request->Header("X-Test")) + " " +
                               std::string(request->body())));
        if (path == "/later/twice") respond(Response::Text("second"));
      });
    });
    return router;
  }

  void StartServer(ServerOptions options = TestOptions()) {
    auto server = Server::Create(std::move(options), TestRouter());
    ASSERT_TRUE(server.ok()) << server.error().ToString();
    server_ = std::move(server).value();
    const auto started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.error().ToString();
  }

  [[nodiscard]] std::string Origin() const {
    return "http://127.0.0.1:" + std::to_string(server_->port());
  }

  std::unique_ptr<Client> NewClient(ClientOptions options = {}) {
    auto client = Client::Create(Origin(), std::move(options));
    EXPECT_TRUE(client.ok());
    return std::move(client).value();
  }

  uint64_t ConnectionsAccepted() {
    return server_->metrics()
        .GetCounter("ulus_http_connections_total", "Client connections accepted.")
        .value();
  }

  void TearDown() override {
    if (server_) server_->Stop(1s);
  }

  // Runs the answers of "/later/" requests queued so far, on this (the test's) thread.
  size_t AnswerLater() {
    std::vector<std::function<void()>> due;
    {
      std::lock_guard lock(later_mu_);
      due.swap(later_);
    }
    for (auto& answer : due) answer();
    return due.size();
  }
  // Waits until `n` "/later/" requests are waiting for their answers.
  bool WaitForLater(size_t n) {
    const auto deadline = SteadyClock::now() + kPatience;
    while (SteadyClock::now() < deadline) {
      {
        std::lock_guard lock(later_mu_);
        if (later_.size() >= n) return true;
      }
      std::this_thread::sleep_for(1ms);
    }
    return false;
  }

  std::atomic<int> echo_calls_{0};
  std::mutex later_mu_;
  std::vector<std::function<void()>> later_;
  std::unique_ptr<Server> server_;
};

nlohmann::json JsonOf(const ClientResponse& r) {
  return nlohmann::json::parse(r.body);
}

TEST_F(ServerTest, ReusesOneConnectionForManyRequests) {
  StartServer();
  auto client = NewClient();
  for (int i = 0; i < 5; ++i) {
    const auto r = client->Get("/hello");
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->status, Status::ok);
    EXPECT_EQ(JsonOf(*r)["hello"], "world");
    EXPECT_EQ(r->Header("Content-Type"), "application/json");
    EXPECT_FALSE(r->Header("Date").empty());
    EXPECT_EQ(r->Header("Content-Length"), std::to_string(r->body.size()));
    EXPECT_TRUE(r->Header("Server").empty());
  }
  EXPECT_EQ(ConnectionsAccepted(), 1U);
}

TEST_F(ServerTest, AsynchronousHandlersAnswerFromAnotherThreadWithoutHoldingAnIoThread) {
  ServerOptions options = TestOptions();
  options.threads = 1;
  StartServer(options);
  // Ten requests wait for their answers at once on a server with one I/O thread, which still
  // answers a synchronous route meanwhile.
  std::vector<std::thread> callers;
  std::vector<std::string> bodies(10);
  for (size_t i = 0; i < bodies.size(); ++i) {
    callers.emplace_back([&, i] {
      auto client = NewClient();
      auto r = client->Send(Method::post, "/later/" + std::to_string(i), "body" + std::to_string(i),
                            {{"X-Test", "t" + std::to_string(i)}});
      if (r.ok() && r->status == Status::ok) bodies[i] = r->body;
    });
  }
  ASSERT_TRUE(WaitForLater(bodies.size()));
  auto client = NewClient();
  const auto hello = client->Get("/hello");
  ASSERT_TRUE(hello.ok()) << hello.error().ToString();
  EXPECT_EQ(hello->status, Status::ok);
  EXPECT_EQ(AnswerLater(), bodies.size());
  for (auto& t : callers) t.join();
  for (size_t i = 0; i < bodies.size(); ++i) {
    const auto n = std::to_string(i);
    EXPECT_EQ(bodies[i], "/later/" + n + " t" + n + " body" + n);
  }
}

TEST_F(ServerTest, AsynchronousHandlersErrorsAreProblemsAndASecondAnswerIsIgnored) {
  StartServer();
  auto client = NewClient();
  const auto failed = client->Get("/later/fail");
  ASSERT_TRUE(failed.ok()) << failed.error().ToString();
  EXPECT_EQ(failed->status, Status::not_found);
  EXPECT_EQ(failed->Header("Content-Type"), "application/problem+json");

  const auto dropped = client->Get("/later/drop");
  ASSERT_TRUE(dropped.ok()) << dropped.error().ToString();
  EXPECT_EQ(dropped->status, Status::internal_server_error);
  EXPECT_EQ(dropped->Header("Content-Type"), "application/problem+json");

  const auto thrown = client->Get("/later/throw");
  ASSERT_TRUE(thrown.ok()) << thrown.error().ToString();
  EXPECT_EQ(thrown->status, Status::internal_server_error);
  EXPECT_EQ(thrown->body.find("secret-async-detail"), std::string::npos);

  std::thread answerer([&] {
    if (WaitForLater(1)) AnswerLater();
  });
  const auto twice = client->Get("/later/twice");
  answerer.join();
  ASSERT_TRUE(twice.ok()) << twice.error().ToString();
  EXPECT_EQ(twice->body, "/later/twice  ");
  // The connection is intact after the ignored second answer.
  const auto after = client->Get("/hello");
  ASSERT_TRUE(after.ok()) << after.error().ToString();
  EXPECT_EQ(after->status, Status::ok);
}

TEST_F(ServerTest, DispatchWaitsForAnAsynchronousHandler) {
  StartServer();
  std::thread answerer([&] {
    if (WaitForLater(1)) AnswerLater();
  });
  BeastRequest message(Method::put, "/later/in-process", 11);
  message.set("X-Test", "x");
  message.body() = "b";
  Request request(std::move(message), "in-process");
  const auto response = server_->Dispatch(request);
  answerer.join();
  EXPECT_EQ(response.status, Status::ok);
  EXPECT_EQ(response.body, "/later/in-process x b");
}

TEST_F(ServerTest, AnswersPipelinedRequestsInOrder) {
  StartServer();
  RawConnection raw(server_->port());
  ASSERT_TRUE(
      raw.Send("GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /items/2 HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto first = raw.ReadResponse();
  const auto second = raw.ReadResponse();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(nlohmann::json::parse(first.body)["id"], "1");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(nlohmann::json::parse(second.body)["id"], "2");
}

TEST_F(ServerTest, EchoesJson) {
  StartServer();
  auto client = NewClient();
  const auto r = client->PostJson("/echo", R"({"name":"Ayşe","list":[1,2,3]})");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, Status::ok);
  EXPECT_EQ(JsonOf(*r), nlohmann::json::parse(R"({"name":"Ayşe","list":[1,2,3]})"));
}

TEST_F(ServerTest, RefusesMalformedJsonWithAProblem) {
  StartServer();
  auto client = NewClient();
  const auto r = client->PostJson("/echo", "{\"a\": }");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, Status::bad_request);
  EXPECT_EQ(r->Header("Content-Type"), "application/problem+json");
  const auto problem = JsonOf(*r);
  EXPECT_EQ(problem["status"], 400);
  EXPECT_EQ(problem["instance"], "/echo");
  EXPECT_NE(problem["detail"].get<std::string>().find("column"), std::string::npos)
      << problem.dump();
}

TEST_F(ServerTest, RefusesANonJsonContentType) {
  StartServer();
  auto client = NewClient();
  const auto r = client->Send(Method::post, "/echo", "{}", {{"Content-Type", "text/plain"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, Status::unsupported_media_type);
  EXPECT_EQ(r->Header("Content-Type"), "application/problem+json");
}

TEST_F(ServerTest, NamesTheFieldAHandlerRejects) {
  StartServer();
  auto client = NewClient();
  const auto bad = client->PostJson("/people", R"({"age":"forty"})");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, Status::bad_request);
  EXPECT_EQ(JsonOf(*bad)["field"], "age");
  EXPECT_EQ(JsonOf(*bad)["detail"], "age must be a whole number");
  const auto good = client->PostJson("/people", R"({"age":40})");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->status, Status::created);
}

TEST_F(ServerTest, RefusesADeclaredOversizedBodyWithoutReadingIt) {
  StartServer();
  RawConnection raw(server_->port());
  // Declares 10 MB, sends a little: the 413 must come without waiting for the rest.
  ASSERT_TRUE(
      raw.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Content-Length: 10485760\r\n\r\n{\"a\":"));
  const auto r = raw.ReadResponse();
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.Header("Content-Type"), "application/problem+json");
  EXPECT_EQ(r.Header("Connection"), "close");
  EXPECT_TRUE(raw.WaitClosed());
  EXPECT_EQ(echo_calls_, 0);
}

TEST_F(ServerTest, RefusesAnOversizedBodyFromTheClient) {
  StartServer();
  auto client = NewClient();
  const std::string big = "[" + std::string(size_t{100} * 1024, '1') + "]";
  const auto r = client->PostJson("/echo", big);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, Status::payload_too_large);
  EXPECT_EQ(echo_calls_, 0);
}

TEST_F(ServerTest, RefusesAnOversizedChunkedBody) {
  StartServer();
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.Send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n10000\r\n" +
      std::string(0x10000, ' ') + "\r\n10000\r\n" + std::string(0x10000, ' ') + "\r\n0\r\n\r\n"));
  EXPECT_EQ(raw.ReadResponse().status, 413);
  EXPECT_EQ(echo_calls_, 0);
}

TEST_F(ServerTest, RefusesAnOversizedHead) {
  StartServer();
  RawConnection raw(server_->port());
  ASSERT_TRUE(
      raw.Send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n"));
  const auto r = raw.ReadResponse();
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(r.Header("Content-Type"), "application/problem+json");
  EXPECT_TRUE(raw.WaitClosed());
}

TEST_F(ServerTest, AnswersUnknownPathsWith404) {
  StartServer();
  auto client = NewClient();
  const auto r = client->Get("/no/such/thing");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, Status::not_found);
  EXPECT_EQ(r->Header("Content-Type"), "application/problem+json");
  EXPECT_EQ(JsonOf(*r)["status"], 404);
}

TEST_F(ServerTest, AnswersWrongMethodsWith405AndAllow) {
  StartServer();
  auto client = NewClient();
  const auto r = client->Send(Method::delete_, "/hello");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, Status::method_not_allowed);
  EXPECT_EQ(r->Header("Allow"), "GET, HEAD");
  EXPECT_EQ(r->Header("Content-Type"), "application/problem+json");
}

TEST_F(ServerTest, AnswersHeadLikeGetWithoutABody) {
  StartServer();
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.Send("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\n\r\n"));
  const auto head = raw.ReadResponse(kPatience, /*head_only=*/true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("Content-Length"), "17");
  // The next response follows at once: the HEAD response had no body.
  const auto get = raw.ReadResponse();
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, R"({"hello":"world"})");
}

TEST_F(ServerTest, DecodesPathAndQueryParameters) {
  StartServer();
  auto client = NewClient();
  const auto r = client->Get("/items/a%20b%2Fc?q=x+y%21");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(JsonOf(*r)["id"], "a b/c");
  EXPECT_EQ(JsonOf(*r)["q"], "x y!");
  EXPECT_EQ(client->Get("/items/a%00b")->status, Status::bad_request);
  EXPECT_EQ(client->Get("/items/a%zzb")->status, Status::bad_request);
}

TEST_F(ServerTest, AnswersGarbageWith400OrCloses) {
  StartServer();
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.Send(std::string("\x01\x02\xff garbage \x00\r\n\r\n", 17)));
  const auto r = raw.ReadResponse();
  if (r.status != 0) {
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.Header("Content-Type"), "application/problem+json");
  }
  EXPECT_TRUE(raw.WaitClosed());
}

TEST_F(ServerTest, ClosesASlowLorisAfterTheHeaderTimeout) {
  auto options = TestOptions();
  options.header_timeout = 300ms;
  StartServer(options);
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.Send("GET /hello HTTP/1.1\r\n"));
  const auto start = SteadyClock::now();
  bool closed = false;
  // Trickle a header line every 100 ms, as a slow-loris does, for up to 5 s.
  while (SteadyClock::now() - start < kPatience) {
    if (!raw.Send("X-Slow: 1\r\n")) {
      closed = true;
      break;
    }
    if (raw.WaitClosed(100ms)) {
      closed = true;
      break;
    }
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(SteadyClock::now() - start, 4s);
}

TEST_F(ServerTest, ClosesIdleKeepAliveConnections) {
  auto options = TestOptions();
  options.idle_timeout = 300ms;
  StartServer(options);
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(raw.ReadResponse().status, 200);
  const auto start = SteadyClock::now();
  EXPECT_TRUE(raw.WaitClosed());
  EXPECT_GE(SteadyClock::now() - start, 200ms);
}

TEST_F(ServerTest, ClientReconnectsWhenTheServerClosedAnIdleConnection) {
  auto options = TestOptions();
  options.idle_timeout = 200ms;
  StartServer(options);
  auto client = NewClient();
  ASSERT_TRUE(client->Get("/hello").ok());
  std::this_thread::sleep_for(700ms);
  const auto r = client->PostJson("/echo", "[1]");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, Status::ok);
  EXPECT_EQ(ConnectionsAccepted(), 2U);
}

TEST_F(ServerTest, HonoursConnectionCloseAndHttp10) {
  StartServer();
  {
    RawConnection raw(server_->port());
    ASSERT_TRUE(raw.Send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    const auto r = raw.ReadResponse();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.Header("Connection"), "close");
    EXPECT_TRUE(raw.WaitClosed());
  }
  {
    RawConnection raw(server_->port());
    ASSERT_TRUE(raw.Send("GET /hello HTTP/1.0\r\n\r\n"));
    const auto r = raw.ReadResponse();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.head.substr(0, 8), "HTTP/1.0");
    EXPECT_TRUE(raw.WaitClosed());
  }
  {
    RawConnection raw(server_->port());
    ASSERT_TRUE(raw.Send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    const auto r = raw.ReadResponse();
    EXPECT_EQ(r.Header("Connection"), "keep-alive");
    ASSERT_TRUE(raw.Send("GET /hello HTTP/1.0\r\n\r\n"));
    EXPECT_EQ(raw.ReadResponse().status, 200);
    EXPECT_TRUE(raw.WaitClosed());
  }
}

TEST_F(ServerTest, ClosesConnectionsBeyondTheLimit) {
  auto options = TestOptions();
  options.max_connections = 1;
  StartServer(options);
  RawConnection first(server_->port());
  ASSERT_TRUE(first.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(first.ReadResponse().status, 200);
  RawConnection second(server_->port());
  EXPECT_TRUE(second.WaitClosed());
  ASSERT_TRUE(first.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(first.ReadResponse().status, 200);
}

TEST_F(ServerTest, DrainsInFlightRequestsOnStop) {
  StartServer();
  RawConnection idle(server_->port());
  ASSERT_TRUE(idle.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(idle.ReadResponse().status, 200);

  auto& in_flight = server_->metrics().GetGauge("ulus_http_requests_in_flight", "");
  const auto wait_for_in_flight = [&](int64_t n) {
    const auto start = SteadyClock::now();
    while (in_flight.value() != n && SteadyClock::now() - start < kPatience) {
      std::this_thread::sleep_for(5ms);
    }
    return in_flight.value() == n;
  };
  // The server counts a request done once its write completes, which may be after we read it.
  ASSERT_TRUE(wait_for_in_flight(0));
  Result<ClientResponse> slow = Error::Internal("not run");
  std::thread caller([&] { slow = NewClient()->Get("/slow"); });
  EXPECT_TRUE(wait_for_in_flight(1));
  server_->Stop(5s);
  caller.join();
  ASSERT_TRUE(slow.ok()) << slow.error().ToString();
  EXPECT_EQ(slow->status, Status::ok);
  EXPECT_EQ(slow->body, "finally");
  EXPECT_EQ(slow->Header("Connection"), "close");
  EXPECT_TRUE(idle.WaitClosed(100ms));

  const auto refused = NewClient()->Get("/hello");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  server_->Stop();  // idempotent
  server_->Wait();
}

TEST_F(ServerTest, StopIsSafeFromAnotherThreadAndWaitReturns) {
  StartServer();
  std::thread stopper([&] { server_->Stop(1s); });
  server_->Wait();
  stopper.join();
}

TEST_F(ServerTest, ServesHealth) {
  StartServer();
  const auto r = NewClient()->Get("/healthz");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, Status::ok);
  EXPECT_EQ(JsonOf(*r),
            nlohmann::json({{"status", "ok"}, {"service", "test-service"}, {"version", "9.9.9"}}));
}

TEST_F(ServerTest, ServesMetricsWithPerRouteSeries) {
  StartServer();
  auto client = NewClient();
  ASSERT_TRUE(client->Get("/hello").ok());
  ASSERT_TRUE(client->Get("/items/secret-person-number").ok());
  ASSERT_TRUE(client->Get("/nope").ok());
  const auto r = client->Get("/metrics");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const auto& text = r->body;
  EXPECT_NE(text.find("# TYPE ulus_http_requests_total counter"), std::string::npos);
  EXPECT_NE(text.find("ulus_http_requests_total{method=\"GET\",route=\"/hello\",status=\"200\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("route=\"/items/{id}\""), std::string::npos);
  EXPECT_NE(text.find("route=\"unmatched\",status=\"404\""), std::string::npos);
  EXPECT_EQ(text.find("secret-person-number"), std::string::npos);  // never the raw path
  EXPECT_NE(text.find("ulus_http_request_duration_seconds_bucket{method=\"GET\",route=\"/hello\""),
            std::string::npos);
  EXPECT_NE(text.find("ulus_http_connections_open 1"), std::string::npos);
  EXPECT_NE(text.find("# TYPE ulus_http_requests_in_flight gauge"), std::string::npos);
}

TEST_F(ServerTest, ServesTheOpenApiDocument) {
  StartServer();
  const auto r = NewClient()->Get("/openapi.json");
  ASSERT_TRUE(r.ok());
  const auto doc = JsonOf(*r);
  EXPECT_EQ(doc["openapi"], "3.0.3");
  EXPECT_EQ(doc["info"]["title"], "test-service");
  EXPECT_EQ(doc["paths"]["/echo"]["post"]["summary"], "Echoes a JSON body.");
  EXPECT_EQ(doc["paths"]["/items/{id}"]["get"]["parameters"][0]["name"], "id");
  EXPECT_TRUE(doc["paths"].contains("/healthz"));
  EXPECT_TRUE(doc["paths"].contains("/metrics"));
}

TEST_F(ServerTest, HidesExceptionAndInternalErrorText) {
  StartServer();
  auto client = NewClient();
  for (const auto* path : {"/throw", "/internal"}) {
    const auto r = client->Get(path);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, Status::internal_server_error);
    EXPECT_EQ(r->Header("Content-Type"), "application/problem+json");
    EXPECT_EQ(r->body.find("secret"), std::string::npos);
    EXPECT_EQ(r->body.find("password"), std::string::npos);
    EXPECT_NE(JsonOf(*r)["detail"].get<std::string>().find(std::string(r->Header("X-Request-Id"))),
              std::string::npos);
  }
  // The connection survives a handler's exception.
  EXPECT_EQ(client->Get("/hello")->status, Status::ok);
}

TEST_F(ServerTest, EchoesASaneRequestIdAndReplacesOthers) {
  StartServer();
  auto client = NewClient();
  const auto echoed = client->Send(Method::get, "/request-id", {}, {{"X-Request-Id", "abc-123"}});
  ASSERT_TRUE(echoed.ok());
  EXPECT_EQ(echoed->Header("X-Request-Id"), "abc-123");
  EXPECT_EQ(echoed->body, "abc-123");
  const auto replaced =
      client->Send(Method::get, "/request-id", {}, {{"X-Request-Id", std::string(200, 'x')}});
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(replaced->Header("X-Request-Id").size(), 36U);
  EXPECT_EQ(replaced->body, replaced->Header("X-Request-Id"));  // the handler saw the same id
  const auto generated = client->Get("/hello");
  EXPECT_EQ(generated->Header("X-Request-Id").size(), 36U);
  EXPECT_NE(generated->Header("X-Request-Id"), replaced->Header("X-Request-Id"));
  // Errors before routing carry one too.
  EXPECT_EQ(client->Get("/nope")->Header("X-Request-Id").size(), 36U);
}

TEST_F(ServerTest, ServesHttpsAndRefusesPlainHttpOnTheTlsPort) {
  const auto files = MakeSelfSignedCertificate();
  auto options = TestOptions();
  options.tls_certificate_file = files.certificate;
  options.tls_private_key_file = files.private_key;
  StartServer(options);
  const auto port = std::to_string(server_->port());
  ClientOptions tls;
  tls.ca_file = files.certificate;
  for (const auto& origin : {"https://127.0.0.1:" + port, "https://localhost:" + port}) {
    auto client = Client::Create(origin, tls);
    ASSERT_TRUE(client.ok()) << client.error().ToString();
    for (int i = 0; i < 3; ++i) {
      const auto r = (*client)->PostJson("/echo", R"({"secure":true})");
      ASSERT_TRUE(r.ok()) << origin << ": " << r.error().ToString();
      EXPECT_EQ(JsonOf(*r)["secure"], true);
    }
  }
  EXPECT_EQ(ConnectionsAccepted(), 2U);

  // Not trusted without the CA.
  auto untrusting = Client::Create("https://127.0.0.1:" + port);
  ASSERT_TRUE(untrusting.ok());
  const auto refused = (*untrusting)->Get("/hello");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);

  ClientOptions quick;
  quick.request_timeout = 3s;
  auto plain = Client::Create("http://127.0.0.1:" + port, quick);
  const auto start = SteadyClock::now();
  const auto r = (*plain)->Get("/hello");
  EXPECT_FALSE(r.ok() && r->status == Status::ok);
  EXPECT_LT(SteadyClock::now() - start, 4s);
  std::filesystem::remove_all(files.dir);
}

TEST(ClientTest, ReportsARefusedConnectionAsUnavailable) {
  // A port that was free a moment ago: nobody listens there.
  uint16_t port = 0;
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    ::close(fd);
  }
  const std::string origin = "http://127.0.0.1:" + std::to_string(port);
  auto client = Client::Create(origin);
  ASSERT_TRUE(client.ok());
  const auto start = SteadyClock::now();
  const auto r = (*client)->Get("/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find(origin), std::string::npos) << r.error().message;
  EXPECT_LT(SteadyClock::now() - start, 2s);
}

TEST(ClientTest, TimesOutOnAServerThatNeverAnswers) {
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
  auto client = Client::Create("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)), options);
  ASSERT_TRUE(client.ok());
  const auto start = SteadyClock::now();
  const auto r = (*client)->Get("/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_LT(SteadyClock::now() - start, kPatience);
  ::close(fd);
}

TEST_F(ServerTest, ClientEnforcesTheResponseBodyLimit) {
  StartServer();
  ClientOptions options;
  options.response_body_limit = 8;
  const auto r = NewClient(options)->Get("/hello");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTooLarge);
}

TEST(ClientTest, RejectsMalformedOrigins) {
  for (const auto* origin :
       {"ftp://x", "http://", "http://host/path", "http://host:99999", "http://[::1"}) {
    EXPECT_FALSE(Client::Create(origin).ok()) << origin;
  }
  EXPECT_TRUE(Client::Create("http://[::1]:8080").ok());
  EXPECT_TRUE(Client::Create("https://example.org").ok());
}

TEST(ServerCreateTest, RefusesBadTlsFilesAndBusyPorts) {
  ServerOptions options;
  options.port = 0;
  options.tls_certificate_file = "/nonexistent/cert.pem";
  options.tls_private_key_file = "/nonexistent/key.pem";
  const auto bad_tls = Server::Create(options, Router());
  ASSERT_FALSE(bad_tls.ok());
  EXPECT_EQ(bad_tls.error().field, "tls_certificate_file");

  ServerOptions first_options;
  first_options.port = 0;
  auto first = Server::Create(first_options, Router());
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*first)->Start().ok());
  ServerOptions second_options;
  second_options.port = (*first)->port();
  auto second = Server::Create(second_options, Router());
  ASSERT_TRUE(second.ok());
  const auto started = (*second)->Start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace ulus::http
