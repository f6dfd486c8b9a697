#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "platform.hpp"

namespace ulus::app {

// The command-line face of Khur: `ulus authority token`, `ulus node register|run` and
// `ulus log verify`. Add() declares the subcommands; Run() runs the one given, if any.
class KhurCommands {
 public:
  void Add(CLI::App& cli);
  // True when one of these subcommands was given; `exit_code` is then its result.
  bool Run(const PlatformOptions& options, int& exit_code);

 private:
  CLI::App* token_ = nullptr;
  CLI::App* node_register_ = nullptr;
  CLI::App* node_run_ = nullptr;
  CLI::App* log_verify_ = nullptr;
  CLI::App* log_archive_ = nullptr;

  std::string subsystem_;
  std::string node_dir_;
  std::string agency_;
  std::string authority_url_;
  std::string token_text_;
  std::string address_;
  std::vector<std::string> hosts_;
  std::vector<std::string> backends_;
  std::string backend_key_file_;
  std::string client_address_ = "127.0.0.1";
  uint16_t client_port_ = 8180;
  uint16_t provider_port_ = 8181;
  size_t threads_ = 3;  // per listener; the exchange path does not hold threads
  int64_t archive_up_to_ = 0;
  std::string archive_path_;
};

}  // namespace ulus::app
