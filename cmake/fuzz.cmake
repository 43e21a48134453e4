# The libFuzzer targets: each input parser gets a program fuzz_TARGET from tests/fuzz/TARGET.cpp (target
# fuzz_targets builds them all). They are built in the address-sanitized tree (cmake/sanitize.cmake), whose
# layers carry libFuzzer's coverage hooks; the `fuzz: ` tests run them there (docs/testing.md).

# TARGET:LAYER, the layer being the lowest one that has what the target parses.
set(PROJECTORD_FUZZ_TARGETS config_loader:projectord_handlers payload_codec:projectord_sources
  stream_entry:projectord_sources event_path:projectord_handlers http_endpoints:projectord_daemon
  control_payload:projectord_daemon)

if(PROJECTORD_SANITIZE STREQUAL "address")
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
