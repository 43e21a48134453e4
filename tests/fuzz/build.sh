#!/usr/bin/env bash
# Configures BUILD_DIR as the address-sanitized tree (scripts/lib/trees.sh, cmake/sanitize.cmake) and builds
# the libFuzzer targets there; scripts/test.sh builds them with the rest of that tree, build/asan.
# Usage: build.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir=$1
build_dir=$2
# shellcheck source=scripts/lib/trees.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/trees.sh"

configure_tree address "$source_dir" "$build_dir"
nice cmake --build "$build_dir" --target fuzz_targets -j2
