#include "ulus/core/translations.hpp"

namespace ulus {

std::string Translate(const Translations& text, std::string_view lang) {
  if (const auto it = text.find(lang); it != text.end()) return it->second;
  if (const auto it = text.find("en"); it != text.end()) return it->second;
  return text.empty() ? std::string() : text.begin()->second;
}

}  // namespace ulus
