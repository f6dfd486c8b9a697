// The catalogue at e-Mongolia's size (1,300 services of 90 agencies made from the Mongolian
// pack's real ones): building it, and searching by words, by agency and by life event.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "generated_catalogue.hpp"
#include "ulus/services/catalogue.hpp"

namespace ulus::services {
namespace {

const std::filesystem::path kPack = std::filesystem::path(ULUS_PACKS_DIR) / "mn";

std::vector<ServiceDefinition> Generated() {
  return testing::GenerateServices(LoadServices(kPack).value());
}

const Catalogue& Full() {
  static const auto catalogue =
      Catalogue::Build(Generated(), LoadLifeEvents(kPack).value(), testing::GeneratedAgencies())
          .value();
  return *catalogue;
}

void BM_BuildCatalogue(benchmark::State& state) {
  const auto services = Generated();
  const auto events = LoadLifeEvents(kPack).value();
  const auto agencies = testing::GeneratedAgencies();
  for (auto _ : state) {
    auto catalogue = Catalogue::Build(services, events, agencies);
    benchmark::DoNotOptimize(catalogue);
  }
}
BENCHMARK(BM_BuildCatalogue)->Unit(benchmark::kMillisecond);

void BM_Search(benchmark::State& state, CatalogueQuery query) {
  const Catalogue& catalogue = Full();
  size_t found = 0;
  for (auto _ : state) {
    found = catalogue.Search(query).total;
    benchmark::DoNotOptimize(found);
  }
  state.counters["matches"] =
      benchmark::Counter(static_cast<double>(found), benchmark::Counter::kAvgThreads);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_Search, one_word_mn, CatalogueQuery{.text = "тодорхойлолт"})
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Search, prefix_two_words_mn, CatalogueQuery{.text = "хаяг тод"})
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Search, english, CatalogueQuery{.text = "vehicle ownership"})
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Search, life_event, CatalogueQuery{.life_event = "moving-house"})
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Search, agency_and_word,
                  CatalogueQuery{.text = "тодорхойлолт", .agency = "AG105"})
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

}  // namespace
}  // namespace ulus::services

BENCHMARK_MAIN();
