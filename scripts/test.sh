#!/usr/bin/env bash
# Builds projectord and runs its tests against a throwaway PostgreSQL 15 and Redis on random loopback ports,
# removed again on exit, in phases, each in a build tree of its own (scripts/lib/trees.sh):
#   ordinary  build/       every test but the fuzz targets
#   address   build/asan   every test but the system call filter's, the installed package's and the fault
#                          scenarios, under ASan, LSan and UBSan, and each fuzz target for 30 s
#   thread    build/tsan   the tests that run code on several threads, under TSan
# Each phase says how long its build and its tests took and ends with its ctest summary; the run ends with the
# fault scenarios' table, then each failed test's name and the start of its output, then one line
# `N passed, N failed` (CI logs are often read from their end). The ordinary phase runs one test more at a time than there are cores (most of them wait
# on the servers and the daemons they start), a sanitized one as many as there are cores (a sanitizer's daemons
# and the fuzz targets keep the cores busy). A sanitizer report from a daemon a test started counts as a failure
# of its own (the reports of the test programs fail their tests). Flags come first; the other arguments go to
# ctest in every phase:
#   --quick   the ordinary phase only (what a developer runs between changes)
#   --soak    the fault suite's soak instead, in the ordinary tree (PROJECTORD_SOAK_MINUTES, default 30)
#   e.g.  ./scripts/test.sh --quick -R unit        ./scripts/test.sh -R blackbox: --repeat until-fail:3
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/deps.sh
source scripts/lib/deps.sh
# shellcheck source=scripts/lib/servers.sh
source scripts/lib/servers.sh
# shellcheck source=scripts/lib/trees.sh
source scripts/lib/trees.sh

phases=(ordinary address thread)
soak=false
while (($# > 0)); do
  case $1 in
    --quick) phases=(ordinary) ;;
    --soak) soak=true ;;
    *) break ;;
  esac
  shift
done
ctest_args=("$@")

ensure_packages "${PROJECTORD_PACKAGES[@]}" "${PROJECTORD_TEST_PACKAGES[@]}"
PROJECTORD_PROMTOOL=$(ensure_promtool "$PWD/build/tools/prometheus")
export PROJECTORD_PROMTOOL

tmp=$(mktemp -d -t projectord-test.XXXXXX)
chmod 755 "$tmp"  # the server runs as the postgres user when we are root
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  stop_servers
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_postgres "$tmp/pg"
start_redis "$tmp/redis"
start_pgbouncer "$tmp/pgbouncer"
export PROJECTORD_TEST_PG="host=127.0.0.1 port=$PROJECTORD_PG_PORT user=postgres dbname=postgres"
export PROJECTORD_TEST_REDIS="redis://127.0.0.1:$PROJECTORD_REDIS_PORT"
export PROJECTORD_TEST_REDIS_SOCKET=$PROJECTORD_REDIS_SOCKET
export PROJECTORD_TEST_PGBOUNCER=$PROJECTORD_PGBOUNCER_CONNINFO

# Each fault scenario appends its figures here (tests/faults/scenario_report.hpp); they are printed as one table.
export PROJECTORD_FAULT_REPORT="$tmp/fault-scenarios.tsv"

# sanitizer_environment KIND REPORT_DIR: prints the variables (NAME=VALUE, one a line) a phase's tests run
# with. Every report stops the process that made it. A daemon a test starts (through
# PROJECTORD_TEST_DAEMON_WRAPPER, tests/support/daemon_process.cpp) writes its reports into REPORT_DIR, since
# a test that kills its daemon never reads the daemon's log.
sanitizer_environment() {
  local kind=$1 reports=$2 asan ubsan tsan
  case $kind in
    address)
      asan="detect_leaks=1:halt_on_error=1"
      lsan="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
      ubsan="halt_on_error=1:print_stacktrace=1"
      echo "ASAN_OPTIONS=$asan"
      echo "LSAN_OPTIONS=$lsan"
      echo "UBSAN_OPTIONS=$ubsan"
      echo "PROJECTORD_TEST_DAEMON_WRAPPER=env ASAN_OPTIONS=$asan:log_path=$reports/asan LSAN_OPTIONS=$lsan UBSAN_OPTIONS=$ubsan:log_path=$reports/ubsan"
      ;;
    thread)
      tsan="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
      echo "TSAN_OPTIONS=$tsan"
      echo "PROJECTORD_TEST_DAEMON_WRAPPER=env TSAN_OPTIONS=$tsan:log_path=$reports/tsan"
      ;;
  esac
}

