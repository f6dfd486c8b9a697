# The W3C credential as a JWT, disclosures, the trust and revocation lists, and verification.
# Defines ulus_documents_credentials (DEPS ulus_documents_formats).
ulus_module(documents_credentials
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/credential.cpp ${CMAKE_CURRENT_SOURCE_DIR}/trust_list.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/verifier.cpp
  DEPS ulus_core ulus_crypto ulus_documents_formats)

if(ULUS_BUILD_TESTS)
  ulus_test(documents_verifier_test
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/verifier_test.cpp
    DEPS ulus_documents_credentials)
endif()
if(ULUS_BUILD_BENCHMARKS)
  add_executable(documents_benchmark ${CMAKE_CURRENT_SOURCE_DIR}/documents_benchmark.cpp)
  target_link_libraries(documents_benchmark PRIVATE ulus_documents_credentials ulus_documents_pdf
                        benchmark::benchmark ulus_warnings)
endif()
