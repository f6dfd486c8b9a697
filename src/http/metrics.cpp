#include "ulus/http/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "ulus/core/assert.hpp"

namespace ulus::http {
namespace {

constexpr double kMicros = 1e6;

bool IsMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

// Label values escape backslash, double quote and line feed; HELP text only the first and last.
void AppendEscaped(std::string& out, std::string_view text, bool quote) {
  for (const char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '"':
        if (quote) {
          out += "\\\"";
        } else {
          out += c;
        }
        break;
      default: out += c;
    }
  }
}

// `name="value",...` in the caller's order: the series key and its rendered form at once.
std::string LabelKey(const Metrics::Labels& labels) {
  std::string key;
  for (const auto& [name, value] : labels) {
    ULUS_ASSERT(IsMetricName(name) && name.find(':') == std::string::npos && name != "le");
    if (!key.empty()) key += ',';
    key += name;
    key += "=\"";
    AppendEscaped(key, value, true);
    key += '"';
  }
  return key;
}

void AppendDouble(std::string& out, double v) {
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  ULUS_ASSERT(ec == std::errc());
  out.append(buf, end);
}

void AppendSeries(std::string& out, std::string_view name, std::string_view suffix,
                  std::string_view key, std::string_view extra_label = {}) {
  out += name;
  out += suffix;
  if (key.empty() && extra_label.empty()) return;
  out += '{';
  out += key;
  if (!key.empty() && !extra_label.empty()) out += ',';
  out += extra_label;
  out += '}';
}

}  // namespace

struct Metrics::Family {
  std::string name;
  std::string help;
  const char* type;
  // Keyed by the rendered labels; the maps own series whose addresses callers keep.
  std::map<std::string, std::unique_ptr<Counter>> counters;
  std::map<std::string, std::unique_ptr<Gauge>> gauges;
  std::map<std::string, std::unique_ptr<Histogram>> histograms;
};

Metrics::Metrics() = default;
Metrics::~Metrics() = default;

Metrics::Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  ULUS_ASSERT(std::is_sorted(bounds_.begin(), bounds_.end()));
}

void Metrics::Histogram::Observe(double v) {
  if (std::isnan(v)) return;
  // Buckets hold plain counts here; Counts() accumulates them when rendering.
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  // Two's complement wrap-around keeps negative observations summing correctly.
  const auto micros = static_cast<int64_t>(std::llround(v * kMicros));
  sum_micros_.fetch_add(static_cast<uint64_t>(micros), std::memory_order_relaxed);
}

std::vector<uint64_t> Metrics::Histogram::Counts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

double Metrics::Histogram::Sum() const {
  return static_cast<double>(static_cast<int64_t>(sum_micros_.load(std::memory_order_relaxed))) /
         kMicros;
}

Metrics::Family& Metrics::GetFamily(const std::string& name, const std::string& help,
                                    const char* type) {
  ULUS_ASSERT(IsMetricName(name));
  auto& family = families_[name];
  if (!family) {
    family = std::make_unique<Family>();
    family->name = name;
    family->help = help;
    family->type = type;
  }
  ULUS_ASSERT(std::strcmp(family->type, type) == 0);  // one name, one type
  return *family;
}

Metrics::Counter& Metrics::GetCounter(const std::string& name, const std::string& help,
                                      const Labels& labels) {
  auto key = LabelKey(labels);
  const std::lock_guard lock(mu_);
  auto& series = GetFamily(name, help, "counter").counters[std::move(key)];
  if (!series) series = std::make_unique<Counter>();
  return *series;
}

Metrics::Gauge& Metrics::GetGauge(const std::string& name, const std::string& help,
                                  const Labels& labels) {
  auto key = LabelKey(labels);
  const std::lock_guard lock(mu_);
  auto& series = GetFamily(name, help, "gauge").gauges[std::move(key)];
  if (!series) series = std::make_unique<Gauge>();
  return *series;
}

Metrics::Histogram& Metrics::GetHistogram(const std::string& name, const std::string& help,
                                          const Labels& labels, const std::vector<double>& bounds) {
  auto key = LabelKey(labels);
  const std::lock_guard lock(mu_);
  auto& series = GetFamily(name, help, "histogram").histograms[std::move(key)];
  if (!series) series = std::make_unique<Histogram>(bounds);
  return *series;
}

std::string Metrics::Render() const {
  std::string out;
  const std::lock_guard lock(mu_);
  for (const auto& [name, family] : families_) {
    out += "# HELP ";
    out += name;
    out += ' ';
    AppendEscaped(out, family->help, false);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += family->type;
    out += '\n';
    for (const auto& [key, counter] : family->counters) {
      AppendSeries(out, name, "", key);
      out += ' ';
      out += std::to_string(counter->value());
      out += '\n';
    }
    for (const auto& [key, gauge] : family->gauges) {
      AppendSeries(out, name, "", key);
      out += ' ';
      out += std::to_string(gauge->value());
      out += '\n';
    }
    for (const auto& [key, histogram] : family->histograms) {
      const auto counts = histogram->Counts();
      const auto& bounds = histogram->bounds();
      std::string le;
      for (size_t i = 0; i < counts.size(); ++i) {
        le = "le=\"";
        AppendDouble(le, i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity());
        le += '"';
        AppendSeries(out, name, "_bucket", key, le);
        out += ' ';
        out += std::to_string(counts[i]);
        out += '\n';
      }
      AppendSeries(out, name, "_sum", key);
      out += ' ';
      AppendDouble(out, histogram->Sum());
      out += '\n';
      AppendSeries(out, name, "_count", key);
      out += ' ';
      out += std::to_string(counts.back());
      out += '\n';
    }
  }
  return out;
}

const std::vector<double>& Metrics::DefaultLatencyBounds() {
  static const std::vector<double> bounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return bounds;
}

}  // namespace ulus::http
