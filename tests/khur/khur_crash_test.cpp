// Khur's crash test: two standalone nodes of a real platform (MDDIC's as the client, GASR's as the
// provider) under load from 16 agency-system threads, each node killed with SIGKILL in turn and
// restarted. No call may hang, every acknowledged exchange (a 200 the client node released) must be
// in both nodes' message logs, and both logs must verify after the crashes.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/subprocess.hpp"
#include "ulus/core/id.hpp"
#include "ulus/http/client.hpp"

namespace ulus {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;
using testing::CommandResult;
using testing::RunCommand;
using testing::Subprocess;

constexpr char kClientSubsystem[] = "MN/GOV/MDDIC/platform";
constexpr char kProviderSubsystem[] = "MN/GOV/GASR/civil-registry";
constexpr char kServicePath[] = "/r1/MN/GOV/GASR/civil-registry/person/1.0/read";
constexpr char kNetworkError[] = "Server.ClientProxy.NetworkError";
constexpr size_t kPeople = 3000;
constexpr size_t kLoadThreads = 16;
// Every call of an agency system has this deadline; a call that needs it has hung.
constexpr milliseconds kCallDeadline = 10s;
// A thread inside one call for longer than this is stuck: the client's own deadline failed.
constexpr milliseconds kStuckAfter = kCallDeadline + 5s;
// Generous, for a loaded 2-core machine.
constexpr milliseconds kReadyTimeout = 30s;
// Each phase with load runs at least this long and until it has this many acknowledgements.
constexpr milliseconds kPhaseMinimum = 1500ms;
constexpr int64_t kPhaseAcks = 50;
constexpr milliseconds kPhaseAckTimeout = 15s;
// How long a node stays dead under load.
constexpr milliseconds kDowntime = 1000ms;
// After a failed call an agency system waits a little before the next one.
constexpr milliseconds kBackoff = 20ms;
// Nodes listen on ports picked from this span below the kernel's ephemeral ports.
constexpr int kLowestNodePort = 10000;
constexpr int kNodePortSpan = 12000;

// Load phases, by when a call finished.
enum class Phase : int {
  kBeforeProviderKill,
  kProviderDown,
  kAfterProviderRestart,
  kClientDown,
  kAfterClientRestart,
};
constexpr size_t kPhases = 5;
constexpr std::array<const char*, kPhases> kPhaseNames = {
    "before the provider's kill", "provider down", "after the provider's restart", "client down",
    "after the client's restart"};

int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(SteadyClock::now().time_since_epoch()).count();
}

// The lowest port the kernel hands out for outgoing connections.
int EphemeralPortsStart() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768;
  range >> low;
  return low;
}

// Free loopback ports for the nodes, all held open until every one is picked so they differ.
// They lie below the ephemeral range: while a node is dead its callers keep connecting to its
// port, and a connection given that very port as its source connects to itself (TCP simultaneous
// open), which would hang the caller and keep the node from binding its port again.
std::vector<uint16_t> FreeNodePorts(size_t n) {
  const int high = EphemeralPortsStart();
  const int low = std::max(kLowestNodePort, high - kNodePortSpan);
  std::vector<int> fds;
  std::vector<uint16_t> ports;
  if (high <= low) return ports;
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pick(low, high - 1);
  for (int attempt = 0; attempt < 1000 && ports.size() < n; ++attempt) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) break;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(pick(rng)));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(fd);
      continue;
    }
    fds.push_back(fd);
    ports.push_back(ntohs(addr.sin_port));
  }
  for (const int fd : fds) close(fd);
  return ports;
}

