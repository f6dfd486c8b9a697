#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/result.hpp"
#include "ulus/registry/pack.hpp"

namespace ulus::registry {

// One record of the synthetic country, ready for a record store.
struct SyntheticRecord {
  std::string_view registry;  // the registry's name; static storage, valid for the program
  std::string id;             // the record's primary key
  std::string json;           // the record as compact UTF-8 JSON, shaped by the pack's schema
  std::string subject_id;     // national id of the data subject; empty if the registry has none
  std::string valid_from;     // YYYY-MM-DD: when the fact became true (birth, hiring, purchase)
};

// Generates a deterministic synthetic population for a country pack: households, people with
// names in the pack's script and valid id numbers, and their facts in every registry, following
// the distributions in the pack's synthetic.yaml (see docs/synthetic-country.md).
//
// The same pack, seed and number of people always give the same records, whatever the machine:
// people are made in blocks of kBlockPeople, each from its own random stream derived from (seed,
// block index), with our own distributions rather than the standard library's. `people` counts
// the living; the deceased spouses of widowed people come on top.
//
// Holds a reference to the pack, which must outlive it. Generate() is const and keeps its state
// on the stack, so one SyntheticCountry may run several generations, even concurrently.
class SyntheticCountry {
 public:
  static constexpr size_t kBlockPeople = 2000;

  // Reads the pack's synthetic.yaml; errors name the key at fault.
  static Result<SyntheticCountry> Create(const Pack& pack, uint64_t seed);

  ~SyntheticCountry();
  SyntheticCountry(SyntheticCountry&&) noexcept;
  SyntheticCountry& operator=(SyntheticCountry&&) noexcept;

  // Calls `sink` once per block (~kBlockPeople people with all their records, whole households
  // only) and then `progress` with the number of living people made so far. Both run on the
  // calling thread; `progress` may be empty.
  void Generate(size_t people, const std::function<void(std::vector<SyntheticRecord>&&)>& sink,
                const std::function<void(size_t done)>& progress = {}) const;

  struct Profile;  // the parsed synthetic.yaml

 private:
  SyntheticCountry(const Pack& pack, uint64_t seed, std::unique_ptr<const Profile> profile);

  const Pack* pack_;
  uint64_t seed_;
  std::unique_ptr<const Profile> profile_;
};

// The Mongolian genitive of a name, as used for the "ovog" (father's name): Дорж → Доржийн,
// Батсайхан → Батсайханы, Даваа → Даваагийн (rules in ../shared/data/naming_conventions.json;
// names with a hidden г, like Энхтүвшин → Энхтүвшингийн, come out regular: Энхтүвшиний).
std::string MongolianGenitive(std::string_view name);

}  // namespace ulus::registry
