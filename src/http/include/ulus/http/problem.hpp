#pragma once

#include <string_view>

#include "ulus/core/error.hpp"
#include "ulus/http/message.hpp"

namespace ulus::http {

// The one table from protocol-neutral error codes to HTTP statuses.
Status StatusFor(ErrorCode code);

// An RFC 7807 problem+json response for `error`: type (a stable URI per code), title, status,
// detail (the error's message) and, when set, the offending field as "field". `instance` is the
// request target it answers.
Response Problem(const Error& error, std::string_view instance = {});
// A problem for conditions only HTTP has (405, 404 for no route, 431...).
Response Problem(Status status, std::string_view detail, std::string_view instance = {});

}  // namespace ulus::http
