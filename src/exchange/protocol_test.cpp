#include "ulus/exchange/protocol.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <string>

#include "ulus/core/id.hpp"

namespace ulus::exchange {
namespace {

http::BeastRequest Message(http::Method method, std::string target) {
  http::BeastRequest m{method, target, 11};
  m.set("Host", "node.khur.example");
  return m;
}

std::string HeaderValue(const HeaderList& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return "<absent>";
}

// Independent of the code under test: OpenSSL's one-shot digest and its own base64.
std::string Sha512Base64(const std::string& data) {
  std::array<unsigned char, 64> md{};
  unsigned int length = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), md.data(), &length, EVP_sha512(), nullptr), 1);
  std::array<unsigned char, 96> b64{};
  const int n = EVP_EncodeBlock(b64.data(), md.data(), static_cast<int>(length));
  return {b64.begin(), b64.begin() + n};
}

std::string Sha512Raw(const std::string& data) {
  std::array<unsigned char, 64> md{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &length, EVP_sha512(), nullptr);
  return {md.begin(), md.begin() + length};
}

TEST(ParseExchangeRequestTest, ReadsServicePathQueryAndHeaders) {
  auto m =
      Message(http::Method::get, "/r1/MN/GOV/GASR/civil-registry/person/v1/people/42?a=1&b=%20");
  m.set("X-Road-Client", "MN/GOV/TAX/income");
  m.set("X-Road-Id", "fa2e18a5-c2cb-4d09-b994-f57727f7c3fb");
  m.set("X-Road-UserId", "MN12345678");
  m.set("X-Road-Issue", "CASE-7");
  m.set("Ulus-Subject", "person/42");
  m.set("Ulus-Purpose", "tax-assessment");
  m.set("Ulus-Consent", "tok");
  m.set("Accept", "application/json");
  auto request = ParseExchangeRequest(m);
  ASSERT_TRUE(request.ok()) << request.error().ToString();
  EXPECT_EQ(request->method, "GET");
  EXPECT_EQ(request->service.ToString(), "MN/GOV/GASR/civil-registry/person");
  EXPECT_EQ(request->path, "/v1/people/42");
  EXPECT_EQ(request->query, "a=1&b=%20");
  EXPECT_EQ(request->client.ToString(), "MN/GOV/TAX/income");
  EXPECT_EQ(request->x_road_id, "fa2e18a5-c2cb-4d09-b994-f57727f7c3fb");
  EXPECT_FALSE(request->x_road_id_generated);
  EXPECT_EQ(request->user_id, "MN12345678");
  EXPECT_EQ(request->issue, "CASE-7");
  EXPECT_EQ(request->subject, "person/42");
  EXPECT_EQ(request->purpose, "tax-assessment");
  EXPECT_EQ(request->consent, "tok");
  EXPECT_EQ(HeaderValue(request->headers, "Accept"), "application/json");
  EXPECT_EQ(HeaderValue(request->headers, "Host"), "<absent>");
  EXPECT_EQ(request->Target(), "/r1/MN/GOV/GASR/civil-registry/person/v1/people/42?a=1&b=%20");
}

TEST(ParseExchangeRequestTest, ServiceWithoutRestPathOrQuery) {
  auto m = Message(http::Method::post, "/r1/MN/GOV/GASR/civil-registry/person");
  m.set("X-Road-Client", "MN/GOV/TAX");
  m.body() = "{}";
  m.prepare_payload();
  auto request = ParseExchangeRequest(m);
  ASSERT_TRUE(request.ok()) << request.error().ToString();
  EXPECT_EQ(request->path, "");
  EXPECT_EQ(request->query, "");
  EXPECT_EQ(request->body, "{}");
  EXPECT_FALSE(request->client.subsystem.has_value());
  EXPECT_EQ(HeaderValue(request->headers, "Content-Length"), "<absent>");
}

