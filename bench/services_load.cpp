// Load generator for bench/services.sh: citizens applying for an automatic service end to end.
// Each connection (one thread each: at a few hundred applications a second the generator is not
// the bottleneck) loops: POST /services/v1/applications (Dan token check, Khur pulls, claims,
// the document signed and recorded, the application recorded), then GET the document's PDF
// (rendered with its QR code). An iteration counts only when the application comes back
// completed with a document and the PDF is a PDF. A fixed duration, then one line of JSON:
// applications/s, p50 and p99 of the whole iteration, the mean of each half, errors.
//
//   services_load --url http://127.0.0.1:PORT --tokens FILE [--service address-reference]
//                 [--connections 8] [--duration 10] [--no-pdf]
// FILE holds access tokens (scope services documents), one per line; connection i uses line
// i mod count.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "ulus/http/client.hpp"

namespace {

using SteadyClock = std::chrono::steady_clock;
using nlohmann::json;

struct Totals {
  std::mutex mutex;
  std::vector<double> iteration_ms;
  double apply_ms = 0;
  double pdf_ms = 0;
  uint64_t errors = 0;
  std::string first_error;

  void Error(std::string what) {
    std::lock_guard lock(mutex);
    if (errors++ == 0) first_error = std::move(what);
  }
};

double Ms(SteadyClock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

void Run(const std::string& url, const std::string& token, const std::string& service, bool pdf,
         SteadyClock::time_point until, int index, Totals& totals) {
  auto created = ulus::http::Client::Create(url, {.request_timeout = std::chrono::seconds(30)});
  if (!created.ok()) {
    totals.Error(created.error().message);
    return;
  }
  auto& client = **created;
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
  const std::string body = json{{"service", service}}.dump();
  std::vector<double> mine;
  double apply_ms = 0;
  double pdf_ms = 0;
  for (uint64_t n = 0; SteadyClock::now() < until; ++n) {
    const auto t0 = SteadyClock::now();
    // A key per request, as a careful client sends: a retry would not apply twice.
    auto with_key = headers;
    with_key.emplace_back("Idempotency-Key", std::to_string(index) + "-" + std::to_string(n) + "-" +
                                                 std::to_string(t0.time_since_epoch().count()));
    auto applied =
        client.Send(ulus::http::Method::post, "/services/v1/applications", body, with_key);
    const auto t1 = SteadyClock::now();
    if (!applied.ok() || applied->status != ulus::http::Status::created) {
      totals.Error(applied.ok()
                       ? "apply: HTTP " + std::to_string(static_cast<int>(applied->status)) + " " +
                             applied->body.substr(0, 300)
                       : "apply: " + applied.error().message);
      continue;
    }
    const json answer = json::parse(applied->body, nullptr, false);
    if (!answer.is_object() || answer.value("state", "") != "completed" ||
        !answer.contains("document")) {
      totals.Error("apply: not completed: " + applied->body.substr(0, 300));
      continue;
    }
    if (pdf) {
      auto got =
          client.Send(ulus::http::Method::get,
                      "/documents/v1/documents/" + answer["document"].get<std::string>() + "/pdf",
                      {}, {{"Authorization", "Bearer " + token}});
      if (!got.ok() || got->status != ulus::http::Status::ok || !got->body.starts_with("%PDF-")) {
        totals.Error(got.ok() ? "pdf: HTTP " + std::to_string(static_cast<int>(got->status))
                              : "pdf: " + got.error().message);
        continue;
      }
    }
    const auto t2 = SteadyClock::now();
    mine.push_back(Ms(t2 - t0));
    apply_ms += Ms(t1 - t0);
    pdf_ms += Ms(t2 - t1);
  }
  std::lock_guard lock(totals.mutex);
  totals.iteration_ms.insert(totals.iteration_ms.end(), mine.begin(), mine.end());
  totals.apply_ms += apply_ms;
  totals.pdf_ms += pdf_ms;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Citizens applying for an automatic service, end to end"};
  std::string url;
  std::string tokens_file;
  std::string service = "address-reference";
  int connections = 8;
  int duration_s = 10;
  bool no_pdf = false;
  app.add_option("--url", url, "The platform's base URL")->required();
  app.add_option("--tokens", tokens_file, "Access tokens, one per line")->required();
  app.add_option("--service", service, "An automatic service")->capture_default_str();
  app.add_option("--connections", connections, "Concurrent applicants")->capture_default_str();
  app.add_option("--duration", duration_s, "Seconds")->capture_default_str();
  app.add_flag("--no-pdf", no_pdf, "Do not fetch each document's PDF");
  CLI11_PARSE(app, argc, argv);

  std::vector<std::string> tokens;
  std::ifstream in(tokens_file);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) tokens.push_back(line);
  }
  if (tokens.empty()) {
    std::fprintf(stderr, "no tokens in %s\n", tokens_file.c_str());
    return 2;
  }
  Totals totals;
  const auto start = SteadyClock::now();
  const auto until = start + std::chrono::seconds(duration_s);
  std::vector<std::thread> threads;
  for (int i = 0; i < connections; ++i) {
    threads.emplace_back(Run, url, tokens[static_cast<size_t>(i) % tokens.size()], service, !no_pdf,
                         until, i, std::ref(totals));
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  auto& ms = totals.iteration_ms;
  std::sort(ms.begin(), ms.end());
  const auto at = [&](double q) {
    return ms.empty() ? 0.0
                      : ms[std::min(ms.size() - 1,
                                    static_cast<size_t>(q * static_cast<double>(ms.size())))];
  };
  const double n = ms.empty() ? 1.0 : static_cast<double>(ms.size());
  std::printf("%s\n", json{{"applications_per_s", static_cast<double>(ms.size()) / seconds},
                           {"completed", ms.size()},
                           {"p50_ms", at(0.5)},
                           {"p99_ms", at(0.99)},
                           {"apply_ms_mean", totals.apply_ms / n},
                           {"pdf_ms_mean", totals.pdf_ms / n},
                           {"errors", totals.errors},
                           {"first_error", totals.first_error}}
                          .dump()
                          .c_str());
  return totals.errors > 0 && ms.empty() ? 1 : 0;
}
