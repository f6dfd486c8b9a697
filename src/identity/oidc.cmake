# The OpenID Connect provider. Defines ulus_identity_oidc (DEPS ulus_identity_base
# ulus_identity_keys) and its tests. OpenSSL only for SHA-512 (EdDSA ID tokens' at_hash).
ulus_module(identity_oidc
  SOURCES api_caller.cpp oidc_authorize.cpp oidc_clients.cpp oidc_provider.cpp oidc_token.cpp
          oidc_tokens.cpp
  DEPS ulus_identity_base ulus_identity_keys
  PRIVATE_DEPS yaml-cpp spdlog::spdlog OpenSSL::Crypto)

if(ULUS_BUILD_TESTS)
  ulus_test(identity_oidc_test SOURCES oidc_clients_test.cpp oidc_flow_test.cpp
    DEPS ulus_identity_oidc)
endif()
