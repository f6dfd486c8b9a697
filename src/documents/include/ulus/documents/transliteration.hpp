#pragma once

#include <string>
#include <string_view>

namespace ulus::documents {

// A name in the machine-readable form of ICAO Doc 9303 part 3 (the DCC's "fnt"/"gnt"): Latin
// capitals A-Z, spaces and hyphens become '<', Cyrillic transliterated by the ICAO table (with
// Mongolian Ө and Ү as O and U, and the Kazakh letters), Latin accents dropped (Latin-1 and Latin
// Extended-A; Æ, Œ, ß, Þ and Ĳ written as two letters), anything else dropped: apostrophes, as
// ICAO and the DCC specification's "d'Arsøns - van Halen" -> "DARSONS<VAN<HALEN" do, digits, and
// scripts without an ICAO table such as Lao. A run of separators is one '<', and none is kept at
// either end. At most 80 characters; invalid UTF-8 bytes are skipped.
std::string IcaoName(std::string_view utf8_name);

}  // namespace ulus::documents
