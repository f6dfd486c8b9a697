// The WAL-buffering VFS (wal_vfs.hpp): every commit made through it is in the file for any other
// connection at once, in either synchronous mode, through transactions larger than its buffer,
// rollbacks and WAL restarts; and a writer killed at any moment loses no commit it returned.

#include "wal_vfs.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "ulus/store/database.hpp"

namespace ulus::store {
namespace {

class WalVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "ulus-walvfs-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/test.db";
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // A raw connection, through the buffering VFS or (vfs == nullptr) the default one.
  sqlite3* Connect(const char* vfs) {
    sqlite3* db = nullptr;
    const int rc =
        sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs);
    EXPECT_EQ(rc, SQLITE_OK) << sqlite3_errstr(rc);
    return db;
  }
  static void Exec(sqlite3* db, const std::string& sql) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
    EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (message != nullptr ? message : "");
    sqlite3_free(message);
  }
  static int64_t Count(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK);
    int64_t n = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
  }
  static std::string IntegrityCheck(sqlite3* db) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr), SQLITE_OK);
    std::string result;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return result;
  }

  // Writes through the VFS in the given synchronous mode while a plain connection reads: each
  // commit must be readable as soon as it returns.
  void WriteAndReadBeside(const std::string& synchronous) {
    sqlite3* writer = Connect(WalBufferingVfsName());
    Exec(writer, "PRAGMA journal_mode=WAL; PRAGMA synchronous=" + synchronous +
                     "; CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL);"
                     "CREATE INDEX t_body ON t (body);");
    // The WAL restarts after a checkpoint, so its header is rewritten at offset 0 mid-test.
    sqlite3_wal_autocheckpoint(writer, 50);
    sqlite3* reader = Connect(nullptr);
    int64_t rows = 0;
    for (int i = 0; i < 300; ++i) {
      // Random bodies: each row lands on its own index page, several pages per commit.
      Exec(writer,
           "BEGIN; INSERT INTO t (body) VALUES (randomblob(1500)); INSERT INTO t (body) "
           "VALUES (randomblob(1500)); COMMIT;");
      rows += 2;
      ASSERT_EQ(Count(reader, "SELECT COUNT(*) FROM t"), rows) << "after commit " << i;
    }
    // A rolled-back transaction leaves nothing, and the next commit is whole.
    Exec(writer, "BEGIN; INSERT INTO t (body) VALUES (randomblob(3000)); ROLLBACK;");
    EXPECT_EQ(Count(reader, "SELECT COUNT(*) FROM t"), rows);
    // One transaction several times the buffer (and SQLite's page cache, so pages spill into
    // the log before the commit and are read back from it).
    Exec(writer,
         "PRAGMA cache_size=50; BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT "
         "i + 1 FROM n WHERE i < 2000) INSERT INTO t (body) SELECT randomblob(2000) FROM n;"
         "UPDATE t SET body = randomblob(2000) WHERE id % 7 = 0; COMMIT;");
    rows += 2000;
    EXPECT_EQ(Count(reader, "SELECT COUNT(*) FROM t"), rows);
    EXPECT_EQ(IntegrityCheck(reader), "ok");
    sqlite3_close_v2(reader);
    sqlite3_close_v2(writer);
    sqlite3* again = Connect(nullptr);
    EXPECT_EQ(Count(again, "SELECT COUNT(*) FROM t"), rows);
    EXPECT_EQ(IntegrityCheck(again), "ok");
    sqlite3_close_v2(again);
  }

  std::string dir_;
  std::string path_;
};

TEST_F(WalVfsTest, EveryCommitIsReadableBesideItWithFullSync) {
  WriteAndReadBeside("FULL");
}

// Without a sync per commit only the commit frame's write-through publishes the frames.
TEST_F(WalVfsTest, EveryCommitIsReadableBesideItWithoutSyncPerCommit) {
  WriteAndReadBeside("NORMAL");
}

// A transaction that spilled pages into the log and rolled back leaves nothing buffered: another
// connection's commits at the same place in the log stay as written, whatever the first
// connection does next (reads, writes, closes).
TEST_F(WalVfsTest, ASpilledRollbackNeverLandsOnAnotherConnectionsCommits) {
  sqlite3* first = Connect(WalBufferingVfsName());
  Exec(first,
       "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=10;"
       "CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL);");
  sqlite3_wal_autocheckpoint(first, 0);
  // Far beyond ten pages of cache: pages spill into the log before the rollback.
  Exec(first,
       "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < "
       "300) INSERT INTO t (body) SELECT zeroblob(3000) FROM n; ROLLBACK;");
  sqlite3* second = Connect(WalBufferingVfsName());
  Exec(second,
       "PRAGMA synchronous=FULL; BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
       "SELECT i + 1 FROM n WHERE i < 200) INSERT INTO t (body) SELECT randomblob(3000) "
       "FROM n; COMMIT;");
  EXPECT_EQ(Count(first, "SELECT COUNT(*) FROM t"), 200);
  EXPECT_EQ(Count(first, "SELECT COUNT(*) FROM t WHERE body = zeroblob(3000)"), 0);
  Exec(first, "INSERT INTO t (body) VALUES (randomblob(10))");
  sqlite3_close_v2(first);
  EXPECT_EQ(Count(second, "SELECT COUNT(*) FROM t"), 201);
  EXPECT_EQ(IntegrityCheck(second), "ok");
  sqlite3_close_v2(second);
  sqlite3* plain = Connect(nullptr);
  EXPECT_EQ(Count(plain, "SELECT COUNT(*) FROM t WHERE body = zeroblob(3000)"), 0);
  EXPECT_EQ(IntegrityCheck(plain), "ok");
  sqlite3_close_v2(plain);
}

