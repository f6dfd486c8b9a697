#include "ulus/store/outbox.hpp"

#include <string>

namespace ulus::store {
namespace {

constexpr std::string_view kSelectEvents =
    "SELECT position, topic, key, payload, created_at FROM outbox_event "
    "WHERE position > COALESCE((SELECT position FROM outbox_consumer WHERE consumer = $1), 0) ";
// substr and length count characters on both backends, and equality is exact on both, so the
// prefix needs no escaping and no collation-dependent range.
constexpr std::string_view kTopicFilter =
    "AND substr(topic, 1, length(CAST($3 AS TEXT))) = CAST($3 AS TEXT) ";
constexpr std::string_view kOrder = "ORDER BY position LIMIT $2";

}  // namespace

const std::vector<Migration>& Outbox::Migrations() {
  static const std::vector<Migration> steps = {
      {.version = 1,
       .name = "outbox tables",
       .sql = "CREATE TABLE outbox_event ("
              " position BIGINT PRIMARY KEY,"
              " topic TEXT NOT NULL,"
              " key TEXT NOT NULL,"
              " payload TEXT NOT NULL,"
              " created_at BIGINT NOT NULL);"
              "CREATE TABLE outbox_head ("
              " id INTEGER PRIMARY KEY CHECK (id = 1),"
              " last_position BIGINT NOT NULL);"
              "INSERT INTO outbox_head (id, last_position) VALUES (1, 0);"
              "CREATE TABLE outbox_consumer ("
              " consumer TEXT PRIMARY KEY,"
              " position BIGINT NOT NULL,"
              " updated_at BIGINT);",
       .postgres = {}},
  };
  return steps;
}

Result<int64_t> Outbox::Append(Connection& tx, std::string topic, std::string key,
                               std::string payload) {
  if (!tx.InTransaction()) {
    return Error{ErrorCode::kFailedPrecondition,
                 "Outbox::Append must run inside the transaction that makes the change",
                 {}};
  }
  // Why a counter row and not a sequence or autoincrement: a sequence hands out numbers in the
  // order transactions *start*, so position 7 may commit after position 8, and a consumer that
  // already read 8 and moved its position past it would never see 7. Updating this one row takes
  // its lock until our transaction commits or rolls back; the next appender waits for it, so
  // positions are handed out in commit order and a committed position is never undercut by a
  // later commit. A rollback returns the number too, so positions have no holes either.
  ULUS_ASSIGN_OR_RETURN(
      const int64_t position,
      tx.QueryInt("UPDATE outbox_head SET last_position = last_position + 1 WHERE id = 1 "
                  "RETURNING last_position"));
  const Value params[] = {position, std::move(topic), std::move(key), std::move(payload),
                          ToUnixMicros(clock_.Now())};
  ULUS_TRY(
      tx.Execute("INSERT INTO outbox_event (position, topic, key, payload, created_at) "
                 "VALUES ($1, $2, $3, $4, $5)",
                 params));
  return position;
}

Result<std::vector<Event>> Outbox::Poll(const std::string& consumer, size_t limit,
                                        const std::string& topic_prefix) {
  if (limit == 0) return std::vector<Event>{};
  ULUS_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  std::vector<Value> params = {consumer, static_cast<int64_t>(limit)};
  std::string sql(kSelectEvents);
  if (!topic_prefix.empty()) {
    sql += kTopicFilter;
    params.emplace_back(topic_prefix);
  }
  sql += kOrder;
  ULUS_ASSIGN_OR_RETURN(auto rows, conn->Query(sql, params));

  std::vector<Event> events;
  events.reserve(rows.size());
  for (const Row& row : rows) {
    events.push_back(Event{.position = row.Int(0),
                           .topic = row.Text(1),
                           .key = row.Text(2),
                           .payload = row.Text(3),
                           .created_at = FromUnixMicros(row.Int(4))});
  }
  return events;
}

Status Outbox::Acknowledge(const std::string& consumer, int64_t position) {
  const Value params[] = {consumer, position, ToUnixMicros(clock_.Now())};
  ULUS_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  // The WHERE makes a late or repeated acknowledgement of an older position a no-op.
  ULUS_TRY(conn->Execute(
      "INSERT INTO outbox_consumer (consumer, position, updated_at) VALUES ($1, $2, $3) "
      "ON CONFLICT (consumer) DO UPDATE SET position = excluded.position, "
      "updated_at = excluded.updated_at WHERE outbox_consumer.position < excluded.position",
      params));
  return Ok();
}

Result<int64_t> Outbox::ConsumerPosition(const std::string& consumer) {
  ULUS_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  const Value params[] = {consumer};
  return conn->QueryInt(
      "SELECT COALESCE((SELECT position FROM outbox_consumer WHERE consumer = $1), 0)", params);
}

}  // namespace ulus::store
