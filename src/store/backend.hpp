#pragma once

#include <memory>

#include "ulus/core/error.hpp"
#include "ulus/store/database.hpp"

namespace ulus::store {

// What the pool needs from a backend's connection beyond the public interface.
class BackendConnection : public Connection {
 public:
  // False once the session is unusable (a lost PostgreSQL connection): the pool then closes it
  // instead of lending it again.
  [[nodiscard]] virtual bool Healthy() const = 0;
};

// A transient failure raised by the backend itself (SQLite busy, PostgreSQL serialization failure
// or deadlock). Remembered for the calling thread so that the retry loop can tell it apart from an
// application's own kConflict or kUnavailable, which must never be retried behind its back.
Error RetryableError(Error error);
// True when `error` is the last transient failure a backend raised on this thread.
bool IsRetryableError(const Error& error);
void ForgetRetryableError();

inline Error TransactionAlreadyOpen() {
  return {ErrorCode::kFailedPrecondition, "a transaction is already open on this connection", {}};
}
inline Error NoTransactionOpen() {
  return {ErrorCode::kFailedPrecondition, "no transaction is open on this connection", {}};
}

Result<std::unique_ptr<Database>> OpenSqlite(const DatabaseOptions& options);
Result<std::unique_ptr<Database>> OpenPostgres(const DatabaseOptions& options);

}  // namespace ulus::store
