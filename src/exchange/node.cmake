# The security server. Defines ulus_exchange_node (DEPS the other exchange rooms, http, store).
ulus_module(exchange_node
  SOURCES
    ${CMAKE_CURRENT_SOURCE_DIR}/node.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/node_messages.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/node_provider.cpp
  DEPS ulus_core ulus_crypto ulus_store ulus_http ulus_exchange_protocol ulus_exchange_log
       ulus_exchange_config
  PRIVATE_DEPS spdlog::spdlog nlohmann_json::nlohmann_json)

if(ULUS_BUILD_TESTS)
  ulus_test(exchange_node_test
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/node_test.cpp
    DEPS ulus_exchange_node ulus_exchange_authority ulus_exchange_config ulus_store ulus_crypto
         ulus_http)
endif()

if(ULUS_BUILD_TESTS)
  ulus_test(exchange_node_store_pgtest
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/node_store_pgtest.cpp
    DEPS ulus_exchange_node ulus_exchange_log ulus_store ulus_store_testing ulus_crypto
         Threads::Threads
    LABELS pg)
endif()
