# The central authority and its certificate authority, and a node's enrollment with it. Defines
# ulus_exchange_authority (DEPS ulus_core ulus_crypto ulus_store ulus_http ulus_exchange_config).
ulus_module(exchange_authority
  SOURCES
    ${CMAKE_CURRENT_SOURCE_DIR}/certificates.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/authority.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/enrollment.cpp
  DEPS ulus_core ulus_crypto ulus_store ulus_http ulus_exchange_config
  PRIVATE_DEPS OpenSSL::SSL OpenSSL::Crypto spdlog::spdlog nlohmann_json::nlohmann_json)
# OpenSSL 3 EVP interfaces only: a deprecated low-level call fails to compile.
target_compile_definitions(ulus_exchange_authority PRIVATE
  OPENSSL_API_COMPAT=30000 OPENSSL_NO_DEPRECATED)

if(ULUS_BUILD_TESTS)
  ulus_test(exchange_certificates_test
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/certificates_test.cpp
    DEPS ulus_exchange_authority ulus_http OpenSSL::SSL OpenSSL::Crypto)
  target_compile_definitions(exchange_certificates_test PRIVATE
    OPENSSL_API_COMPAT=30000 OPENSSL_NO_DEPRECATED)
  ulus_test(exchange_authority_test
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/authority_test.cpp
    DEPS ulus_exchange_authority ulus_store ulus_http ulus_crypto Threads::Threads)
  ulus_test(exchange_authority_pgtest
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/authority_pgtest.cpp
    DEPS ulus_exchange_authority ulus_store ulus_store_testing ulus_crypto Threads::Threads
    LABELS pg)
endif()
