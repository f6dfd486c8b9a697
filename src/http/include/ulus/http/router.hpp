#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/http/message.hpp"

namespace ulus::http {

// A handler answers one request. Errors it returns become problem+json through the one mapping
// in problem.hpp, so handlers just ULUS_TRY their way through. Handlers may block (on the store,
// on a peer) and are called on the server's worker threads, concurrently.
using Handler = std::function<Result<Response>(Request&)>;

// An asynchronous handler answers by calling its Responder exactly once, from any thread, when
// the answer is ready; it must not block. The request stays valid until then. For proxies that
// would otherwise hold a thread while a peer answers. A handler that throws before responding
// answers 500; responding again after the first answer is ignored.
using Responder = std::function<void(Result<Response>)>;
using AsyncHandler = std::function<void(std::shared_ptr<Request>, Responder)>;

// Documentation of one route for /openapi.json: an OpenAPI 3.0 Operation Object (summary,
// parameters, requestBody, responses, tags...). Path parameters are added automatically when
// the object does not list them.
using Operation = nlohmann::json;

// Maps method and path to handlers. Patterns are literal segments and "{name}" parameters,
// e.g. "/data/{registry}/{version}/{id}/read". Build it completely before the server starts;
// lookups are then thread-safe. Matching prefers literal segments over parameters.
class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  void Add(Method method, std::string pattern, Handler handler, Operation operation = {});
  // Every method on every path that starts with `prefix` ("/r1/"; it must begin and end with
  // '/'), when no route added with Add matches the path. For proxies, whose paths are open-ended.
  // Metrics and the OpenAPI document name the route "{prefix}{path}"; the operation may list the
  // methods to document in "x-methods" (["get", "post"]).
  void AddPrefix(std::string prefix, Handler handler, Operation operation = {});
  // The same with an asynchronous handler.
  void AddPrefixAsync(std::string prefix, AsyncHandler handler, Operation operation = {});
  // Adds named schemas to the OpenAPI document's components.schemas.
  void AddSchema(const std::string& name, nlohmann::json schema);

  struct Match {
    const Handler* handler = nullptr;  // one of these two is set when a route matched
    const AsyncHandler* async_handler = nullptr;
    std::string_view pattern;
    std::vector<std::pair<std::string, std::string>> params;
    // When the path matched but not the method: the methods that would have, for 405 + Allow.
    std::vector<Method> allowed;
  };
  [[nodiscard]] Match Find(Method method, std::string_view path) const;

  // The OpenAPI 3.0 document of every route added, under `info`.
  [[nodiscard]] nlohmann::json OpenApi(const nlohmann::json& info) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ulus::http
