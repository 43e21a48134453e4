# shellcheck shell=bash
# The build trees the tests run in, configured here and nowhere else. Sourced by scripts/test.sh and
# tests/fuzz/build.sh.
#   ordinary  build/       the compiler and flags that ship
#   address   build/asan   clang, ASan + LSan + UBSan, and the libFuzzer targets (cmake/sanitize.cmake)
#   thread    build/tsan   clang, TSan
# A sanitized tree keeps asserts and optimises lightly: checks and quick compiles matter more there than
# speed, and line tables are enough for the reports' stack traces.

# configure_tree KIND SOURCE_DIR BUILD_DIR: configures (or reconfigures) one tree of KIND.
configure_tree() {
  local kind=$1 source_dir=$2 build_dir=$3 options=()
  command -v ccache >/dev/null && options+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # A generator can only be chosen for a new tree.
  [[ ! -f $build_dir/CMakeCache.txt ]] && command -v ninja >/dev/null && options+=(-G Ninja)
  case $kind in
    ordinary)
      cmake -S "$source_dir" -B "$build_dir" "${options[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ;;
    address | thread)
      CC=clang CXX=clang++ cmake -S "$source_dir" -B "$build_dir" "${options[@]}" -DPROJECTORD_SANITIZE="$kind" \
        -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" >/dev/null ;;
    *)
      echo "configure_tree: KIND is ordinary, address or thread, not '$kind'" >&2
      return 1 ;;
  esac
}

# tree_dir KIND: where scripts/test.sh keeps the tree of KIND.
tree_dir() {
  case $1 in
    ordinary) echo build ;;
    address) echo build/asan ;;
    thread) echo build/tsan ;;
  esac
}
