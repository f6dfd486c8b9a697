# The X-Road message protocol for REST. Defines ulus_exchange_protocol (DEPS ulus_core ulus_crypto ulus_http).
ulus_module(exchange_protocol
  SOURCES identifiers.cpp protocol.cpp
  DEPS ulus_core ulus_crypto ulus_http
  PRIVATE_DEPS OpenSSL::Crypto)

if(ULUS_BUILD_TESTS)
  ulus_test(exchange_identifiers_test SOURCES identifiers_test.cpp DEPS ulus_exchange_protocol)
  ulus_test(exchange_protocol_test SOURCES protocol_test.cpp
    DEPS ulus_exchange_protocol OpenSSL::Crypto)
endif()
