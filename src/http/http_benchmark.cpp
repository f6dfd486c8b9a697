// Micro-benchmarks of the per-request work that is ours rather than the kernel's or Beast's:
// routing, JSON parsing, problem rendering and metrics. End-to-end throughput is measured with
// wrk against the running server instead.
#include <benchmark/benchmark.h>

#include "ulus/http/metrics.hpp"
#include "ulus/http/problem.hpp"
#include "ulus/http/router.hpp"

namespace ulus::http {
namespace {

Router SampleRouter() {
  Router router;
  const Handler ok = [](Request&) -> Result<Response> { return Response::NoContent(); };
  for (const auto* registry : {"person", "vehicle", "company", "land", "address"}) {
    const std::string base = std::string("/data/") + registry;
    router.Add(Method::get, base, ok);
    router.Add(Method::post, base, ok);
    router.Add(Method::get, base + "/{version}/{id}/read", ok);
    router.Add(Method::put, base + "/{version}/{id}", ok);
  }
  router.Add(Method::get, "/healthz", ok);
  return router;
}

void BM_RouterFindLiteral(benchmark::State& state) {
  const Router router = SampleRouter();
  for (auto _ : state) benchmark::DoNotOptimize(router.Find(Method::get, "/healthz"));
}
BENCHMARK(BM_RouterFindLiteral);

void BM_RouterFindWithParams(benchmark::State& state) {
  const Router router = SampleRouter();
  for (auto _ : state) {
    benchmark::DoNotOptimize(router.Find(Method::get, "/data/land/v2/4471-0042/read"));
  }
}
BENCHMARK(BM_RouterFindWithParams);

void BM_RequestJson(benchmark::State& state) {
  BeastRequest message(Method::post, "/data/person", 11);
  message.set(beast_http::field::content_type, "application/json");
  message.body() = R"({"name":"Ayşe Yılmaz","born":"1990-04-01","address":{"city":"Ankara"}})";
  const Request request(std::move(message), "127.0.0.1");
  for (auto _ : state) benchmark::DoNotOptimize(request.Json());
}
BENCHMARK(BM_RequestJson);

void BM_Problem(benchmark::State& state) {
  const Error error = Error::InvalidArgument("born must be a date (YYYY-MM-DD)", "born");
  for (auto _ : state) benchmark::DoNotOptimize(Problem(error, "/data/person"));
}
BENCHMARK(BM_Problem);

void BM_CounterAddContended(benchmark::State& state) {
  static Metrics metrics;
  auto& counter = metrics.GetCounter("c", "C.", {{"route", "/x"}});
  for (auto _ : state) counter.Add();
}
BENCHMARK(BM_CounterAddContended)->Threads(1)->Threads(2);

void BM_HistogramObserve(benchmark::State& state) {
  Metrics metrics;
  auto& histogram = metrics.GetHistogram("h", "H.");
  for (auto _ : state) histogram.Observe(0.0042);
}
BENCHMARK(BM_HistogramObserve);

}  // namespace
}  // namespace ulus::http

BENCHMARK_MAIN();
