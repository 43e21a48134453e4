# PROJECTORD_FUZZ=ON makes this tree a fuzzing build: every layer is compiled with libFuzzer's coverage hooks,
# AddressSanitizer and UndefinedBehaviorSanitizer, and each input parser gets a libFuzzer program fuzz_TARGET
# from tests/fuzz/TARGET.cpp (target fuzz_targets builds them all). Only clang provides libFuzzer, so such a
# tree is configured apart from the ordinary one: tests/fuzz/build.sh does that for the `fuzz: ` tests
# (docs/testing.md).

# TARGET:LAYER, the layer being the lowest one that has what the target parses.
set(PROJECTORD_FUZZ_TARGETS config_loader:projectord_handlers payload_codec:projectord_sources
  stream_entry:projectord_sources event_path:projectord_handlers http_endpoints:projectord_daemon
  control_payload:projectord_daemon)

option(PROJECTORD_FUZZ "Build the libFuzzer targets under tests/fuzz, all code with ASan and UBSan (clang only)" OFF)
if(PROJECTORD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "PROJECTORD_FUZZ needs clang (libFuzzer): configure with CXX=clang++")
  endif()
  # A UB report must fail the run like a crash does, so it is never recovered from. UBSan's `function` check
  # is left out: with coverage instrumentation, clang 14 cannot assemble its prologue data in the coroutines'
  # split functions ("Cannot represent a difference across sections"), and all it catches is a call through a
  # function pointer of the wrong type.
  set(PROJECTORD_SANITIZERS -fsanitize=address,undefined -fno-sanitize=function -fno-sanitize-recover=undefined)
  add_compile_options(-fsanitize=fuzzer-no-link ${PROJECTORD_SANITIZERS} -fno-omit-frame-pointer)
  add_link_options(${PROJECTORD_SANITIZERS})
  # The targets link the layers, which the top-level file defines after including this one.
  cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL projectord_fuzz_targets)
endif()

function(projectord_fuzz_targets)
  add_custom_target(fuzz_targets)
  foreach(entry IN LISTS PROJECTORD_FUZZ_TARGETS)
    string(REPLACE ":" ";" entry "${entry}")
    list(GET entry 0 target)
    list(GET entry 1 layer)
    add_executable(fuzz_${target} "${CMAKE_SOURCE_DIR}/tests/fuzz/${target}.cpp")
    target_link_libraries(fuzz_${target} PRIVATE ${layer})
    target_include_directories(fuzz_${target} PRIVATE "${PROJECTORD_tests_INCLUDE_ROOT}")
    target_link_options(fuzz_${target} PRIVATE -fsanitize=fuzzer)
    add_dependencies(fuzz_targets fuzz_${target})
  endforeach()
endfunction()
