#include "wal_vfs.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <new>
#include <string>

namespace ulus::store {

namespace {

// A frame header is 24 bytes; the WAL header (32) and pages (512 and up) never are.
constexpr int kFrameHeaderSize = 24;
constexpr sqlite3_int64 kWalHeaderSize = 32;
// Far above one group commit's frames; a transaction larger than this goes out in pieces.
constexpr size_t kMaxBuffered = size_t{1} << 20;
// The largest single write handed on: the default VFS writes at most 0x1ffff bytes per call (it
// masks the length, so a write of exactly 128 KiB would write nothing and fail as a full disk).
constexpr size_t kMaxWrite = 120 * 1024;

constexpr size_t RoundUp(size_t n) {
  return (n + alignof(std::max_align_t) - 1) / alignof(std::max_align_t) *
         alignof(std::max_align_t);
}

// What both wrappers start with: SQLite's handle (it hands this pointer back to every method) and
// the default VFS's own file, which lives in the rest of the allocation.
struct WrappedFile {
  sqlite3_file handle;
  sqlite3_file* real = nullptr;

  static sqlite3_file* RealOf(sqlite3_file* f) { return reinterpret_cast<WrappedFile*>(f)->real; }
};

struct DbFile;

// One open write-ahead log and what is buffered for it.
struct WalFile : WrappedFile {
  DbFile* database = nullptr;  // the database file this log belongs to, which flushes it
  std::string buffer;          // bytes for the file at [start, start + buffer.size())
  sqlite3_int64 start = 0;
  bool after_commit = false;  // the last write was a commit frame's header: its page ends a commit

  static WalFile& Of(sqlite3_file* f) {
    return static_cast<WalFile&>(*reinterpret_cast<WrappedFile*>(f));
  }

  int Flush() {
    int rc = SQLITE_OK;
    // In pieces the default VFS takes whole: it masks a write's length to 17 bits.
    for (size_t done = 0; done < buffer.size() && rc == SQLITE_OK; done += kMaxWrite) {
      const size_t piece = std::min(kMaxWrite, buffer.size() - done);
      rc = real->pMethods->xWrite(real, buffer.data() + done, static_cast<int>(piece),
                                  start + static_cast<sqlite3_int64>(done));
    }
    // Written or not, the bytes leave the buffer: on failure SQLite abandons the transaction and
    // will write its frames again.
    buffer.clear();
    return rc;
  }
};

// An open database file: the default VFS's, plus a link to its log. SQLite releases the WAL's
// write lock through the database file's shared-memory lock; the log's buffer is written out
// before that, so no frame stays buffered once another connection may write the log. (Frames of
// a transaction that spilled to the log and then rolled back are never read again by their own
// connection; flushed later, they would land on frames another connection wrote meanwhile.)
struct DbFile : WrappedFile {
  WalFile* wal = nullptr;

