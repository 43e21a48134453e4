#!/usr/bin/env bash
# Runs black-box scenarios (catch-up and live, rebuilds under writes, reload, webhooks, Redis streams, Celery,
# HTTP, systemd notify) with every projectord they start under strace, then fails when the daemon made a
# system call that the shipped unit's SystemCallFilter= denies: under systemd that call would kill the daemon
# or fail.
#
#   tests/syscalls/run.sh BLACKBOX_TESTS UNIT_FILE
set -euo pipefail
blackbox=${1:?usage: run.sh BLACKBOX_TESTS UNIT_FILE}
unit=${2:?usage: run.sh BLACKBOX_TESTS UNIT_FILE}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

traces=$(mktemp -d -t projectord-syscalls.XXXXXX)
trap 'rm -rf "$traces"' EXIT
# -D keeps projectord the direct child of the test, so that signals reach it and not strace.
export PROJECTORD_TEST_DAEMON_WRAPPER="strace -D -f -qq -ff -o $traces/trace --"

# Wildcards without commas: Catch2 splits a test spec at every comma.
scenarios=(
  "*follows live writes woken by NOTIFY*"
  "*serves health*"
  "*sends READY once every handler is connected*"
  "*rebuild under a steady write load*"
  "*yields the CPU (nice 10)*"
  "on SIGHUP added handlers start*"
  "reloads while a changed webhook*"
  "*follows its stream across a Redis restart*"
  "a celery handler queues*"
)
# Every scenario must run: a renamed test would otherwise drop out of the check unnoticed.
for scenario in "${scenarios[@]}"; do
  if [[ -z $("$blackbox" --list-test-names-only "$scenario" | grep -v '^$' || true) ]]; then
    echo "no black-box test matches '$scenario'" >&2
    exit 1
  fi
done
spec=$(IFS=,; echo "${scenarios[*]}")
"$blackbox" "$spec"
python3 "$here/check_filter.py" "$unit" "$traces"