std::string LastLine(const std::string& output) {
  std::string text = output;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const auto nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

// The response records a node's message log holds for calls of the client subsystem, by X-Road-Id.
// Opened read-only: the test must not change what it checks.
std::set<std::string> LoggedResponses(const std::filesystem::path& node_db, std::string& error) {
  std::set<std::string> ids;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(node_db.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    error = "cannot open " + node_db.string() + ": " + sqlite3_errmsg(db);
    sqlite3_close(db);
    return ids;
  }
  sqlite3_stmt* stmt = nullptr;
  const char* sql =
      "SELECT x_road_id FROM exchange_log_record WHERE kind = 'response' AND client = ?1";
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    error = std::string("cannot query the message log: ") + sqlite3_errmsg(db);
    sqlite3_close(db);
    return ids;
  }
  sqlite3_bind_text(stmt, 1, kClientSubsystem, -1, SQLITE_STATIC);
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const auto* text = sqlite3_column_text(stmt, 0);
    if (text != nullptr) ids.emplace(reinterpret_cast<const char*>(text));
  }
  if (rc != SQLITE_DONE) error = std::string("reading the message log: ") + sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return ids;
}

// What the agency-system threads share with the test. Counters are atomic; the rest is guarded by
// `mu`. Owned jointly by the test and the threads so a stuck thread can be left behind safely.
struct Load {
  std::atomic<bool> stop{false};
  std::atomic<int> phase{0};
  std::atomic<size_t> finished{0};
  std::array<std::atomic<int64_t>, kPhases> acked{};
  std::atomic<int64_t> timeouts{0};
  std::atomic<int64_t> longest_call_ms{0};
  // Steady-clock ms at which each thread's current call began; 0 between calls.
  std::array<std::atomic<int64_t>, kLoadThreads> call_started_ms{};

  std::mutex mu;
  std::vector<std::string> acked_ids;                            // guarded by mu
  std::array<std::map<std::string, int64_t>, kPhases> outcomes;  // guarded by mu
  std::vector<std::string> anomalies;                            // guarded by mu

  void Acknowledge(std::string x_road_id) {
    const auto p = static_cast<size_t>(phase.load());
    acked[p].fetch_add(1);
    const std::lock_guard lock(mu);
    acked_ids.push_back(std::move(x_road_id));
  }
  void Count(const std::string& outcome) {
    const auto p = static_cast<size_t>(phase.load());
    const std::lock_guard lock(mu);
    ++outcomes[p][outcome];
  }
  void Anomaly(std::string what) {
    const std::lock_guard lock(mu);
    if (anomalies.size() < 20) anomalies.push_back(std::move(what));
  }
};

std::vector<std::pair<std::string, std::string>> ExchangeHeaders(const std::string& x_road_id,
                                                                 const std::string& subject) {
  return {{"Content-Type", "application/json"},
          {"X-Road-Client", kClientSubsystem},
          {"X-Road-Id", x_road_id},
          {"Ulus-Subject", subject},
          {"Ulus-Purpose", "test"}};
}

std::string ReadBody(const std::string& person_id) {
  return nlohmann::json{{"query", {{"content", {{"id", person_id}}}}}}.dump();
}

// One agency system: reads people through the client node until told to stop, each call with a
// fresh X-Road-Id.
void RunAgencySystem(const std::shared_ptr<Load>& load, size_t index, uint16_t client_port,
                     std::vector<std::string> people) {
  std::mt19937 rng(static_cast<unsigned>(index) * 7919U + 1U);
  http::ClientOptions options;
  options.connect_timeout = 2s;
  options.request_timeout = kCallDeadline;
  const std::string origin = "http://127.0.0.1:" + std::to_string(client_port);
  std::unique_ptr<http::Client> client;
  while (!load->stop.load()) {
    if (!client) {
      auto made = http::Client::Create(origin, options);
      if (!made.ok()) {
        load->Anomaly("cannot create a client: " + made.error().ToString());
        std::this_thread::sleep_for(kBackoff);
        continue;
      }
      client = std::move(*made);
    }
    const std::string& person = people[rng() % people.size()];
    const std::string x_road_id = NewUuidV7();
    const int64_t started = NowMs();
    load->call_started_ms[index].store(started);
    auto answer = client->Send(http::Method::post, kServicePath, ReadBody(person),
                               ExchangeHeaders(x_road_id, person));
    const int64_t took = NowMs() - started;
    load->call_started_ms[index].store(0);
    int64_t longest = load->longest_call_ms.load();
    while (took > longest && !load->longest_call_ms.compare_exchange_weak(longest, took)) {
    }
    if (!answer.ok()) {
      if (answer.error().code == ErrorCode::kTimeout) load->timeouts.fetch_add(1);
      load->Count("no answer: " + std::string(ErrorCodeName(answer.error().code)));
      client.reset();
      std::this_thread::sleep_for(kBackoff);
      continue;
    }
    if (answer->status == http::Status::ok) {
      if (answer->Header("X-Road-Id") != x_road_id) {
        load->Anomaly("a 200 for X-Road-Id " + x_road_id + " carries X-Road-Id '" +
                      std::string(answer->Header("X-Road-Id")) + "'");
      }
      load->Count("200");
      load->Acknowledge(x_road_id);
      continue;
    }
    load->Count(std::to_string(static_cast<int>(answer->status)) + " " +
                std::string(answer->Header("X-Road-Error")));
    std::this_thread::sleep_for(kBackoff);
  }
  load->finished.fetch_add(1);
}

