#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ulus/core/result.hpp"
#include "ulus/registry/civil_date.hpp"

namespace ulus::registry {

// The national personal-identification number a country pack uses (pack.yaml `id_format`).
enum class IdFormat {
  kMnRegisterNumber,  // Mongolia: регистрийн дугаар, 2 Cyrillic letters + 8 digits
  kKzIin,             // Kazakhstan: ЖСН/ИИН, 12 digits with a published check digit
};

enum class Sex { kMale, kFemale };

// "mn_register_number" / "kz_iin", the spelling used in pack.yaml.
std::string_view IdFormatName(IdFormat format);
std::optional<IdFormat> ParseIdFormat(std::string_view name);

// The tenth character of a Mongolian register number is a check code (Order No.331 of 2010 of
// the General Authority for State Registration) whose algorithm is not public. A deployment that
// holds it plugs it in here: given the first nine characters (UTF-8), return the expected digit
// 0-9. Without it, digit 10 is accepted as it is and cannot catch typing errors.
using MnCheckCode = std::function<int(std::string_view first_nine)>;

// How a pack validates national ids: the format plus, for Mongolia, the optional check code.
struct IdRule {
  IdFormat format = IdFormat::kMnRegisterNumber;
  MnCheckCode mn_check_code;
};

// OK, or InvalidArgument with a message that says what is wrong with `id` (its field is empty:
// callers that validate a record fill in the field name).
Status ValidateNationalId(IdFormat format, std::string_view id);
Status ValidateNationalId(const IdRule& rule, std::string_view id);

// What an id number says about its holder.
struct NationalIdFacts {
  CivilDate birth_date;
  Sex sex = Sex::kMale;
};

// Validates the structure (not the Mongolian check code) and decodes birth date and sex. For
// Mongolia the century rule (month + 20 from 2000) and the sex parity of digit 9 come from public
// code, not from the published order: see docs/synthetic-country.md.
Result<NationalIdFacts> DecodeNationalId(IdFormat format, std::string_view id);

// The 35 capital letters of the Mongolian Cyrillic alphabet (А-Я, Ё, Ө, Ү).
bool IsMnRegisterLetter(char32_t letter);

// Builds a synthetic Mongolian register number. Without `check_code`, `serial` is 0..49: digit 9
// is 2*(serial%5) (+1 for males) and digit 10 is serial/5 — the numbers are structurally valid
// but their tenth digit is NOT a real check code. With `check_code`, `serial` is 0..4 and digit
// 10 is the real check code. Birth years 1900..2099.
Result<std::string> MakeMnRegisterNumber(char32_t letter1, char32_t letter2, CivilDate birth_date,
                                         Sex sex, int serial, const MnCheckCode& check_code = {});

// The IIN check digit of the first 11 digits (two-pass mod 11); 10 means no IIN with these
// digits may be issued. `first_eleven` must be 11 ASCII digits.
int KzIinCheckDigit(std::string_view first_eleven);

// Builds an IIN for a person born 1800..2099 with registration serial 0..9999. Fails for a
// serial whose check digit would be 10 (such numbers are never issued; take the next serial).
Result<std::string> MakeKzIin(CivilDate birth_date, Sex sex, int serial);

}  // namespace ulus::registry