TEST(ParseExchangeRequestTest, GeneratesXRoadIdWhenAbsent) {
  auto m = Message(http::Method::get, "/r1/MN/GOV/GASR/s/p");
  m.set("X-Road-Client", "MN/GOV/TAX");
  auto request = ParseExchangeRequest(m);
  ASSERT_TRUE(request.ok());
  EXPECT_TRUE(request->x_road_id_generated);
  EXPECT_TRUE(IsUuid(request->x_road_id));
  EXPECT_EQ(HeaderValue(request->headers, "X-Road-Id"), request->x_road_id);
}

TEST(ParseExchangeRequestTest, SubjectPurposeAndUserArePercentDecodedUtf8) {
  // A Mongolian register number is Cyrillic; HTTP clients send it percent-encoded.
  auto m = Message(http::Method::get, "/r1/MN/GOV/GASR/s/p");
  m.set("X-Road-Client", "MN/GOV/TAX/t");
  m.set("Ulus-Subject", "%D0%90%D0%8105242100");
  m.set("Ulus-Purpose", "tax%20assessment");
  m.set("X-Road-UserId", "officer-7");
  auto request = ParseExchangeRequest(m);
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->subject,
            "\xD0\x90\xD0\x81"
            "05242100");
  EXPECT_EQ(request->purpose, "tax assessment");
  EXPECT_EQ(request->user_id, "officer-7");
  m.set("Ulus-Subject", "%zz");
  EXPECT_FALSE(ParseExchangeRequest(m).ok());
  m.set("Ulus-Subject", "a%0Ab");
  auto control = ParseExchangeRequest(m);
  ASSERT_FALSE(control.ok());
  EXPECT_EQ(control.error().field, "Ulus-Subject");
}

TEST(ParseExchangeRequestTest, MissingClientIsInvalidClientIdentifier) {
  auto m = Message(http::Method::get, "/r1/MN/GOV/GASR/s/p");
  auto request = ParseExchangeRequest(m);
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.error().field, "X-Road-Client");
  const XRoadError error = ToXRoadError(request.error(), "d1");
  EXPECT_EQ(error.type, XRoadErrorType::kClientInvalidClientIdentifier);
  EXPECT_EQ(XRoadErrorTypeName(error.type), "Client.InvalidClientIdentifier");
}

TEST(ParseExchangeRequestTest, BadClientIsInvalidClientIdentifier) {
  auto m = Message(http::Method::get, "/r1/MN/GOV/GASR/s/p");
  m.set("X-Road-Client", "MN/GOV");
  auto request = ParseExchangeRequest(m);
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(ToXRoadError(request.error(), "").type, XRoadErrorType::kClientInvalidClientIdentifier);
}

TEST(ParseExchangeRequestTest, LastClientHeaderWins) {
  auto m = Message(http::Method::get, "/r1/MN/GOV/GASR/s/p");
  m.insert("X-Road-Client", "MN/GOV/TAX");
  m.insert("x-road-client", "MN/GOV/GASR/a");
  auto request = ParseExchangeRequest(m);
  ASSERT_TRUE(request.ok()) << request.error().ToString();
  EXPECT_EQ(request->client.ToString(), "MN/GOV/GASR/a");
  int clients = 0;
  for (const auto& [name, value] : request->headers) {
    if (name == "X-Road-Client" || name == "x-road-client") ++clients;
  }
  EXPECT_EQ(clients, 1);
  EXPECT_EQ(HeaderValue(request->headers, "X-Road-Client"), "MN/GOV/GASR/a");
}

TEST(ParseExchangeRequestTest, RepeatedXRoadIdIsRefused) {
  auto m = Message(http::Method::get, "/r1/MN/GOV/GASR/s/p");
  m.set("X-Road-Client", "MN/GOV/TAX");
  m.insert("X-Road-Id", "a");
  m.insert("X-Road-Id", "b");
  auto request = ParseExchangeRequest(m);
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.error().field, "X-Road-Id");
  EXPECT_NE(request.error().message.find("more than once"), std::string::npos);
  EXPECT_EQ(ToXRoadError(request.error(), "").type, XRoadErrorType::kClientBadRequest);
}

