#pragma once

// The record store's test suite, written once and instantiated per backend:
// record_store_test.cpp (SQLite) and record_store_pgtest.cpp (PostgreSQL). Include it in exactly
// one file of a test binary.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/registry/record_store.hpp"
#include "ulus/store/database.hpp"
#include "ulus/store/outbox.hpp"

namespace ulus::registry::test {

using nlohmann::json;

// A fresh, empty database for one test, removed when destroyed.
class TestDatabase {
 public:
  virtual ~TestDatabase() = default;
  [[nodiscard]] virtual const std::string& url() const = 0;
};

// kFailedPrecondition means the backend is not configured here: the test is skipped.
using TestDatabaseMaker = Result<std::unique_ptr<TestDatabase>> (*)();

struct StoreBackend {
  std::string name;
  TestDatabaseMaker make = nullptr;
};

inline void PrintTo(const StoreBackend& backend, std::ostream* os) {
  *os << backend.name;
}
inline std::string BackendName(const ::testing::TestParamInfo<StoreBackend>& param) {
  return param.param.name;
}

inline Change ChangeOn(const char* day, const char* reason = "court decision 12/2024",
                       const char* actor = "MN/GOV/GASR/civil-registry") {
  return Change{.actor = actor, .reason = reason, .valid_from = *ParseIsoDate(day)};
}

class RecordStoreTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override {
    auto made = GetParam().make();
    if (!made.ok() && made.error().code == ErrorCode::kFailedPrecondition) {
      GTEST_SKIP() << made.error().message;
    }
    ASSERT_TRUE(made.ok()) << made.error().ToString();
    test_db_ = std::move(made).value();
    store::DatabaseOptions options;
    options.url = test_db_->url();
    options.max_connections = 8;
    auto db = store::Database::Open(options);
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(db).value();
    ASSERT_TRUE(RecordStore::MigrateAll(*db_).ok());
    records_ = std::make_unique<RecordStore>(*db_, clock_);
  }

  Result<RecordVersion> Put(const std::string& id, const json& data, const Change& change,
                            RecordWriter::Expect expect = RecordWriter::Expect::kAny,
                            const char* registry = "person") {
    std::optional<RecordVersion> out;
    auto work = [&](RecordWriter& w) -> Status {
      ULUS_ASSIGN_OR_RETURN(auto v,
                            w.Put(registry, id, data.value("id", id), data.dump(), change, expect));
      out = std::move(v);
      return Ok();
    };
    ULUS_TRY(records_->Write(work));
    return *out;
  }

  int64_t Rows() {
    auto conn = db_->Acquire();
    EXPECT_TRUE(conn.ok());
    auto n = (*conn)->QueryInt("SELECT COUNT(*) FROM record_version");
    EXPECT_TRUE(n.ok()) << n.error().ToString();
    return n.ok() ? *n : -1;
  }

  std::vector<store::Event> Events() {
    store::Outbox outbox(*db_);
    auto events = outbox.Poll("test", 1000);
    EXPECT_TRUE(events.ok()) << events.error().ToString();
    return events.ok() ? *events : std::vector<store::Event>{};
  }

  // Declared first so it is destroyed last.
  std::unique_ptr<TestDatabase> test_db_;
  ManualClock clock_{FromUnixMicros(1'700'000'000'000'000)};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<RecordStore> records_;
};

TEST_P(RecordStoreTest, ChangesWriteNewVersionsWithWhoWhenWhy) {
  ASSERT_TRUE(Put("A1", {{"id", "A1"}, {"name", "Bat"}}, ChangeOn("2020-01-01", "birth"),
                  RecordWriter::Expect::kNew)
                  .ok());
  clock_.Advance(std::chrono::seconds(10));
  auto v2 = Put("A1", {{"id", "A1"}, {"name", "Bold"}},
                ChangeOn("2022-06-01", "name change 7/2022", "MN/GOV/GASR/officer-1"),
                RecordWriter::Expect::kExisting);
  ASSERT_TRUE(v2.ok()) << v2.error().ToString();
  EXPECT_EQ(v2->version, 2);

  auto current = records_->Read("person", "A1");
  ASSERT_TRUE(current.ok()) << current.error().ToString();
  EXPECT_EQ(json::parse(current->data)["name"], "Bold");
  EXPECT_EQ(current->version, 2);
  EXPECT_EQ(current->subject, "A1");

  auto history = records_->History("person", "A1");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].version, 2);
  EXPECT_EQ((*history)[0].actor, "MN/GOV/GASR/officer-1");
  EXPECT_EQ((*history)[0].reason, "name change 7/2022");
  EXPECT_EQ((*history)[0].valid_from, "2022-06-01");
  EXPECT_EQ((*history)[1].version, 1);
  EXPECT_EQ((*history)[1].reason, "birth");
  EXPECT_EQ(json::parse((*history)[1].data)["name"], "Bat");  // nothing overwritten
  EXPECT_EQ((*history)[0].recorded_at - (*history)[1].recorded_at, 10'000'000);
  EXPECT_EQ(Rows(), 2);
}

