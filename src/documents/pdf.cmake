# A document's page as PDF. Defines ulus_documents_pdf.
find_package(PkgConfig REQUIRED)
pkg_check_modules(PANGOCAIRO REQUIRED IMPORTED_TARGET pangocairo)
pkg_check_modules(QRENCODE REQUIRED IMPORTED_TARGET libqrencode)

ulus_module(documents_pdf
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/pdf.cpp
  DEPS ulus_core
  PRIVATE_DEPS PkgConfig::PANGOCAIRO PkgConfig::QRENCODE)

if(ULUS_BUILD_TESTS)
  # Reads the PDFs back with poppler-utils (pdfinfo, pdftotext, pdffonts, pdftoppm) and zbar-tools
  # (zbarimg); a case whose tool is missing is skipped.
  ulus_test(documents_pdf_test
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/pdf_test.cpp
    DEPS ulus_documents_pdf Threads::Threads)
endif()

if(ULUS_BUILD_BENCHMARKS)
  add_executable(pdf_benchmark ${CMAKE_CURRENT_SOURCE_DIR}/pdf_benchmark.cpp)
  target_link_libraries(pdf_benchmark PRIVATE ulus_documents_pdf benchmark::benchmark Threads::Threads
                                              ulus_warnings)
endif()
