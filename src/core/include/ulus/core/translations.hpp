#pragma once

#include <map>
#include <string>
#include <string_view>

namespace ulus {

// Text in a country pack's languages ("mn", "en", "kk", "ru", "lo"...), by language code.
using Translations = std::map<std::string, std::string, std::less<>>;

// The text in `lang`, else English, else the first there is, else empty.
std::string Translate(const Translations& text, std::string_view lang);

}  // namespace ulus