TEST_P(RecordStoreTest, ReadsAsOfAPastDay) {
  ASSERT_TRUE(Put("A1", {{"name", "Bat"}}, ChangeOn("2020-01-01")).ok());
  ASSERT_TRUE(Put("A1", {{"name", "Bold"}}, ChangeOn("2022-06-01")).ok());
  auto before = records_->ReadAsOf("person", "A1", *ParseIsoDate("2019-12-31"));
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(before.error().code, ErrorCode::kNotFound);
  auto first = records_->ReadAsOf("person", "A1", *ParseIsoDate("2022-05-31"));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->version, 1);
  auto second = records_->ReadAsOf("person", "A1", *ParseIsoDate("2022-06-01"));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->version, 2);

  RecordQuery query;
  query.as_of = *ParseIsoDate("2021-01-01");
  query.filters.push_back(
      {.target = RecordFilter::Target::kField, .field = "name", .value = "Bat"});
  auto listed = records_->List("person", query);
  ASSERT_TRUE(listed.ok()) << listed.error().ToString();
  EXPECT_EQ(listed->total, 1);
  query.as_of.reset();
  listed = records_->List("person", query);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->total, 0);  // today the name is Bold
}

TEST_P(RecordStoreTest, DeletionIsAVersionedTombstone) {
  ASSERT_TRUE(Put("A1", {{"name", "Bat"}}, ChangeOn("2020-01-01")).ok());
  auto deleted = [&] {
    auto work = [&](RecordWriter& w) -> Status {
      ULUS_TRY(w.Delete("person", "A1", ChangeOn("2023-03-03", "death registered")));
      return Ok();
    };
    return records_->Write(work);
  };
  ASSERT_TRUE(deleted().ok());
  auto read = records_->Read("person", "A1");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(records_->ReadAsOf("person", "A1", *ParseIsoDate("2023-03-02")).ok());
  EXPECT_FALSE(records_->ReadAsOf("person", "A1", *ParseIsoDate("2023-03-03")).ok());
  auto history = records_->History("person", "A1");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_TRUE((*history)[0].deleted);
  EXPECT_EQ((*history)[0].reason, "death registered");
  EXPECT_EQ(*records_->Count("person"), 0);

  auto again = deleted();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
  auto update = Put("A1", {{"name", "X"}}, ChangeOn("2023-04-01"), RecordWriter::Expect::kExisting);
  ASSERT_FALSE(update.ok());
  EXPECT_EQ(update.error().code, ErrorCode::kNotFound);
  // A deleted id may be created again; its history continues.
  auto recreated = Put("A1", {{"name", "Bat"}}, ChangeOn("2023-05-01", "registration restored"),
                       RecordWriter::Expect::kNew);
  ASSERT_TRUE(recreated.ok()) << recreated.error().ToString();
  EXPECT_EQ(recreated->version, 3);
  EXPECT_EQ(*records_->Count("person"), 1);
}

TEST_P(RecordStoreTest, FailedExpectationsWriteNothing) {
  ASSERT_TRUE(Put("A1", {{"name", "Bat"}}, ChangeOn("2020-01-01")).ok());
  const auto events_before = Events().size();
  auto duplicate =
      Put("A1", {{"name", "Other"}}, ChangeOn("2020-01-01"), RecordWriter::Expect::kNew);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, ErrorCode::kAlreadyExists);
  auto missing =
      Put("B2", {{"name", "X"}}, ChangeOn("2020-01-01"), RecordWriter::Expect::kExisting);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(Rows(), 1);
  EXPECT_EQ(Events().size(), events_before);
}

