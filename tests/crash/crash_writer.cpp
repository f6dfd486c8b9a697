// Writes records until killed: each in one transaction together with its outbox event. After a
// commit returns, the record's id goes to stdout as one line: that line is the acknowledgement
// the crash test holds the store to.
//
//   crash_writer DATABASE_URL

#include <cstdio>
#include <string>

#include "crash_record.hpp"
#include "ulus/core/log.hpp"
#include "ulus/store/database.hpp"
#include "ulus/store/outbox.hpp"

namespace ulus::crash {
namespace {

// A killed writer's last transaction may still be finishing on the PostgreSQL server when the
// next writer starts and picks the same id; that writer then simply takes the next one.
constexpr int kMaxIdCollisions = 5;

int Fail(const Error& error) {
  std::fprintf(stderr, "crash_writer: %s\n", error.ToString().c_str());
  return 1;
}

}  // namespace

int Run(const char* url) {
  // Logs go to stderr; stdout carries only acknowledgements.
  if (auto logging = log::Init("warn"); !logging.ok()) return Fail(logging.error());

  store::DatabaseOptions options;
  options.url = url;
  options.max_connections = 1;
  auto db = store::Database::Open(options);
  if (!db.ok()) return Fail(db.error());
  if (auto done = store::Migrate(**db, "crash", CrashMigrations()); !done.ok()) {
    return Fail(done.error());
  }
  if (auto done = store::Migrate(**db, "outbox", store::Outbox::Migrations()); !done.ok()) {
    return Fail(done.error());
  }
  store::Outbox outbox(**db);

  for (int collisions = 0;;) {
    auto id = (*db)->InTransaction<int64_t>([&](store::Connection& tx) -> Result<int64_t> {
      ULUS_ASSIGN_OR_RETURN(const int64_t next,
                            tx.QueryInt("SELECT COALESCE(MAX(id), 0) + 1 FROM crash_record"));
      const std::string payload = PayloadFor(next);
      const store::Value params[] = {next, payload, DigestOf(payload)};
      ULUS_TRY(
          tx.Execute("INSERT INTO crash_record (id, payload, digest) VALUES ($1, $2, $3)", params));
      ULUS_TRY(outbox.Append(tx, kEventTopic, std::to_string(next),
                             R"({"id":)" + std::to_string(next) + "}"));
      return next;
    });
    if (!id.ok()) {
      if (id.error().code == ErrorCode::kAlreadyExists && ++collisions <= kMaxIdCollisions) {
        continue;
      }
      return Fail(id.error());
    }
    std::printf("%lld\n", static_cast<long long>(*id));
    std::fflush(stdout);
  }
}

}  // namespace ulus::crash

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: crash_writer DATABASE_URL\n");
    return 2;
  }
  return ulus::crash::Run(argv[1]);
}
