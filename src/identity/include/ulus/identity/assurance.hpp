#pragma once

#include <optional>
#include <string_view>

namespace ulus::identity {

// Levels of assurance of an authentication, ordered: each satisfies the ones below it.
// low: password; substantial: password + TOTP or recovery code; high: signature by the
// citizen's registered key (the stand-in for an ID card or Mobile ID).
enum class Assurance { kNone = 0, kLow = 1, kSubstantial = 2, kHigh = 3 };

// The OpenID Connect `acr` value: eIDAS's "http://eidas.europa.eu/LoA/low" and so on.
std::string_view AcrValue(Assurance level);
// The level an acr value names; also accepts the short names "low", "substantial", "high".
std::optional<Assurance> AssuranceFromAcr(std::string_view acr);

}  // namespace ulus::identity
