#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "ulus/core/result.hpp"
#include "ulus/store/database.hpp"

namespace ulus::store {

struct GroupCommitOptions {
  // Most items one transaction carries. A batch closes when the queue is empty or at this size.
  size_t max_batch = 512;
  // Work the items of a batch share, run in its transaction before the first item and after the
  // last (both again when the batch is run again). For a row every item would otherwise update,
  // such as a log's head: `open_batch` reads it once, the items work from what it read, and
  // `close_batch` writes it back once. An error from either fails the whole batch. Both run on
  // the leader's thread, like the items, so what they share needs no lock.
  std::function<Status(Connection&)> open_batch;
  std::function<Status(Connection&)> close_batch;
};

// Makes many small writes durable with one commit. Submitters on any thread hand in a piece of
// work; one of them, the leader, runs everything queued so far in one transaction, each item
// inside its own SAVEPOINT (so a failing item rolls back alone and gets its own error), commits
// once, and then hands every submitter its result. The fsync is shared, so the durable rate is not
// the disk's fsync rate.
//
// Work must be repeatable: when the whole batch hits a transient failure (SQLite busy,
// PostgreSQL serialization failure) the batch is run again from the start. Work runs on the
// leader's thread (any submitter's) and must not Submit() or SubmitAsync() itself. There is no
// writer thread: the first submitter to find no leader leads on its own thread. A leader whose
// own item is done (a Submit() whose item committed, or a SubmitAsync() caller, which has no item
// to wait for) hands over to the oldest submitter blocked in Submit(), and with none keeps leading
// until the queue is empty: an asynchronous item has no thread waiting on it to take the lead, so
// an idle system commits on the caller's thread with no hand-off. The price: while items keep
// arriving faster than a batch commits, the leader keeps leading, so one SubmitAsync() (or
// Submit()) caller may run batches for as long as that load lasts.
// Thread-safe, Submit() and SubmitAsync() mixed freely; the destructor waits for the last leader
// and must not run inside a done callback.
class GroupCommit {
 public:
  using Work = std::function<Status(Connection&)>;
  using Done = std::function<void(Status)>;

  explicit GroupCommit(Database& db, GroupCommitOptions options = {});
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Runs `work` in the next batch and returns once that batch committed (ok: durable) or failed.
  // The error is the item's own, or the batch's when the commit itself failed.
  // Called from a done callback (on the leader's own thread), `work` runs at once in a
  // transaction of its own, since the caller is the leader and nobody else would run it.
  Status Submit(Work work);

  // Queues `work` for the next batch without waiting for other submitters. With no leader, the
  // caller leads: it runs batches (everyone's) on its own thread until the queue is empty or a
  // Submit() caller can take over, so SubmitAsync may return only after committing; with a
  // leader, it returns at once. `done` (may be empty) is called exactly once with the item's
  // result, as Submit would return it: on the leader's thread (which may be the caller's, inside
  // SubmitAsync), after the batch committed or failed, outside the group commit's lock, so it may
  // Submit or SubmitAsync again. It should be short (it delays the batches after it) and not
  // throw; an exception from it is logged and dropped. Once the destructor has begun, `done`
  // gets kUnavailable at once on the caller's thread.
  void SubmitAsync(Work work, Done done);

  struct Stats {
    uint64_t batches = 0;
    uint64_t items = 0;
  };
  [[nodiscard]] Stats stats() const;

 private:
  struct Item;
  void Lead(Item* mine);
  // Under mu_, for a leader with no item of its own pending: true once the lead is passed to a
  // waiting Submit() caller or given up because the queue is empty.
  bool HandOverLocked();
  void RunBatch(std::deque<Item*>& batch);
  void CountBatch(size_t items);

  Database& db_;
  GroupCommitOptions options_;

  mutable std::mutex mu_;
  std::condition_variable idle_;  // the destructor waits on it for the last leader
  std::deque<Item*> queue_;       // guarded by mu_
  bool stopping_ = false;         // guarded by mu_
  Stats stats_;                   // guarded by mu_
  // Guarded by mu_: a submitter is running batches (or has been told to). Whenever the queue is
  // non-empty, someone leads.
  bool leading_ = false;
  std::thread::id leader_;  // guarded by mu_: the leading thread, or none while the lead passes
  size_t sync_queued_ = 0;  // guarded by mu_: Submit() items in queue_, whose threads wait
};

}  // namespace ulus::store