  static DbFile& Of(sqlite3_file* f) {
    return static_cast<DbFile&>(*reinterpret_cast<WrappedFile*>(f));
  }
};

// SQLite's lock slot 0 in the WAL index is the writer's (WAL_WRITE_LOCK in wal.c).
constexpr int kWalWriteLockSlot = 0;

sqlite3_vfs* Base() {
  static sqlite3_vfs* const base = sqlite3_vfs_find(nullptr);
  return base;
}

int WalClose(sqlite3_file* f) {
  WalFile& w = WalFile::Of(f);
  if (w.database != nullptr) w.database->wal = nullptr;
  const int flushed = w.Flush();
  const int closed = w.real->pMethods->xClose(w.real);
  w.~WalFile();
  return flushed != SQLITE_OK ? flushed : closed;
}

int WalRead(sqlite3_file* f, void* out, int amount, sqlite3_int64 offset) {
  WalFile& w = WalFile::Of(f);
  if (const int rc = w.Flush(); rc != SQLITE_OK) return rc;
  return w.real->pMethods->xRead(w.real, out, amount, offset);
}

int WalWrite(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
  WalFile& w = WalFile::Of(f);
  // Unlinked from its database, nothing would write the buffer out when the lock is released.
  if (w.database == nullptr) return w.real->pMethods->xWrite(w.real, data, amount, offset);
  const auto size = static_cast<size_t>(amount);
  const bool contiguous =
      w.buffer.empty() || offset == w.start + static_cast<sqlite3_int64>(w.buffer.size());
  if (!contiguous) w.after_commit = false;
  if (!contiguous || w.buffer.size() + size > kMaxBuffered) {
    if (const int rc = w.Flush(); rc != SQLITE_OK) return rc;
  }
  if (w.buffer.empty()) w.start = offset;
  w.buffer.append(static_cast<const char*>(data), size);
  if (amount == kFrameHeaderSize && offset >= kWalHeaderSize) {
    // Bytes 4-7 of a frame header: the database's size in pages after a commit, 0 otherwise.
    const auto* header = static_cast<const unsigned char*>(data);
    w.after_commit = (header[4] | header[5] | header[6] | header[7]) != 0;
    return SQLITE_OK;
  }
  if (w.after_commit) {
    // The commit's last page: out before SQLite can publish the commit to other connections.
    w.after_commit = false;
    return w.Flush();
  }
  return SQLITE_OK;
}

int WalTruncate(sqlite3_file* f, sqlite3_int64 size) {
  WalFile& w = WalFile::Of(f);
  if (const int rc = w.Flush(); rc != SQLITE_OK) return rc;
  return w.real->pMethods->xTruncate(w.real, size);
}

int WalSync(sqlite3_file* f, int flags) {
  WalFile& w = WalFile::Of(f);
  if (const int rc = w.Flush(); rc != SQLITE_OK) return rc;
  return w.real->pMethods->xSync(w.real, flags);
}

int WalFileSize(sqlite3_file* f, sqlite3_int64* size) {
  WalFile& w = WalFile::Of(f);
  if (const int rc = w.Flush(); rc != SQLITE_OK) return rc;
  return w.real->pMethods->xFileSize(w.real, size);
}

int WalFileControl(sqlite3_file* f, int op, void* arg) {
  WalFile& w = WalFile::Of(f);
  if (const int rc = w.Flush(); rc != SQLITE_OK) return rc;
  return w.real->pMethods->xFileControl(w.real, op, arg);
}

int WalFetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  WalFile& w = WalFile::Of(f);
  *out = nullptr;
  if (const int rc = w.Flush(); rc != SQLITE_OK) return rc;
  return w.real->pMethods->xFetch(w.real, offset, amount, out);
}

// What neither wrapper changes goes to the default VFS's file as it is.
int PassRead(sqlite3_file* f, void* out, int amount, sqlite3_int64 offset) {
  sqlite3_file* r = WrappedFile::RealOf(f);
  return r->pMethods->xRead(r, out, amount, offset);
}
int PassWrite(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
  sqlite3_file* r = WrappedFile::RealOf(f);
  return r->pMethods->xWrite(r, data, amount, offset);
}
int PassTruncate(sqlite3_file* f, sqlite3_int64 size) {
  sqlite3_file* r = WrappedFile::RealOf(f);
  return r->pMethods->xTruncate(r, size);
}
int PassSync(sqlite3_file* f, int flags) {
  sqlite3_file* r = WrappedFile::RealOf(f);
  return r->pMethods->xSync(r, flags);
}
int PassFileSize(sqlite3_file* f, sqlite3_int64* size) {
  sqlite3_file* r = WrappedFile::RealOf(f);
  return r->pMethods->xFileSize(r, size);
}
int PassLock(sqlite3_file* f, int level) {
  sqlite3_file* r = WrappedFile::RealOf(f);
  return r->pMethods->xLock(r, level);
}
int PassUnlock(sqlite3_file* f, int level) {
  sqlite3_file* r = WrappedFile::RealOf(f);
  return r->pMethods->xUnlock(r, level);
}
int PassCheckReservedLock(sqlite3_file* f, int* out) {
  sqlite3_file* r = WrappedFile::RealOf(f);
  return r->pMethods->xCheckReservedLock(r, out);
}
int PassFileControl(sqlite3_file* f, int op, void* arg) {
  sqlite3_file* r = WrappedFile::RealOf(f);
  return r->pMethods->xFileControl(r, op, arg);
}
int PassSectorSize(sqlite3_file* f) {
  sqlite3_file* r = WrappedFile::RealOf(f);
  return r->pMethods->xSectorSize(r);
}
int PassDeviceCharacteristics(sqlite3_file* f) {
  sqlite3_file* r = WrappedFile::RealOf(f);
  return r->pMethods->xDeviceCharacteristics(r);
}
int PassShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  sqlite3_file* r = WrappedFile::RealOf(f);
  return r->pMethods->xShmMap(r, region, size, extend, out);
}
int PassShmLock(sqlite3_file* f, int offset, int n, int flags) {
  sqlite3_file* r = WrappedFile::RealOf(f);
  return r->pMethods->xShmLock(r, offset, n, flags);
}
void PassShmBarrier(sqlite3_file* f) {
  sqlite3_file* r = WrappedFile::RealOf(f);
  r->pMethods->xShmBarrier(r);
}
int PassShmUnmap(sqlite3_file* f, int remove) {
  sqlite3_file* r = WrappedFile::RealOf(f);
  return r->pMethods->xShmUnmap(r, remove);
}
int PassFetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  sqlite3_file* r = WrappedFile::RealOf(f);
  return r->pMethods->xFetch(r, offset, amount, out);
}
int PassUnfetch(sqlite3_file* f, sqlite3_int64 offset, void* page) {
  sqlite3_file* r = WrappedFile::RealOf(f);
  return r->pMethods->xUnfetch(r, offset, page);
}

