#!/usr/bin/env bash
# Builds projectord and runs every test (unit, integration, black-box) against a throwaway PostgreSQL 15
# and Redis on random loopback ports, removed again on exit. Extra arguments go to ctest, e.g.
#   ./scripts/test.sh -R unit        ./scripts/test.sh -R 'blackbox: ' --repeat until-fail:3
# --soak runs the fault suite's soak instead (PROJECTORD_SOAK_MINUTES, default 30), nothing else.
set -euo pipefail
soak=false
if [[ ${1:-} == --soak ]]; then
  soak=true
  shift
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/deps.sh
source scripts/lib/deps.sh
# shellcheck source=scripts/lib/servers.sh
source scripts/lib/servers.sh

ensure_packages "${PROJECTORD_PACKAGES[@]}" "${PROJECTORD_TEST_PACKAGES[@]}"
PROJECTORD_PROMTOOL=$(ensure_promtool "$PWD/build/tools/prometheus")
export PROJECTORD_PROMTOOL
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"

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
export PROJECTORD_TEST_PG="host=127.0.0.1 port=$PROJECTORD_PG_PORT user=postgres dbname=postgres"
export PROJECTORD_TEST_REDIS="redis://127.0.0.1:$PROJECTORD_REDIS_PORT"
export PROJECTORD_TEST_REDIS_SOCKET=$PROJECTORD_REDIS_SOCKET

# Each fault scenario appends its figures here (tests/faults/scenario_report.hpp); they are printed as one table.
export PROJECTORD_FAULT_REPORT="$tmp/fault-scenarios.tsv"

status=0
if $soak; then
  build/tests/fault_tests "[.soak]" || status=$?
else
  ctest --test-dir build --output-on-failure -j2 "$@" || status=$?
fi
if [[ -s $PROJECTORD_FAULT_REPORT ]]; then
  echo
  { printf 'scenario\tfaults\twritten\tapplied\tduplicates\tlosses\tpeak RSS\tfds start -> end\n'
    cat "$PROJECTORD_FAULT_REPORT"; } | column -t -s $'\t'
fi
exit "$status"
