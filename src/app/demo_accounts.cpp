#include "demo_accounts.hpp"

#include <fstream>
#include <nlohmann/json.hpp>

#include "ulus/core/files.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/random.hpp"

namespace ulus::app {
namespace {

using nlohmann::json;

constexpr const char* kFileName = "demo-accounts.json";
constexpr int kAdultYear = 2000;  // born before: an adult in any year Ulus will run

// Four groups of four: easy to type from a terminal, 80 bits of randomness.
std::string NewPassword() {
  const auto text = crypto::Base32Encode(crypto::RandomBytes(10), false);
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i > 0 && i % 4 == 0) out += '-';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
  }
  return out;
}

Result<std::vector<DemoAccount>> ReadFile(const std::filesystem::path& path) {
  std::vector<DemoAccount> out;
  std::ifstream in(path);
  if (!in) return out;
  const auto doc = json::parse(in, nullptr, false);
  if (!doc.is_array()) return Error::InvalidArgument(path.string() + " is not a JSON array");
  for (const auto& entry : doc) {
    if (!entry.is_object()) continue;
    out.push_back({entry.value("kind", ""), entry.value("national_id", ""), entry.value("name", ""),
                   entry.value("password", ""), entry.value("agency", "")});
  }
  return out;
}

Status WriteFile(const std::filesystem::path& path, const std::vector<DemoAccount>& accounts) {
  json doc = json::array();
  for (const auto& a : accounts) {
    doc.push_back({{"kind", a.kind},
                   {"national_id", a.national_id},
                   {"name", a.name},
                   {"password", a.password},
                   {"agency", a.agency}});
  }
  return WritePrivateFile(path, doc.dump(2) + "\n");
}

}  // namespace

Result<std::vector<DemoAccount>> EnsureDemoAccounts(const registry::Pack& pack,
                                                    registry::AgencyStores& stores,
                                                    identity::AccountService& accounts,
                                                    const std::filesystem::path& data_dir) {
  const auto path = data_dir / kFileName;
  ULUS_ASSIGN_OR_RETURN(auto demo, ReadFile(path));
  const auto* person_registry = pack.FindRegistry("person");
  if (person_registry == nullptr) return Error::NotFound("the pack has no person registry");
  const std::string agency = person_registry->agency;

  if (demo.empty()) {
    auto* store = stores.ForAgency(agency);
    if (store == nullptr) return Error::NotFound("no store for agency " + agency);
    registry::RecordQuery query;
    query.limit = 500;
    query.count = false;
    query.filters.push_back({.target = registry::RecordFilter::Target::kField,
                             .op = registry::RecordFilter::Op::kEquals,
                             .field = "status",
                             .value = "alive"});
    // Pages in id order until three adults with a phone turn up: the first ids of a large
    // country can all be children (a Mongolian register number starts with the birth year).
    for (int page_number = 0; page_number < 200 && demo.size() < 3; ++page_number) {
      query.offset = static_cast<int64_t>(page_number) * query.limit;
      ULUS_ASSIGN_OR_RETURN(auto page, store->List("person", query));
      if (page.records.empty()) break;
      for (const auto& version : page.records) {
        if (demo.size() == 3) break;
        const auto record = json::parse(version.data, nullptr, false);
        if (!record.is_object() || !record.contains("phone")) continue;
        const auto birth = record.value("birth_date", std::string("9999"));
        if (birth.size() < 4 || std::stoi(birth.substr(0, 4)) >= kAdultYear) continue;
        static constexpr const char* kKinds[] = {"citizen", "officer", "admin"};
        const std::string kind = kKinds[demo.size()];
        demo.push_back({kind, version.id,
                        record.value("given_name", "") + " " + record.value("family_name", ""),
                        NewPassword(), kind == "citizen" ? "" : agency});
      }
    }
    if (demo.size() < 3) {
      return Error{ErrorCode::kFailedPrecondition,
                   "the population register has too few adults with a phone for demo accounts",
                   {}};
    }
  }
  for (const auto& account : demo) {
    std::vector<identity::Role> roles;
    if (account.kind == "officer") roles.push_back({account.agency, "", "officer"});
    if (account.kind == "admin") {
      roles.push_back({account.agency, "", "admin"});
      roles.push_back({account.agency, "", "officer"});
    }
    ULUS_TRY(accounts.EnsureDemoAccount(account.national_id, account.password, roles));
  }
  ULUS_TRY(WriteFile(path, demo));
  return demo;
}

}  // namespace ulus::app
