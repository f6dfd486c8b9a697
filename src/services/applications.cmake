# Applications: submission, Khur pulls, claims, the review workflow, inboxes, attachments and
# one-stop centre filings, and their HTTP face. Defines ulus_services_applications.
ulus_module(services_applications
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/applications.cpp ${CMAKE_CURRENT_SOURCE_DIR}/fulfilment.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/khur_exchange.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/applications_api.cpp
  DEPS ulus_core ulus_crypto ulus_store ulus_http ulus_services_catalogue ulus_documents_service
       ulus_identity_accounts ulus_identity_oidc
  PRIVATE_DEPS spdlog::spdlog)

if(ULUS_BUILD_TESTS)
  ulus_test(services_applications_test
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/applications_test.cpp
    DEPS ulus_services_applications ulus_store_testing)
  ulus_test(services_applications_pgtest
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/applications_pgtest.cpp
    DEPS ulus_services_applications ulus_store_testing
    LABELS pg)
  foreach(t services_applications_test services_applications_pgtest)
    target_compile_definitions(${t} PRIVATE ULUS_PACKS_DIR="${PROJECT_SOURCE_DIR}/packs")
  endforeach()
endif()
