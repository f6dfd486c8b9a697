#include "oidc_clients.hpp"

#include <gtest/gtest.h>

namespace ulus::identity::oidc {
namespace {

TEST(LoopbackRedirect, AnyPortOnLoopbackIpLiteralsWithTheExactPath) {
  EXPECT_TRUE(LoopbackRedirectMatches("http://127.0.0.1/callback", "http://127.0.0.1/callback"));
  EXPECT_TRUE(
      LoopbackRedirectMatches("http://127.0.0.1/callback", "http://127.0.0.1:51004/callback"));
  EXPECT_TRUE(LoopbackRedirectMatches("http://[::1]/callback", "http://[::1]:8080/callback"));

  EXPECT_FALSE(
      LoopbackRedirectMatches("http://127.0.0.1/callback", "http://127.0.0.1:51004/callbackx"));
  EXPECT_FALSE(
      LoopbackRedirectMatches("http://127.0.0.1/callback", "http://127.0.0.1:51004/other"));
  EXPECT_FALSE(LoopbackRedirectMatches("http://127.0.0.1/callback", "http://127.0.0.1:/callback"));
  EXPECT_FALSE(
      LoopbackRedirectMatches("http://127.0.0.1/callback", "http://127.0.0.1:99999/callback"));
  EXPECT_FALSE(
      LoopbackRedirectMatches("http://127.0.0.1/callback", "http://127.0.0.1.evil.mn/callback"));
  EXPECT_FALSE(
      LoopbackRedirectMatches("http://127.0.0.1/callback", "http://127.0.0.1@evil.mn/callback"));
  EXPECT_FALSE(LoopbackRedirectMatches("http://127.0.0.1/callback", "http://localhost/callback"));
  EXPECT_FALSE(
      LoopbackRedirectMatches("http://127.0.0.1/callback", "https://127.0.0.1:8080/callback"));
  EXPECT_FALSE(LoopbackRedirectMatches("https://tax.mn/cb", "https://tax.mn:444/cb"));
}

TEST(ParseClients, ReadsEveryField) {
  auto clients = ParseClients(R"(
clients:
  - client_id: tax-office
    name: {mn: "Татвар", en: "Tax office", kk: "Салық қызметі", ru: "Налоговая служба"}
    type: confidential
    redirect_uris: [https://tax.example.mn/cb]
    post_logout_redirect_uris: [https://tax.example.mn/]
    grant_types: [authorization_code, refresh_token, client_credentials]
    scopes: [openid, profile]
    id_token_signed_response_alg: EdDSA
    agency: TAX
    first_party: true
)");
  ASSERT_TRUE(clients.ok()) << clients.error().ToString();
  ASSERT_EQ(clients->size(), 1u);
  const Client& c = clients->front();
  EXPECT_EQ(c.id, "tax-office");
  EXPECT_EQ(c.name_mn, "Татвар");
  EXPECT_EQ(c.name_en, "Tax office");
  EXPECT_EQ(c.name_kk, "Салық қызметі");
  EXPECT_EQ(c.name_ru, "Налоговая служба");
  EXPECT_FALSE(c.IsPublic());
  EXPECT_TRUE(c.HasGrant("client_credentials"));
  EXPECT_TRUE(c.AllowsScope("profile"));
  EXPECT_FALSE(c.AllowsScope("phone"));
  EXPECT_EQ(c.id_token_alg, crypto::SignatureAlg::kEdDsa);
  EXPECT_EQ(c.agency, "TAX");
  EXPECT_TRUE(c.first_party);
  EXPECT_TRUE(c.RedirectUriAllowed("https://tax.example.mn/cb"));
  EXPECT_FALSE(c.RedirectUriAllowed("https://tax.example.mn/cb/"));
  EXPECT_FALSE(c.RedirectUriAllowed("https://tax.example.mn/cb?x=1"));
}

TEST(ParseClients, RefusesWhatCannotWork) {
  EXPECT_FALSE(ParseClients("clients: [{client_id: 'a b', redirect_uris: [https://x/cb]}]").ok());
  EXPECT_FALSE(ParseClients("clients: [{client_id: a, grant_types: [password]}]").ok());
  EXPECT_FALSE(ParseClients("clients: [{client_id: a, redirect_uris: [https://x/cb],"
                            " scopes: [admin]}]")
                   .ok());
  EXPECT_FALSE(ParseClients("clients: [{client_id: a, type: public,"
                            " grant_types: [client_credentials]}]")
                   .ok());
  EXPECT_FALSE(ParseClients("clients: [{client_id: a, grant_types: [client_credentials]}]").ok());
  EXPECT_FALSE(ParseClients("clients: [{client_id: a, redirect_uris: ['/relative']}]").ok());
  EXPECT_FALSE(ParseClients("clients: [{client_id: a, redirect_uris: [https://x/cb],"
                            " id_token_signed_response_alg: HS256}]")
                   .ok());
  EXPECT_FALSE(ParseClients("clients: {a: 1}").ok());
}

}  // namespace
}  // namespace ulus::identity::oidc