TEST_P(RecordStoreTest, EventsCommitWithTheChangeOrNotAtAll) {
  // Two changes, then a failure: neither the records nor their events remain.
  auto failing = [&](RecordWriter& w) -> Status {
    ULUS_TRY(w.Put("person", "A1", std::nullopt, R"({"n":1})", ChangeOn("2020-01-01"),
                   RecordWriter::Expect::kNew));
    ULUS_TRY(w.Put("person", "A2", std::nullopt, R"({"n":2})", ChangeOn("2020-01-01"),
                   RecordWriter::Expect::kNew));
    return Error::InvalidArgument("changed my mind");
  };
  ASSERT_FALSE(records_->Write(failing).ok());
  EXPECT_EQ(Rows(), 0);
  EXPECT_TRUE(Events().empty());

  ASSERT_TRUE(Put("A1", {{"n", 1}}, ChangeOn("2020-01-01", "birth")).ok());
  ASSERT_TRUE(Put("A1", {{"n", 2}}, ChangeOn("2021-01-01", "fix")).ok());
  auto work = [&](RecordWriter& w) -> Status {
    ULUS_TRY(w.Delete("person", "A1", ChangeOn("2022-01-01", "gone")));
    return Ok();
  };
  ASSERT_TRUE(records_->Write(work).ok());
  auto events = Events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].topic, "registry.person.created");
  EXPECT_EQ(events[1].topic, "registry.person.updated");
  EXPECT_EQ(events[2].topic, "registry.person.deleted");
  EXPECT_EQ(events[2].key, "A1");
  const json payload = json::parse(events[1].payload);
  EXPECT_EQ(payload["registry"], "person");
  EXPECT_EQ(payload["id"], "A1");
  EXPECT_EQ(payload["version"], 2);
  EXPECT_EQ(payload["reason"], "fix");
  EXPECT_EQ(payload["valid_from"], "2021-01-01");
  EXPECT_EQ(payload["actor"], "MN/GOV/GASR/civil-registry");
}

TEST_P(RecordStoreTest, ListsFiltersSearchesAndPages) {
  for (int i = 0; i < 25; ++i) {
    const std::string id = "P" + std::string(i < 10 ? "0" : "") + std::to_string(i);
    json data = {{"id", id},
                 {"name", i % 2 == 0 ? "Болд" : "Saraa"},
                 {"age", i},
                 {"alive", i != 3},
                 {"region", i < 5 ? "11" : "65"}};
    ASSERT_TRUE(Put(id, data, ChangeOn("2020-01-01")).ok());
  }
  RecordQuery all;
  all.limit = 10;
  auto page = records_->List("person", all);
  ASSERT_TRUE(page.ok()) << page.error().ToString();
  EXPECT_EQ(page->total, 25);
  ASSERT_EQ(page->records.size(), 10u);
  EXPECT_EQ(page->records[0].id, "P00");
  all.offset = 20;
  page = records_->List("person", all);
  ASSERT_EQ(page->records.size(), 5u);
  EXPECT_EQ(page->records[4].id, "P24");

  auto count = [&](std::vector<RecordFilter> filters) -> int64_t {
    RecordQuery q;
    q.filters = std::move(filters);
    auto r = records_->List("person", q);
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? r->total : -1;
  };
  using T = RecordFilter::Target;
  using Op = RecordFilter::Op;
  EXPECT_EQ(count({{.target = T::kField, .field = "name", .value = "Болд"}}), 13);
  EXPECT_EQ(count({{.target = T::kField, .field = "age", .value = 7}}), 1);
  EXPECT_EQ(count({{.target = T::kField, .field = "age", .value = "7"}}), 0);  // types differ
  EXPECT_EQ(count({{.target = T::kField, .field = "alive", .value = false}}), 1);
  EXPECT_EQ(count({{.target = T::kField, .field = "alive", .value = true}}), 24);
  EXPECT_EQ(count({{.target = T::kRecordId, .field = "id", .value = "P07"}}), 1);
  EXPECT_EQ(count({{.target = T::kSubject, .field = "id", .value = "P07"}}), 1);
  EXPECT_EQ(count({{.target = T::kField, .field = "region", .value = "11"},
                   {.target = T::kField, .field = "name", .value = "Saraa"}}),
            2);
  EXPECT_EQ(count({{.target = T::kField, .field = "missing", .value = nullptr}}), 0);
  EXPECT_EQ(count({{.target = T::kField, .op = Op::kContains, .field = "name", .value = "ол"}}),
            13);
  EXPECT_EQ(count({{.target = T::kAnyText, .op = Op::kContains, .value = "raa"}}), 12);
  EXPECT_EQ(count({{.target = T::kRecordId, .op = Op::kContains, .field = "id", .value = "P1"}}),
            10);

  RecordQuery ordered;
  ordered.order_field = "age";
  ordered.descending = true;
  ordered.limit = 3;
  page = records_->List("person", ordered);
  ASSERT_TRUE(page.ok()) << page.error().ToString();
  ASSERT_EQ(page->records.size(), 3u);
  EXPECT_EQ(page->records[0].id, "P24");
  EXPECT_EQ(page->records[2].id, "P22");
}

