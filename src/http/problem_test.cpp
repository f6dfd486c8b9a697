#include "ulus/http/problem.hpp"

#include <gtest/gtest.h>

#include "ulus/http/form.hpp"
#include "ulus/http/message.hpp"

namespace ulus::http {
namespace {

TEST(Problem, MapsEveryErrorCodeToAStatus) {
  EXPECT_EQ(StatusFor(ErrorCode::kInvalidArgument), Status::bad_request);
  EXPECT_EQ(StatusFor(ErrorCode::kNotFound), Status::not_found);
  EXPECT_EQ(StatusFor(ErrorCode::kAlreadyExists), Status::conflict);
  EXPECT_EQ(StatusFor(ErrorCode::kConflict), Status::conflict);
  EXPECT_EQ(StatusFor(ErrorCode::kUnauthenticated), Status::unauthorized);
  EXPECT_EQ(StatusFor(ErrorCode::kPermissionDenied), Status::forbidden);
  EXPECT_EQ(StatusFor(ErrorCode::kFailedPrecondition), Status::conflict);
  EXPECT_EQ(StatusFor(ErrorCode::kTooLarge), Status::payload_too_large);
  EXPECT_EQ(StatusFor(ErrorCode::kUnsupportedMediaType), Status::unsupported_media_type);
  EXPECT_EQ(StatusFor(ErrorCode::kRateLimited), Status::too_many_requests);
  EXPECT_EQ(StatusFor(ErrorCode::kUnavailable), Status::service_unavailable);
  EXPECT_EQ(StatusFor(ErrorCode::kTimeout), Status::gateway_timeout);
  EXPECT_EQ(StatusFor(ErrorCode::kInternal), Status::internal_server_error);
}

TEST(Problem, RendersRfc7807WithField) {
  const auto r = Problem(Error::InvalidArgument("age must be a whole number", "/age"), "/people");
  EXPECT_EQ(r.status, Status::bad_request);
  EXPECT_EQ(r.content_type, "application/problem+json");
  const auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["type"], "urn:ulus:problem:invalid_argument");
  EXPECT_EQ(body["title"], "Invalid argument");
  EXPECT_EQ(body["status"], 400);
  EXPECT_EQ(body["detail"], "age must be a whole number");
  EXPECT_EQ(body["field"], "/age");
  EXPECT_EQ(body["instance"], "/people");
}

TEST(Problem, HttpOnlyConditionsAreAboutBlank) {
  const auto r = Problem(Status::method_not_allowed, "use GET");
  const auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["type"], "about:blank");
  EXPECT_EQ(body["title"], "Method Not Allowed");
  EXPECT_EQ(body["status"], 405);
  EXPECT_FALSE(body.contains("field"));
  EXPECT_FALSE(body.contains("instance"));
}

BeastRequest JsonRequest(const std::string& content_type, std::string body,
                         const std::string& target = "/x") {
  BeastRequest m(Method::post, target, 11);
  if (!content_type.empty()) m.set(beast_http::field::content_type, content_type);
  m.body() = std::move(body);
  return m;
}

TEST(Request, ParsesJsonOnlyWithAJsonMediaType) {
  EXPECT_TRUE(Request(JsonRequest("application/json", "{}"), "").Json().ok());
  EXPECT_TRUE(Request(JsonRequest("Application/JSON; charset=utf-8", "[1]"), "").Json().ok());
  EXPECT_TRUE(Request(JsonRequest("application/merge-patch+json", "{}"), "").Json().ok());
  const auto wrong = Request(JsonRequest("text/plain", "{}"), "").Json();
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kUnsupportedMediaType);
  EXPECT_EQ(Request(JsonRequest("", "{}"), "").Json().error().code,
            ErrorCode::kUnsupportedMediaType);
  EXPECT_EQ(Request(JsonRequest("application/+json", "{}"), "").Json().error().code,
            ErrorCode::kUnsupportedMediaType);
}

TEST(Request, NamesWhereMalformedJsonBreaks) {
  const auto bad = Request(JsonRequest("application/json", "{\n  \"a\": tru }"), "").Json();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("line 2"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("byte"), std::string::npos) << bad.error().message;
  const auto empty = Request(JsonRequest("application/json", ""), "").Json();
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
}

TEST(Request, DecodesQueryParameters) {
  const Request r(JsonRequest("", "", "/s?q=a+b%26c&empty&x=1&x=2&bad=%zz"), "");
  EXPECT_EQ(r.path(), "/s");
  EXPECT_EQ(r.Query("q"), "a b&c");
  EXPECT_EQ(r.Query("empty"), "");
  EXPECT_EQ(r.Query("x"), "1");
  EXPECT_EQ(r.Query("missing"), std::nullopt);
  EXPECT_EQ(r.Query("bad"), std::nullopt);
}

TEST(Request, QueryValuesThatAreNotUtf8AreAbsent) {
  const Request r(JsonRequest("", "", "/s?ok=%D0%90&latin1=%FF&surrogate=%ED%A0%80&cut=%D0"), "");
  EXPECT_EQ(r.Query("ok"), "\xD0\x90");
  EXPECT_EQ(r.Query("latin1"), std::nullopt);
  EXPECT_EQ(r.Query("surrogate"), std::nullopt);
  EXPECT_EQ(r.Query("cut"), std::nullopt);
}

TEST(Form, RefusesWhatIsNotUtf8Text) {
  // A value that is not text would be stored, then fail wherever it is put into JSON.
  for (const auto* body :
       {"a=%FF", "a=%C0%80", "a=%ED%A0%80", "a=%F4%90%80%80", "%FF=x", "a=%E2%82"}) {
    const auto form = Form::Parse(body);
    ASSERT_FALSE(form.ok()) << body;
    EXPECT_EQ(form.error().code, ErrorCode::kInvalidArgument) << body;
  }
  const auto good = Form::Parse("a=%D0%9C%D3%A9%D0%BD&b=%F0%9F%98%80&c=%E2%82%AC");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->Value("a"), "\xD0\x9C\xD3\xA9\xD0\xBD");
  EXPECT_EQ(good->Value("b"), "\xF0\x9F\x98\x80");
}

TEST(Request, TakesThePathFromAbsoluteFormTargets) {
  const Request r(JsonRequest("", "", "http://example.org:80/a/b?c=d"), "");
  EXPECT_EQ(r.path(), "/a/b");
  EXPECT_EQ(r.Query("c"), "d");
}

}  // namespace
}  // namespace ulus::http
