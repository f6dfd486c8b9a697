#include "ulus/identity/messages.hpp"

namespace ulus::identity {

std::string_view ChannelName(Channel channel) {
  return channel == Channel::kEmail ? "email" : "sms";
}

const std::vector<store::Migration>& LocalOutbox::Migrations() {
  static const std::vector<store::Migration> steps = {
      {.version = 1,
       .name = "local message outbox",
       .sql = "CREATE TABLE dan_message ("
              " id INTEGER PRIMARY KEY,"
              " at BIGINT NOT NULL,"
              " channel TEXT NOT NULL,"
              " recipient TEXT NOT NULL,"
              " subject TEXT NOT NULL,"
              " body TEXT NOT NULL);"
              "CREATE INDEX dan_message_recipient ON dan_message (recipient, id);",
       .postgres = "CREATE TABLE dan_message ("
                   " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                   " at BIGINT NOT NULL,"
                   " channel TEXT NOT NULL,"
                   " recipient TEXT NOT NULL,"
                   " subject TEXT NOT NULL,"
                   " body TEXT NOT NULL);"
                   "CREATE INDEX dan_message_recipient ON dan_message (recipient, id);"},
  };
  return steps;
}

Status LocalOutbox::Send(const OutgoingMessage& message) {
  if (message.to.empty()) return Error::InvalidArgument("a message needs a recipient", "to");
  return db_.InTransaction([&](store::Connection& tx) -> Status {
    const store::Value params[] = {ToUnixMicros(clock_.Now()),
                                   std::string(ChannelName(message.channel)), message.to,
                                   message.subject, message.text};
    ULUS_TRY(
        tx.Execute("INSERT INTO dan_message (at, channel, recipient, subject, body)"
                   " VALUES ($1, $2, $3, $4, $5)",
                   params));
    return Ok();
  });
}

Result<std::vector<StoredMessage>> LocalOutbox::List(size_t limit, std::string_view to) const {
  ULUS_ASSIGN_OR_RETURN(auto conn, db_.Acquire());
  const store::Value params[] = {std::string(to), static_cast<int64_t>(limit)};
  ULUS_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT id, at, channel, recipient, subject, body"
                                               " FROM dan_message WHERE ($1 = '' OR recipient = $1)"
                                               " ORDER BY id DESC LIMIT $2",
                                               params));
  std::vector<StoredMessage> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    out.push_back({.id = row.Int(0),
                   .at = FromUnixMicros(row.Int(1)),
                   .channel = row.Text(2) == "email" ? Channel::kEmail : Channel::kSms,
                   .to = row.Text(3),
                   .subject = row.Text(4),
                   .text = row.Text(5)});
  }
  return out;
}

}  // namespace ulus::identity
