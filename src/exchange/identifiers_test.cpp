#include "ulus/exchange/identifiers.hpp"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

namespace ulus::exchange {
namespace {

TEST(ClientIdTest, ParsesMemberAndSubsystem) {
  auto member = ClientId::Parse("MN/GOV/GASR");
  ASSERT_TRUE(member.ok()) << member.error().ToString();
  EXPECT_EQ(member->member.instance, "MN");
  EXPECT_EQ(member->member.member_class, "GOV");
  EXPECT_EQ(member->member.member_code, "GASR");
  EXPECT_FALSE(member->subsystem.has_value());

  auto subsystem = ClientId::Parse("MN/GOV/GASR/civil-registry");
  ASSERT_TRUE(subsystem.ok());
  EXPECT_EQ(subsystem->subsystem, "civil-registry");
}

TEST(ClientIdTest, PercentDecodesEachPart) {
  auto id = ClientId::Parse("MN/GOV/A%2B1/sub%28x%29%3F");
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  EXPECT_EQ(id->member.member_code, "A+1");
  EXPECT_EQ(id->subsystem, "sub(x)?");
}

TEST(ClientIdTest, AcceptsEverySymbolOfTheSpec) {
  auto id = ClientId::Parse("MN/GOV/'()+,-.=%3F/aZ09");
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  EXPECT_EQ(id->member.member_code, "'()+,-.=?");
}

TEST(ClientIdTest, RefusesWrongNumberOfParts) {
  for (const char* text : {"MN", "MN/GOV", "MN/GOV/A/B/C"}) {
    auto id = ClientId::Parse(text);
    ASSERT_FALSE(id.ok()) << text;
    EXPECT_EQ(id.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(id.error().field, "X-Road-Client");
  }
}

TEST(ClientIdTest, RefusesMissing) {
  auto id = ClientId::Parse("");
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.error().message.find("missing"), std::string::npos);
}

void ExpectRefused(std::string_view text, std::string_view field, std::string_view words) {
  auto id = ClientId::Parse(text);
  ASSERT_FALSE(id.ok()) << text;
  EXPECT_EQ(id.error().field, field) << text;
  EXPECT_NE(id.error().message.find(words), std::string::npos) << id.error().message;
}

TEST(ClientIdTest, RefusesEmptyParts) {
  ExpectRefused("/GOV/GASR", "X-Road-Client.xRoadInstance", "empty");
  ExpectRefused("MN//GASR", "X-Road-Client.memberClass", "empty");
  ExpectRefused("MN/GOV/", "X-Road-Client.memberCode", "empty");
  ExpectRefused("MN/GOV/GASR/", "X-Road-Client.subsystemCode", "empty");
}

TEST(ClientIdTest, RefusesBadPercentEncoding) {
  ExpectRefused("MN/GOV/GA%", "X-Road-Client.memberCode", "two hex digits");
  ExpectRefused("MN/GOV/GA%2", "X-Road-Client.memberCode", "two hex digits");
  ExpectRefused("MN/GOV/GA%zz", "X-Road-Client.memberCode", "two hex digits");
}

TEST(ClientIdTest, RefusesCharactersOutsideTheSpecsSet) {
  ExpectRefused("MN/GOV/A%2FB", "X-Road-Client.memberCode", "'/'");
  ExpectRefused("MN/GOV/A%5CB", "X-Road-Client.memberCode", "'\\'");
  ExpectRefused("MN/GOV/A:B", "X-Road-Client.memberCode", "':'");
  ExpectRefused("MN/GOV/A;B", "X-Road-Client.memberCode", "';'");
  ExpectRefused("MN/GOV/A%25B", "X-Road-Client.memberCode", "'%'");
  ExpectRefused("MN/GOV/A_B", "X-Road-Client.memberCode", "'_'");
  ExpectRefused("MN/GOV/A~B", "X-Road-Client.memberCode", "'~'");
  ExpectRefused("MN/GOV/A*B", "X-Road-Client.memberCode", "'*'");
  ExpectRefused("MN/GOV/A%20B", "X-Road-Client.memberCode", "byte 0x20");
  ExpectRefused("MN/%D0%A3/A", "X-Road-Client.memberClass", "byte 0xD0");
}

TEST(ClientIdTest, RefusesControlCharacters) {
  ExpectRefused("MN/GOV/A%0AB", "X-Road-Client.memberCode", "byte 0x0A");
  ExpectRefused("MN/GOV/A%00B", "X-Road-Client.memberCode", "byte 0x00");
  ExpectRefused("MN/GOV/A%7FB", "X-Road-Client.memberCode", "byte 0x7F");
  ExpectRefused("MN/GOV/A\tB", "X-Road-Client.memberCode", "byte 0x09");
}

TEST(ClientIdTest, LengthLimitIsInDecodedBytes) {
  const std::string longest(kMaxIdentifierPartLength, 'a');
  EXPECT_TRUE(ClientId::Parse("MN/GOV/" + longest).ok());
  ExpectRefused("MN/GOV/" + longest + "a", "X-Road-Client.memberCode", "longer than 255");
}

TEST(ClientIdTest, UsesTheGivenFieldName) {
  auto id = ClientId::Parse("MN//X", "client");
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().field, "client.memberClass");
}

TEST(ClientIdTest, RoundTrips) {
  for (const char* text : {"MN/GOV/GASR", "MN/GOV/GASR/civil-registry", "EE/COM/a.b'c(d)e+f,g=h",
                           "MN/GOV/what%3F/x-1"}) {
    auto id = ClientId::Parse(text);
    ASSERT_TRUE(id.ok()) << text;
    EXPECT_EQ(id->ToString(), text);
    auto again = ClientId::Parse(id->ToString());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *id);
  }
  // Lower-case or needless escapes decode to the same id and print in canonical form.
  auto id = ClientId::Parse("MN/GOV/%47ASR/%2b%3f");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->ToString(), "MN/GOV/GASR/+%3F");
}

