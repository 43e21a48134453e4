#!/usr/bin/env bash
# Configures and builds the libFuzzer targets (cmake/fuzz.cmake) in their own tree, BUILD_DIR, with clang:
# every layer they link is compiled with the sanitizers there too. The `fuzz: build` test runs it once before
# the `fuzz: ` tests. Asserts stay on and optimisation is light: a fuzzer wants checks and quick compiles more
# than speed, and line tables are enough for the reports' stack traces.
# Usage: build.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir=$1
build_dir=$2

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
CC=clang CXX=clang++ cmake -S "$source_dir" -B "$build_dir" "${generator[@]}" "${launcher[@]}" \
  -DPROJECTORD_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" >/dev/null
nice cmake --build "$build_dir" --target fuzz_targets -j2
