# Signing keys and consent. Defines ulus_identity_keys (DEPS ulus_identity_base) and its tests.
ulus_module(identity_keys
  SOURCES keystore.cpp consent.cpp consent_api.cpp
  DEPS ulus_identity_base
  PRIVATE_DEPS spdlog::spdlog)

if(ULUS_BUILD_TESTS)
  ulus_test(identity_keys_test SOURCES keystore_test.cpp consent_test.cpp
    DEPS ulus_identity_keys)
  # Needs SoftHSM2; skips without it unless ULUS_REQUIRE_SOFTHSM is set.
  ulus_test(identity_keys_pkcs11_test SOURCES keystore_pkcs11_test.cpp DEPS ulus_identity_keys)
endif()