TEST_P(RecordStoreTest, ConcurrentUpdatesNeverShareAVersion) {
  ASSERT_TRUE(Put("C", {{"n", 0}}, ChangeOn("2020-01-01")).ok());
  constexpr int kThreads = 4;
  constexpr int kEach = 15;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        // Read-modify-write: a lost update would show as a counter below the number of writes.
        auto work = [&](RecordWriter& w) -> Status {
          ULUS_ASSIGN_OR_RETURN(auto current, w.Current("person", "C"));
          json data = json::parse(current.data);
          data["n"] = data["n"].get<int>() + 1;
          ULUS_TRY(w.Put("person", "C", std::nullopt, data.dump(), ChangeOn("2020-01-01"),
                         RecordWriter::Expect::kExisting));
          return Ok();
        };
        if (!records_->Write(work).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto current = records_->Read("person", "C");
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(json::parse(current->data)["n"], kThreads * kEach);
  EXPECT_EQ(current->version, kThreads * kEach + 1);
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(*(*conn)->QueryInt("SELECT COUNT(*) FROM record_version WHERE is_current = 1"), 1);
  EXPECT_EQ(*(*conn)->QueryInt("SELECT COUNT(DISTINCT version) FROM record_version"),
            kThreads * kEach + 1);
  EXPECT_EQ(Events().size(), static_cast<size_t>(kThreads * kEach + 1));
}

TEST_P(RecordStoreTest, ConcurrentCreatesOfOneIdMakeOneRecord) {
  constexpr int kThreads = 4;
  std::atomic<int> created{0};
  std::atomic<int> duplicates{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto r = Put("D", {{"by", t}}, ChangeOn("2020-01-01"), RecordWriter::Expect::kNew);
      if (r.ok()) ++created;
      if (!r.ok() && r.error().code == ErrorCode::kAlreadyExists) ++duplicates;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(duplicates.load(), kThreads - 1);
  EXPECT_EQ(Rows(), 1);
}

TEST_P(RecordStoreTest, LoadsInBulk) {
  std::vector<LoadRow> rows;
  for (int i = 0; i < 300; ++i) {
    const std::string id = "L" + std::to_string(1000 + i);
    rows.push_back({.id = id,
                    .valid_from = "2001-02-03",
                    .subject = i % 2 == 0 ? std::optional<std::string>(id) : std::nullopt,
                    .data = json{{"id", id}, {"i", i}}.dump()});
  }
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE((*conn)->Begin().ok());
  ASSERT_TRUE(records_->Load(**conn, "person", rows, "ulus-seed", "synthetic").ok());
  ASSERT_TRUE((*conn)->Commit().ok());
  EXPECT_EQ(*records_->Count("person"), 300);
  auto one = records_->Read("person", "L1299");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->version, 1);
  EXPECT_EQ(one->valid_from, "2001-02-03");
  EXPECT_EQ(json::parse(one->data)["i"], 299);
  EXPECT_EQ(one->subject, std::nullopt);
  // Loaded records take ordinary changes afterwards.
  EXPECT_TRUE(
      Put("L1000", {{"i", -1}}, ChangeOn("2020-01-01"), RecordWriter::Expect::kExisting).ok());
}

}  // namespace ulus::registry::test
