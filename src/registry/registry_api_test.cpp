#include "ulus/registry/registry_api.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ulus/http/client.hpp"
#include "ulus/http/server.hpp"
#include "ulus/registry/agency_stores.hpp"
#include "ulus/registry/catalog.hpp"
#include "ulus/registry/pack.hpp"

namespace ulus::registry {
namespace {

namespace fs = std::filesystem;
using http::Method;
using nlohmann::json;

constexpr const char* kCivil = "MN/GOV/GASR/civil-registry";       // writes person
constexpr const char* kPolice = "MN/GOV/POLICE/traffic-police";    // reads person only
constexpr const char* kPlatform = "MN/GOV/MDDIC/platform";         // reads everything
constexpr const char* kAdmin = "MN/GOV/MDDIC/registry-admin";      // manages schemas
constexpr const char* kTeacher = "MN/GOV/MOE/education-registry";  // may not read vehicles

const Pack& Mongolia() {
  static const Pack pack = [] {
    auto p = LoadPack(fs::path(ULUS_PACKS_DIR) / "mn");
    EXPECT_TRUE(p.ok()) << p.error().ToString();
    return std::move(p).value();
  }();
  return pack;
}

std::string RegisterNumber(int serial, CivilDate birth = {1990, 4, 12}, Sex sex = Sex::kFemale) {
  auto id = MakeMnRegisterNumber(U'У', U'Б', birth, sex, serial);
  EXPECT_TRUE(id.ok()) << id.error().ToString();
  return id.ok() ? *id : "";
}

json Person(const std::string& id, const std::string& given = "Сарангэрэл",
            const std::string& sex = "F") {
  return {{"id", id},         {"family_name", "Батын"},     {"given_name", given},
          {"sex", sex},       {"birth_date", "1990-04-12"}, {"citizenship", "MN"},
          {"status", "alive"}};
}

class RegistryApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ulus-registry-api-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto stores = AgencyStores::Open(Mongolia(), StoreLocation{.data_dir = dir_});
    ASSERT_TRUE(stores.ok()) << stores.error().ToString();
    stores_ = std::move(stores).value();
    auto catalog = RegistryCatalog::Open(Mongolia(), *stores_, CatalogOptions{{kAdmin}});
    ASSERT_TRUE(catalog.ok()) << catalog.error().ToString();
    catalog_ = std::move(catalog).value();
    api_ = std::make_unique<RegistryApi>(*catalog_);
    http::Router router;
    api_->Mount(router);
    http::ServerOptions options;
    options.port = 0;
    options.threads = 4;
    auto server = http::Server::Create(options, std::move(router));
    ASSERT_TRUE(server.ok()) << server.error().ToString();
    server_ = std::move(server).value();
    ASSERT_TRUE(server_->Start().ok());
    auto client = http::Client::Create("http://127.0.0.1:" + std::to_string(server_->port()));
    ASSERT_TRUE(client.ok());
    client_ = std::move(client).value();
  }

