#include "ulus/store/database.hpp"

#include <string>
#include <utility>

#include "backend.hpp"

namespace ulus::store {

Result<std::unique_ptr<Database>> Database::Open(const DatabaseOptions& options) {
  const std::string_view url = options.url;
  if (url.starts_with("sqlite:")) return OpenSqlite(options);
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return OpenPostgres(options);
  }
  // Only the scheme is echoed: the rest of a URL may hold a password.
  const auto colon = url.find(':');
  const std::string scheme(url.substr(0, colon == std::string_view::npos ? 0 : colon));
  return Error::InvalidArgument("unsupported database URL scheme '" + scheme +
                                    "'; use sqlite:/path/to/file.db, sqlite::memory: or "
                                    "postgresql://user@host:port/dbname",
                                "database-url");
}

Status Database::InTransaction(const std::function<Status(Connection&)>& work) {
  return RunWithRetry([&]() -> Status {
    ULUS_ASSIGN_OR_RETURN(auto conn, Acquire());
    ULUS_TRY(conn->Begin());
    Status status = work(*conn);
    if (!status.ok()) {
      // The error the caller sees is the one from `work`; a failed rollback only closes the
      // transaction on release, or drops the connection if it is broken.
      if (conn->InTransaction()) (void)conn->Rollback();
      return status;
    }
    // A commit that failed leaves nothing behind: PooledConnection rolls back on release.
    return conn->Commit();
  });
}

PooledConnection::PooledConnection(Database* owner, std::unique_ptr<Connection> conn)
    : owner_(owner), conn_(std::move(conn)) {}

PooledConnection::PooledConnection(PooledConnection&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), conn_(std::move(other.conn_)) {}

PooledConnection& PooledConnection::operator=(PooledConnection&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = std::exchange(other.owner_, nullptr);
    conn_ = std::move(other.conn_);
  }
  return *this;
}

PooledConnection::~PooledConnection() {
  Release();
}

void PooledConnection::Release() {
  if (conn_ == nullptr) return;
  if (conn_->InTransaction()) (void)conn_->Rollback();
  owner_->Return(std::move(conn_));
  owner_ = nullptr;
}

}  // namespace ulus::store
