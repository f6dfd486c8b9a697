#include "ulus/http/problem.hpp"

#include <boost/beast/http/status.hpp>
#include <nlohmann/json.hpp>

namespace ulus::http {
namespace {

constexpr std::string_view kProblemContentType = "application/problem+json";

std::string_view TitleFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "Invalid argument";
    case ErrorCode::kNotFound: return "Not found";
    case ErrorCode::kAlreadyExists: return "Already exists";
    case ErrorCode::kConflict: return "Conflict";
    case ErrorCode::kUnauthenticated: return "Unauthenticated";
    case ErrorCode::kPermissionDenied: return "Permission denied";
    case ErrorCode::kFailedPrecondition: return "Failed precondition";
    case ErrorCode::kTooLarge: return "Too large";
    case ErrorCode::kUnsupportedMediaType: return "Unsupported media type";
    case ErrorCode::kRateLimited: return "Rate limited";
    case ErrorCode::kUnavailable: return "Unavailable";
    case ErrorCode::kTimeout: return "Timeout";
    case ErrorCode::kInternal: return "Internal error";
  }
  return "Internal error";
}

Response Render(nlohmann::json problem, Status status, std::string_view instance) {
  if (!instance.empty()) problem["instance"] = instance;
  Response r;
  r.status = status;
  r.content_type = kProblemContentType;
  r.body = problem.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace

Status StatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return Status::bad_request;
    case ErrorCode::kNotFound: return Status::not_found;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict: return Status::conflict;
    case ErrorCode::kUnauthenticated: return Status::unauthorized;
    case ErrorCode::kPermissionDenied: return Status::forbidden;
    // RFC 9110's 409: "conflict with the current state of the target resource". 412 would
    // claim a failed If-Match precondition, which Ulus does not use.
    case ErrorCode::kFailedPrecondition: return Status::conflict;
    case ErrorCode::kTooLarge: return Status::payload_too_large;
    case ErrorCode::kUnsupportedMediaType: return Status::unsupported_media_type;
    case ErrorCode::kRateLimited: return Status::too_many_requests;
    case ErrorCode::kUnavailable: return Status::service_unavailable;
    case ErrorCode::kTimeout: return Status::gateway_timeout;
    case ErrorCode::kInternal: return Status::internal_server_error;
  }
  return Status::internal_server_error;
}

Response Problem(const Error& error, std::string_view instance) {
  const Status status = StatusFor(error.code);
  // A URN per code: stable and unique, without promising a page that may not exist.
  nlohmann::json problem = {
      {"type", "urn:ulus:problem:" + std::string(ErrorCodeName(error.code))},
      {"title", TitleFor(error.code)},
      {"status", static_cast<unsigned>(status)},
      {"detail", error.message},
  };
  if (!error.field.empty()) problem["field"] = error.field;
  return Render(std::move(problem), status, instance);
}

Response Problem(Status status, std::string_view detail, std::string_view instance) {
  // RFC 7807 section 4.2: "about:blank" problems carry the status phrase as their title.
  const auto reason = boost::beast::http::obsolete_reason(status);
  nlohmann::json problem = {
      {"type", "about:blank"},
      {"title", std::string_view(reason.data(), reason.size())},
      {"status", static_cast<unsigned>(status)},
      {"detail", detail},
  };
  return Render(std::move(problem), status, instance);
}

}  // namespace ulus::http
