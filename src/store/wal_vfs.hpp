#pragma once

namespace ulus::store {

// The name of a SQLite VFS that is the platform's default one ("unix") except for write-ahead
// logs: the frames a commit appends to its WAL reach the file in one pwrite rather than two per
// page (a 24-byte frame header, then the page). On a virtual machine every system call costs a
// trip through the hypervisor, and a group commit of a dozen exchanges wrote some sixty.
//
// Nothing becomes visible or durable later than with the plain VFS:
//   - a commit frame (one whose header carries the database size) is written through, together
//     with everything buffered before it, before SQLite publishes the commit in the WAL index;
//   - a sync, a read, a size query, a truncation, a file control or a close writes the buffer
//     out first, so SQLite never reads or syncs bytes that are only in memory;
//   - a write anywhere but at the buffer's end (the WAL header at a restart, a frame rewritten in
//     place) writes the buffer out and then itself, in order.
// A failed write of the buffer fails the call that caused it; SQLite then rolls the transaction
// back, as it does for any WAL write error. Other files (the database, its shared memory) use the
// default VFS's methods unchanged.
//
// Registered (not as the default) on first call; thread-safe.
const char* WalBufferingVfsName();

}  // namespace ulus::store
