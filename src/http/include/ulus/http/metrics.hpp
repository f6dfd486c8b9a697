#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace ulus::http {

// A small Prometheus client: counters, gauges and histograms with labels, rendered in the text
// exposition format (version 0.0.4). Debian has no maintained C++ Prometheus library, and the
// format is small. Thread-safe; updating a series already created takes no lock.
class Metrics {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  Metrics();
  ~Metrics();  // out of line: Family is complete only in metrics.cpp
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  class Counter {
   public:
    void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
    [[nodiscard]] uint64_t value() const { return value_.load(std::memory_order_relaxed); }

   private:
    std::atomic<uint64_t> value_{0};
  };

  class Gauge {
   public:
    void Add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
    void Set(int64_t n) { value_.store(n, std::memory_order_relaxed); }
    [[nodiscard]] int64_t value() const { return value_.load(std::memory_order_relaxed); }

   private:
    std::atomic<int64_t> value_{0};
  };

  class Histogram {
   public:
    explicit Histogram(std::vector<double> bounds);
    void Observe(double v);
    [[nodiscard]] const std::vector<double>& bounds() const { return bounds_; }
    // Cumulative counts per bound, then +Inf; and the sum.
    [[nodiscard]] std::vector<uint64_t> Counts() const;
    [[nodiscard]] double Sum() const;

   private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // one per bound plus +Inf
    std::atomic<uint64_t> sum_micros_{0};               // sum in millionths, to stay atomic
  };

  // Returns the series for name+labels, creating it on first use; the reference stays valid for
  // the registry's life, so hot paths look a series up once and keep it.
  Counter& GetCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& GetGauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& GetHistogram(const std::string& name, const std::string& help,
                          const Labels& labels = {},
                          const std::vector<double>& bounds = DefaultLatencyBounds());

  [[nodiscard]] std::string Render() const;

  // Seconds: 0.5 ms to 10 s.
  static const std::vector<double>& DefaultLatencyBounds();

 private:
  struct Family;
  Family& GetFamily(const std::string& name, const std::string& help, const char* type);

  mutable std::mutex mu_;  // guards families_ (not the series)
  std::map<std::string, std::unique_ptr<Family>> families_;
};

}  // namespace ulus::http