// The log is the VFS's own; the database file only passes through to the default VFS.
TEST_F(WalVfsTest, TheLogIsBuffered) {
  sqlite3* db = Connect(WalBufferingVfsName());
  Exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE t (x)");
  sqlite3* plain = Connect(nullptr);
  Exec(plain, "SELECT * FROM t");
  sqlite3_file* wal = nullptr;
  sqlite3_file* plain_wal = nullptr;
  ASSERT_EQ(sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal), SQLITE_OK);
  ASSERT_EQ(sqlite3_file_control(plain, "main", SQLITE_FCNTL_JOURNAL_POINTER, &plain_wal),
            SQLITE_OK);
  ASSERT_NE(wal, nullptr);
  ASSERT_NE(plain_wal, nullptr);
  EXPECT_NE(wal->pMethods, plain_wal->pMethods);
  sqlite3_close_v2(plain);
  sqlite3_close_v2(db);
}

// Buffered runs of every length reach the file whole, including exactly 128 KiB, which the
// default VFS cannot take in one write.
TEST_F(WalVfsTest, BufferedRunsOfAnyLengthAreWrittenWhole) {
  sqlite3* db = Connect(WalBufferingVfsName());
  Exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE t (x)");
  sqlite3_file* file = nullptr;
  ASSERT_EQ(sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &file), SQLITE_OK);
  ASSERT_NE(file, nullptr);
  // Runs written far past the log's frames, through the log's own handle: SQLite never reads
  // there, and deletes the log when the connection closes.
  sqlite3_int64 at = sqlite3_int64{64} << 20;
  for (const int pages : {1, 31, 32, 33, 64, 300}) {
    std::string expected;
    for (int p = 0; p < pages; ++p) {
      const std::string page(4096, static_cast<char>('a' + p % 26));
      ASSERT_EQ(file->pMethods->xWrite(file, page.data(), 4096, at + sqlite3_int64{4096} * p),
                SQLITE_OK);
      expected += page;
    }
    ASSERT_EQ(file->pMethods->xSync(file, SQLITE_SYNC_FULL), SQLITE_OK) << pages << " pages";
    sqlite3_int64 size = 0;
    ASSERT_EQ(file->pMethods->xFileSize(file, &size), SQLITE_OK);
    EXPECT_EQ(size, at + static_cast<sqlite3_int64>(expected.size()));
    std::string read(expected.size(), '\0');
    ASSERT_EQ(file->pMethods->xRead(file, read.data(), static_cast<int>(read.size()), at),
              SQLITE_OK);
    EXPECT_EQ(read, expected) << pages << " pages";
    at += static_cast<sqlite3_int64>(expected.size()) + (sqlite3_int64{1} << 20);
  }
  sqlite3_close_v2(db);
}

// The store opens its files through the VFS. A child process commits rows one by one and reports
// each commit after it returns; it is killed with SIGKILL mid-stream. Every reported row must be
// in the file afterwards, and the file whole.
TEST_F(WalVfsTest, AWriterKilledMidStreamLosesNoReturnedCommit) {
  int acks[2];
  ASSERT_EQ(pipe(acks), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(acks[0]);
    DatabaseOptions options;
    options.url = "sqlite:" + path_;
    auto db = Database::Open(options);
    if (!db.ok()) _exit(2);
    auto conn = (*db)->Acquire();
    if (!conn.ok()) _exit(3);
    if (!(*conn)->Execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)").ok()) {
      _exit(4);
    }
    for (int64_t i = 1;; ++i) {
      const Value params[] = {i};
      Status done = (*db)->InTransaction([&](Connection& tx) -> Status {
        auto inserted =
            tx.Execute("INSERT INTO t (id, body) VALUES ($1, randomblob(3000))", params);
        if (!inserted.ok()) return inserted.error();
        return Ok();
      });
      if (!done.ok()) _exit(5);
      if (write(acks[1], &i, sizeof i) != static_cast<ssize_t>(sizeof i)) _exit(6);
    }
  }
  close(acks[1]);
  std::set<int64_t> acknowledged;
  int64_t i = 0;
  while (acknowledged.size() < 400 &&
         read(acks[0], &i, sizeof i) == static_cast<ssize_t>(sizeof i)) {
    acknowledged.insert(i);
  }
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped by itself: " << status;
  // Commits it reported between the count and the kill.
  while (read(acks[0], &i, sizeof i) == static_cast<ssize_t>(sizeof i)) acknowledged.insert(i);
  close(acks[0]);
  ASSERT_GE(acknowledged.size(), 400U);

  sqlite3* db = Connect(nullptr);
  EXPECT_EQ(IntegrityCheck(db), "ok");
  const int64_t last = *acknowledged.rbegin();
  EXPECT_GE(Count(db, "SELECT COUNT(*) FROM t"), last);
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM t WHERE id <= " + std::to_string(last)), last);
  sqlite3_close_v2(db);
}

}  // namespace
}  // namespace ulus::store