  void TearDown() override {
    client_.reset();
    if (server_) server_->Stop(std::chrono::seconds(2));
    server_.reset();
    api_.reset();
    catalog_.reset();
    stores_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  struct Answer {
    int status = 0;
    json body;
    std::string text;
    std::string content_type;
  };

  Answer Send(Method method, const std::string& target, const json& body = nullptr,
              const std::string& client = kCivil,
              std::vector<std::pair<std::string, std::string>> headers = {}) {
    if (!client.empty()) headers.emplace_back(std::string(kClientHeader), client);
    std::string text;
    if (!body.is_null()) {
      text = body.dump();
      headers.emplace_back("Content-Type", "application/json");
    }
    auto r = client_->Send(method, target, text, headers);
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    Answer a;
    if (!r.ok()) return a;
    a.status = static_cast<int>(r->status);
    a.text = r->body;
    a.content_type = std::string(r->Header("Content-Type"));
    a.body = json::parse(r->body, nullptr, false);
    return a;
  }

  // Writes with a reason, as every write must.
  Answer Write(Method method, const std::string& target, const json& body,
               const std::string& client = kCivil, const std::string& valid_from = "") {
    std::vector<std::pair<std::string, std::string>> headers = {
        {std::string(kReasonHeader), "test: registration"}};
    if (!valid_from.empty()) headers.emplace_back(std::string(kValidFromHeader), valid_from);
    return Send(method, target, body, client, headers);
  }

  Answer Create(const json& person, const std::string& valid_from = "") {
    return Write(Method::post, "/data/person/1.0/create", {{"write", {{"content", person}}}},
                 kCivil, valid_from);
  }

  Answer ReadPerson(const std::string& id, const std::string& query = "",
                    const std::string& client = kCivil) {
    return Send(Method::post, "/data/person/1.0/read" + query,
                {{"query", {{"content", {{"id", id}}}}}}, client);
  }

  // Rows in the civil registry's store: versions and outbox events.
  std::pair<int64_t, int64_t> Written() {
    auto conn = stores_->ForAgency("GASR")->database().Acquire();
    EXPECT_TRUE(conn.ok());
    return {*(*conn)->QueryInt("SELECT COUNT(*) FROM record_version"),
            *(*conn)->QueryInt("SELECT COUNT(*) FROM outbox_event")};
  }

  fs::path dir_;
  std::unique_ptr<AgencyStores> stores_;
  std::unique_ptr<RegistryCatalog> catalog_;
  std::unique_ptr<RegistryApi> api_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<http::Client> client_;
};

TEST_F(RegistryApiTest, CreatesReadsUpdatesAndKeepsHistory) {
  const std::string id = RegisterNumber(1);
  auto created = Create(Person(id), "2000-01-01");
  ASSERT_EQ(created.status, 200) << created.text;
  EXPECT_EQ(created.body["content"]["id"], id);

  auto read = ReadPerson(id);
  ASSERT_EQ(read.status, 200) << read.text;
  EXPECT_EQ(read.body["content"]["given_name"], "Сарангэрэл");

  // Reason and valid-from in the body this time.
  auto updated = Send(Method::put, "/data/person/1.0/update",
                      {{"query", {{"content", {{"id", id}}}}},
                       {"write", {{"content", {{"given_name", "Оюун"}}}}},
                       {"reason", "name change, decision 15/2020"},
                       {"validFrom", "2020-05-05"}});
  ASSERT_EQ(updated.status, 200) << updated.text;
  EXPECT_EQ(updated.body["content"]["given_name"], "Оюун");
  EXPECT_EQ(updated.body["content"]["family_name"], "Батын");  // merged, not replaced

  EXPECT_EQ(ReadPerson(id).body["content"]["given_name"], "Оюун");
  EXPECT_EQ(ReadPerson(id, "?asOf=2010-01-01").body["content"]["given_name"], "Сарангэрэл");
  EXPECT_EQ(ReadPerson(id, "?asOf=1999-12-31").status, 404);
  EXPECT_EQ(ReadPerson(id, "?asOf=yesterday").status, 400);

  auto history = Send(Method::get, "/data/person/1.0/" + id + "/history", nullptr, kPolice);
  ASSERT_EQ(history.status, 200) << history.text;
  ASSERT_EQ(history.body["versions"].size(), 2u);
  const json& newest = history.body["versions"][0];
  EXPECT_EQ(newest["version"], 2);
  EXPECT_EQ(newest["reason"], "name change, decision 15/2020");
  EXPECT_EQ(newest["validFrom"], "2020-05-05");
  EXPECT_EQ(newest["actor"], kCivil);
  EXPECT_EQ(newest["deleted"], false);
  EXPECT_EQ(history.body["versions"][1]["content"]["given_name"], "Сарангэрэл");
  EXPECT_EQ(history.body["versions"][1]["validFrom"], "2000-01-01");
}

TEST_F(RegistryApiTest, AnswersBothSpellingsOfThePaths) {
  const std::string a = RegisterNumber(2);
  const std::string b = RegisterNumber(3);
  ASSERT_EQ(Create(Person(a)).status, 200);
  ASSERT_EQ(Create(Person(b)).status, 200);

  for (const char* path : {"updateEntries", "update-entries"}) {
    auto r = Write(Method::put, std::string("/data/person/1.0/") + path,
                   {{"query", {{"content", {{"family_name", "Батын"}}}}},
                    {"write", {{"content", {{"marital_status", "married"}}}}}});
    ASSERT_EQ(r.status, 200) << path << ": " << r.text;
    EXPECT_EQ(r.body["count"], 2) << path;
  }
  EXPECT_EQ(ReadPerson(a).body["content"]["marital_status"], "married");

  const std::string c = RegisterNumber(4);
  auto made = Write(Method::post, "/data/person/1.0/updateOrCreate",
                    {{"query", {{"content", {{"id", c}}}}}, {"write", {{"content", Person(c)}}}});
  ASSERT_EQ(made.status, 200) << made.text;
  auto changed = Write(Method::post, "/data/person/1.0/update-or-create",
                       {{"query", {{"content", {{"id", c}}}}},
                        {"write", {{"content", {{"given_name", "Тэмүүлэн"}}}}}});
  ASSERT_EQ(changed.status, 200) << changed.text;
  EXPECT_EQ(changed.body["content"]["given_name"], "Тэмүүлэн");
  auto history = Send(Method::get, "/data/person/1.0/" + c + "/history");
  EXPECT_EQ(history.body["versions"].size(), 2u);

  for (const char* path : {"readValue", "read-value"}) {
    auto v = Send(Method::get, "/data/person/1.0/" + c + "/" + path + "/given_name.json");
    ASSERT_EQ(v.status, 200) << path << ": " << v.text;
    EXPECT_EQ(v.body["value"], "Тэмүүлэн");
  }
  auto text = Send(Method::get, "/data/person/1.0/" + c + "/readValue/birth_date.txt");
  EXPECT_EQ(text.status, 200);
  EXPECT_EQ(text.text, "1990-04-12");
  EXPECT_EQ(Send(Method::get, "/data/person/1.0/" + c + "/readValue/phone.json").status, 404);
  auto unknown = Send(Method::get, "/data/person/1.0/" + c + "/readValue/shoe_size.json");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.body["field"], "shoe_size");
}

