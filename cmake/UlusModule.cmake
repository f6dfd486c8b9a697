# Shared compile settings and helpers for Ulus modules and their tests.

add_library(ulus_warnings INTERFACE)
target_compile_options(ulus_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wconversion -Wsign-conversion -Wimplicit-fallthrough
  -Wno-missing-field-initializers)
# GCC 12 reports false -Wrestrict errors inside std::string's operator+ at -O2 and above
# (GCC bug 105329); the warning stays on for other compilers. -Wnull-dereference is left out
# for the same reason: at -O2 GCC 12 flags std::string and Asio internals.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(ulus_warnings INTERFACE -Wno-restrict)
endif()
if(ULUS_WERROR)
  target_compile_options(ulus_warnings INTERFACE -Werror)
endif()
if(ULUS_SANITIZE)
  target_compile_options(ulus_warnings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  target_link_options(ulus_warnings INTERFACE -fsanitize=address,undefined)
endif()

# ulus_module(NAME SOURCES ... DEPS ... PRIVATE_DEPS ...)
# Declares library ulus_<NAME> with a public include/ folder; DEPS are other Ulus modules
# (public), PRIVATE_DEPS are third-party libraries kept out of the module's public face.
function(ulus_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;PRIVATE_DEPS;PUBLIC_THIRD_PARTY" ${ARGN})
  add_library(ulus_${name} STATIC ${M_SOURCES})
  target_include_directories(ulus_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                          PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(ulus_${name} PUBLIC ${M_DEPS} ${M_PUBLIC_THIRD_PARTY}
                                     PRIVATE ulus_warnings ${M_PRIVATE_DEPS})
endfunction()

# ulus_test(NAME SOURCES ... DEPS ... [LABELS ...])
# A GoogleTest executable registered with CTest. Label "pg" marks tests that need PostgreSQL.
function(ulus_test name)
  cmake_parse_arguments(T "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main ulus_warnings)
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  add_test(NAME ${name} COMMAND ${name})
  if(T_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT 300)
endfunction()
