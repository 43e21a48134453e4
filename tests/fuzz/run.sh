#!/usr/bin/env bash
# Runs one libFuzzer program for a bounded time over a copy of its checked-in seed corpus (the run adds the
# inputs it finds to the copy, never to the tree). Fails on any crash, leak, sanitizer report or violated
# property; the input that caused it is kept in ARTIFACT_DIR, from where it goes into the corpus with the fix.
# Usage: run.sh PROGRAM CORPUS_DIR ARTIFACT_DIR SECONDS [LIBFUZZER_FLAG...]
set -euo pipefail
program=$1
corpus=$2
artifacts=$3
seconds=$4
shift 4

[[ -x $program ]] || { echo "FAIL: $program was not built (the address-sanitized tree builds it: tests/fuzz/build.sh)" >&2; exit 1; }
work=$(mktemp -d -t projectord-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp -R "$corpus"/. "$work/corpus"/
mkdir -p "$artifacts"

# -timeout: one input taking this long is a hang; -rss_limit_mb: an input that makes the process this big is
# a finding too (the payload codec bounds what zlib may inflate to 64 MiB). Nice: the other tests share the
# machine.
if ! nice "$program" "$work/corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$artifacts/" -print_final_stats=1 "$@" >"$work/log" 2>&1; then
  tail -n 80 "$work/log" >&2
  echo "FAIL: $(basename "$program") found an input; it is in $artifacts" >&2
  exit 1
fi
grep -E '^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+ *DONE)' "$work/log" || true
