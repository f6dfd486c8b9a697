#include "ulus/http/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace ulus::http {
namespace {

TEST(Metrics, RendersCountersAndGaugesInTheExpositionFormat) {
  Metrics metrics;
  metrics.GetCounter("jobs_total", "Jobs done.\nBy kind \\ path.", {{"kind", "a\"b\\c\nd"}}).Add(3);
  metrics.GetCounter("jobs_total", "ignored: the first help wins", {{"kind", "plain"}}).Add();
  metrics.GetGauge("queue_depth", "Jobs waiting.").Set(-2);
  EXPECT_EQ(metrics.Render(),
            "# HELP jobs_total Jobs done.\\nBy kind \\\\ path.\n"
            "# TYPE jobs_total counter\n"
            "jobs_total{kind=\"a\\\"b\\\\c\\nd\"} 3\n"
            "jobs_total{kind=\"plain\"} 1\n"
            "# HELP queue_depth Jobs waiting.\n"
            "# TYPE queue_depth gauge\n"
            "queue_depth -2\n");
}

TEST(Metrics, RendersHistogramsWithCumulativeBuckets) {
  Metrics metrics;
  auto& h = metrics.GetHistogram("latency_seconds", "Latency.", {{"route", "/a"}, {"m", "GET"}},
                                 {0.01, 0.1, 1});
  h.Observe(0.005);
  h.Observe(0.01);  // on a bound: counts in that bucket (le is "less or equal")
  h.Observe(0.5);
  h.Observe(7);
  EXPECT_EQ(metrics.Render(),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{route=\"/a\",m=\"GET\",le=\"0.01\"} 2\n"
            "latency_seconds_bucket{route=\"/a\",m=\"GET\",le=\"0.1\"} 2\n"
            "latency_seconds_bucket{route=\"/a\",m=\"GET\",le=\"1\"} 3\n"
            "latency_seconds_bucket{route=\"/a\",m=\"GET\",le=\"+Inf\"} 4\n"
            "latency_seconds_sum{route=\"/a\",m=\"GET\"} 7.515\n"
            "latency_seconds_count{route=\"/a\",m=\"GET\"} 4\n");
}

TEST(Metrics, UnlabelledHistogramHasOnlyTheLeLabel) {
  Metrics metrics;
  metrics.GetHistogram("h", "H.", {}, {1}).Observe(2);
  EXPECT_EQ(metrics.Render(),
            "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 1\n"
            "h_sum 2\nh_count 1\n");
}

TEST(Metrics, ReturnsTheSameSeriesForTheSameLabels) {
  Metrics metrics;
  auto& a = metrics.GetCounter("c", "C.", {{"x", "1"}});
  auto& b = metrics.GetCounter("c", "C.", {{"x", "1"}});
  auto& other = metrics.GetCounter("c", "C.", {{"x", "2"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
}

TEST(Metrics, CountsFromManyThreads) {
  Metrics metrics;
  auto& counter = metrics.GetCounter("c", "C.");
  auto& histogram = metrics.GetHistogram("h", "H.");
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        counter.Add();
        histogram.Observe(0.001);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter.value(), 40000U);
  EXPECT_EQ(histogram.Counts().back(), 40000U);
  EXPECT_NEAR(histogram.Sum(), 40.0, 1e-9);
}

}  // namespace
}  // namespace ulus::http