TEST(ServiceIdTest, ParsesWithAndWithoutVersion) {
  auto plain = ServiceId::Parse("MN/GOV/GASR/civil-registry/person");
  ASSERT_TRUE(plain.ok()) << plain.error().ToString();
  EXPECT_EQ(plain->client.subsystem, "civil-registry");
  EXPECT_EQ(plain->service_code, "person");
  EXPECT_FALSE(plain->service_version.has_value());
  EXPECT_EQ(plain->ToString(), "MN/GOV/GASR/civil-registry/person");

  auto versioned = ServiceId::Parse("MN/GOV/GASR/civil-registry/person/v2");
  ASSERT_TRUE(versioned.ok());
  EXPECT_EQ(versioned->service_version, "v2");
  EXPECT_EQ(versioned->ToString(), "MN/GOV/GASR/civil-registry/person/v2");
  EXPECT_NE(*plain, *versioned);
}

TEST(ServiceIdTest, RefusesBadParts) {
  EXPECT_FALSE(ServiceId::Parse("MN/GOV/GASR/civil-registry").ok());
  auto empty = ServiceId::Parse("MN/GOV/GASR/civil-registry/");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().field, "serviceId.serviceCode");
  auto slash = ServiceId::Parse("MN/GOV/GASR/civil-registry/a%2Fb");
  ASSERT_FALSE(slash.ok());
  EXPECT_EQ(slash.error().field, "serviceId.serviceCode");
}

TEST(ServicePathTest, SplitsServiceFromRestPath) {
  auto bare = ParseServicePath("MN/GOV/GASR/civil-registry/person");
  ASSERT_TRUE(bare.ok()) << bare.error().ToString();
  EXPECT_EQ(bare->service.service_code, "person");
  EXPECT_EQ(bare->rest_path, "");

  auto deep = ParseServicePath("MN/GOV/GASR/civil-registry/person/v1/people/42%2Fx");
  ASSERT_TRUE(deep.ok());
  EXPECT_EQ(deep->service.ToString(), "MN/GOV/GASR/civil-registry/person");
  EXPECT_EQ(deep->rest_path, "/v1/people/42%2Fx");  // stays encoded for the provider

  auto trailing = ParseServicePath("MN/GOV/GASR/civil-registry/person/");
  ASSERT_TRUE(trailing.ok());
  EXPECT_EQ(trailing->rest_path, "/");
}

TEST(ServicePathTest, RefusesShortOrBadServiceIds) {
  auto short_id = ParseServicePath("MN/GOV/GASR/civil-registry");
  ASSERT_FALSE(short_id.ok());
  EXPECT_EQ(short_id.error().field, "serviceId");
  EXPECT_FALSE(ParseServicePath("").ok());
  auto encoded = ParseServicePath("MN%2FGOV%2FGASR%2Fcivil-registry%2Fperson");
  EXPECT_FALSE(encoded.ok());
}

TEST(ServicePathTest, RefusesDotSegmentsAndControlCharacters) {
  for (const char* path :
       {"MN/GOV/GASR/s/p/../admin", "MN/GOV/GASR/s/p/a/./b", "MN/GOV/GASR/s/p/%2E%2E/x",
        "MN/GOV/GASR/s/p/a%2F..%2Fb", "MN/GOV/GASR/s/p/a%5C..", "MN/GOV/GASR/s/p/a%0Ab",
        "MN/GOV/GASR/s/p/a%zz"}) {
    auto parsed = ParseServicePath(path);
    ASSERT_FALSE(parsed.ok()) << path;
    EXPECT_EQ(parsed.error().field, "path") << path;
  }
  EXPECT_TRUE(ParseServicePath("MN/GOV/GASR/s/p/a..b/.x").ok());
}

TEST(IdentifierHashTest, EqualIdsHashEqual) {
  std::unordered_set<ClientId> clients;
  clients.insert(*ClientId::Parse("MN/GOV/GASR/a"));
  clients.insert(*ClientId::Parse("MN/GOV/%47ASR/a"));
  clients.insert(*ClientId::Parse("MN/GOV/GASR"));
  EXPECT_EQ(clients.size(), 2U);
  std::unordered_set<ServiceId> services;
  services.insert(*ServiceId::Parse("MN/GOV/GASR/a/s"));
  services.insert(*ServiceId::Parse("MN/GOV/GASR/a/s/v1"));
  EXPECT_EQ(services.size(), 2U);
  std::unordered_set<MemberId> members;
  members.insert(MemberId{"MN", "GOV", "GASR"});
  EXPECT_EQ(members.count(MemberId{"MN", "GOV", "GASR"}), 1U);
}

}  // namespace
}  // namespace ulus::exchange
