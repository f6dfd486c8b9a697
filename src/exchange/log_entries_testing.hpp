#pragma once

// Message-log entries as a node writes them, for the log's tests on both backends:
// message_log_test.cpp (SQLite) and message_log_pgtest.cpp (PostgreSQL).

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/keys.hpp"
#include "ulus/exchange/batch_signer.hpp"
#include "ulus/exchange/message_log.hpp"
#include "ulus/store/group_commit.hpp"

namespace ulus::exchange::testing {

inline constexpr const char* kLogClient = "MN/GOV/CLIENT/app";

inline crypto::SigningKey NewKey() {
  auto key = crypto::SigningKey::Generate(crypto::SignatureAlg::kEs256);
  EXPECT_TRUE(key.ok());
  return std::move(key).value();
}

// One message of `x_road_id`, signed by `signer`; request and response differ in their digest.
inline LogEntry MakeEntry(BatchSigner& signer, const std::string& x_road_id,
                          MessageKind kind = MessageKind::kRequest) {
  LogEntry e;
  e.kind = kind;
  e.x_road_id = x_road_id;
  e.client = kLogClient;
  e.service = "MN/GOV/GASR/civil-registry/person";
  e.user_id = "MN123";
  e.subject = "subject-" + x_road_id;
  e.purpose = "benefit check";
  e.body_digest = crypto::Sha256("body " + x_road_id + (kind == MessageKind::kRequest ? "?" : "!"));
  auto sig = signer.Sign(e.body_digest);
  EXPECT_TRUE(sig.ok());
  e.signature = SerializeBatchSignature(*sig);
  return e;
}

// A request and its response, as a node logs them.
inline std::vector<LogEntry> MakePair(BatchSigner& signer, const std::string& x_road_id) {
  std::vector<LogEntry> entries;
  entries.push_back(MakeEntry(signer, x_road_id, MessageKind::kRequest));
  entries.push_back(MakeEntry(signer, x_road_id, MessageKind::kResponse));
  return entries;
}

// The side effect a pair append commits with (a node's reply and data-usage rows stand-in), in
// the table khur_test_mark (x_road_id TEXT PRIMARY KEY) the test makes.
inline store::GroupCommit::Work InsertMark(std::string x_road_id) {
  return [x_road_id = std::move(x_road_id)](store::Connection& conn) -> Status {
    const store::Value params[] = {x_road_id};
    ULUS_TRY(conn.Execute("INSERT INTO khur_test_mark (x_road_id) VALUES ($1)", params));
    return Ok();
  };
}

}  // namespace ulus::exchange::testing
