#include "person_directory.hpp"

#include <nlohmann/json.hpp>

namespace ulus::app {
namespace {

constexpr std::string_view kPersonRegistry = "person";
// Longest national ID any pack uses, with room to spare; longer input is not looked up at all.
constexpr size_t kMaxNationalIdBytes = 64;

std::string Field(const nlohmann::json& record, const char* name) {
  const auto it = record.find(name);
  return it != record.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Result<std::unique_ptr<RegistryPersonDirectory>> RegistryPersonDirectory::Open(
    const registry::Pack& pack, registry::AgencyStores& stores) {
  const auto* schema = pack.FindRegistry(kPersonRegistry);
  if (schema == nullptr) {
    return Error{ErrorCode::kFailedPrecondition,
                 "pack '" + pack.code + "' has no person registry, which Dan needs",
                 {}};
  }
  auto* store = stores.ForAgency(schema->agency);
  if (store == nullptr) {
    return Error{ErrorCode::kFailedPrecondition,
                 "the person registry's agency '" + schema->agency + "' has no store",
                 {}};
  }
  return std::unique_ptr<RegistryPersonDirectory>(new RegistryPersonDirectory(*store));
}

Result<std::optional<identity::Person>> RegistryPersonDirectory::Find(
    std::string_view national_id) const {
  if (national_id.empty() || national_id.size() > kMaxNationalIdBytes) {
    return std::optional<identity::Person>();
  }
  auto version = store_.Read(kPersonRegistry, national_id);
  if (!version.ok()) {
    if (version.error().code == ErrorCode::kNotFound) return std::optional<identity::Person>();
    return version.error();
  }
  const auto record = nlohmann::json::parse(version->data, nullptr, false);
  if (!record.is_object()) return Error::Internal("a person record is not a JSON object");
  identity::Person person;
  person.national_id = version->id;
  person.given_name = Field(record, "given_name");
  person.family_name = Field(record, "family_name");
  person.birth_date = Field(record, "birth_date");
  person.sex = Field(record, "sex");
  person.phone = Field(record, "phone");
  person.email = Field(record, "email");
  person.alive = Field(record, "status") != "deceased";
  return std::optional<identity::Person>(std::move(person));
}

}  // namespace ulus::app
