#pragma once

// A catalogue of e-Mongolia's full size for tests and the benchmark: 1,300 services of 90
// agencies, made from the real pack's services (each real one copied with another agency and a
// numbered variant of its title), so the words, scripts and lengths are those of real services.

#include <string>
#include <vector>

#include "ulus/services/catalogue.hpp"

namespace ulus::services::testing {

inline constexpr size_t kGeneratedServices = 1300;
inline constexpr size_t kGeneratedAgencies = 90;

inline std::string GeneratedAgency(size_t i) {
  return "AG" + std::to_string(100 + i % kGeneratedAgencies);
}

inline std::vector<std::string> GeneratedAgencies() {
  std::vector<std::string> out;
  for (size_t i = 0; i < kGeneratedAgencies; ++i) out.push_back(GeneratedAgency(i));
  return out;
}

// `real` must not be empty.
inline std::vector<ServiceDefinition> GenerateServices(const std::vector<ServiceDefinition>& real) {
  std::vector<ServiceDefinition> out;
  out.reserve(kGeneratedServices);
  for (size_t i = 0; i < kGeneratedServices; ++i) {
    ServiceDefinition s = real[i % real.size()];
    s.id = s.id + "-" + std::to_string(i);
    s.agency = GeneratedAgency(i);
    for (auto& [lang, text] : s.title) text += " " + std::to_string(i);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace ulus::services::testing
