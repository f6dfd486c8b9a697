#include "ulus/documents/transliteration.hpp"

#include <cstdint>
#include <optional>

#include "utf8.hpp"

// The tables are written out here rather than taken from ICU: ICU's Cyrillic-Latin transforms
// follow other systems (BGN/PCGN, ISO 9), not ICAO's, and a Latin-1/Latin Extended-A table is
// small enough to read. Letters outside these tables (Greek, Lao, CJK, Latin Extended-B...) are
// dropped: ICAO Doc 9303 gives no table for Lao, so a Lao name keeps only its Latin or Cyrillic
// parts and may come out empty.

namespace ulus::documents {
namespace {

constexpr size_t kMaxLength = 80;
constexpr char kFiller = '<';

// A Cyrillic letter, both cases, and its ICAO Doc 9303 part 3 transliteration.
struct CyrillicLetter {
  char32_t upper;
  char32_t lower;
  std::string_view latin;
};

constexpr CyrillicLetter kCyrillic[] = {
    {U'А', U'а', "A"},
    {U'Б', U'б', "B"},
    {U'В', U'в', "V"},
    {U'Г', U'г', "G"},
    {U'Д', U'д', "D"},
    {U'Е', U'е', "E"},
    {U'Ё', U'ё', "E"},
    {U'Ж', U'ж', "ZH"},
    {U'З', U'з', "Z"},
    {U'И', U'и', "I"},
    {U'Й', U'й', "I"},
    {U'К', U'к', "K"},
    {U'Л', U'л', "L"},
    {U'М', U'м', "M"},
    {U'Н', U'н', "N"},
    {U'О', U'о', "O"},
    {U'П', U'п', "P"},
    {U'Р', U'р', "R"},
    {U'С', U'с', "S"},
    {U'Т', U'т', "T"},
    {U'У', U'у', "U"},
    {U'Ф', U'ф', "F"},
    {U'Х', U'х', "KH"},
    {U'Ц', U'ц', "TS"},
    {U'Ч', U'ч', "CH"},
    {U'Ш', U'ш', "SH"},
    {U'Щ', U'щ', "SHCH"},
    {U'Ъ', U'ъ', "IE"},
    {U'Ы', U'ы', "Y"},
    {U'Ь', U'ь', ""},
    {U'Э', U'э', "E"},
    {U'Ю', U'ю', "IU"},
    {U'Я', U'я', "IA"},
    // Mongolian and Kazakh.
    {U'Ө', U'ө', "O"},
    {U'Ү', U'ү', "U"},
    {U'Ә', U'ә', "A"},
    {U'Ғ', U'ғ', "G"},
    {U'Қ', U'қ', "K"},
    {U'Ң', U'ң', "N"},
    {U'Ұ', U'ұ', "U"},
    {U'Һ', U'һ', "H"},
    {U'І', U'і', "I"},
    // Ukrainian and Belarusian, so that a visitor's name does not lose letters.
    {U'Ґ', U'ґ', "G"},
    {U'Є', U'є', "IE"},
    {U'Ї', U'ї', "I"},
    {U'Ў', U'ў', "U"},
};

// U+00C0..U+00FF and U+0100..U+017F folded to their base letter, one character each; '-' marks a
// character that is not a letter (× and ÷) and '?' one that needs more than a letter.
constexpr std::string_view kLatin1 =
    "AAAAAA?CEEEEIIIIDNOOOOO-OUUUUY??"
    "AAAAAA?CEEEEIIIIDNOOOOO-OUUUUY?Y";
constexpr std::string_view kLatinExtendedA =
    "AAAAAACCCCCCCCDDDDEEEEEEEEEEGGGG"
    "GGGGHHHHIIIIIIIIII??JJKKKLLLLLLL"
    "LLLNNNNNNNNNOOOOOO??RRRRRRSSSSSS"
    "SSTTTTTTUUUUUUUUUUUUWWYYYZZZZZZS";
constexpr char32_t kLatin1First = 0xC0;
constexpr char32_t kLatinExtendedAFirst = 0x100;
constexpr char32_t kLatinExtendedAEnd = 0x180;
static_assert(kLatin1.size() == kLatinExtendedAFirst - kLatin1First);
static_assert(kLatinExtendedA.size() == kLatinExtendedAEnd - kLatinExtendedAFirst);
constexpr std::string_view kCapitals = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

// The letters without a base letter to fold to: ICAO writes them as two.
std::string_view LatinLigature(char32_t c) {
  switch (c) {
    case U'Æ':
    case U'æ': return "AE";
    case U'Þ':
    case U'þ': return "TH";
    case U'ß': return "SS";
    case U'Ĳ':
    case U'ĳ': return "IJ";
    case U'Œ':
    case U'œ': return "OE";
    default: return "";
  }
}

bool IsSeparator(char32_t c) {
  return c == U' ' || c == U'-' || c == U'\u00A0' || c == U'\u2010' || c == U'\u2011';
}

// The ICAO form of one character: capital letters, "<" for a separator, or "" to drop it.
std::string_view Transliterate(char32_t c) {
  if (c >= U'A' && c <= U'Z') return kCapitals.substr(c - U'A', 1);
  if (c >= U'a' && c <= U'z') return kCapitals.substr(c - U'a', 1);
  if (IsSeparator(c)) return "<";
  if (c >= kLatin1First && c < kLatinExtendedAEnd) {
    const std::string_view folded = c < kLatinExtendedAFirst
                                        ? kLatin1.substr(c - kLatin1First, 1)
                                        : kLatinExtendedA.substr(c - kLatinExtendedAFirst, 1);
    if (folded == "?") return LatinLigature(c);
    if (folded == "-") return "";
    return folded;
  }
  for (const CyrillicLetter& letter : kCyrillic) {
    if (c == letter.upper || c == letter.lower) return letter.latin;
  }
  return "";
}

}  // namespace

// Runs of separators, and separators with only dropped characters between them, become one '<'
// ("d'Arsøns - van Halen" is "DARSONS<VAN<HALEN", as in the DCC specification's example), and
// none is kept at either end.
std::string IcaoName(std::string_view utf8_name) {
  std::string out;
  bool pending_filler = false;
  size_t pos = 0;
  while (pos < utf8_name.size() && out.size() < kMaxLength) {
    const auto c = NextCodePoint(utf8_name, pos);
    if (!c) continue;
    const std::string_view latin = Transliterate(*c);
    if (latin == "<") {
      pending_filler = !out.empty();
      continue;
    }
    if (latin.empty()) continue;
    if (pending_filler) out.push_back(kFiller);
    pending_filler = false;
    out.append(latin);
  }
  if (out.size() > kMaxLength) out.resize(kMaxLength);
  while (!out.empty() && out.back() == kFiller) out.pop_back();
  return out;
}

}  // namespace ulus::documents
