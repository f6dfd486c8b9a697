#include "ulus/http/router.hpp"

#include <array>
#include <boost/beast/http/verb.hpp>

#include "ulus/core/assert.hpp"
#include "url.hpp"

namespace ulus::http {
namespace {

// Deeper patterns are a design smell; the bound lets matching capture without allocating.
constexpr size_t kMaxParams = 16;

struct Route {
  Method method;
  std::string pattern;
  Handler handler;
  AsyncHandler async_handler;
  Operation operation;
  std::vector<std::string> param_names;
};

struct Node {
  // Few children per node in practice, so a vector scan beats hashing.
  std::vector<std::pair<std::string, std::unique_ptr<Node>>> literals;
  std::unique_ptr<Node> param;
  std::vector<const Route*> routes;
};

using Captures = std::array<std::string_view, kMaxParams>;

bool IsParam(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

std::vector<std::string_view> Split(std::string_view pattern) {
  ULUS_ASSERT(pattern.starts_with('/'));
  std::vector<std::string_view> out;
  while (!pattern.empty()) {
    pattern.remove_prefix(1);
    const auto segment = pattern.substr(0, pattern.find('/'));
    out.push_back(segment);
    pattern.remove_prefix(segment.size());
  }
  return out;
}

bool SegmentEquals(std::string_view literal, std::string_view segment) {
  if (segment.find('%') == std::string_view::npos) return literal == segment;
  const auto decoded = PercentDecode(segment, false);
  return decoded && *decoded == literal;
}

void AddAllowed(std::vector<Method>& allowed, Method m) {
  for (const auto a : allowed) {
    if (a == m) return;
  }
  allowed.push_back(m);
}

std::string LowerMethod(Method m) {
  const auto s = boost::beast::http::to_string(m);
  std::string out(s.data(), s.size());
  for (auto& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

bool IsOpenApiMethod(Method m) {
  switch (m) {
    case Method::get:
    case Method::put:
    case Method::post:
    case Method::delete_:
    case Method::options:
    case Method::head:
    case Method::patch:
    case Method::trace: return true;
    default: return false;
  }
}

nlohmann::json ProblemSchema() {
  return {
      {"type", "object"},
      {"description", "An RFC 7807 problem: what went wrong, for a person to act on."},
      {"required", {"type", "title", "status"}},
      {"properties",
       {
           {"type", {{"type", "string"}}},
           {"title", {{"type", "string"}}},
           {"status", {{"type", "integer"}}},
           {"detail", {{"type", "string"}}},
           {"instance", {{"type", "string"}}},
           {"field", {{"type", "string"}, {"description", "The input field at fault."}}},
       }},
  };
}

}  // namespace

struct Router::Impl {
  std::vector<std::unique_ptr<Route>> routes;
  // AddPrefix's routes: (prefix, route), tried in order after the tree found nothing.
  std::vector<std::pair<std::string, std::unique_ptr<Route>>> prefixes;
  Node root;
  nlohmann::json schemas = nlohmann::json::object();

  // Depth-first, literal children before the parameter child, so "/users/me" beats
  // "/users/{id}" but "/users/{id}/x" still matches "/users/me/x" when only that exists.
  bool Walk(const Node& node, std::string_view rest, Captures& captures, size_t count,
            Method method, Match& out) const {
    if (rest.empty()) return Accept(node, captures, count, method, out);
    rest.remove_prefix(1);  // the '/'
    const auto segment = rest.substr(0, rest.find('/'));
    const auto next = rest.substr(segment.size());
    for (const auto& [literal, child] : node.literals) {
      if (SegmentEquals(literal, segment) && Walk(*child, next, captures, count, method, out)) {
        return true;
      }
    }
    if (node.param && !segment.empty() && count < kMaxParams) {
      captures[count] = segment;
      if (Walk(*node.param, next, captures, count + 1, method, out)) return true;
    }
    return false;
  }

  static bool Accept(const Node& node, const Captures& captures, size_t count, Method method,
                     Match& out) {
    if (node.routes.empty()) return false;
    const Route* found = nullptr;
    const Route* get = nullptr;
    for (const Route* r : node.routes) {
      if (r->method == method) found = r;
      if (r->method == Method::get) get = r;
    }
    // HEAD is GET without the body (RFC 9110 section 9.3.2); the server drops the body.
    if (found == nullptr && method == Method::head) found = get;
    if (found == nullptr) {
      for (const Route* r : node.routes) AddAllowed(out.allowed, r->method);
      if (get != nullptr) AddAllowed(out.allowed, Method::head);
      return false;
    }
    out.handler = &found->handler;
    out.pattern = found->pattern;
    out.allowed.clear();
    out.params.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      auto decoded = PercentDecode(captures[i], false);
      out.params.emplace_back(found->param_names[i],
                              decoded ? std::move(*decoded) : std::string(captures[i]));
    }
    return true;
  }
};

Router::Router() : impl_(std::make_unique<Impl>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

void Router::Add(Method method, std::string pattern, Handler handler, Operation operation) {
  auto route = std::make_unique<Route>();
  route->method = method;
  route->handler = std::move(handler);
  route->operation = std::move(operation);
  Node* node = &impl_->root;
  for (const auto segment : Split(pattern)) {
    if (IsParam(segment)) {
      route->param_names.emplace_back(segment.substr(1, segment.size() - 2));
      if (!node->param) node->param = std::make_unique<Node>();
      node = node->param.get();
      continue;
    }
    ULUS_ASSERT(segment.find_first_of("{}%") == std::string_view::npos);
    Node* child = nullptr;
    for (auto& [literal, next] : node->literals) {
      if (literal == segment) child = next.get();
    }
    if (child == nullptr) {
      node->literals.emplace_back(std::string(segment), std::make_unique<Node>());
      child = node->literals.back().second.get();
    }
    node = child;
  }
  ULUS_ASSERT(route->param_names.size() <= kMaxParams);
  for (const Route* r : node->routes) {
    ULUS_ASSERT(r->method != method);  // two handlers for one method and path shape
  }
  route->pattern = std::move(pattern);
  node->routes.push_back(route.get());
  impl_->routes.push_back(std::move(route));
}

void Router::AddSchema(const std::string& name, nlohmann::json schema) {
  impl_->schemas[name] = std::move(schema);
}

Router::Match Router::Find(Method method, std::string_view path) const {
  Match match;
  if (!path.starts_with('/')) return match;
  Captures captures;
  impl_->Walk(impl_->root, path, captures, 0, method, match);
  if (match.handler != nullptr || !match.allowed.empty()) return match;
  for (const auto& [prefix, route] : impl_->prefixes) {
    if (path.starts_with(prefix)) {
      if (route->async_handler) {
        match.async_handler = &route->async_handler;
      } else {
        match.handler = &route->handler;
      }
      match.pattern = route->pattern;
      return match;
    }
  }
  return match;
}

void Router::AddPrefix(std::string prefix, Handler handler, Operation operation) {
  ULUS_ASSERT(prefix.starts_with('/') && prefix.ends_with('/'));
  auto route = std::make_unique<Route>();
  route->method = Method::unknown;
  route->handler = std::move(handler);
  route->operation = std::move(operation);
  route->pattern = prefix + "{path}";
  impl_->prefixes.emplace_back(std::move(prefix), std::move(route));
}

void Router::AddPrefixAsync(std::string prefix, AsyncHandler handler, Operation operation) {
  ULUS_ASSERT(prefix.starts_with('/') && prefix.ends_with('/') && handler);
  auto route = std::make_unique<Route>();
  route->method = Method::unknown;
  route->async_handler = std::move(handler);
  route->operation = std::move(operation);
  route->pattern = prefix + "{path}";
  impl_->prefixes.emplace_back(std::move(prefix), std::move(route));
}

nlohmann::json Router::OpenApi(const nlohmann::json& info) const {
  nlohmann::json paths = nlohmann::json::object();
  for (const auto& route : impl_->routes) {
    if (!IsOpenApiMethod(route->method)) continue;
    nlohmann::json op = route->operation.is_object() ? route->operation : nlohmann::json::object();
    auto& parameters = op["parameters"];
    if (!parameters.is_array()) parameters = nlohmann::json::array();
    for (const auto& name : route->param_names) {
      bool listed = false;
      for (const auto& p : parameters) {
        listed = listed || (p.value("in", "") == "path" && p.value("name", "") == name);
      }
      if (listed) continue;
      parameters.push_back(
          {{"name", name}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
    }
    if (parameters.empty()) op.erase("parameters");
    auto& responses = op["responses"];
    if (!responses.is_object() || responses.empty()) {
      responses = {{"200", {{"description", "OK"}}}};
    }
    // Every route can answer with a problem (bad input, limits, internal errors).
    if (!responses.contains("default")) {
      responses["default"] = {{"description", "An error, as RFC 7807 problem+json."},
                              {"content",
                               {{"application/problem+json",
                                 {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}};
    }
    paths[route->pattern][LowerMethod(route->method)] = std::move(op);
  }
  for (const auto& [prefix, route] : impl_->prefixes) {
    if (!route->operation.is_object()) continue;
    // A prefix serves every method; it is documented under the methods its operation lists
    // ("x-methods"), GET when it lists none.
    const auto methods = route->operation.value("x-methods", nlohmann::json::array({"get"}));
    for (const auto& m : methods) {
      nlohmann::json op = route->operation;
      op.erase("x-methods");
      if (!op.contains("responses")) op["responses"] = {{"200", {{"description", "OK"}}}};
      paths[route->pattern][m.get<std::string>()] = std::move(op);
    }
  }
  nlohmann::json schemas = impl_->schemas;
  if (!schemas.contains("Problem")) schemas["Problem"] = ProblemSchema();
  return {
      {"openapi", "3.0.3"},
      {"info", info},
      {"paths", std::move(paths)},
      {"components", {{"schemas", std::move(schemas)}}},
  };
}

}  // namespace ulus::http
