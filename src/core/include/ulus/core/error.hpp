#pragma once

#include <string>
#include <string_view>

namespace ulus {

// Protocol-neutral error codes. Each part returns these; the HTTP layer maps them to statuses in
// one table (ulus/http/problem.hpp) and the CLI maps them to exit codes.
enum class ErrorCode {
  kInvalidArgument,     // the input is malformed or breaks a rule; the message says which
  kNotFound,            // the named thing does not exist (or the caller may not know it does)
  kAlreadyExists,       // a create collided with an existing thing
  kConflict,            // a concurrent change or a version precondition failed
  kUnauthenticated,     // no or bad credentials
  kPermissionDenied,    // authenticated, but not allowed
  kFailedPrecondition,  // the system is not in a state that allows this (e.g. expired config)
  kTooLarge,            // a body, field or batch is larger than allowed
  kUnsupportedMediaType,
  kRateLimited,  // too many attempts; try later
  kUnavailable,  // a dependency (peer node, database) is down; retrying may help
  kTimeout,      // a dependency did not answer in time
  kInternal,     // a bug or an unexpected fault of our own
};

std::string_view ErrorCodeName(ErrorCode code);

// An expected failure, carried as a value. `message` is written for a person who can act on it;
// `field` optionally names the input field at fault (a JSON pointer or a plain field name).
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::string field;

  static Error InvalidArgument(std::string message, std::string field = {}) {
    return {ErrorCode::kInvalidArgument, std::move(message), std::move(field)};
  }
  static Error NotFound(std::string message) {
    return {ErrorCode::kNotFound, std::move(message), {}};
  }
  static Error Conflict(std::string message) {
    return {ErrorCode::kConflict, std::move(message), {}};
  }
  static Error Internal(std::string message) {
    return {ErrorCode::kInternal, std::move(message), {}};
  }
  static Error Unavailable(std::string message) {
    return {ErrorCode::kUnavailable, std::move(message), {}};
  }
  static Error PermissionDenied(std::string message) {
    return {ErrorCode::kPermissionDenied, std::move(message), {}};
  }

  // "not_found: registry 'person' has no record 42" — for logs and the CLI.
  [[nodiscard]] std::string ToString() const;
};

}  // namespace ulus
