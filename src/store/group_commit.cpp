#include "ulus/store/group_commit.hpp"

#include <condition_variable>
#include <mutex>
#include <utility>

#include "backend.hpp"

namespace ulus::store {

// One submitter's work. Each waits on its own semaphore, so a finished batch wakes exactly its
// own submitters rather than every thread waiting on the group.
struct GroupCommit::Item {
  Work work;
  Status result;
  // Set by the leader once `result` is final, or when this item's thread is to lead next. A
  // condition variable rather than a C++20 semaphore: libstdc++'s semaphore spins with
  // sched_yield before it sleeps, which on a busy server burned more CPU than the commits.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;  // guarded by mu
  bool lead = false;  // guarded by mu
  void Finish() {
    std::lock_guard lock(mu);
    done = true;
    cv.notify_one();  // under the lock: the submitter may destroy the item once it sees `done`
  }
  void Promote() {
    std::lock_guard lock(mu);
    lead = true;
    cv.notify_one();
  }
  // True when the item is done, false when its thread is to lead.
  bool Wait() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done || lead; });
    return done;
  }
};

GroupCommit::GroupCommit(Database& db, GroupCommitOptions options) : db_(db), options_(options) {
  if (options_.max_batch == 0) options_.max_batch = 1;
}

GroupCommit::~GroupCommit() {
  std::unique_lock lock(mu_);
  stopping_ = true;
  idle_.wait(lock, [&] { return !leading_ && queue_.empty(); });
}

Status GroupCommit::Submit(Work work) {
  Item item{.work = std::move(work), .result = Ok()};
  bool leader = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Error::Unavailable("the group commit is shutting down");
    queue_.push_back(&item);
    leader = !leading_;
    leading_ = true;
  }
  // A follower waits for the leader to run its work, or to be made the next leader.
  if (!leader && item.Wait()) return std::move(item.result);
  Lead(item);
  return std::move(item.result);
}

GroupCommit::Stats GroupCommit::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

// The leader runs batches on its own thread (no hand-off to a writer thread: on a virtual
// machine a context switch costs more than a small commit) until its own item is done, then
// hands leadership to the oldest waiting submitter, if any.
void GroupCommit::Lead(Item& mine) {
  std::deque<Item*> batch;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    RunBatch(batch);
    bool mine_done = false;
    {
      std::lock_guard lock(mu_);
      ++stats_.batches;
      stats_.items += batch.size();
    }
    // Once finished, a submitter may return and destroy its item: touch nothing after it.
    for (Item* item : batch) {
      if (item == &mine) {
        mine_done = true;
      } else {
        item->Finish();
      }
    }
    batch.clear();
    if (!mine_done) continue;
    std::lock_guard lock(mu_);
    if (queue_.empty()) {
      leading_ = false;
      idle_.notify_all();
    } else {
      queue_.front()->Promote();
    }
    return;
  }
}

namespace {

// Runs one submitter's work. An exception from it (a library's surprise) fails that item like
// any error; escaping, it would leave the leader's role taken and every later submitter waiting.
Status RunWork(const GroupCommit::Work& work, Connection& tx) {
  try {
    return work(tx);
  } catch (const std::exception& e) {
    return Error::Internal(std::string("a group-commit item threw: ") + e.what());
  } catch (...) {
    return Error::Internal("a group-commit item threw a non-exception");
  }
}

}  // namespace

void GroupCommit::RunBatch(std::deque<Item*>& batch) {
  // A lone item needs no savepoint: its transaction is its own.
  if (batch.size() == 1) {
    Item& item = *batch.front();
    Status own = Ok();
    Status committed = db_.InTransaction([&](Connection& tx) -> Status {
      own = RunWork(item.work, tx);
      return own;
    });
    item.result = own.ok() ? std::move(committed) : std::move(own);
    return;
  }
  // First without savepoints: items nearly always succeed, and two statements per item are a
  // large share of the writer's work. If one fails, the whole batch is rolled back and run again
  // with a savepoint around each item (work is repeatable), so the failure stays its own.
  bool item_failed = false;
  Status optimistic = db_.InTransaction([&](Connection& tx) -> Status {
    item_failed = false;
    for (Item* item : batch) item->result = Ok();
    for (Item* item : batch) {
      item->result = RunWork(item->work, tx);
      if (!item->result.ok()) {
        item_failed = !IsRetryableError(item->result.error());
        return item->result;
      }
    }
    return Ok();
  });
  if (optimistic.ok()) return;
  if (!item_failed) {
    for (Item* item : batch) item->result = optimistic;
    return;
  }
  Status committed = db_.InTransaction([&](Connection& tx) -> Status {
    for (Item* item : batch) item->result = Ok();  // a retried batch starts afresh
    for (Item* item : batch) {
      ULUS_TRY(tx.Execute("SAVEPOINT ulus_group_item"));
      item->result = RunWork(item->work, tx);
      if (!item->result.ok()) {
        // A transient failure spoils the whole transaction: let InTransaction run it again.
        if (IsRetryableError(item->result.error())) return item->result;
        ULUS_TRY(tx.Execute("ROLLBACK TO SAVEPOINT ulus_group_item"));
      }
      ULUS_TRY(tx.Execute("RELEASE SAVEPOINT ulus_group_item"));
    }
    return Ok();
  });
  if (committed.ok()) return;
  // Nothing of the batch is durable: items that succeeded inside it fail with the batch.
  for (Item* item : batch) {
    if (item->result.ok()) item->result = committed;
  }
}

}  // namespace ulus::store
