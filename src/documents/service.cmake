# Templates, issuing, revocation, verification and its audit, the HTTP routes and the
# verification page. Defines ulus_documents_service.
ulus_module(documents_service
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/templates.cpp ${CMAKE_CURRENT_SOURCE_DIR}/documents.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/documents_api.cpp ${CMAKE_CURRENT_SOURCE_DIR}/verify_page.cpp
  DEPS ulus_core ulus_crypto ulus_store ulus_http ulus_identity_base ulus_identity_keys
       ulus_identity_accounts ulus_identity_oidc ulus_documents_credentials ulus_documents_pdf
  PRIVATE_DEPS yaml-cpp spdlog::spdlog)

if(ULUS_BUILD_TESTS)
  ulus_test(documents_service_test
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/documents_service_test.cpp
    DEPS ulus_documents_service ulus_store_testing)
  ulus_test(documents_service_pgtest
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/documents_service_pgtest.cpp
    DEPS ulus_documents_service ulus_store_testing
    LABELS pg)
  foreach(t documents_service_test documents_service_pgtest)
    target_compile_definitions(${t} PRIVATE ULUS_PACKS_DIR="${PROJECT_SOURCE_DIR}/packs")
  endforeach()
endif()
