// People generated per second by SyntheticCountry (records serialized, no storage).
//   build/src/registry/registry_synthetic_benchmark --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include "ulus/registry/synthetic.hpp"

namespace ulus::registry {
namespace {

void BM_Generate(benchmark::State& state, const char* code) {
  auto pack = LoadPack(std::filesystem::path(ULUS_PACKS_DIR) / code);
  if (!pack.ok()) {
    state.SkipWithError(pack.error().ToString().c_str());
    return;
  }
  auto country = SyntheticCountry::Create(*pack, 1);
  if (!country.ok()) {
    state.SkipWithError(country.error().ToString().c_str());
    return;
  }
  const auto people = static_cast<size_t>(state.range(0));
  size_t records = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    country->Generate(people, [&](std::vector<SyntheticRecord>&& batch) {
      records += batch.size();
      for (const auto& r : batch) bytes += r.json.size();
      benchmark::DoNotOptimize(batch.data());
    });
  }
  state.counters["people/s"] =
      benchmark::Counter(static_cast<double>(people) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
  state.counters["records/s"] =
      benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
  state.counters["records/person"] =
      static_cast<double>(records) /
      (static_cast<double>(people) * static_cast<double>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

BENCHMARK_CAPTURE(BM_Generate, mn, "mn")->Arg(200000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Generate, kz, "kz")->Arg(200000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ulus::registry

BENCHMARK_MAIN();
