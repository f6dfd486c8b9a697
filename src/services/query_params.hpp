#pragma once

// Private to the services part's HTTP faces: query parameters shared by its routes.

#include <string>

#include "ulus/core/result.hpp"
#include "ulus/http/message.hpp"

namespace ulus::services {

// A count in the query (limit, offset): absent gives `fallback`; not a number up to `max` is
// kInvalidArgument naming it.
inline Result<size_t> SizeParam(const http::Request& request, const char* name, size_t fallback,
                                size_t max) {
  const auto value = request.Query(name);
  if (!value || value->empty()) return fallback;
  size_t parsed = 0;
  for (char c : *value) {
    if (c < '0' || c > '9' || parsed > max) {
      return Error::InvalidArgument(std::string(name) + " is a number up to " + std::to_string(max),
                                    name);
    }
    parsed = parsed * 10 + static_cast<size_t>(c - '0');
  }
  if (parsed > max) {
    return Error::InvalidArgument(std::string(name) + " is a number up to " + std::to_string(max),
                                  name);
  }
  return parsed;
}

}  // namespace ulus::services
