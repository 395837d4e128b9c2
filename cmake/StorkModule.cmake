include_guard(GLOBAL)
include(GoogleTest)

# stork_module(<name>
#   SOURCES  <files>     the library stork::<name>, paths relative to the module folder
#   DEPENDS  <targets>   what the library links publicly
#   TESTS    <files>     one GoogleTest executable <name>_test, paths relative to tests/<name>/
#   TEST_DEPENDS <targets>  built before the tests run (e.g. the binaries process tests start)
#   BENCHES  <files>     one Google Benchmark executable <name>_bench, relative to bench/<name>/)
#
# One call makes the three (userver's UserverModule.cmake does the same). Tests are
# labelled by the suffix of their suite name so that a module keeps one executable:
#   suite_name            -> unit      pure code, no sockets, no processes
#   suite_name_loopback   -> loopback  real sockets on 127.0.0.1 inside the test process
#   suite_name_process    -> process   starts the project's binaries or real servers
function(stork_module name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;DEPENDS;TESTS;TEST_DEPENDS;BENCHES")
  if(arg_SOURCES)
    add_library(stork_${name} STATIC ${arg_SOURCES})
    target_link_libraries(stork_${name} PUBLIC stork_flags ${arg_DEPENDS})
  else()
    # A module whose first code lands with a later issue: it already has its place in
    # the dependency graph.
    add_library(stork_${name} INTERFACE)
    target_link_libraries(stork_${name} INTERFACE stork_flags ${arg_DEPENDS})
  endif()
  add_library(stork::${name} ALIAS stork_${name})

  if(STORK_TESTS AND arg_TESTS)
    list(TRANSFORM arg_TESTS PREPEND ${PROJECT_SOURCE_DIR}/tests/${name}/)
    add_executable(${name}_test ${arg_TESTS})
    set_target_properties(${name}_test PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
    target_link_libraries(${name}_test PRIVATE stork_${name} stork_test_support GTest::gmock GTest::gtest_main)
    if(arg_TEST_DEPENDS)
      add_dependencies(${name}_test ${arg_TEST_DEPENDS})
    endif()
    foreach(label IN ITEMS unit loopback process)
      if(label STREQUAL "unit")
        set(filter "-*_loopback.*:*_process.*")
        set(timeout 60)
      else()
        set(filter "*_${label}.*")
        set(timeout 300)
      endif()
      gtest_discover_tests(${name}_test
        TEST_PREFIX "${name}."
        TEST_FILTER "${filter}"
        DISCOVERY_MODE PRE_TEST
        DISCOVERY_TIMEOUT 60
        PROPERTIES LABELS ${label} TIMEOUT ${timeout})
    endforeach()
  endif()

  if(STORK_BENCH AND arg_BENCHES)
    list(TRANSFORM arg_BENCHES PREPEND ${PROJECT_SOURCE_DIR}/bench/${name}/)
    add_executable(${name}_bench ${arg_BENCHES})
    set_target_properties(${name}_bench PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
    target_link_libraries(${name}_bench PRIVATE stork_${name} benchmark::benchmark benchmark::benchmark_main)
  endif()
endfunction()

# stork_fuzz_target(<name> SOURCE <file> DEPENDS <targets> CORPUS <dir>)
#
# A libFuzzer entry point (LLVMFuzzerTestOneInput). With STORK_LIBFUZZER (clang) it
# links -fsanitize=fuzzer and becomes a real fuzzer; otherwise it links a small driver
# that runs every file of the seed corpus once. Either way the corpus replays as the
# ctest case fuzz.<name> (label fuzz), so every seed and every saved crash stays a test.
function(stork_fuzz_target name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "SOURCE;CORPUS" "DEPENDS")
  add_executable(${name}_fuzz ${arg_SOURCE})
  set_target_properties(${name}_fuzz PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/fuzz)
  target_link_libraries(${name}_fuzz PRIVATE ${arg_DEPENDS})
  if(STORK_LIBFUZZER)
    target_compile_options(${name}_fuzz PRIVATE -fsanitize=fuzzer)
    target_link_options(${name}_fuzz PRIVATE -fsanitize=fuzzer)
    add_test(NAME fuzz.${name} COMMAND ${name}_fuzz -runs=0 ${arg_CORPUS})
  else()
    target_sources(${name}_fuzz PRIVATE ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.cpp)
    add_test(NAME fuzz.${name} COMMAND ${name}_fuzz ${arg_CORPUS})
  endif()
  set_tests_properties(fuzz.${name} PROPERTIES LABELS fuzz TIMEOUT 300)
endfunction()