TEST(ParseExchangeRequestTest, BadTargetsAreBadRequest) {
  for (const char* target : {"/r2/MN/GOV/GASR/s/p", "/MN/GOV/GASR/s/p", "/r1/MN/GOV/GASR/s",
                             "/r1/MN/GOV/GASR/s/p/../x", "/r1/MN/GOV/GASR/s/p#frag"}) {
    auto m = Message(http::Method::get, target);
    m.set("X-Road-Client", "MN/GOV/TAX");
    auto request = ParseExchangeRequest(m);
    ASSERT_FALSE(request.ok()) << target;
    EXPECT_EQ(ToXRoadError(request.error(), "").type, XRoadErrorType::kClientBadRequest) << target;
  }
  auto m = Message(http::Method::get, "/r1/MN/GOV/GASR/s/p/" + std::string(kMaxTargetLength, 'a'));
  m.set("X-Road-Client", "MN/GOV/TAX");
  EXPECT_FALSE(ParseExchangeRequest(m).ok());
}

TEST(ParseExchangeRequestTest, RefusesOverlongHeaderValues) {
  auto m = Message(http::Method::get, "/r1/MN/GOV/GASR/s/p");
  m.set("X-Road-Client", "MN/GOV/TAX");
  m.set("X-Road-UserId", std::string(5000, 'u'));
  auto request = ParseExchangeRequest(m);
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.error().field, "X-Road-UserId");
}

TEST(ForwardableHeadersTest, StripsHopByHopAndConnectionNamedHeaders) {
  const HeaderList in = {
      {"Connection", "keep-alive, X-Secret ,x-other"},
      {"Keep-Alive", "timeout=5"},
      {"Proxy-Authorization", "Basic xx"},
      {"proxy-connection", "close"},
      {"TE", "trailers"},
      {"Trailer", "Expires"},
      {"Transfer-Encoding", "chunked"},
      {"Upgrade", "h2c"},
      {"Host", "a"},
      {"User-Agent", "curl"},
      {"Server", "x"},
      {"Content-Length", "3"},
      {"X-Road-Request-Hash", "forged"},
      {"x-secret", "1"},
      {"X-Other", "2"},
      {"Accept", "application/json"},
      {"Content-Type", "application/json"},
      {"X-Powered-By", "PHP"},
      {"Cache-Control", "no-cache"},
  };
  const HeaderList expected = {{"Accept", "application/json"},
                               {"Content-Type", "application/json"},
                               {"X-Powered-By", "PHP"},
                               {"Cache-Control", "no-cache"}};
  EXPECT_EQ(ForwardableHeaders(in), expected);
}

TEST(RequestHashTest, FixedVectors) {
  // base64(SHA-512("abc")), FIPS 180-2's test vector, from `openssl dgst -sha512 -binary | base64`.
  EXPECT_EQ(
      RequestHash("abc", ""),
      "3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==");
  EXPECT_EQ(
      RequestHash("abc", "body"),
      "1/iR0MhfjsA6Yf1G3lTu9RfHRcnsovavTME2mDwJ/gG5mkDwIzcCrVzaoR+j2aPsSCPQTOK+YhUNYOelZ2S9tw==");
}

TEST(RequestHashTest, HashesTheCanonicalHeadersAndBody) {
  auto m = Message(http::Method::post, "/r1/MN/GOV/GASR/s/p/v1/x?q=1");
  m.set("X-Road-Client", "MN/GOV/TAX/income");
  m.set("X-Road-Id", "id-1");
  m.set("Content-Type", "application/json");
  m.body() = R"({"a":1})";
  auto request = ParseExchangeRequest(m);
  ASSERT_TRUE(request.ok());
  const std::string headers =
      "POST /r1/MN/GOV/GASR/s/p/v1/x?q=1\r\n"
      "content-type: application/json\r\n"
      "x-road-client: MN/GOV/TAX/income\r\n"
      "x-road-id: id-1\r\n";
  EXPECT_EQ(HashedHeaders(*request), headers);
  EXPECT_EQ(RequestHash(*request), Sha512Base64(Sha512Raw(headers) + Sha512Raw(R"({"a":1})")));

  request->body.clear();
  EXPECT_EQ(RequestHash(*request), Sha512Base64(headers));
}

