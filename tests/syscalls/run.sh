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

scenarios=(
  "*follows live writes woken by NOTIFY*"
  "*serves health, readiness, status and metrics*"
  "*sends READY once every handler is connected*"
  "*rebuild under a steady write load*"
  "*yields the CPU (nice 10)*"
  "SIGHUP: added handlers start*"
  "*reloads while*"
  "*follows its stream across a Redis restart*"
  "celery: a real worker*"
)
spec=$(IFS=,; echo "${scenarios[*]}")
"$blackbox" "$spec"
python3 "$here/check_filter.py" "$unit" "$traces"
