#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ulus/core/result.hpp"

namespace ulus::identity {

// What Dan needs to know about a person in the population register: enough to bind an account,
// reach the person for sign-up, and fill the profile claims of an ID token.
struct Person {
  std::string national_id;  // the register's primary key: MN register number, KZ IIN
  std::string given_name;
  std::string family_name;
  std::string birth_date;  // YYYY-MM-DD
  std::string sex;         // "M" or "F"
  std::string phone;       // E.164 or national form as the register holds it; may be empty
  std::string email;       // may be empty
  bool alive = true;
};

// Looks people up in the population register. Dan never reads a registry itself: the platform
// supplies an implementation (today over the register's store, later through Khur). Must be
// safe to call from many threads.
class PersonDirectory {
 public:
  virtual ~PersonDirectory() = default;
  // The person with this national ID, or nullopt when the register has none.
  [[nodiscard]] virtual Result<std::optional<Person>> Find(std::string_view national_id) const = 0;
};

}  // namespace ulus::identity
