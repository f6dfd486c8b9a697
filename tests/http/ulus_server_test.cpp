// Whole-system tests of the `ulus` binary's HTTP server: a real process on loopback, spoken to
// with the project's client and with raw sockets for what a client library would refuse to send.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "support/subprocess.hpp"
#include "ulus/http/client.hpp"

namespace ulus {
namespace {

using testing::Subprocess;

std::filesystem::path FreshDir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("ulus-" + name + "-" + std::to_string(getpid()) + "-" + std::to_string(rand()));
  std::filesystem::remove_all(dir);
  return dir;
}

// A raw TCP connection to the server, for bytes no well-behaved client sends.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConnection() { close(fd_); }
  [[nodiscard]] bool connected() const { return connected_; }
  void Send(const std::string& bytes) const {
    size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  // Reads until `needle` has arrived, the peer closes, or the timeout passes.
  std::string ReadUntil(const std::string& needle, int timeout_ms = 5000) {
    for (;;) {
      if (!needle.empty() && got_.find(needle) != std::string::npos) return got_;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, timeout_ms) <= 0) return got_;
      char buf[8192];
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        return got_;
      }
      got_.append(buf, static_cast<size_t>(n));
    }
  }
  // One complete response (head and Content-Length body) from the buffer, removed from it.
  std::string NextResponse() {
    ReadUntil("\r\n\r\n");
    const auto head_end = got_.find("\r\n\r\n");
    if (head_end == std::string::npos) return {};
    std::smatch m;
    const std::string head = got_.substr(0, head_end);
    size_t length = 0;
    if (std::regex_search(head, m, std::regex("[Cc]ontent-[Ll]ength: *([0-9]+)"))) {
      length = std::stoul(m[1]);
    }
    while (got_.size() < head_end + 4 + length && !closed_) ReadUntil("\x01", 2000);
    std::string response = got_.substr(0, head_end + 4 + length);
    got_.erase(0, head_end + 4 + length);
    return response;
  }
  [[nodiscard]] bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string got_;
};

class UlusServer : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = FreshDir("server");
    process_ = std::make_unique<Subprocess>(std::vector<std::string>{
        ULUS_BINARY, "--data", data_.string(), "serve", "--port", "0", "--max-body", "65536"});
    const auto line = process_->WaitForLine("serving on", std::chrono::seconds(30));
    ASSERT_TRUE(line.has_value()) << process_->captured();
    std::smatch m;
    ASSERT_TRUE(std::regex_search(*line, m, std::regex(":([0-9]+)$"))) << *line;
    port_ = static_cast<uint16_t>(std::stoi(m[1]));
    auto client = http::Client::Create("http://127.0.0.1:" + std::to_string(port_));
    ASSERT_TRUE(client.ok());
    client_ = std::move(*client);
  }
  void TearDown() override {
    process_.reset();
    std::filesystem::remove_all(data_);
  }

  static nlohmann::json ProblemOf(const std::string& raw_response) {
    const auto body = raw_response.substr(raw_response.find("\r\n\r\n") + 4);
    return nlohmann::json::parse(body);
  }

  std::filesystem::path data_;
  std::unique_ptr<Subprocess> process_;
  uint16_t port_ = 0;
  std::unique_ptr<http::Client> client_;
};

TEST_F(UlusServer, AnswersHealthMetricsAndOpenApi) {
  auto health = client_->Get("/healthz");
  ASSERT_TRUE(health.ok()) << health.error().ToString();
  EXPECT_EQ(health->status, http::Status::ok);
  EXPECT_EQ(nlohmann::json::parse(health->body).at("status"), "ok");

  auto openapi = client_->Get("/openapi.json");
  ASSERT_TRUE(openapi.ok());
  const auto doc = nlohmann::json::parse(openapi->body);
  EXPECT_EQ(doc.at("openapi"), "3.0.3");
  EXPECT_TRUE(doc.at("paths").contains("/healthz"));

  auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("ulus_http_requests_total{"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("route=\"/healthz\""), std::string::npos);
  EXPECT_NE(metrics->body.find("# TYPE ulus_http_request_duration_seconds histogram"),
            std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(data_ / "platform.db"));
}

TEST_F(UlusServer, UnknownRouteIsProblemJson) {
  auto r = client_->Get("/no/such/thing");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, http::Status::not_found);
  EXPECT_EQ(r->Header("Content-Type"), "application/problem+json");
  const auto problem = nlohmann::json::parse(r->body);
  EXPECT_EQ(problem.at("status"), 404);
  EXPECT_FALSE(problem.at("title").get<std::string>().empty());
  EXPECT_FALSE(problem.at("type").get<std::string>().empty());
  EXPECT_EQ(problem.at("instance"), "/no/such/thing");
}