TEST(ResponseHeadersTest, SetsAndReplacesXRoadHeaders) {
  auto m = Message(http::Method::get, "/r1/MN/GOV/GASR/s/p");
  m.set("X-Road-Client", "MN/GOV/TAX/income");
  m.set("X-Road-Id", "id-1");
  auto request = ParseExchangeRequest(m);
  ASSERT_TRUE(request.ok());
  http::Response response;
  response.headers = {{"x-road-request-hash", "from-provider"}, {"ETag", "\"1\""}};
  SetXRoadResponseHeaders(response, *request, "req-9", "hash==");
  const HeaderList expected = {{"ETag", "\"1\""},
                               {"X-Road-Client", "MN/GOV/TAX/income"},
                               {"X-Road-Service", "MN/GOV/GASR/s/p"},
                               {"X-Road-Id", "id-1"},
                               {"X-Road-Request-Id", "req-9"},
                               {"X-Road-Request-Hash", "hash=="}};
  EXPECT_EQ(response.headers, expected);
}

TEST(XRoadErrorTest, RendersTheSpecsJsonAndHeader) {
  const XRoadError error{XRoadErrorType::kServerProxyServiceFailed, "the provider did not answer",
                         "9bc95b6e-2f1d-4a41-a7e6-11eda7d734d5"};
  const http::Response response = RenderXRoadError(error);
  EXPECT_EQ(response.status, http::Status::internal_server_error);
  EXPECT_EQ(response.content_type, "application/json;charset=utf-8");
  EXPECT_EQ(HeaderValue(response.headers, "X-Road-Error"), "Server.ServerProxy.ServiceFailed");
  const auto body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body, (nlohmann::json{{"type", "Server.ServerProxy.ServiceFailed"},
                                  {"message", "the provider did not answer"},
                                  {"detail", "9bc95b6e-2f1d-4a41-a7e6-11eda7d734d5"}}));
}

TEST(XRoadErrorTest, ClientErrorsAre400AndOthers500) {
  EXPECT_EQ(RenderXRoadError({XRoadErrorType::kClientBadRequest, "m", "d"}).status,
            http::Status::bad_request);
  EXPECT_EQ(XRoadErrorStatus(XRoadErrorType::kClientInvalidClientIdentifier),
            http::Status::bad_request);
  EXPECT_EQ(XRoadErrorStatus(XRoadErrorType::kClientProxyNetworkError),
            http::Status::internal_server_error);
  EXPECT_EQ(XRoadErrorStatus(XRoadErrorType::kServerProxyAccessDenied),
            http::Status::internal_server_error);
}

TEST(XRoadErrorTest, NamesFollowXRoad) {
  EXPECT_EQ(XRoadErrorTypeName(XRoadErrorType::kClientBadRequest), "Client.BadRequest");
  EXPECT_EQ(XRoadErrorTypeName(XRoadErrorType::kClientProxyNetworkError),
            "Server.ClientProxy.NetworkError");
  EXPECT_EQ(XRoadErrorTypeName(XRoadErrorType::kClientProxyOutdatedGlobalConf),
            "Server.ClientProxy.OutdatedGlobalConf");
  EXPECT_EQ(XRoadErrorTypeName(XRoadErrorType::kServerProxyAccessDenied),
            "Server.ServerProxy.AccessDenied");
  EXPECT_EQ(XRoadErrorTypeName(XRoadErrorType::kServerProxyUnknownService),
            "Server.ServerProxy.UnknownService");
  EXPECT_EQ(XRoadErrorTypeName(XRoadErrorType::kServerProxyDatabaseError),
            "Server.ServerProxy.DatabaseError");
}

}  // namespace
}  // namespace ulus::exchange
