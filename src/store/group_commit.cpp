#include "ulus/store/group_commit.hpp"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "backend.hpp"
#include "ulus/core/assert.hpp"

namespace ulus::store {

namespace {

// Hands an asynchronous item its result. An exception escaping it would unwind the leader with
// the lead still taken and every later submitter waiting, so it is logged and dropped.
void CallDone(const GroupCommit::Done& done, Status result) {
  if (!done) return;
  try {
    done(std::move(result));
  } catch (const std::exception& e) {
    spdlog::error("store: a group-commit done callback threw: {}", e.what());
  } catch (...) {
    spdlog::error("store: a group-commit done callback threw a non-exception");
  }
}

}  // namespace

// One submitter's work. A Submit() caller's item lives on its stack and the caller waits on the
// item's own condition variable, so a finished batch wakes exactly its own submitters rather than
// every thread waiting on the group. A SubmitAsync() item is owned by the group commit from the
// moment it is queued until its done callback has run.
struct GroupCommit::Item {
  Work work;
  Status result;
  Done done_callback;  // empty for a Submit() item
  bool is_async = false;
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
  db_.DeferCheckpoints();
}

GroupCommit::~GroupCommit() {
  std::deque<Item*> orphans;
  {
    std::unique_lock lock(mu_);
    stopping_ = true;
    idle_.wait(lock, [&] { return !leading_; });
    // A leader gives up the lead only with the queue empty, so nothing should be left; should an
    // asynchronous item be, its callback is told rather than never called.
    orphans.swap(queue_);
  }
  for (Item* item : orphans) {
    ULUS_ASSERT(item->is_async);  // a Submit() item always has a leader
    std::unique_ptr<Item> owned(item);
    CallDone(owned->done_callback, Error::Unavailable("the group commit is shutting down"));
  }
}

Status GroupCommit::Submit(Work work) {
  Item item{.work = std::move(work), .result = Ok()};
  bool leader = false;
  bool reentered = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Error::Unavailable("the group commit is shutting down");
    // A done callback on the leader's own thread: waiting for the leader would wait forever.
    reentered = leading_ && leader_ == std::this_thread::get_id();
    if (!reentered) {
      queue_.push_back(&item);
      ++sync_queued_;
      leader = !leading_;
      leading_ = true;
      if (leader) leader_ = std::this_thread::get_id();
    }
  }
  if (reentered) {
    std::deque<Item*> alone{&item};
    RunBatch(alone);
    CountBatch(1);
    return std::move(item.result);
  }
  // A follower waits for the leader to run its work, or to be made the next leader.
  if (!leader) {
    if (item.Wait()) return std::move(item.result);
    std::lock_guard lock(mu_);
    leader_ = std::this_thread::get_id();
  }
  Lead(&item);
  return std::move(item.result);
}

void GroupCommit::SubmitAsync(Work work, Done done) {
  auto item = std::make_unique<Item>();
  item->work = std::move(work);
  item->result = Ok();
  item->done_callback = std::move(done);
  item->is_async = true;
  bool leader = false;
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(item.release());  // owned by the queue, then by the leader's batch
      leader = !leading_;
      leading_ = true;
      if (leader) leader_ = std::this_thread::get_id();
    }
  }
  if (item) {
    CallDone(item->done_callback, Error::Unavailable("the group commit is shutting down"));
    return;
  }
  if (leader) Lead(nullptr);
}

GroupCommit::Stats GroupCommit::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void GroupCommit::CountBatch(size_t items) {
  std::lock_guard lock(mu_);
  ++stats_.batches;
  stats_.items += items;
}

// The leader runs batches on its own thread (no hand-off to a writer thread: on a virtual
// machine a context switch costs more than a small commit). `mine` is the leader's own item, or
// null for a SubmitAsync() caller; once it is done, the lead passes on (HandOverLocked).
void GroupCommit::Lead(Item* mine) {
  std::deque<Item*> batch;
  std::vector<std::unique_ptr<Item>> finished;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (mine == nullptr && HandOverLocked()) return;
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        Item* item = queue_.front();
        queue_.pop_front();
        if (!item->is_async) --sync_queued_;
        batch.push_back(item);
      }
    }
    RunBatch(batch);
    CountBatch(batch.size());
    // Once finished, a Submit() caller may return and destroy its item: touch nothing after it.
    for (Item* item : batch) {
      if (item == mine) {
        mine = nullptr;
      } else if (item->is_async) {
        finished.emplace_back(item);
      } else {
        item->Finish();
      }
    }
    batch.clear();
    // Outside mu_: a callback may submit again (it joins the queue this loop is draining).
    for (auto& item : finished) CallDone(item->done_callback, std::move(item->result));
    finished.clear();
    // Between batches, with this batch's answers already out, is the cheapest moment to copy
    // the log back: only the batches queued meanwhile wait for it (and a Submit() leader's own
    // return), and nothing else writes meanwhile, so the copy is complete and the log can restart.
    if (Status checkpoint = db_.CheckpointIfDue(); !checkpoint.ok()) {
      spdlog::warn("store: a checkpoint between group commits failed: {}",
                   checkpoint.error().message);
    }
  }
}

bool GroupCommit::HandOverLocked() {
  if (sync_queued_ > 0) {
    for (Item* item : queue_) {
      if (item->is_async) continue;
      leader_ = {};  // until the promoted thread wakes; see Submit's re-entry check
      item->Promote();
      return true;
    }
  }
  if (!queue_.empty()) return false;
  leading_ = false;
  leader_ = {};
  idle_.notify_all();
  return true;
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
  auto open = [&](Connection& tx) {
    return options_.open_batch ? RunWork(options_.open_batch, tx) : Ok();
  };
  auto close = [&](Connection& tx) {
    return options_.close_batch ? RunWork(options_.close_batch, tx) : Ok();
  };
  // A lone item needs no savepoint: its transaction is its own.
  if (batch.size() == 1) {
    Item& item = *batch.front();
    Status own = Ok();
    Status committed = db_.InTransaction([&](Connection& tx) -> Status {
      own = Ok();
      ULUS_TRY(open(tx));
      own = RunWork(item.work, tx);
      if (!own.ok()) return own;
      return close(tx);
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
    ULUS_TRY(open(tx));
    for (Item* item : batch) {
      item->result = RunWork(item->work, tx);
      if (!item->result.ok()) {
        item_failed = !IsRetryableError(item->result.error());
        return item->result;
      }
    }
    return close(tx);
  });
  if (optimistic.ok()) return;
  if (!item_failed) {
    for (Item* item : batch) item->result = optimistic;
    return;
  }
  Status committed = db_.InTransaction([&](Connection& tx) -> Status {
    for (Item* item : batch) item->result = Ok();  // a retried batch starts afresh
    ULUS_TRY(open(tx));
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
    return close(tx);
  });
  if (committed.ok()) return;
  // Nothing of the batch is durable: items that succeeded inside it fail with the batch.
  for (Item* item : batch) {
    if (item->result.ok()) item->result = committed;
  }
}

}  // namespace ulus::store
