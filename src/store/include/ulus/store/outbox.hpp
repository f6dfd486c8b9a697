#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/store/database.hpp"
#include "ulus/store/migration.hpp"

namespace ulus::store {

// An event announcing a change, e.g. topic "registry.person.updated", key the record id,
// payload a JSON document.
struct Event {
  int64_t position = 0;  // assigned at append; strictly increasing in commit order
  std::string topic;
  std::string key;
  std::string payload;
  TimePoint created_at{};
};

// The transactional outbox: a change and the event that announces it commit together, because
// Append runs on the caller's open transaction. Positions are handed out under a lock held until
// commit, so a consumer that has seen position p will never later find a committed event below p
// (no gaps from concurrent writers). Thread-safe; the tables come from its migrations.
class Outbox {
 public:
  explicit Outbox(Database& db, const Clock& clock = Clock::System()) : db_(db), clock_(clock) {}

  static const std::vector<Migration>& Migrations();

  // Appends inside `tx`, which must be in a transaction. Returns the event's position.
  Result<int64_t> Append(Connection& tx, std::string topic, std::string key, std::string payload);

  // Events after `consumer`'s remembered position, oldest first, at most `limit`, optionally only
  // topics starting with `topic_prefix`. Delivery is at least once: a consumer that crashes
  // before Acknowledge sees the same events again.
  Result<std::vector<Event>> Poll(const std::string& consumer, size_t limit,
                                  const std::string& topic_prefix = {});
  // Remembers that `consumer` has handled everything up to and including `position`.
  // Positions only move forward; an older position is ignored.
  Status Acknowledge(const std::string& consumer, int64_t position);
  Result<int64_t> ConsumerPosition(const std::string& consumer);

 private:
  Database& db_;
  const Clock& clock_;
};

}  // namespace ulus::store