TEST_F(RegistryApiTest, ListsWithPagingSearchAndFieldQueries) {
  for (int i = 0; i < 12; ++i) {
    const bool female = i % 3 != 0;
    auto r =
        Create(Person(RegisterNumber(10 + i, {1990, 4, 12}, female ? Sex::kFemale : Sex::kMale),
                      i == 5 ? "Номин" : "Бат", female ? "F" : "M"));
    ASSERT_EQ(r.status, 200) << r.text;
  }
  auto page = Send(Method::get, "/data/person/1.0?pageSize=5&page=2");
  ASSERT_EQ(page.status, 200) << page.text;
  EXPECT_EQ(page.body["count"], 12);
  EXPECT_EQ(page.body["results"].size(), 5u);
  EXPECT_EQ(page.body["next"], "/data/person/1.0?pageSize=5&page=3");
  EXPECT_EQ(page.body["previous"], "/data/person/1.0?pageSize=5&page=1");
  auto last = Send(Method::get, "/data/person/1.0?pageSize=5&page=3");
  EXPECT_EQ(last.body["results"].size(), 2u);
  EXPECT_TRUE(last.body["next"].is_null());

  auto women = Send(Method::get, "/data/person/1.0?query.sex=F&pageSize=100", nullptr, kPolice);
  ASSERT_EQ(women.status, 200) << women.text;
  EXPECT_EQ(women.body["count"], 8);
  auto search = Send(Method::get, "/data/person/1.0?search=%D0%9D%D0%BE%D0%BC&filter=given_name");
  ASSERT_EQ(search.status, 200) << search.text;
  ASSERT_EQ(search.body["count"], 1);
  EXPECT_EQ(search.body["results"][0]["given_name"], "Номин");
  auto ordered = Send(Method::get, "/data/person/1.0?ordering=-given_name&pageSize=1");
  EXPECT_EQ(ordered.body["results"][0]["given_name"], "Номин");

  auto bad_field = Send(Method::get, "/data/person/1.0?query.shoe_size=42");
  EXPECT_EQ(bad_field.status, 400);
  EXPECT_EQ(bad_field.body["field"], "shoe_size");
  EXPECT_EQ(Send(Method::get, "/data/person/1.0?pageSize=0").status, 400);
  auto bad_id = Send(Method::get, "/data/person/1.0?query.id=123");
  EXPECT_EQ(bad_id.status, 400);
  EXPECT_EQ(bad_id.body["field"], "id");

  auto yes = Send(Method::post, "/data/person/1.0/exists",
                  {{"query", {{"content", {{"given_name", "Номин"}}}}}});
  ASSERT_EQ(yes.status, 200) << yes.text;
  EXPECT_EQ(yes.body["answer"]["status"], true);
  auto no = Send(Method::post, "/data/person/1.0/exists",
                 {{"query", {{"content", {{"given_name", "Мөнх"}}}}}});
  EXPECT_EQ(no.body["answer"]["status"], false);
  // A read by another field works when exactly one record matches.
  auto one = Send(Method::post, "/data/person/1.0/read",
                  {{"query", {{"content", {{"given_name", "Номин"}}}}}});
  EXPECT_EQ(one.status, 200) << one.text;
  auto many = Send(Method::post, "/data/person/1.0/read",
                   {{"query", {{"content", {{"given_name", "Бат"}}}}}});
  EXPECT_EQ(many.status, 409);
}

