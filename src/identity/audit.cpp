#include "ulus/identity/audit.hpp"

namespace ulus::identity {

const std::vector<store::Migration>& AuditLog::Migrations() {
  static const std::vector<store::Migration> steps = {
      {.version = 1,
       .name = "audit log",
       .sql = "CREATE TABLE dan_audit ("
              " id INTEGER PRIMARY KEY,"
              " at BIGINT NOT NULL,"
              " event TEXT NOT NULL,"
              " account_id TEXT NOT NULL,"
              " identifier TEXT NOT NULL,"
              " client_id TEXT NOT NULL,"
              " remote_address TEXT NOT NULL,"
              " detail TEXT NOT NULL);"
              "CREATE INDEX dan_audit_account ON dan_audit (account_id, id);",
       .postgres = "CREATE TABLE dan_audit ("
                   " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                   " at BIGINT NOT NULL,"
                   " event TEXT NOT NULL,"
                   " account_id TEXT NOT NULL,"
                   " identifier TEXT NOT NULL,"
                   " client_id TEXT NOT NULL,"
                   " remote_address TEXT NOT NULL,"
                   " detail TEXT NOT NULL);"
                   "CREATE INDEX dan_audit_account ON dan_audit (account_id, id);"},
  };
  return steps;
}

Status AuditLog::Record(const AuditEvent& event) {
  return db_.InTransaction([&](store::Connection& tx) { return Record(tx, event); });
}

Status AuditLog::Record(store::Connection& tx, const AuditEvent& event) {
  const store::Value params[] = {ToUnixMicros(clock_.Now()), event.event,     event.account_id,
                                 event.identifier,           event.client_id, event.remote_address,
                                 event.detail.dump()};
  ULUS_TRY(
      tx.Execute("INSERT INTO dan_audit (at, event, account_id, identifier, client_id, "
                 "remote_address, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                 params));
  return Ok();
}

Result<std::vector<AuditEntry>> AuditLog::List(std::string_view account_id,
                                               std::string_view event_prefix, size_t limit) const {
  ULUS_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  // substr and length count characters on both backends and equality is exact, so the prefix
  // needs no LIKE escaping. (A range ending in "\xff" is not valid UTF-8: PostgreSQL refuses it.)
  const store::Value params[] = {std::string(account_id), std::string(event_prefix),
                                 static_cast<int64_t>(limit)};
  ULUS_ASSIGN_OR_RETURN(
      auto rows,
      conn->Query("SELECT id, at, event, account_id, identifier, client_id, remote_address, detail"
                  " FROM dan_audit WHERE ($1 = '' OR account_id = $1)"
                  " AND substr(event, 1, length(CAST($2 AS TEXT))) = CAST($2 AS TEXT)"
                  " ORDER BY id DESC LIMIT $3",
                  params));
  std::vector<AuditEntry> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    AuditEntry entry;
    entry.id = row.Int(0);
    entry.at = FromUnixMicros(row.Int(1));
    entry.event.event = row.Text(2);
    entry.event.account_id = row.Text(3);
    entry.event.identifier = row.Text(4);
    entry.event.client_id = row.Text(5);
    entry.event.remote_address = row.Text(6);
    entry.event.detail = nlohmann::json::parse(row.Text(7), nullptr, false);
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace ulus::identity
