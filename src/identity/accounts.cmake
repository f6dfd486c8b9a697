# Accounts, sign-up, login pages, throttling, roles. Defines ulus_identity_accounts and its tests.
ulus_module(identity_accounts
  SOURCES accounts.cpp account_api.cpp account_pages.cpp login_pages.cpp login_pages_common.cpp
    qr_svg.cpp signup_pages.cpp throttle.cpp
  DEPS ulus_identity_base
  PRIVATE_DEPS spdlog::spdlog PkgConfig::QRENCODE)

if(ULUS_BUILD_TESTS)
  ulus_test(identity_accounts_test SOURCES accounts_test.cpp DEPS ulus_identity_accounts)
  ulus_test(identity_login_pages_test SOURCES login_pages_test.cpp DEPS ulus_identity_accounts)
endif()
