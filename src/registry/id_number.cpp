#include "ulus/registry/id_number.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

#include "utf8.hpp"

namespace ulus::registry {

namespace {

constexpr size_t kMnLetterBytes = 2;  // every Mongolian Cyrillic letter is 2 bytes in UTF-8
constexpr size_t kMnRegisterNumberBytes = 2 * kMnLetterBytes + 8;
constexpr size_t kIinLength = 12;
constexpr int kMnSerialsWithoutCheck = 50;
constexpr int kMnSerialsWithCheck = 5;
constexpr int kIinSerials = 10000;
constexpr int kUnusableCheck = 10;

constexpr std::string_view kMnShape =
    "register number must be 2 Cyrillic capital letters followed by 8 digits";

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
int DigitAt(std::string_view s, size_t i) {
  return s[i] - '0';
}

bool IsMnLowerLetter(char32_t c) {
  return (c >= U'а' && c <= U'я') || c == U'ё' || c == U'ө' || c == U'ү';
}

std::string Quote(std::string_view s) {
  std::string out = "'";
  out += s;
  out += '\'';
  return out;
}

void AppendTwoDigits(std::string& out, int n) {
  out.push_back(static_cast<char>('0' + n / 10));
  out.push_back(static_cast<char>('0' + n % 10));
}

// Explains why the two leading characters are not register-number letters.
Status CheckMnLetters(std::string_view id, size_t& digits_at) {
  size_t pos = 0;
  for (int i = 0; i < 2; ++i) {
    if (pos >= id.size()) {
      return Error::InvalidArgument(std::string(kMnShape) + "; got " + Quote(id));
    }
    char32_t cp = 0;
    const size_t len = utf8::Decode(id, pos, cp);
    if (len == 0) {
      return Error::InvalidArgument(std::string(kMnShape) + "; it is not valid UTF-8");
    }
    const std::string_view letter = id.substr(pos, len);
    if (IsMnRegisterLetter(cp)) {
      pos += len;
      continue;
    }
    std::string why =
        std::string(kMnShape) + "; character " + std::to_string(i + 1) + " " + Quote(letter);
    if (cp >= U'A' && cp <= U'Z') {
      why += " is a Latin letter (use the Cyrillic one)";
    } else if (IsMnLowerLetter(cp)) {
      why += " is a small letter (use the capital)";
    } else if (IsDigit(static_cast<char>(cp)) && cp < 0x80) {
      why += " is a digit";
    } else {
      why += " is not a Mongolian Cyrillic capital letter";
    }
    return Error::InvalidArgument(std::move(why));
  }
  digits_at = pos;
  return Ok();
}

Result<NationalIdFacts> DecodeMn(std::string_view id) {
  size_t at = 0;
  ULUS_TRY(CheckMnLetters(id, at));
  const std::string_view digits = id.substr(at);
  // Count and check characters, not bytes: a third letter is 2 bytes in UTF-8.
  size_t chars = 0;
  for (size_t pos = 0; pos < digits.size(); ++chars) {
    char32_t cp = 0;
    const size_t len = utf8::Decode(digits, pos, cp);
    pos += len == 0 ? 1 : len;
  }
  if (chars != 8) {
    return Error::InvalidArgument(std::string(kMnShape) + "; got " + std::to_string(chars) +
                                  " characters after the letters");
  }
  for (size_t i = 0; i < digits.size(); ++i) {
    if (!IsDigit(digits[i])) {
      char32_t cp = 0;
      const size_t len = std::max<size_t>(1, utf8::Decode(digits, i, cp));
      return Error::InvalidArgument(std::string(kMnShape) + "; character " + std::to_string(i + 3) +
                                    " " + Quote(digits.substr(i, len)) + " is not a digit");
    }
  }
  const int yy = DigitAt(digits, 0) * 10 + DigitAt(digits, 1);
  const int mm = DigitAt(digits, 2) * 10 + DigitAt(digits, 3);
  const int dd = DigitAt(digits, 4) * 10 + DigitAt(digits, 5);
  const std::string yymmdd(digits.substr(0, 6));
  int year = 0;
  int month = 0;
  if (mm >= 1 && mm <= 12) {
    year = 1900 + yy;
    month = mm;
  } else if (mm >= 21 && mm <= 32) {
    year = 2000 + yy;
    month = mm - 20;
  } else {
    return Error::InvalidArgument(
        "birth date " + yymmdd + " in register number is not a valid date: month " +
        std::to_string(mm) + " is neither 01-12 (born 1900-1999) nor 21-32 (born 2000 or later)");
  }
  const auto date = MakeCivilDate(year, month, dd);
  if (!date) {
    return Error::InvalidArgument(
        "birth date " + yymmdd +
        " in register number is not a valid date: " + std::to_string(year) + " month " +
        std::to_string(month) + " has no day " + std::to_string(dd));
  }
  const bool male = DigitAt(digits, 6) % 2 == 1;
  return NationalIdFacts{*date, male ? Sex::kMale : Sex::kFemale};
}

int WeightedMod11(std::string_view first_eleven, const std::array<int, 11>& weights) {
  int sum = 0;
  for (size_t i = 0; i < weights.size(); ++i) sum += DigitAt(first_eleven, i) * weights[i];
  return sum % 11;
}

Result<NationalIdFacts> DecodeKz(std::string_view id, bool check_digit) {
  if (id.size() != kIinLength) {
    return Error::InvalidArgument("IIN must be 12 digits; got " + std::to_string(id.size()) +
                                  " characters");
  }
  for (size_t i = 0; i < id.size(); ++i) {
    if (!IsDigit(id[i])) {
      return Error::InvalidArgument("IIN must be 12 digits; character " + std::to_string(i + 1) +
                                    " " + Quote(id.substr(i, 1)) + " is not a digit");
    }
  }
  const int century_sex = DigitAt(id, 6);
  if (century_sex < 1 || century_sex > 6) {
    return Error::InvalidArgument("IIN century/sex digit " + std::to_string(century_sex) +
                                  " is not 1-6");
  }
  const int century = 1800 + 100 * ((century_sex - 1) / 2);
  const int yy = DigitAt(id, 0) * 10 + DigitAt(id, 1);
  const int mm = DigitAt(id, 2) * 10 + DigitAt(id, 3);
  const int dd = DigitAt(id, 4) * 10 + DigitAt(id, 5);
  const auto date = MakeCivilDate(century + yy, mm, dd);
  if (!date) {
    return Error::InvalidArgument(
        "birth date " + std::string(id.substr(0, 6)) +
        " in IIN is not a valid date (century digit " + std::to_string(century_sex) +
        " means born " + std::to_string(century) + "-" + std::to_string(century + 99) + ")");
  }
  if (check_digit) {
    const int expected = KzIinCheckDigit(id.substr(0, 11));
    if (expected == kUnusableCheck) {
      return Error::InvalidArgument(
          "IIN cannot exist: its check sum is 10 in both passes, so no number with these first "
          "11 digits is issued");
    }
    const int got = DigitAt(id, 11);
    if (got != expected) {
      return Error::InvalidArgument("IIN check digit is " + std::to_string(got) + ", expected " +
                                    std::to_string(expected));
    }
  }
  return NationalIdFacts{*date, century_sex % 2 == 1 ? Sex::kMale : Sex::kFemale};
}

}  // namespace

std::string_view IdFormatName(IdFormat format) {
  switch (format) {
    case IdFormat::kMnRegisterNumber: return "mn_register_number";
    case IdFormat::kKzIin: return "kz_iin";
  }
  return "unknown";
}

std::optional<IdFormat> ParseIdFormat(std::string_view name) {
  if (name == "mn_register_number") return IdFormat::kMnRegisterNumber;
  if (name == "kz_iin") return IdFormat::kKzIin;
  return std::nullopt;
}

bool IsMnRegisterLetter(char32_t letter) {
  return (letter >= U'А' && letter <= U'Я') || letter == U'Ё' || letter == U'Ө' || letter == U'Ү';
}

Status ValidateNationalId(IdFormat format, std::string_view id) {
  return ValidateNationalId(IdRule{format, {}}, id);
}

Status ValidateNationalId(const IdRule& rule, std::string_view id) {
  if (rule.format == IdFormat::kKzIin) {
    auto facts = DecodeKz(id, /*check_digit=*/true);
    if (!facts.ok()) return std::move(facts).error();
    return Ok();
  }
  auto facts = DecodeMn(id);
  if (!facts.ok()) return std::move(facts).error();
  if (rule.mn_check_code) {
    const std::string_view first_nine = id.substr(0, id.size() - 1);
    const int expected = rule.mn_check_code(first_nine);
    const int got = id.back() - '0';
    if (got != expected) {
      return Error::InvalidArgument("register number check code is " + std::to_string(got) +
                                    ", expected " + std::to_string(expected));
    }
  }
  return Ok();
}

Result<NationalIdFacts> DecodeNationalId(IdFormat format, std::string_view id) {
  if (format == IdFormat::kKzIin) return DecodeKz(id, /*check_digit=*/true);
  return DecodeMn(id);
}

Result<std::string> MakeMnRegisterNumber(char32_t letter1, char32_t letter2, CivilDate birth_date,
                                         Sex sex, int serial, const MnCheckCode& check_code) {
  if (!IsMnRegisterLetter(letter1) || !IsMnRegisterLetter(letter2)) {
    return Error::InvalidArgument("register number letters must be Mongolian Cyrillic capitals");
  }
  if (!IsValidCivilDate(birth_date.year, birth_date.month, birth_date.day) ||
      birth_date.year < 1900 || birth_date.year > 2099) {
    return Error::InvalidArgument("register numbers encode birth dates from 1900 to 2099");
  }
  const int serials = check_code ? kMnSerialsWithCheck : kMnSerialsWithoutCheck;
  if (serial < 0 || serial >= serials) {
    return Error::InvalidArgument("register number serial must be 0-" +
                                  std::to_string(serials - 1));
  }
  std::string out;
  out.reserve(kMnRegisterNumberBytes);
  utf8::Append(out, letter1);
  utf8::Append(out, letter2);
  AppendTwoDigits(out, birth_date.year % 100);
  AppendTwoDigits(out, birth_date.month + (birth_date.year >= 2000 ? 20 : 0));
  AppendTwoDigits(out, birth_date.day);
  const int ninth = 2 * (serial % kMnSerialsWithCheck) + (sex == Sex::kMale ? 1 : 0);
  out.push_back(static_cast<char>('0' + ninth));
  const int tenth = check_code ? check_code(out) : serial / kMnSerialsWithCheck;
  out.push_back(static_cast<char>('0' + tenth));
  return out;
}

int KzIinCheckDigit(std::string_view first_eleven) {
  static constexpr std::array<int, 11> kFirstPass = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  static constexpr std::array<int, 11> kSecondPass = {3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2};
  const int c = WeightedMod11(first_eleven, kFirstPass);
  if (c != kUnusableCheck) return c;
  return WeightedMod11(first_eleven, kSecondPass);
}

Result<std::string> MakeKzIin(CivilDate birth_date, Sex sex, int serial) {
  if (!IsValidCivilDate(birth_date.year, birth_date.month, birth_date.day) ||
      birth_date.year < 1800 || birth_date.year > 2099) {
    return Error::InvalidArgument("IINs encode birth dates from 1800 to 2099");
  }
  if (serial < 0 || serial >= kIinSerials) {
    return Error::InvalidArgument("IIN serial must be 0-9999");
  }
  std::string out;
  out.reserve(kIinLength);
  AppendTwoDigits(out, birth_date.year % 100);
  AppendTwoDigits(out, birth_date.month);
  AppendTwoDigits(out, birth_date.day);
  const int century_sex = 2 * ((birth_date.year - 1800) / 100) + (sex == Sex::kMale ? 1 : 2);
  out.push_back(static_cast<char>('0' + century_sex));
  AppendTwoDigits(out, serial / 100);
  AppendTwoDigits(out, serial % 100);
  const int check = KzIinCheckDigit(out);
  if (check == kUnusableCheck) {
    return Error::InvalidArgument("IIN serial " + std::to_string(serial) +
                                  " gives check sum 10 in both passes; such numbers are not "
                                  "issued, take the next serial");
  }
  out.push_back(static_cast<char>('0' + check));
  return out;
}

}  // namespace ulus::registry
