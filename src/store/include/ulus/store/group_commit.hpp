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
};

// Makes many small writes durable with one commit. Submitters on any thread hand in a piece of
// work; one of them, the leader, runs everything queued so far in one transaction, each item
// inside its own SAVEPOINT (so a failing item rolls back alone and gets its own error), commits
// once, and then wakes every submitter with its result. The fsync is shared, so the durable rate
// is not the disk's fsync rate.
//
// Work must be repeatable: when the whole batch hits a transient failure (SQLite busy,
// PostgreSQL serialization failure) the batch is run again from the start. Work runs on the
// leader's thread (any submitter's) and must not Submit() itself. There is no writer thread: the
// first submitter to find no leader leads until its own item is done, then hands over to the
// oldest waiting one, so an idle system commits on the caller's thread with no hand-off.
// Thread-safe; the destructor waits for the last leader.
class GroupCommit {
 public:
  using Work = std::function<Status(Connection&)>;

  explicit GroupCommit(Database& db, GroupCommitOptions options = {});
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Runs `work` in the next batch and returns once that batch committed (ok: durable) or failed.
  // The error is the item's own, or the batch's when the commit itself failed.
  Status Submit(Work work);

  struct Stats {
    uint64_t batches = 0;
    uint64_t items = 0;
  };
  [[nodiscard]] Stats stats() const;

 private:
  struct Item;
  void Lead(Item& mine);
  void RunBatch(std::deque<Item*>& batch);

  Database& db_;
  GroupCommitOptions options_;

  mutable std::mutex mu_;
  std::condition_variable idle_;  // the destructor waits on it for the last leader
  std::deque<Item*> queue_;       // guarded by mu_
  bool stopping_ = false;         // guarded by mu_
  Stats stats_;                   // guarded by mu_
  bool leading_ = false;          // guarded by mu_: a submitter is running batches
};

}  // namespace ulus::store
