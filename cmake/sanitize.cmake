# PROJECTORD_SANITIZE makes this tree a sanitized build, configured with clang apart from the ordinary one
# (scripts/lib/trees.sh; scripts/test.sh runs the tests in each, docs/testing.md):
#   address  AddressSanitizer with LeakSanitizer, UndefinedBehaviorSanitizer and libFuzzer's coverage hooks,
#            so that the layers compiled once serve both the whole test suite and the libFuzzer targets
#            (cmake/fuzz.cmake)
#   thread   ThreadSanitizer, for the tests that run code on several threads
# The tests see PROJECTORD_TEST_SANITIZED (tests/CMakeLists.txt): a bound that only holds without the
# sanitizer's own memory and time, such as a peak RSS, is relaxed through it and nowhere else.
set(PROJECTORD_SANITIZE "" CACHE STRING "Sanitized build (clang only): address (ASan, UBSan, fuzz targets) or thread (TSan)")
set_property(CACHE PROJECTORD_SANITIZE PROPERTY STRINGS "" address thread)

if(PROJECTORD_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "PROJECTORD_SANITIZE needs clang (the fuzz targets need libFuzzer): configure with CXX=clang++")
  endif()
  if(PROJECTORD_SANITIZE STREQUAL "address")
    # A UB report must fail the run like a crash does, so it is never recovered from. UBSan's `function`
    # check is left out: with coverage instrumentation, clang 14 cannot assemble its prologue data in the
    # coroutines' split functions ("Cannot represent a difference across sections"), and all it catches is a
    # call through a function pointer of the wrong type. The ASan runtime answers the coverage hooks in the
    # programs that are not fuzz targets, so the test programs link the same objects.
    set(projectord_sanitizer_flags -fsanitize=address,undefined -fno-sanitize=function
      -fno-sanitize-recover=undefined)
    add_compile_options(-fsanitize=fuzzer-no-link)
  elseif(PROJECTORD_SANITIZE STREQUAL "thread")
    set(projectord_sanitizer_flags -fsanitize=thread)
  else()
    message(FATAL_ERROR "PROJECTORD_SANITIZE is address or thread, not '${PROJECTORD_SANITIZE}'")
  endif()
  add_compile_options(${projectord_sanitizer_flags} -fno-omit-frame-pointer)
  add_link_options(${projectord_sanitizer_flags})
endif()