const sqlite3_io_methods kWalMethods = {
    3,
    WalClose,
    WalRead,
    WalWrite,
    WalTruncate,
    WalSync,
    WalFileSize,
    PassLock,
    PassUnlock,
    PassCheckReservedLock,
    WalFileControl,
    PassSectorSize,
    PassDeviceCharacteristics,
    PassShmMap,
    PassShmLock,
    PassShmBarrier,
    PassShmUnmap,
    WalFetch,
    PassUnfetch,
};

int DbClose(sqlite3_file* f) {
  DbFile& d = DbFile::Of(f);
  if (d.wal != nullptr) d.wal->database = nullptr;
  const int closed = d.real->pMethods->xClose(d.real);
  d.~DbFile();
  return closed;
}
int DbShmLock(sqlite3_file* f, int offset, int n, int flags) {
  DbFile& d = DbFile::Of(f);
  if ((flags & SQLITE_SHM_UNLOCK) != 0 && offset <= kWalWriteLockSlot &&
      kWalWriteLockSlot < offset + n && d.wal != nullptr) {
    // Still the writer: whatever is buffered lands where this connection may write.
    if (const int rc = d.wal->Flush(); rc != SQLITE_OK) {
      d.real->pMethods->xShmLock(d.real, offset, n, flags);
      return rc;
    }
    d.wal->after_commit = false;
  }
  return d.real->pMethods->xShmLock(d.real, offset, n, flags);
}
const sqlite3_io_methods kDbMethods = {
    3,
    DbClose,
    PassRead,
    PassWrite,
    PassTruncate,
    PassSync,
    PassFileSize,
    PassLock,
    PassUnlock,
    PassCheckReservedLock,
    PassFileControl,
    PassSectorSize,
    PassDeviceCharacteristics,
    PassShmMap,
    DbShmLock,
    PassShmBarrier,
    PassShmUnmap,
    PassFetch,
    PassUnfetch,
};

// Opens the default VFS's file behind `wrapper` (placement-new'd at `file`). On failure the
// wrapper is destroyed and SQLite's handle has no methods, so SQLite will not call xClose on it.
template <typename Wrapper>
int OpenWrapped(Wrapper* wrapper, const sqlite3_io_methods* methods, sqlite3_filename name,
                int flags, int* out_flags) {
  sqlite3_vfs* base = Base();
  wrapper->handle.pMethods = nullptr;
  wrapper->real =
      reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(wrapper) + RoundUp(sizeof(Wrapper)));
  std::memset(wrapper->real, 0, static_cast<size_t>(base->szOsFile));
  int rc = base->xOpen(base, name, wrapper->real, flags, out_flags);
  // The wrappers offer what a version-3 file offers (shared memory, memory maps): no less.
  if (rc == SQLITE_OK && wrapper->real->pMethods->iVersion < 3) rc = SQLITE_CANTOPEN;
  if (rc != SQLITE_OK) {
    if (wrapper->real->pMethods != nullptr) wrapper->real->pMethods->xClose(wrapper->real);
    wrapper->~Wrapper();
    return rc;
  }
  wrapper->handle.pMethods = methods;
  return SQLITE_OK;
}

