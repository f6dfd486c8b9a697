#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "backend.hpp"
#include "ulus/store/database.hpp"

namespace ulus::store {

// A Database that lends connections from a bounded pool, opening them lazily; the backends
// supply the connections. Thread-safe. Every PooledConnection must be returned before the pool is
// destroyed.
class PooledDatabase : public Database {
 public:
  PooledDatabase(Backend backend, const DatabaseOptions& options);
  ~PooledDatabase() override;

  [[nodiscard]] Backend backend() const override { return backend_; }
  Result<PooledConnection> Acquire() override;

  // Opens the first connection now, so that a bad URL or a server that is down fails Open.
  Status Start();

 protected:
  // Opens a new session. Called without the pool's lock held.
  virtual Result<std::unique_ptr<BackendConnection>> Connect() = 0;

  void Return(std::unique_ptr<Connection> conn) override;
  Status RunWithRetry(const std::function<Status()>& attempt) override;

 private:
  const Backend backend_;
  const size_t max_connections_;
  const std::chrono::milliseconds acquire_timeout_;

  std::mutex mu_;
  std::condition_variable available_;
  // Guarded by mu_. The most recently returned connection is last and lent first, so its
  // statement cache stays warm.
  std::vector<std::unique_ptr<Connection>> idle_;
  size_t open_ = 0;  // guarded by mu_; idle, lent out or being opened
};

}  // namespace ulus::store
