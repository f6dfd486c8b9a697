# The global configuration. Defines ulus_exchange_config (DEPS ulus_core ulus_crypto
# ulus_exchange_protocol).
ulus_module(exchange_config
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/global_config.cpp
  DEPS ulus_core ulus_crypto ulus_exchange_protocol
  PRIVATE_DEPS spdlog::spdlog)

if(ULUS_BUILD_TESTS)
  ulus_test(exchange_global_config_test
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/global_config_test.cpp
    DEPS ulus_exchange_config ulus_crypto)
endif()
