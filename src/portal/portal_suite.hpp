#pragma once

// The portal's session store and e-form over a database, run on SQLite (portal_test) and on
// PostgreSQL (portal_pgtest).

#include <gtest/gtest.h>

#include <memory>

#include "portal_impl.hpp"
#include "ulus/core/clock.hpp"
#include "ulus/store/database.hpp"

namespace ulus::portal::test {

using nlohmann::json;

struct SuiteDatabase {
  std::string url;
  std::shared_ptr<void> keep;  // what keeps the database alive (a folder, a schema)
};
// Each test binary says where its databases live; kFailedPrecondition skips.
Result<SuiteDatabase> MakeSuiteDatabase();

class PortalImplTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = MakeSuiteDatabase();
    if (!made.ok()) {
      if (made.error().code == ErrorCode::kFailedPrecondition) GTEST_SKIP() << made.error().message;
      FAIL() << made.error().message;
    }
    database_ = std::move(*made);
    auto db = store::Database::Open({.url = database_.url});
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(*db);
    ASSERT_TRUE(store::Migrate(*db_, "portal", Portal::Migrations()).ok());
    impl_ = std::make_unique<Portal::Impl>(*db_, PortalParts{}, PortalOptions{}, clock_);
    impl_->master = &master_;
  }
  void TearDown() override {
    impl_.reset();
    db_.reset();
  }

  Session Person() const {
    return Session{
        .account_id = "acc-1", .national_id = "АЁ72121600", .name = "Одгэрэл", .assurance = 1};
  }
  Tokens SomeTokens() const {
    return Tokens{.access_token = "access-1",
                  .refresh_token = "refresh-secret-1",
                  .id_token = "id-1",
                  .access_expires = clock_.Now() + std::chrono::minutes(10)};
  }

  SuiteDatabase database_;
  ManualClock clock_{FromUnixMicros(1'795'000'000'000'000)};
  crypto::MasterKey master_ = crypto::MasterKey::Generate();
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Portal::Impl> impl_;
};

TEST_F(PortalImplTest, ALoginOpensOnlyInItsBrowserWithItsStateAndInTime) {
  const auto login = impl_->StartLogin("/my/data");
  EXPECT_GE(login.verifier.size(), 43U);  // RFC 7636: 43 to 128 characters
  EXPECT_NE(login.state, login.nonce);
  auto sealed = impl_->SealLogin(login);
  ASSERT_TRUE(sealed.ok()) << sealed.error().message;
  // Nothing of the login is readable in the cookie.
  EXPECT_EQ(sealed->find(login.verifier), std::string::npos);
  EXPECT_EQ(sealed->find("/my/data"), std::string::npos);
  auto opened = impl_->OpenLogin(*sealed, login.state);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(opened->verifier, login.verifier);
  EXPECT_EQ(opened->nonce, login.nonce);
  EXPECT_EQ(opened->next, "/my/data");
  // Another login's state (an attacker's callback URL in this browser) does not open it.
  EXPECT_FALSE(impl_->OpenLogin(*sealed, impl_->StartLogin("/").state).ok());
  EXPECT_FALSE(impl_->OpenLogin(*sealed, "").ok());
  // A changed byte, or a cookie sealed under another master key, does not open.
  std::string changed = *sealed;
  changed[changed.size() / 2] = changed[changed.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(impl_->OpenLogin(changed, login.state).ok());
  crypto::MasterKey other = crypto::MasterKey::Generate();
  impl_->master = &other;
  EXPECT_FALSE(impl_->OpenLogin(*sealed, login.state).ok());
  impl_->master = &master_;
  // Too old.
  clock_.Advance(std::chrono::minutes(16));
  const auto expired = impl_->OpenLogin(*sealed, login.state);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(PortalImplTest, SessionsAreFoundByTheirCookieOnly) {
  auto cookie = impl_->CreateSession(Person(), SomeTokens());
  ASSERT_TRUE(cookie.ok()) << cookie.error().message;
  auto found = impl_->FindSession(*cookie);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->national_id, "АЁ72121600");
  EXPECT_EQ((*found)->access_token, "access-1");
  EXPECT_GE((*found)->csrf.size(), 32U);
  // The database keeps a hash of the cookie, never the cookie.
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  auto ids = (*conn)->Query("SELECT id, refresh_sealed FROM portal_session");
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 1U);
  EXPECT_NE((*ids)[0].Text(0), *cookie);
  // Nor the refresh token in the clear.
  EXPECT_EQ((*ids)[0].Text(1).find("refresh-secret-1"), std::string::npos);
  auto refresh = impl_->RefreshTokenOf((*found)->id);
  ASSERT_TRUE(refresh.ok()) << refresh.error().message;
  EXPECT_EQ(*refresh, "refresh-secret-1");

  std::string other = *cookie;
  other.back() = other.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(impl_->FindSession(other)->has_value());
  EXPECT_FALSE(impl_->FindSession("")->has_value());
  EXPECT_FALSE(impl_->FindSession("short")->has_value());
}

TEST_F(PortalImplTest, ASealedRefreshTokenOpensOnlyForItsSession) {
  auto first = impl_->CreateSession(Person(), SomeTokens());
  auto second = impl_->CreateSession(Person(), SomeTokens());
  ASSERT_TRUE(first.ok() && second.ok());
  const auto first_id = (*impl_->FindSession(*first))->id;
  const auto second_id = (*impl_->FindSession(*second))->id;
  // Copy the first session's sealed token onto the second: it must not open there.
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  const store::Value ids[] = {first_id, second_id};
  ASSERT_TRUE((*conn)
                  ->Execute("UPDATE portal_session SET refresh_sealed = (SELECT refresh_sealed "
                            "FROM portal_session WHERE id = $1) WHERE id = $2",
                            ids)
                  .ok());
  EXPECT_FALSE(impl_->RefreshTokenOf(second_id).ok());
  EXPECT_TRUE(impl_->RefreshTokenOf(first_id).ok());
}

TEST_F(PortalImplTest, SessionsEndAndExpire) {
  auto cookie = impl_->CreateSession(Person(), SomeTokens());
  ASSERT_TRUE(cookie.ok());
  const auto id = (*impl_->FindSession(*cookie))->id;
  auto ended = impl_->EndSession(id);
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(*ended, "refresh-secret-1");  // handed back to be revoked at Dan
  EXPECT_FALSE(impl_->FindSession(*cookie)->has_value());

  // Used every 20 minutes it lives its 12 hours; then it ends.
  auto later = impl_->CreateSession(Person(), SomeTokens());
  ASSERT_TRUE(later.ok());
  for (int i = 0; i < 35; ++i) {
    clock_.Advance(std::chrono::minutes(20));
    ASSERT_TRUE(impl_->FindSession(*later)->has_value()) << i;
  }
  clock_.Advance(std::chrono::minutes(20));
  EXPECT_FALSE(impl_->FindSession(*later)->has_value());
  // Left alone for more than half an hour it ends too.
  auto idle = impl_->CreateSession(Person(), SomeTokens());
  ASSERT_TRUE(idle.ok());
  clock_.Advance(std::chrono::minutes(31));
  EXPECT_FALSE(impl_->FindSession(*idle)->has_value());
  auto swept = impl_->Sweep();
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(*swept, 2U);
  auto conn = db_->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(*(*conn)->QueryInt("SELECT COUNT(*) FROM portal_session"), 0);
}

TEST_F(PortalImplTest, NewTokensReplaceTheOldOnes) {
  auto cookie = impl_->CreateSession(Person(), SomeTokens());
  ASSERT_TRUE(cookie.ok());
  const auto id = (*impl_->FindSession(*cookie))->id;
  Tokens next = SomeTokens();
  next.access_token = "access-2";
  next.refresh_token = "refresh-secret-2";
  ASSERT_TRUE(impl_->StoreTokens(id, next).ok());
  EXPECT_EQ((*impl_->FindSession(*cookie))->access_token, "access-2");
  EXPECT_EQ(*impl_->RefreshTokenOf(id), "refresh-secret-2");
}

TEST_F(PortalImplTest, FormFieldsAreLabelledAndEscaped) {
  std::vector<services::FormField> fields = {
      {.name = "street", .type = "string", .label = {{"en", "Street <b>"}}, .required = true},
      {.name = "rooms", .type = "integer", .label = {{"en", "Rooms"}}, .required = false},
      {.name = "moved", .type = "date", .label = {{"en", "Moved on"}}, .required = true},
      {.name = "owner", .type = "boolean", .label = {{"en", "I own it"}}, .required = false}};
  const json values = {{"street", "\"><script>alert(1)</script>"}, {"owner", true}};
  const auto html = impl_->FormFields(Lang{"en"}, fields, values, "form.");
  EXPECT_NE(html.find("<label for=\"f-form.street\">Street &lt;b&gt; <span>(required)</span>"),
            std::string::npos);
  EXPECT_NE(html.find("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""),
            std::string::npos);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("type=\"number\" id=\"f-form.rooms\" name=\"form.rooms\""),
            std::string::npos);
  EXPECT_NE(html.find("type=\"date\" id=\"f-form.moved\""), std::string::npos);
  EXPECT_NE(html.find("<input type=\"checkbox\" id=\"f-form.owner\" name=\"form.owner\" "
                      "value=\"true\" checked>I own it</label>"),
            std::string::npos);
  // Every input has a label naming it.
  for (const auto* id : {"f-form.street", "f-form.rooms", "f-form.moved", "f-form.owner"}) {
    EXPECT_NE(html.find(std::string("for=\"") + id + "\""), std::string::npos) << id;
  }

  auto form = http::Form::Parse("form.street=Peace+Ave&form.rooms=3&form.moved=2026-11-01");
  ASSERT_TRUE(form.ok());
  auto read = impl_->ReadFormFields(*form, fields, "form.");
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(
      *read,
      json({{"street", "Peace Ave"}, {"rooms", 3}, {"moved", "2026-11-01"}, {"owner", false}}));
  auto bad = http::Form::Parse("form.rooms=3x");
  ASSERT_TRUE(bad.ok());
  auto refused = impl_->ReadFormFields(*bad, fields, "form.");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().field, "rooms");
}

TEST_F(PortalImplTest, EntriesAreShownAsText) {
  const json form = {{"street", "<img src=x onerror=alert(1)>"}, {"rooms", 3}, {"owner", true}};
  const auto html = impl_->EntriesList(Lang{"en"}, nullptr, form, Text{"", "Entries", "", ""});
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_NE(html.find("<dd>&lt;img src=x onerror=alert(1)&gt;</dd>"), std::string::npos);
  EXPECT_NE(html.find("<dd>3</dd>"), std::string::npos);
  EXPECT_NE(html.find("<dd>Yes</dd>"), std::string::npos);
}

TEST(PortalForm, AVersionMustBeAPositiveNumber) {
  for (const auto* body : {"version=0", "version=-1", "version=", "version=3x", "other=1"}) {
    auto form = http::Form::Parse(body);
    ASSERT_TRUE(form.ok());
    EXPECT_FALSE(VersionOf(*form).ok()) << body;
  }
  auto good = http::Form::Parse("version=7");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*VersionOf(*good), 7);
}

}  // namespace ulus::portal::test
