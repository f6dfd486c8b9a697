#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "ulus/core/result.hpp"
#include "ulus/identity/accounts_service.hpp"
#include "ulus/registry/agency_stores.hpp"
#include "ulus/registry/pack.hpp"

namespace ulus::app {

// An account `ulus up` makes so a newcomer can log in at once.
struct DemoAccount {
  std::string kind;  // "citizen", "officer", "admin"
  std::string national_id;
  std::string name;
  std::string password;
  std::string agency;  // for officer and admin
};

// Picks living adults with a phone from the synthetic population register, gives them accounts
// (a citizen, an officer and an administrator of the register's agency) with random passwords,
// and records them in <data>/demo-accounts.json (mode 0600). Idempotent: the file's accounts
// are reused on the next start.
Result<std::vector<DemoAccount>> EnsureDemoAccounts(const registry::Pack& pack,
                                                    registry::AgencyStores& stores,
                                                    identity::AccountService& accounts,
                                                    const std::filesystem::path& data_dir);

}  // namespace ulus::app
