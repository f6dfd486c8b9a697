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
//   - the buffer is written out before the connection releases the WAL's write lock (the
//     database file is wrapped for that one hook, and otherwise passes through): frames of a
//     transaction that spilled into the log and then rolled back can never land later on frames
//     another connection has written since.
// A failed write of the buffer fails the call that caused it; SQLite then rolls the transaction
// back, as it does for any WAL write error. Other files (journals, temporary files) are the
// default VFS's own.
//
// Registered (not as the default) on first call; thread-safe.
const char* WalBufferingVfsName();

}  // namespace ulus::store