TEST_F(UlusServer, WrongMethodIs405WithAllow) {
  auto r = client_->Send(http::Method::delete_, "/healthz");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, http::Status::method_not_allowed);
  EXPECT_NE(r->Header("Allow").find("GET"), std::string::npos);
  EXPECT_EQ(r->Header("Content-Type"), "application/problem+json");
}

TEST_F(UlusServer, KeepsConnectionsAliveAcrossManyRequests) {
  RawConnection conn(port_);
  ASSERT_TRUE(conn.connected());
  for (int i = 0; i < 50; ++i) {
    conn.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto response = conn.NextResponse();
    ASSERT_EQ(response.rfind("HTTP/1.1 200", 0), 0U) << i << ": " << response;
  }
  EXPECT_FALSE(conn.closed());
}

TEST_F(UlusServer, GarbageRequestGets400OrClose) {
  RawConnection conn(port_);
  conn.Send("\x16\x03\x01 this is not http at all\r\n\r\n");
  const auto response = conn.ReadUntil("", 5000);
  if (!response.empty()) {
    EXPECT_EQ(response.rfind("HTTP/1.1 400", 0), 0U) << response;
    EXPECT_NE(response.find("application/problem+json"), std::string::npos);
  }
  conn.ReadUntil("\x01", 5000);
  EXPECT_TRUE(conn.closed());
}

TEST_F(UlusServer, OversizedHeaderIs431) {
  RawConnection conn(port_);
  conn.Send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') +
            "\r\n\r\n");
  const auto response = conn.NextResponse();
  ASSERT_EQ(response.rfind("HTTP/1.1 431", 0), 0U) << response.substr(0, 200);
  EXPECT_EQ(ProblemOf(response).at("status"), 431);
}

TEST_F(UlusServer, OversizedBodyIsRefusedBeforeItIsSent) {
  RawConnection conn(port_);
  // Only the head is sent: the server must answer from Content-Length alone.
  conn.Send(
      "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 10000000\r\n\r\n");
  const auto response = conn.NextResponse();
  ASSERT_EQ(response.rfind("HTTP/1.1 413", 0), 0U) << response.substr(0, 200);
  EXPECT_EQ(ProblemOf(response).at("status"), 413);
}

TEST_F(UlusServer, SigtermDrainsAndExitsCleanly) {
  ASSERT_TRUE(client_->Get("/healthz").ok());
  process_->Signal(SIGTERM);
  const auto status = process_->Wait(std::chrono::seconds(20));
  ASSERT_TRUE(status.has_value()) << "did not stop within 20 s";
  EXPECT_EQ(*status, 0) << process_->captured();
  RawConnection after(port_);
  EXPECT_FALSE(after.connected());
}

TEST(UlusCli, BadInputGetsAPlainMessageAndNonZeroExit) {
  auto unknown = testing::RunCommand({ULUS_BINARY, "serve", "--no-such-flag"});
  EXPECT_NE(unknown.status, 0);
  EXPECT_NE(unknown.output.find("--no-such-flag"), std::string::npos) << unknown.output;

  auto half_tls = testing::RunCommand({ULUS_BINARY, "serve", "--tls-cert", ULUS_BINARY});
  EXPECT_NE(half_tls.status, 0);
  EXPECT_NE(half_tls.output.find("--tls-cert and --tls-key go together"), std::string::npos)
      << half_tls.output;

  auto bad_data =
      testing::RunCommand({ULUS_BINARY, "--data", "/proc/ulus-cannot-be-here", "migrate"});
  EXPECT_NE(bad_data.status, 0);
  EXPECT_NE(bad_data.output.find("ulus: "), std::string::npos) << bad_data.output;

  auto bad_level = testing::RunCommand({ULUS_BINARY, "--log-level", "loud", "migrate"});
  EXPECT_NE(bad_level.status, 0);
  EXPECT_NE(bad_level.output.find("unknown log level"), std::string::npos) << bad_level.output;
}

TEST(UlusCli, MigrateIsIdempotent) {
  const auto data = FreshDir("migrate");
  for (int i = 0; i < 2; ++i) {
    auto r = testing::RunCommand({ULUS_BINARY, "--data", data.string(), "migrate"});
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("outbox schema version"), std::string::npos) << r.output;
  }
  std::filesystem::remove_all(data);
}

}  // namespace
}  // namespace ulus
