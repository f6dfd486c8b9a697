#pragma once

// Runs the crash writer, kills it with SIGKILL at a random moment mid-stream, and checks what it
// left behind; several rounds on one database. Shared by crash_test (SQLite) and crash_pgtest.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "crash_record.hpp"
#include "ulus/store/database.hpp"

namespace ulus::crash {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kRounds = 5;
constexpr int kMinRunMs = 100;
constexpr int kMaxRunMs = 400;
// Generous: the first round creates the schema, and CI machines can be slow.
constexpr milliseconds kFirstAckTimeout{30000};

// The writer as a child process whose stdout (the acknowledgements) comes through a pipe.
class Writer {
 public:
  explicit Writer(const std::string& url) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      execl(CRASH_WRITER_PATH, "crash_writer", url.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    fd_ = fds[0];
  }
  ~Writer() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  [[nodiscard]] bool started() const { return pid_ > 0 && fd_ >= 0; }

  // Reads acknowledgements until `until`; false once the pipe is closed.
  bool ReadUntil(Clock::time_point until, std::vector<int64_t>& acked) {
    for (;;) {
      const auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now()).count();
      if (left <= 0) return true;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      const ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return false;
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[i] != '\n') {
          line_.push_back(buf[i]);
          continue;
        }
        acked.push_back(std::stoll(line_));
        line_.clear();
      }
    }
  }

  // Kills the writer and collects the acknowledgements it wrote before dying. Returns the wait
  // status.
  int KillAndDrain(std::vector<int64_t>& acked) {
    kill(pid_, SIGKILL);
    while (ReadUntil(Clock::now() + std::chrono::seconds(5), acked)) {
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  bool reaped_ = false;
  std::string line_;  // an acknowledgement not yet ended by its newline
};

// Checks the store after a crash: every acknowledged id is there, every record is whole, and
// records and outbox events match one to one. Returns the highest id present.
inline int64_t Verify(const std::string& url, const std::set<int64_t>& acked) {
  store::DatabaseOptions options;
  options.url = url;
  auto db = store::Database::Open(options);
  EXPECT_TRUE(db.ok()) << db.error().ToString();
  if (!db.ok()) return -1;
  auto conn = (*db)->Acquire();
  EXPECT_TRUE(conn.ok());
  if (!conn.ok()) return -1;

  auto records = (*conn)->Query("SELECT id, payload, digest FROM crash_record ORDER BY id");
  EXPECT_TRUE(records.ok()) << records.error().ToString();
  if (!records.ok()) return -1;
  std::set<int64_t> present;
  for (const auto& row : *records) {
    const int64_t id = row.Int(0);
    present.insert(id);
    EXPECT_EQ(row.Text(2), DigestOf(row.Text(1))) << "record " << id << " is torn";
    EXPECT_EQ(row.Text(1), PayloadFor(id)) << "record " << id << " holds another's payload";
  }
  for (const int64_t id : acked) {
    EXPECT_TRUE(present.contains(id)) << "acknowledged record " << id << " was lost";
  }
  // Ids are handed out one after another, so the records are exactly 1..max.
  if (!present.empty()) {
    EXPECT_EQ(*present.rbegin(), static_cast<int64_t>(present.size()));
  }

  auto events =
      (*conn)->Query("SELECT position, key FROM outbox_event WHERE topic = $1 ORDER BY position",
                     std::vector<store::Value>{std::string(kEventTopic)});
  EXPECT_TRUE(events.ok()) << events.error().ToString();
  if (!events.ok()) return -1;
  std::map<int64_t, int> announced;
  int64_t expected_position = 1;
  for (const auto& row : *events) {
    EXPECT_EQ(row.Int(0), expected_position++) << "outbox positions have a hole";
    ++announced[std::stoll(row.Text(1))];
  }
  for (const auto& [id, count] : announced) {
    EXPECT_EQ(count, 1) << "record " << id << " was announced " << count << " times";
    EXPECT_TRUE(present.contains(id)) << "an event announces record " << id << " which is missing";
  }
  for (const int64_t id : present) {
    EXPECT_TRUE(announced.contains(id)) << "record " << id << " has no outbox event";
  }
  return present.empty() ? 0 : *present.rbegin();
}

inline void RunCrashRounds(const std::string& url) {
  std::random_device seed_source;
  const unsigned seed = seed_source();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> run_ms(kMinRunMs, kMaxRunMs);
  SCOPED_TRACE("seed " + std::to_string(seed));

  std::set<int64_t> acked_ever;
  int64_t max_id = 0;
  for (int round = 1; round <= kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::vector<int64_t> acked;
    Writer writer(url);
    ASSERT_TRUE(writer.started());
    // Kill only once the writer is writing, at a random moment after that.
    const auto first_deadline = Clock::now() + kFirstAckTimeout;
    while (acked.empty() && Clock::now() < first_deadline) {
      if (!writer.ReadUntil(Clock::now() + milliseconds(50), acked)) break;
    }
    ASSERT_FALSE(acked.empty()) << "the writer acknowledged nothing (see its stderr)";
    ASSERT_TRUE(writer.ReadUntil(Clock::now() + milliseconds(run_ms(rng)), acked))
        << "the writer stopped by itself (see its stderr)";
    const int status = writer.KillAndDrain(acked);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;

    // The round continued after the previous one, one id after another. (On PostgreSQL the
    // killed writer's last commit may land late, so the first id can be one further on.)
    EXPECT_GT(acked.front(), max_id);
    EXPECT_LE(acked.front(), max_id + 2);
    for (size_t i = 1; i < acked.size(); ++i) ASSERT_EQ(acked[i], acked[i - 1] + 1);
    acked_ever.insert(acked.begin(), acked.end());

    max_id = Verify(url, acked_ever);
    ASSERT_GE(max_id, *acked_ever.rbegin());
    // At most the one transaction in flight at the kill committed without acknowledgement.
    EXPECT_LE(max_id, *acked_ever.rbegin() + 1);
    std::printf("round %d: %zu acknowledged, %lld records\n", round, acked.size(),
                static_cast<long long>(max_id));
  }
}

}  // namespace ulus::crash
