#include "ulus/store/group_commit.hpp"

#include <utility>

#include "backend.hpp"

namespace ulus::store {

struct GroupCommit::Item {
  Work work;
  Status result;
  bool done = false;  // guarded by GroupCommit::mu_
};

GroupCommit::GroupCommit(Database& db, GroupCommitOptions options) : db_(db), options_(options) {
  if (options_.max_batch == 0) options_.max_batch = 1;
  writer_ = std::thread([this] { Run(); });
}

GroupCommit::~GroupCommit() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_ready_.notify_one();
  writer_.join();
}

Status GroupCommit::Submit(Work work) {
  Item item{.work = std::move(work), .result = Ok(), .done = false};
  std::unique_lock lock(mu_);
  if (stopping_) return Error::Unavailable("the group commit is shutting down");
  queue_.push_back(&item);
  if (queue_.size() == 1) work_ready_.notify_one();
  done_.wait(lock, [&] { return item.done; });
  return std::move(item.result);
}

GroupCommit::Stats GroupCommit::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void GroupCommit::Run() {
  std::deque<Item*> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      work_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything submitted is done
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    RunBatch(batch);
    {
      std::lock_guard lock(mu_);
      for (Item* item : batch) item->done = true;
      ++stats_.batches;
      stats_.items += batch.size();
    }
    done_.notify_all();
    batch.clear();
  }
}

void GroupCommit::RunBatch(std::deque<Item*>& batch) {
  // A lone item needs no savepoint: its transaction is its own.
  if (batch.size() == 1) {
    Item& item = *batch.front();
    Status own = Ok();
    Status committed = db_.InTransaction([&](Connection& tx) -> Status {
      own = item.work(tx);
      return own;
    });
    item.result = own.ok() ? std::move(committed) : std::move(own);
    return;
  }
  Status committed = db_.InTransaction([&](Connection& tx) -> Status {
    for (Item* item : batch) item->result = Ok();  // a retried batch starts afresh
    for (Item* item : batch) {
      ULUS_TRY(tx.Execute("SAVEPOINT ulus_group_item"));
      item->result = item->work(tx);
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
