#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace ulus::store::testing {

// Counts finished asynchronous callbacks; a test waits for all of them with a deadline, so a lost
// callback fails the test instead of hanging it.
class Countdown {
 public:
  void Add() {
    std::lock_guard lock(mu_);
    ++count_;
    cv_.notify_all();
  }
  bool WaitFor(int n, std::chrono::seconds timeout = std::chrono::seconds(60)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return count_ >= n; });
  }
  int count() {
    std::lock_guard lock(mu_);
    return count_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
};

}  // namespace ulus::store::testing
