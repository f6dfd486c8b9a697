#include "ulus/http/router.hpp"

#include <gtest/gtest.h>

namespace ulus::http {
namespace {

Handler Named(std::string name) {
  return [name = std::move(name)](Request&) -> Result<Response> { return Response::Text(name); };
}

// Calls the matched handler and returns its body, so a test can tell which route won.
std::string Winner(const Router& router, Method method, std::string_view path) {
  const auto match = router.Find(method, path);
  if (match.handler == nullptr) return "none";
  Request request(BeastRequest(method, std::string(path), 11), "127.0.0.1");
  return (*match.handler)(request)->body;
}

Router SampleRouter() {
  Router router;
  router.Add(Method::get, "/", Named("root"));
  router.Add(Method::get, "/users", Named("list"));
  router.Add(Method::post, "/users", Named("create"));
  router.Add(Method::get, "/users/me", Named("me"));
  router.Add(Method::get, "/users/{id}", Named("user"));
  router.Add(Method::delete_, "/users/{id}", Named("delete"));
  router.Add(Method::get, "/users/{id}/posts/{post}", Named("post"));
  router.Add(Method::get, "/users/me/settings", Named("settings"));
  return router;
}

TEST(Router, MatchesLiteralsAndParameters) {
  const Router router = SampleRouter();
  EXPECT_EQ(Winner(router, Method::get, "/"), "root");
  EXPECT_EQ(Winner(router, Method::get, "/users"), "list");
  EXPECT_EQ(Winner(router, Method::post, "/users"), "create");
  EXPECT_EQ(Winner(router, Method::get, "/users/42"), "user");
  EXPECT_EQ(Winner(router, Method::get, "/users/42/posts/7"), "post");
  EXPECT_EQ(Winner(router, Method::get, "/nothing"), "none");
  EXPECT_EQ(Winner(router, Method::get, "/users/42/posts"), "none");
  EXPECT_EQ(Winner(router, Method::get, "/users/"), "none");  // a parameter is never empty
}

TEST(Router, PrefixRoutesTakeEveryMethodAndPathUnderThemAfterExactRoutes) {
  Router router = SampleRouter();
  router.AddPrefix("/r1/", Named("proxy"));
  router.Add(Method::get, "/r1/listMethods", Named("list-methods"));
  EXPECT_EQ(Winner(router, Method::get, "/r1/MN/GOV/1/sub/person/1.0/x/read"), "proxy");
  EXPECT_EQ(Winner(router, Method::patch, "/r1/a"), "proxy");
  EXPECT_EQ(Winner(router, Method::get, "/r1/listMethods"), "list-methods");
  EXPECT_EQ(Winner(router, Method::get, "/r1"), "none");
  EXPECT_EQ(Winner(router, Method::get, "/r2/a"), "none");
  EXPECT_EQ(router.Find(Method::get, "/r1/a/b").pattern, "/r1/{path}");
  // A path an exact route knows, with another method, is still 405 rather than the prefix's.
  router.AddPrefix("/users/", Named("users-prefix"));
  EXPECT_EQ(Winner(router, Method::put, "/users/42"), "none");
  EXPECT_EQ(Winner(router, Method::put, "/users/42/x"), "users-prefix");
}

TEST(Router, CapturesPercentDecodedParameters) {
  const Router router = SampleRouter();
  const auto match = router.Find(Method::get, "/users/a%20b%2Fc/posts/x%C3%A9");
  ASSERT_NE(match.handler, nullptr);
  EXPECT_EQ(match.pattern, "/users/{id}/posts/{post}");
  ASSERT_EQ(match.params.size(), 2U);
  EXPECT_EQ(match.params[0], (std::pair<std::string, std::string>("id", "a b/c")));
  EXPECT_EQ(match.params[1], (std::pair<std::string, std::string>("post", "x\xC3\xA9")));
}

TEST(Router, PrefersLiteralSegmentsButFallsBackToParameters) {
  const Router router = SampleRouter();
  EXPECT_EQ(Winner(router, Method::get, "/users/me"), "me");
  EXPECT_EQ(Winner(router, Method::get, "/users/me/settings"), "settings");
  // Only the parameter route has DELETE, and only it has /posts below it.
  EXPECT_EQ(Winner(router, Method::delete_, "/users/me"), "delete");
  EXPECT_EQ(Winner(router, Method::get, "/users/me/posts/1"), "post");
}

TEST(Router, ListsAllowedMethodsWhenOnlyTheMethodIsWrong) {
  const Router router = SampleRouter();
  const auto match = router.Find(Method::put, "/users");
  EXPECT_EQ(match.handler, nullptr);
  EXPECT_EQ(match.allowed, (std::vector<Method>{Method::get, Method::post, Method::head}));
  const auto unknown = router.Find(Method::put, "/nowhere");
  EXPECT_EQ(unknown.handler, nullptr);
  EXPECT_TRUE(unknown.allowed.empty());
}

TEST(Router, AnswersHeadWithTheGetRoute) {
  const Router router = SampleRouter();
  EXPECT_EQ(Winner(router, Method::head, "/users/42"), "user");
}

TEST(Router, OpenApiDocumentsRoutesAndPathParameters) {
  Router router = SampleRouter();
  router.Add(
      Method::put, "/documents/{doc}", Named("put"),
      {{"summary", "Replaces a document."},
       {"parameters",
        {{{"name", "doc"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "integer"}}}}}},
       {"responses", {{"204", {{"description", "Replaced."}}}}}});
  router.AddSchema("Document", {{"type", "object"}});
  const auto doc = router.OpenApi({{"title", "test"}, {"version", "1"}});
  EXPECT_EQ(doc["openapi"], "3.0.3");
  EXPECT_EQ(doc["info"]["title"], "test");
  ASSERT_TRUE(doc["paths"].contains("/users/{id}/posts/{post}"));
  const auto& get_post = doc["paths"]["/users/{id}/posts/{post}"]["get"];
  ASSERT_EQ(get_post["parameters"].size(), 2U);
  EXPECT_EQ(get_post["parameters"][0]["name"], "id");
  EXPECT_EQ(get_post["parameters"][0]["in"], "path");
  EXPECT_EQ(get_post["parameters"][0]["required"], true);
  EXPECT_EQ(get_post["parameters"][1]["name"], "post");
  EXPECT_TRUE(get_post["responses"].contains("200"));
  EXPECT_EQ(
      get_post["responses"]["default"]["content"]["application/problem+json"]["schema"]["$ref"],
      "#/components/schemas/Problem");
  EXPECT_TRUE(doc["paths"]["/users"].contains("post"));
  EXPECT_TRUE(doc["paths"]["/users/{id}"].contains("delete"));
  EXPECT_FALSE(doc["paths"]["/users"]["get"].contains("parameters"));
  // A parameter the operation documents itself is not listed twice.
  const auto& put = doc["paths"]["/documents/{doc}"]["put"];
  ASSERT_EQ(put["parameters"].size(), 1U);
  EXPECT_EQ(put["parameters"][0]["schema"]["type"], "integer");
  EXPECT_EQ(put["summary"], "Replaces a document.");
  EXPECT_TRUE(put["responses"].contains("204"));
  EXPECT_TRUE(doc["components"]["schemas"].contains("Document"));
  EXPECT_TRUE(doc["components"]["schemas"].contains("Problem"));
}

TEST(Router, MovesWithItsRoutes) {
  Router router = SampleRouter();
  Router moved = std::move(router);
  EXPECT_EQ(Winner(moved, Method::get, "/users/me"), "me");
}

}  // namespace
}  // namespace ulus::http