# failure_excerpts PHASE LOG: prints, from a ctest log written with --output-on-failure, each failed test's
# status line and the first lines of its output (ctest prints a failed test's output whole, right after its
# status line and before the next test's line).
failure_excerpts() {
  awk -v phase="$1" '
    /^ *[0-9]+\/[0-9]+ Test +#|^ *Start +[0-9]+:|^[0-9]+% tests passed/ { shown = 0 }
    /^ *[0-9]+\/[0-9]+ Test +#.*\*\*\*/ { print "-- " phase ": " $0; shown = 1; lines = 0; next }
    shown && lines++ < 40 { print "   " $0 }
  ' "$2"
}

# run_phase KIND: builds the tree of KIND, runs its tests, prints the summary and adds to the totals.
total_passed=0
total_failed=0
failures=$tmp/failures.txt
run_phase() {
  local kind=$1 dir reports log passed=0 failed=0 env=() report started jobs
  dir=$(tree_dir "$kind")
  reports=$tmp/sanitizer-reports-$kind
  log=$tmp/ctest-$kind.log
  mkdir -p "$reports"
  echo "== $kind: building $dir"
  started=$SECONDS
  configure_tree "$kind" . "$dir"
  cmake --build "$dir" -j"$(nproc)"
  echo "== $kind: built in $((SECONDS - started)) s"
  mapfile -t env < <(sanitizer_environment "$kind" "$reports")

  echo "== $kind: testing"
  started=$SECONDS
  jobs=$(nproc)
  [[ $kind == ordinary ]] && jobs=$((jobs + 1))
  env "${env[@]}" ctest --test-dir "$dir" --output-on-failure -j"$jobs" "${ctest_args[@]}" | tee "$log" || true
  echo "== $kind: tested in $((SECONDS - started)) s"
  # "100% tests passed, 0 tests failed out of 362"; no such line when no test ran or ctest itself failed.
  if [[ $(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1) =~ \
    ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
    failed=${BASH_REMATCH[1]}
    passed=$((BASH_REMATCH[2] - failed))
  elif ! grep -q 'No tests were found' "$log"; then
    failed=1
  fi
  failure_excerpts "$kind" "$log" >> "$failures"
  for report in "$reports"/*; do
    [[ -e $report ]] || continue
    echo "-- sanitizer report of a daemon a test started: $report"
    cat "$report"
    echo "-- $kind: a daemon's sanitizer report, $(basename "$report"): $(grep -m 1 -E 'ERROR|WARNING' "$report")" >> "$failures"
    failed=$((failed + 1))
  done
  echo "== $kind: $passed passed, $failed failed"
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
}

if $soak; then
  configure_tree ordinary . build
  cmake --build build -j"$(nproc)"
  build/tests/fault_tests "[.soak]"
  exit
fi
for phase in "${phases[@]}"; do
  run_phase "$phase"
done
if [[ -s $PROJECTORD_FAULT_REPORT ]]; then
  echo
  { printf 'scenario\tfaults\twritten\tapplied\tduplicates\tlosses\tpeak RSS\tfds start -> end\n'
    cat "$PROJECTORD_FAULT_REPORT"; } | column -t -s $'\t'
fi
if [[ -s $failures ]]; then
  echo
  echo "== failed:"
  cat "$failures"
fi
echo "$total_passed passed, $total_failed failed"
((total_failed == 0))
