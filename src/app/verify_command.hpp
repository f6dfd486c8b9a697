#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace ulus::app {

// `ulus verify`: checks a document's QR text (a VC-JWT, an "HC1:" health certificate or a
// locator) offline, against the trust and revocation lists kept in a cache folder, which
// `--fetch URL --anchor THUMBPRINT` fills from a Ulus platform. Exit status: 0 genuine,
// 2 forged, 3 revoked, 4 expired, 1 when it cannot decide (no or stale lists, a locator).
class VerifyCommand {
 public:
  void Add(CLI::App& cli);
  // True when `verify` was given; `exit_code` is then its result.
  bool Run(int& exit_code);

 private:
  CLI::App* command_ = nullptr;
  std::string input_;
  std::string cache_;
  std::string fetch_url_;
  std::string anchor_;
};

}  // namespace ulus::app