// A standalone node: its directory, ports and process.
struct NodeProcess {
  std::string subsystem;
  std::filesystem::path dir;
  uint16_t client_port = 0;
  uint16_t provider_port = 0;
  std::vector<std::string> backends;
  std::unique_ptr<Subprocess> process;
};

class KhurCrash : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = (std::filesystem::temp_directory_path() / "ulus-khur-crash-XXXXXX").string();
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    root_ = dir;
    data_ = root_ / "data";
  }

  void TearDown() override {
    StopLoad();
    client_node_.process.reset();
    provider_node_.process.reset();
    platform_.reset();
    if (!HasFailure()) {
      std::error_code ignored;
      std::filesystem::remove_all(root_, ignored);
    } else {
      std::printf("kept %s for inspection\n", root_.c_str());
    }
  }

  std::vector<std::string> Ulus(std::vector<std::string> args) const {
    std::vector<std::string> argv = {ULUS_BINARY, "--data", data_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // Reads the children's output so none blocks on a full pipe, and watches for stuck callers,
  // for `duration`.
  void Pump(milliseconds duration) {
    const auto until = SteadyClock::now() + duration;
    do {
      for (Subprocess* p :
           {platform_.get(), provider_node_.process.get(), client_node_.process.get()}) {
        if (p != nullptr) p->WaitForLine("\x01never\x01", 5ms);
      }
      WatchForStuckCalls();
      std::this_thread::sleep_for(1ms);
    } while (SteadyClock::now() < until);
  }

  template <typename Predicate>
  bool PumpUntil(Predicate done, milliseconds timeout) {
    const auto until = SteadyClock::now() + timeout;
    while (!done()) {
      if (SteadyClock::now() >= until) return false;
      Pump(20ms);
    }
    return true;
  }

  void WatchForStuckCalls() {
    if (!load_ || stuck_reported_) return;
    const int64_t now = NowMs();
    for (size_t i = 0; i < kLoadThreads; ++i) {
      const int64_t started = load_->call_started_ms[i].load();
      if (started != 0 && now - started > kStuckAfter.count()) {
        ADD_FAILURE() << "agency system " << i << " has been stuck in one call for "
                      << now - started << " ms (its deadline is " << kCallDeadline.count()
                      << " ms)";
        stuck_reported_ = true;
      }
    }
  }

  bool Healthy(uint16_t port) const {
    http::ClientOptions o;
    o.connect_timeout = 1s;
    o.request_timeout = 2s;
    auto client = http::Client::Create("http://127.0.0.1:" + std::to_string(port), o);
    if (!client.ok()) return false;
    auto r = (*client)->Get("/healthz");
    return r.ok() && r->status == http::Status::ok;
  }

  void StartPlatform() {
    const CommandResult seeded = RunCommand(
        Ulus({"--log-level", "warn", "seed", "--people", std::to_string(kPeople), "--seed", "1"}));
    ASSERT_EQ(seeded.status, 0) << seeded.output;
    platform_ = std::make_unique<Subprocess>(Ulus({"serve", "--port", "0"}));
    const auto line = platform_->WaitForLine("serving on", kReadyTimeout);
    ASSERT_TRUE(line.has_value()) << platform_->captured();
    std::smatch m;
    ASSERT_TRUE(std::regex_search(*line, m, std::regex(":([0-9]+)$"))) << *line;
    platform_port_ = static_cast<uint16_t>(std::stoi(m[1]));
    platform_url_ = "http://127.0.0.1:" + std::to_string(platform_port_);
  }

  void Register(NodeProcess& node) {
    const CommandResult token = RunCommand(
        Ulus({"--log-level", "warn", "authority", "token", "--subsystem", node.subsystem}));
    ASSERT_EQ(token.status, 0) << token.output;
    const std::string token_text = LastLine(token.output);
    ASSERT_FALSE(token_text.empty()) << token.output;
    const CommandResult enrolled = RunCommand(
        Ulus({"--log-level", "warn", "node", "register", "--node-dir", node.dir.string(),
              "--authority", platform_url_, "--token", token_text, "--subsystem", node.subsystem,
              "--address", "https://127.0.0.1:" + std::to_string(node.provider_port)}));
    ASSERT_EQ(enrolled.status, 0) << enrolled.output;
  }

  void StartNode(NodeProcess& node) {
    std::vector<std::string> args = {"--log-level",
                                     "warn",
                                     "node",
                                     "run",
                                     "--node-dir",
                                     node.dir.string(),
                                     "--authority",
                                     platform_url_,
                                     "--client-port",
                                     std::to_string(node.client_port),
                                     "--provider-port",
                                     std::to_string(node.provider_port),
                                     "--threads",
                                     "8"};
    for (const auto& b : node.backends) {
      args.emplace_back("--backend");
      args.push_back(b);
    }
    node.process = std::make_unique<Subprocess>(Ulus(std::move(args)));
    const auto line = node.process->WaitForLine("agency systems call", kReadyTimeout);
    ASSERT_TRUE(line.has_value()) << node.subsystem << " did not start:\n"
                                  << node.process->captured();
    ASSERT_TRUE(PumpUntil([&] { return Healthy(node.client_port); }, kReadyTimeout))
        << node.subsystem << "'s node does not answer /healthz:\n"
        << node.process->captured();
  }

  void Kill(NodeProcess& node) {
    node.process->Signal(SIGKILL);
    const auto status = node.process->Wait(10s);
    ASSERT_TRUE(status.has_value()) << node.subsystem << "'s node outlived SIGKILL";
    EXPECT_EQ(*status, 128 + SIGKILL);
    node.process.reset();
  }

  // Stops a node the way an operator does, so its store is quiet when the test reads it.
  void Stop(NodeProcess& node) {
    if (!node.process) return;
    node.process->Signal(SIGTERM);
    if (!node.process->Wait(15s).has_value()) {
      ADD_FAILURE() << node.subsystem << "'s node did not stop within 15 s of SIGTERM:\n"
                    << node.process->captured();
    }
    node.process.reset();
  }

  void ExpectLogVerifies(const NodeProcess& node, const std::string& when) {
    const CommandResult verified =
        RunCommand(Ulus({"log", "verify", "--node-dir", node.dir.string()}));
    EXPECT_EQ(verified.status, 0) << node.subsystem << "'s message log " << when << ":\n"
                                  << verified.output;
    EXPECT_NE(verified.output.find("hash chain and signatures verified"), std::string::npos)
        << verified.output;
  }

  std::vector<std::string> SomePeople() const {
    auto client = http::Client::Create(platform_url_);
    if (!client.ok()) return {};
    auto listed = (*client)->Send(http::Method::get, "/data/person/1.0?pageSize=100", {},
                                  {{"Information-Mediator-Client", kClientSubsystem}});
    if (!listed.ok() || listed->status != http::Status::ok) return {};
    std::vector<std::string> ids;
    const auto page = nlohmann::json::parse(listed->body, nullptr, false);
    if (!page.is_object() || !page.contains("results")) return {};
    for (const auto& person : page.at("results")) {
      if (person.contains("id")) ids.push_back(person.at("id").get<std::string>());
    }
    return ids;
  }

  void StartLoad(const std::vector<std::string>& people) {
    load_ = std::make_shared<Load>();
    for (size_t i = 0; i < kLoadThreads; ++i) {
      threads_.emplace_back(RunAgencySystem, load_, i, client_node_.client_port, people);
    }
  }

  void SetPhase(Phase phase) { load_->phase.store(static_cast<int>(phase)); }

  // Keeps the load going for at least kPhaseMinimum and until the phase has kPhaseAcks.
  void RunPhase(Phase phase) {
    const auto p = static_cast<size_t>(phase);
    Pump(kPhaseMinimum);
    EXPECT_TRUE(PumpUntil([&] { return load_->acked[p].load() >= kPhaseAcks; }, kPhaseAckTimeout))
        << "only " << load_->acked[p].load() << " calls acknowledged " << kPhaseNames[p];
  }

  // Stops the agency systems; a thread that does not come back in time is stuck in a call and
  // is left behind (it holds its own share of the state).
  void StopLoad() {
    if (!load_ || threads_.empty()) return;
    load_->stop.store(true);
    const bool all_back =
        PumpUntil([&] { return load_->finished.load() == threads_.size(); }, kStuckAfter);
    EXPECT_TRUE(all_back) << kLoadThreads - load_->finished.load()
                          << " agency systems are stuck in a call";
    for (auto& t : threads_) {
      if (all_back) {
        t.join();
      } else {
        t.detach();
      }
    }
    threads_.clear();
  }

  std::filesystem::path root_;
  std::filesystem::path data_;
  std::unique_ptr<Subprocess> platform_;
  uint16_t platform_port_ = 0;
  std::string platform_url_;
  NodeProcess client_node_;
  NodeProcess provider_node_;
  std::shared_ptr<Load> load_;
  std::vector<std::thread> threads_;
  bool stuck_reported_ = false;
};

TEST_F(KhurCrash, KilledNodesLoseNoAcknowledgedExchangeAndNoCallHangs) {
  const auto test_started = SteadyClock::now();
  ASSERT_NO_FATAL_FAILURE(StartPlatform());
  const auto people = SomePeople();
  ASSERT_FALSE(people.empty()) << "no people listed by " << platform_url_;

  const auto ports = FreeNodePorts(4);
  ASSERT_EQ(ports.size(), 4U) << "no free ports below the ephemeral range";
  client_node_ = {kClientSubsystem, root_ / "node-mddic", ports[0], ports[1], {}, nullptr};
  provider_node_ = {kProviderSubsystem,
                    root_ / "node-gasr",
                    ports[2],
                    ports[3],
                    {"person=" + platform_url_ + "/data/person"},
                    nullptr};
  // Both registered before either runs, so each node's first configuration names the other.
  ASSERT_NO_FATAL_FAILURE(Register(client_node_));
  ASSERT_NO_FATAL_FAILURE(Register(provider_node_));
  ASSERT_NO_FATAL_FAILURE(StartNode(provider_node_));
  ASSERT_NO_FATAL_FAILURE(StartNode(client_node_));

  // One call first, so a wiring fault shows as itself rather than as a load failure.
  {
    auto client =
        http::Client::Create("http://127.0.0.1:" + std::to_string(client_node_.client_port));
    ASSERT_TRUE(client.ok());
    const std::string x_road_id = NewUuidV7();
    auto first = (*client)->Send(http::Method::post, kServicePath, ReadBody(people.front()),
                                 ExchangeHeaders(x_road_id, people.front()));
    ASSERT_TRUE(first.ok()) << first.error().ToString();
    ASSERT_EQ(first->status, http::Status::ok) << first->body;
    EXPECT_NE(first->body.find(people.front()), std::string::npos) << first->body;
  }

  StartLoad(people);
  SetPhase(Phase::kBeforeProviderKill);
  RunPhase(Phase::kBeforeProviderKill);

  SetPhase(Phase::kProviderDown);
  ASSERT_NO_FATAL_FAILURE(Kill(provider_node_));
  Pump(kDowntime);
  ExpectLogVerifies(provider_node_, "right after its SIGKILL");
  ASSERT_NO_FATAL_FAILURE(StartNode(provider_node_));
  SetPhase(Phase::kAfterProviderRestart);
  RunPhase(Phase::kAfterProviderRestart);

  SetPhase(Phase::kClientDown);
  ASSERT_NO_FATAL_FAILURE(Kill(client_node_));
  Pump(kDowntime);
  ExpectLogVerifies(client_node_, "right after its SIGKILL");
  ASSERT_NO_FATAL_FAILURE(StartNode(client_node_));
  SetPhase(Phase::kAfterClientRestart);
  RunPhase(Phase::kAfterClientRestart);
  StopLoad();

  Stop(client_node_);
  Stop(provider_node_);
  ExpectLogVerifies(client_node_, "after the restarts");
  ExpectLogVerifies(provider_node_, "after the restarts");

  std::string client_error;
  std::string provider_error;
  const auto client_logged = LoggedResponses(client_node_.dir / "node.db", client_error);
  const auto provider_logged = LoggedResponses(provider_node_.dir / "node.db", provider_error);
  ASSERT_TRUE(client_error.empty()) << client_error;
  ASSERT_TRUE(provider_error.empty()) << provider_error;

  const std::lock_guard lock(load_->mu);
  size_t missing_client = 0;
  size_t missing_provider = 0;
  for (const auto& id : load_->acked_ids) {
    if (!client_logged.contains(id) && ++missing_client <= 5) {
      ADD_FAILURE() << "acknowledged X-Road-Id " << id << " is not in the client node's log";
    }
    if (!provider_logged.contains(id) && ++missing_provider <= 5) {
      ADD_FAILURE() << "acknowledged X-Road-Id " << id << " is not in the provider node's log";
    }
  }
  EXPECT_EQ(missing_client, 0U) << "of " << load_->acked_ids.size() << " acknowledged";
  EXPECT_EQ(missing_provider, 0U) << "of " << load_->acked_ids.size() << " acknowledged";

  std::string summary;
  for (size_t p = 0; p < kPhases; ++p) {
    summary += std::string("  ") + kPhaseNames[p] + ":";
    for (const auto& [outcome, count] : load_->outcomes[p]) {
      summary += " [" + outcome + "] " + std::to_string(count);
    }
    summary += "\n";
  }
  std::printf("%zu acknowledged; longest call %lld ms; outcomes by phase:\n%s",
              load_->acked_ids.size(),
              static_cast<long long>(load_->longest_call_ms.load()),  // NOLINT(google-runtime-int)
              summary.c_str());

  for (const auto phase :
       {Phase::kBeforeProviderKill, Phase::kAfterProviderRestart, Phase::kAfterClientRestart}) {
    const auto p = static_cast<size_t>(phase);
    EXPECT_GT(load_->acked[p].load(), 0) << kPhaseNames[p];
  }
  // A dead provider is reported as X-Road reports it, promptly.
  const auto& down = load_->outcomes[static_cast<size_t>(Phase::kProviderDown)];
  const auto network_errors = down.find(std::string("500 ") + kNetworkError);
  EXPECT_TRUE(network_errors != down.end() && network_errors->second > 0)
      << "no " << kNetworkError << " while the provider was down:\n"
      << summary;
  EXPECT_EQ(load_->timeouts.load(), 0) << "calls that ran into their deadline:\n" << summary;
  EXPECT_LT(load_->longest_call_ms.load(), kCallDeadline.count()) << summary;
  for (const auto& anomaly : load_->anomalies) ADD_FAILURE() << anomaly;
  std::printf(
      "the test took %lld ms\n",
      static_cast<long long>(  // NOLINT(google-runtime-int)
          std::chrono::duration_cast<milliseconds>(SteadyClock::now() - test_started).count()));
}

}  // namespace
}  // namespace ulus
