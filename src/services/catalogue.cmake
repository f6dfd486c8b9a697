# The service catalogue. Defines ulus_services_catalogue.
find_package(ICU REQUIRED COMPONENTS uc i18n data)

ulus_module(services_catalogue
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/catalogue.cpp ${CMAKE_CURRENT_SOURCE_DIR}/catalogue_api.cpp
  DEPS ulus_core ulus_crypto ulus_http
  PRIVATE_DEPS ICU::i18n ICU::uc ICU::data yaml-cpp)

if(ULUS_BUILD_TESTS)
  ulus_test(services_catalogue_test
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/catalogue_test.cpp
    DEPS ulus_services_catalogue)
  target_compile_definitions(services_catalogue_test
                             PRIVATE ULUS_PACKS_DIR="${PROJECT_SOURCE_DIR}/packs")
endif()
if(ULUS_BUILD_BENCHMARKS)
  add_executable(services_catalogue_benchmark ${CMAKE_CURRENT_SOURCE_DIR}/catalogue_benchmark.cpp)
  target_link_libraries(services_catalogue_benchmark PRIVATE ulus_services_catalogue
                        benchmark::benchmark ulus_warnings)
endif()
if(ULUS_BUILD_BENCHMARKS)
  target_compile_definitions(services_catalogue_benchmark
                             PRIVATE ULUS_PACKS_DIR="${PROJECT_SOURCE_DIR}/packs")
endif()