TEST_F(RegistryApiTest, DeletesWithATombstone) {
  const std::string id = RegisterNumber(30);
  ASSERT_EQ(Create(Person(id)).status, 200);
  auto no_reason = Send(Method::delete_, "/data/person/1.0/" + id + "/delete");
  EXPECT_EQ(no_reason.status, 400);
  EXPECT_EQ(no_reason.body["field"], "reason");
  auto deleted = Send(Method::delete_, "/data/person/1.0/" + id + "/delete", nullptr, kCivil,
                      {{std::string(kReasonHeader), "duplicate registration"}});
  EXPECT_EQ(deleted.status, 204) << deleted.text;
  EXPECT_EQ(ReadPerson(id).status, 404);
  auto history = Send(Method::get, "/data/person/1.0/" + id + "/history");
  ASSERT_EQ(history.body["versions"].size(), 2u);
  EXPECT_EQ(history.body["versions"][0]["deleted"], true);
  EXPECT_EQ(history.body["versions"][0]["reason"], "duplicate registration");
  auto again = Send(Method::delete_, "/data/person/1.0/" + id + "/delete", nullptr, kCivil,
                    {{std::string(kReasonHeader), "again"}});
  EXPECT_EQ(again.status, 404);
}

TEST_F(RegistryApiTest, RefusesBadInputAndWritesNothing) {
  const std::string id = RegisterNumber(40);
  ASSERT_EQ(Create(Person(id)).status, 200);
  const auto before = Written();

  auto anonymous = Send(Method::post, "/data/person/1.0/create",
                        {{"write", {{"content", Person(RegisterNumber(41))}}}}, "");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.content_type, "application/problem+json");
  EXPECT_EQ(ReadPerson(id, "", "").status, 401);
  EXPECT_EQ(ReadPerson(id, "", "not-a-client").status, 401);

  auto police = Write(Method::post, "/data/person/1.0/create",
                      {{"write", {{"content", Person(RegisterNumber(42))}}}}, kPolice);
  EXPECT_EQ(police.status, 403) << police.text;
  EXPECT_EQ(ReadPerson(id, "", kPolice).status, 200);  // reading is allowed
  EXPECT_EQ(Send(Method::get, "/data/vehicle/1.0", nullptr, kTeacher).status, 403);
  EXPECT_EQ(Send(Method::delete_, "/data/person/1.0/" + id + "/delete", nullptr, kPolice,
                 {{std::string(kReasonHeader), "x"}})
                .status,
            403);

  json bad_id = Person("УБ12345678");
  auto invalid = Create(bad_id);
  EXPECT_EQ(invalid.status, 400) << invalid.text;
  EXPECT_EQ(invalid.body["field"], "id");
  json wrong_type = Person(RegisterNumber(43));
  wrong_type["given_name"] = 42;
  auto typed = Create(wrong_type);
  EXPECT_EQ(typed.status, 400);
  EXPECT_EQ(typed.body["field"], "given_name");
  json extra = Person(RegisterNumber(44));
  extra["shoe_size"] = "42";
  auto unknown = Create(extra);
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.body["field"], "shoe_size");
  json missing = Person(RegisterNumber(45));
  missing.erase("sex");
  EXPECT_EQ(Create(missing).body["field"], "sex");

  auto no_reason = Send(Method::post, "/data/person/1.0/create",
                        {{"write", {{"content", Person(RegisterNumber(46))}}}});
  EXPECT_EQ(no_reason.status, 400);
  EXPECT_EQ(no_reason.body["field"], "reason");
  auto future = Create(Person(RegisterNumber(47)), "2999-01-01");
  EXPECT_EQ(future.status, 400);
  EXPECT_EQ(future.body["field"], "validFrom");

  EXPECT_EQ(Create(Person(id)).status, 409);  // duplicate
  auto ghost = Write(Method::put, "/data/person/1.0/update",
                     {{"query", {{"content", {{"id", RegisterNumber(48)}}}}},
                      {"write", {{"content", {{"given_name", "X"}}}}}});
  EXPECT_EQ(ghost.status, 404);
  auto bad_update =
      Write(Method::put, "/data/person/1.0/update",
            {{"query", {{"content", {{"id", id}}}}}, {"write", {{"content", {{"sex", "X"}}}}}});
  EXPECT_EQ(bad_update.status, 400);
  EXPECT_EQ(bad_update.body["field"], "sex");
  auto change_id = Write(Method::put, "/data/person/1.0/update",
                         {{"query", {{"content", {{"id", id}}}}},
                          {"write", {{"content", {{"id", RegisterNumber(49)}}}}}});
  EXPECT_EQ(change_id.status, 400);
  EXPECT_EQ(Write(Method::post, "/data/person/1.0/create", {{"nope", 1}}).status, 400);
  EXPECT_EQ(Send(Method::post, "/data/person/1.0/read", nullptr).status, 415);

  auto no_registry =
      Send(Method::post, "/data/pets/1.0/read", {{"query", {{"content", json::object()}}}});
  EXPECT_EQ(no_registry.status, 404);
  EXPECT_EQ(ReadPerson(id, "").status, 200);
  EXPECT_EQ(
      Send(Method::post, "/data/person/9.9/read", {{"query", {{"content", {{"id", id}}}}}}).status,
      404);

  EXPECT_EQ(Written(), before);  // no version and no event from any of the above
}

