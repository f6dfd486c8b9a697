#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace ulus::testing {

// A child process started by a whole-system test, with its stderr readable line by line.
// Killed (SIGKILL) on destruction if still running. Not thread-safe.
class Subprocess {
 public:
  explicit Subprocess(const std::vector<std::string>& argv);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // Reads stderr until a line contains `needle` or the timeout passes; returns that line.
  std::optional<std::string> WaitForLine(const std::string& needle,
                                         std::chrono::milliseconds timeout);
  void Signal(int signal);
  // Waits for exit; returns the exit status (or 128+signal), nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  [[nodiscard]] const std::string& captured() const { return captured_; }

 private:
  int pid_ = -1;
  int stderr_fd_ = -1;
  std::string buffer_;
  std::string captured_;
  std::optional<int> exit_status_;
};

// Runs a command to completion; returns exit status and combined stdout+stderr.
struct CommandResult {
  int status = -1;
  std::string output;
};
CommandResult RunCommand(const std::vector<std::string>& argv);

}  // namespace ulus::testing
