# Base45, the EU DCC and ICAO transliteration. Defines ulus_documents_formats.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBCBOR REQUIRED IMPORTED_TARGET libcbor)
find_package(ZLIB REQUIRED)

ulus_module(documents_formats
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/base45.cpp ${CMAKE_CURRENT_SOURCE_DIR}/dcc.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/transliteration.cpp
  DEPS ulus_core ulus_crypto
  PRIVATE_DEPS PkgConfig::LIBCBOR ZLIB::ZLIB OpenSSL::Crypto)

if(ULUS_BUILD_TESTS)
  ulus_test(documents_base45_test
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/base45_test.cpp
    DEPS ulus_documents_formats)
  # The test writes its own CBOR and zlib to build tampered codes, and runs the independent
  # Python verifier in tests/documents when python3 with cbor2 and cryptography is there.
  ulus_test(documents_dcc_test
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/dcc_test.cpp
    DEPS ulus_documents_formats ulus_crypto ZLIB::ZLIB)
  target_compile_definitions(documents_dcc_test PRIVATE
    ULUS_DCC_CHECK_SCRIPT="${PROJECT_SOURCE_DIR}/tests/documents/dcc_check.py")
endif()