TEST_F(RegistryApiTest, AdministratorsManageSchemasAtRunTime) {
  const json pet = {
      {"code", "pet"},
      {"version", "1.0"},
      {"agency", "GASR"},
      {"title", {{"en", "Pets"}}},
      {"subject", "owner"},
      {"access", {{"write", json::array({kCivil})}, {"read", json::array({kPolice})}}},
      {"schema",
       {{"type", "object"},
        {"properties",
         {{"id", {{"type", "string"}, {"primaryKey", true}, {"format", "uuid"}}},
          {"name", {{"type", "string"}, {"minLength", 1}}},
          {"owner", {{"type", "string"}, {"format", "national-id"}, {"x-personal", true}}}}},
        {"required", json::array({"name", "owner"})}}}};

  auto refused = Send(Method::post, "/database/modify", pet, kCivil);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(Send(Method::post, "/data/pet/1.0/create", {{"write", {{"content", {{"name", "x"}}}}}})
                .status,
            404);

  auto made = Send(Method::post, "/database/modify", pet, kAdmin);
  ASSERT_EQ(made.status, 200) << made.text;
  const std::string owner = RegisterNumber(35);
  auto created = Write(Method::post, "/data/pet/1.0/create",
                       {{"write", {{"content", {{"name", "Хаваа"}, {"owner", owner}}}}}});
  ASSERT_EQ(created.status, 200) << created.text;
  const std::string pet_id = created.body["content"]["id"];
  EXPECT_EQ(pet_id.size(), 36u);  // a generated UUID
  auto read = Send(Method::post, "/data/pet/1.0/read",
                   {{"query", {{"content", {{"owner", owner}}}}}}, kPolice);
  ASSERT_EQ(read.status, 200) << read.text;
  EXPECT_EQ(read.body["content"]["id"], pet_id);
  EXPECT_EQ(Send(Method::post, "/data/pet/1.0/read", {{"query", {{"content", {{"owner", owner}}}}}},
                 kTeacher)
                .status,
            403);

  auto all = Send(Method::get, "/databases", nullptr, kTeacher);
  ASSERT_EQ(all.status, 200);
  bool listed = false;
  for (const auto& db : all.body["databases"]) listed = listed || db["name"] == "pet";
  EXPECT_TRUE(listed);
  auto one = Send(Method::get, "/database/pet", nullptr, kTeacher);
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(one.body["source"], "run-time");
  EXPECT_EQ(one.body["byUserName"], kAdmin);
  EXPECT_EQ(Send(Method::get, "/database/person", nullptr, kTeacher).body["source"], "pack");
  EXPECT_EQ(Send(Method::get, "/databases", nullptr, "").status, 401);

  json broken = pet;
  broken["schema"]["properties"]["name"]["type"] = "colour";
  auto invalid = Send(Method::post, "/database/modify", broken, kAdmin);
  EXPECT_EQ(invalid.status, 400) << invalid.text;

  // The schema survives a restart: it is kept in the agency's store.
  auto reopened = RegistryCatalog::Open(Mongolia(), *stores_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_NE((*reopened)->Find("pet"), nullptr);

  EXPECT_EQ(Send(Method::delete_, "/database/pet", nullptr, kCivil).status, 403);
  auto removed = Send(Method::delete_, "/database/pet", nullptr, kAdmin);
  EXPECT_EQ(removed.status, 200) << removed.text;
  EXPECT_EQ(removed.body, "Success");
  EXPECT_EQ(
      Send(Method::post, "/data/pet/1.0/read", {{"query", {{"content", {{"id", pet_id}}}}}}).status,
      404);
  // Served again, its records are still there.
  ASSERT_EQ(Send(Method::post, "/database/modify", pet, kAdmin).status, 200);
  EXPECT_EQ(
      Send(Method::post, "/data/pet/1.0/read", {{"query", {{"content", {{"id", pet_id}}}}}}).status,
      200);
}

TEST_F(RegistryApiTest, WithACallerKeyAnswersOnlyCallersThatHoldIt) {
  // The embedded default puts the registries behind Khur: only its nodes know the key, so a
  // caller cannot name itself another client by going around the exchange.
  RegistryApi guarded(*catalog_, RegistryApiOptions{.caller_key = "node-secret"});
  http::Router router;
  guarded.Mount(router);
  http::ServerOptions options;
  options.port = 0;
  options.threads = 2;
  auto server = http::Server::Create(options, std::move(router));
  ASSERT_TRUE(server.ok());
  ASSERT_TRUE((*server)->Start().ok());
  auto client = http::Client::Create("http://127.0.0.1:" + std::to_string((*server)->port()));
  ASSERT_TRUE(client.ok());
  const auto list = [&](std::vector<std::pair<std::string, std::string>> headers) {
    headers.emplace_back(std::string(kClientHeader), kCivil);
    auto r = (*client)->Send(Method::get, "/data/person/1.0", "", headers);
    EXPECT_TRUE(r.ok());
    return r.ok() ? static_cast<int>(r->status) : 0;
  };
  EXPECT_EQ(list({}), 401);
  EXPECT_EQ(list({{std::string(kCallerKeyHeader), "node-secreT"}}), 401);
  EXPECT_EQ(list({{std::string(kCallerKeyHeader), "node-secret-longer"}}), 401);
  EXPECT_EQ(list({{std::string(kCallerKeyHeader), "node-secret"}}), 200);
  (*server)->Stop(std::chrono::seconds(2));
}

TEST_F(RegistryApiTest, DocumentsEveryRoute) {
  auto doc = Send(Method::get, "/openapi.json", nullptr, "");
  ASSERT_EQ(doc.status, 200);
  const json& paths = doc.body["paths"];
  for (const char* path :
       {"/data/{registryName}/{versionNumber}", "/data/{registryName}/{versionNumber}/create",
        "/data/{registryName}/{versionNumber}/read",
        "/data/{registryName}/{versionNumber}/update-or-create",
        "/data/{registryName}/{versionNumber}/{ID}/history", "/database/modify"}) {
    EXPECT_TRUE(paths.contains(path)) << path;
  }
  EXPECT_EQ(paths["/data/{registryName}/{versionNumber}/{ID}/history"]["get"]["operationId"],
            "history");
}

}  // namespace
}  // namespace ulus::registry
