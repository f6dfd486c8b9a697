#include "ulus/core/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <string>

namespace ulus::log {

Status Init(std::string_view level, Format format) {
  const auto parsed = spdlog::level::from_str(std::string(level));
  // from_str answers "off" for anything it does not know; only accept "off" when asked for.
  if (parsed == spdlog::level::off && level != "off") {
    return Error::InvalidArgument("unknown log level '" + std::string(level) +
                                      "'; use trace, debug, info, warn, error or off",
                                  "log-level");
  }
  auto logger = spdlog::stderr_color_mt("ulus");
  if (format == Format::kJson) {
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","thread":%t,"msg":"%v"})",
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(parsed);
  spdlog::set_default_logger(logger);
  return Ok();
}

}  // namespace ulus::log