int Open(sqlite3_vfs* /*vfs*/, sqlite3_filename name, sqlite3_file* file, int flags,
         int* out_flags) {
  if ((flags & SQLITE_OPEN_MAIN_DB) != 0) {
    return OpenWrapped(new (file) DbFile, &kDbMethods, name, flags, out_flags);
  }
  if ((flags & SQLITE_OPEN_WAL) == 0) return Base()->xOpen(Base(), name, file, flags, out_flags);
  auto* w = new (file) WalFile;
  if (const int rc = OpenWrapped(w, &kWalMethods, name, flags, out_flags); rc != SQLITE_OK) {
    return rc;
  }
  // A log is opened by the connection that has its database open through this VFS.
  sqlite3_file* database = sqlite3_database_file_object(name);
  if (database != nullptr && database->pMethods == &kDbMethods) {
    w->database = &DbFile::Of(database);
    w->database->wal = w;
  }
  return SQLITE_OK;
}

// Everything but opening a file is the default VFS's, called with the default VFS.
int Delete(sqlite3_vfs* /*vfs*/, const char* name, int sync_dir) {
  return Base()->xDelete(Base(), name, sync_dir);
}
int Access(sqlite3_vfs* /*vfs*/, const char* name, int flags, int* out) {
  return Base()->xAccess(Base(), name, flags, out);
}
int FullPathname(sqlite3_vfs* /*vfs*/, const char* name, int size, char* out) {
  return Base()->xFullPathname(Base(), name, size, out);
}
void* DlOpen(sqlite3_vfs* /*vfs*/, const char* name) {
  return Base()->xDlOpen(Base(), name);
}
void DlError(sqlite3_vfs* /*vfs*/, int size, char* out) {
  Base()->xDlError(Base(), size, out);
}
void (*DlSym(sqlite3_vfs* /*vfs*/, void* handle, const char* symbol))() {
  return Base()->xDlSym(Base(), handle, symbol);
}
void DlClose(sqlite3_vfs* /*vfs*/, void* handle) {
  Base()->xDlClose(Base(), handle);
}
int Randomness(sqlite3_vfs* /*vfs*/, int size, char* out) {
  return Base()->xRandomness(Base(), size, out);
}
int Sleep(sqlite3_vfs* /*vfs*/, int micros) {
  return Base()->xSleep(Base(), micros);
}
int CurrentTime(sqlite3_vfs* /*vfs*/, double* out) {
  return Base()->xCurrentTime(Base(), out);
}
int GetLastError(sqlite3_vfs* /*vfs*/, int size, char* out) {
  return Base()->xGetLastError(Base(), size, out);
}
int CurrentTimeInt64(sqlite3_vfs* /*vfs*/, sqlite3_int64* out) {
  return Base()->xCurrentTimeInt64(Base(), out);
}

}  // namespace

const char* WalBufferingVfsName() {
  static sqlite3_vfs vfs;
  static std::once_flag registered;
  std::call_once(registered, [] {
    sqlite3_vfs* base = Base();
    vfs.iVersion = 2;  // no system-call overrides: those stay the default VFS's business
    vfs.szOsFile =
        static_cast<int>(RoundUp(std::max(sizeof(WalFile), sizeof(DbFile)))) + base->szOsFile;
    vfs.mxPathname = base->mxPathname;
    vfs.zName = "ulus-wal-buffering";
    vfs.pAppData = nullptr;
    vfs.xOpen = Open;
    vfs.xDelete = Delete;
    vfs.xAccess = Access;
    vfs.xFullPathname = FullPathname;
    vfs.xDlOpen = DlOpen;
    vfs.xDlError = DlError;
    vfs.xDlSym = DlSym;
    vfs.xDlClose = DlClose;
    vfs.xRandomness = Randomness;
    vfs.xSleep = Sleep;
    vfs.xCurrentTime = CurrentTime;
    vfs.xGetLastError = GetLastError;
    vfs.xCurrentTimeInt64 = base->iVersion >= 2 ? CurrentTimeInt64 : nullptr;
    sqlite3_vfs_register(&vfs, 0);
  });
  return vfs.zName;
}

}  // namespace ulus::store
