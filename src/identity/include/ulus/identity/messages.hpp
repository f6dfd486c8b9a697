#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/store/database.hpp"
#include "ulus/store/migration.hpp"

namespace ulus::identity {

enum class Channel { kSms, kEmail };
std::string_view ChannelName(Channel channel);

struct OutgoingMessage {
  Channel channel = Channel::kSms;
  std::string to;       // phone number or e-mail address
  std::string subject;  // e-mail only
  std::string text;
};

// Delivers one-time codes and notices to a person. A real deployment implements it over an SMS
// or mail gateway; implementations must be thread-safe and must not log message text (it holds
// codes).
class MessageGateway {
 public:
  virtual ~MessageGateway() = default;
  virtual Status Send(const OutgoingMessage& message) = 0;
};

struct StoredMessage {
  int64_t id = 0;
  TimePoint at;
  Channel channel = Channel::kSms;
  std::string to;
  std::string subject;
  std::string text;
};

// The embedded default's gateway: messages go to the `dan_message` table of the platform
// database, where the operator reads them (`ulus messages`). Thread-safe.
class LocalOutbox final : public MessageGateway {
 public:
  LocalOutbox(store::Database& db, const Clock& clock = Clock::System()) : db_(db), clock_(clock) {}
  static const std::vector<store::Migration>& Migrations();  // component "dan_message"

  Status Send(const OutgoingMessage& message) override;
  // Newest first; only those to `to` when it is not empty.
  Result<std::vector<StoredMessage>> List(size_t limit, std::string_view to = {}) const;

 private:
  store::Database& db_;
  const Clock& clock_;
};

}  // namespace ulus::identity
