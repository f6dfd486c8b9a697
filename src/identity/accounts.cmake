# Accounts, sign-up, login pages, throttling, roles. Defines ulus_identity_accounts and its tests.
ulus_module(identity_accounts
  SOURCES accounts.cpp account_api.cpp login_pages.cpp qr_svg.cpp throttle.cpp
  DEPS ulus_identity_base
  PRIVATE_DEPS spdlog::spdlog PkgConfig::QRENCODE)

if(ULUS_BUILD_TESTS)
  ulus_test(identity_accounts_test SOURCES accounts_test.cpp DEPS ulus_identity_accounts)
  ulus_test(identity_login_pages_test SOURCES login_pages_test.cpp DEPS ulus_identity_accounts)
endif()
