#include "ulus/identity/assurance.hpp"

namespace ulus::identity {

std::string_view AcrValue(Assurance level) {
  switch (level) {
    case Assurance::kLow: return "http://eidas.europa.eu/LoA/low";
    case Assurance::kSubstantial: return "http://eidas.europa.eu/LoA/substantial";
    case Assurance::kHigh: return "http://eidas.europa.eu/LoA/high";
    case Assurance::kNone: break;
  }
  return "";
}

std::optional<Assurance> AssuranceFromAcr(std::string_view acr) {
  for (const auto level : {Assurance::kLow, Assurance::kSubstantial, Assurance::kHigh}) {
    const auto uri = AcrValue(level);
    if (acr == uri) return level;
    if (acr == uri.substr(uri.rfind('/') + 1)) return level;
  }
  return std::nullopt;
}

}  // namespace ulus::identity
