# The message log. Defines ulus_exchange_log (DEPS ulus_core ulus_crypto ulus_store).
ulus_module(exchange_log
  SOURCES
    ${CMAKE_CURRENT_SOURCE_DIR}/batch_signer.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/message_log.cpp
  DEPS ulus_core ulus_crypto ulus_store
  PUBLIC_THIRD_PARTY Boost::headers
  PRIVATE_DEPS spdlog::spdlog nlohmann_json::nlohmann_json)

if(ULUS_BUILD_TESTS)
  ulus_test(exchange_batch_signer_test
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/batch_signer_test.cpp
    DEPS ulus_exchange_log ulus_crypto ulus_store_testing)
  ulus_test(exchange_message_log_test
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/message_log_test.cpp
    DEPS ulus_exchange_log ulus_store ulus_crypto ulus_store_testing)
endif()

if(ULUS_BUILD_TESTS)
  ulus_test(exchange_message_log_pgtest
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/message_log_pgtest.cpp
    DEPS ulus_exchange_log ulus_store ulus_store_testing ulus_crypto Threads::Threads
    LABELS pg)
endif()
