#include "pool.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "ulus/core/assert.hpp"

namespace ulus::store {
namespace {

// Attempts of one transaction, the first included. Transient failures under contention clear
// within a few milliseconds; more attempts would only hide a real problem.
constexpr int kMaxAttempts = 6;
constexpr std::chrono::microseconds kFirstBackoff{2000};
constexpr std::chrono::microseconds kMaxBackoff{100000};

thread_local std::optional<Error> last_retryable;

// Exponential backoff with jitter, so that writers that collided do not collide again in step.
std::chrono::microseconds Backoff(int attempt) {
  thread_local std::minstd_rand rng(std::random_device{}());
  const auto ceiling = std::min(kMaxBackoff, kFirstBackoff * (int64_t{1} << attempt));
  std::uniform_int_distribution<int64_t> dist(ceiling.count() / 2, ceiling.count());
  return std::chrono::microseconds(dist(rng));
}

}  // namespace

Error RetryableError(Error error) {
  last_retryable = error;
  return error;
}

bool IsRetryableError(const Error& error) {
  return last_retryable.has_value() && last_retryable->code == error.code &&
         last_retryable->message == error.message;
}

void ForgetRetryableError() {
  last_retryable.reset();
}

PooledDatabase::PooledDatabase(Backend backend, const DatabaseOptions& options)
    : backend_(backend),
      max_connections_(std::max<size_t>(options.max_connections, 1)),
      acquire_timeout_(options.acquire_timeout) {}

PooledDatabase::~PooledDatabase() {
  std::lock_guard lock(mu_);
  ULUS_ASSERT(open_ == idle_.size());  // a PooledConnection outlived its Database
}

Status PooledDatabase::Start() {
  ULUS_ASSIGN_OR_RETURN(auto conn, Connect());
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(conn));
  ++open_;
  return Ok();
}

Result<PooledConnection> PooledDatabase::Acquire() {
  std::unique_lock lock(mu_);
  const bool ready = available_.wait_for(
      lock, acquire_timeout_, [this] { return !idle_.empty() || open_ < max_connections_; });
  if (!ready) {
    return Error::Unavailable("no database connection became free within " +
                              std::to_string(acquire_timeout_.count()) + " ms (all " +
                              std::to_string(max_connections_) +
                              " in use); a caller may be holding one across a slow call");
  }
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return PooledConnection(this, std::move(conn));
  }
  ++open_;
  lock.unlock();
  // Opening takes a network round trip on PostgreSQL; others may borrow meanwhile.
  auto conn = Connect();
  if (!conn.ok()) {
    lock.lock();
    --open_;
    available_.notify_one();
    return std::move(conn).error();
  }
  return PooledConnection(this, std::move(conn).value());
}

void PooledDatabase::Return(std::unique_ptr<Connection> conn) {
  // Only this pool's Connect makes the connections it lends.
  if (!static_cast<const BackendConnection&>(*conn).Healthy()) {
    spdlog::warn("store: closing a broken database connection instead of reusing it");
    conn.reset();
    std::lock_guard lock(mu_);
    --open_;
    available_.notify_one();
    return;
  }
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(conn));
  available_.notify_one();
}

Status PooledDatabase::RunWithRetry(const std::function<Status()>& attempt) {
  for (int i = 1;; ++i) {
    ForgetRetryableError();
    Status status = attempt();
    if (status.ok() || !IsRetryableError(status.error())) return status;
    if (i == kMaxAttempts) {
      Error error = std::move(status).error();
      error.message += " (gave up after " + std::to_string(kMaxAttempts) + " attempts)";
      return error;
    }
    spdlog::debug("store: retrying a transaction after a transient failure: {}",
                  status.error().message);
    std::this_thread::sleep_for(Backoff(i));
  }
}

}  // namespace ulus::store
