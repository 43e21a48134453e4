#!/usr/bin/env bash
# Builds projectord and the benchmarks, starts a throwaway PostgreSQL 15 (fsync on, shared_buffers 1GB,
# max_wal_size 4GB) and Redis, runs the benchmarks and stops the servers.
#
#   bench/run.sh [catchup|live|metrics|rebuild|redis|scale|all] [--events N] [--naive-events K] [--read-models users|users+log] [--fold-memory SIZE] [--matrix-events M] [--matrix-rounds R] [--sql-events S] [--rate R] [--seconds S] [--metrics-events M] [--handlers H] [--wrk-seconds W] [--connections C] [--rebuild-events E] [--rebuild-rounds K] [--redis-entries N] [--webhook-events M] [--kills K] [--failover-rate F] [--failover-handlers H] [--scale-events E] [--webhook-latency-ms L] [--partition-events P] [--wide-events W] [--scale-part failover|throughput|webhook]
#
# bench-catchup runs three times: the demo's store (--events, --naive-events, --read-models and --fold-memory go
# to it), the matrix of every store preset and codec (--store all --codec all, --matrix-events and
# --matrix-rounds as its --events and --rounds), and the user model as a kind sql handler (--read-models sql, --sql-events as its
# --events, default 200,000, and --naive-events). --rate and --seconds (the live writer's rate and phase
# length) go to bench-live and bench-rebuild; bench-metrics gets --metrics-events as its --events, --handlers,
# --wrk-seconds as its --seconds, and --connections; bench-rebuild gets --rebuild-events as its --events and
# --rebuild-rounds as its --rounds; bench-redis gets --rate and --seconds too, --redis-entries as its --entries,
# and --webhook-events; bench-scale gets --kills, --failover-rate as its --rate, --failover-handlers,
# --scale-events as its --events, --webhook-latency-ms, --partition-events, --wide-events, and --scale-part as
# its --part (one part only).
# Installs wrk (Debian package) when bench-metrics runs without it. BUILD_DIR (default: build, relative to the
# repository, the same as scripts/test.sh) is the CMake build directory; only the daemon and the benchmark
# programs are built.
# Exits non-zero when a benchmark's checks fail.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/deps.sh
source "$root/scripts/lib/deps.sh"
# shellcheck source=scripts/lib/servers.sh
source "$root/scripts/lib/servers.sh"

usage() {
  echo "usage: $(sed -n 's/^#   //p' "${BASH_SOURCE[0]}" | head -n 1)" >&2
  exit 2
}

which=all
if (($# > 0)) && [[ $1 != -* ]]; then
  which=$1
  shift
fi
case $which in
  catchup | live | metrics | rebuild | redis | scale | all) ;;
  *) usage ;;
esac
catchup_args=()
matrix_args=()
sql_args=()
# The sql handler writes per event: at a million events it would take many minutes.
sql_events=200000
live_args=()
metrics_args=()
rebuild_args=()
redis_args=()
scale_args=()
while (($# > 0)); do
  (($# >= 2)) || usage
  case $1 in
    --events | --read-models | --fold-memory) catchup_args+=("$1" "$2") ;;
    --naive-events)
      catchup_args+=("$1" "$2")
      sql_args+=("$1" "$2")
      ;;
    --matrix-events) matrix_args+=(--events "$2") ;;
    --matrix-rounds) matrix_args+=(--rounds "$2") ;;
    --sql-events) sql_events=$2 ;;
    --rate | --seconds)
      live_args+=("$1" "$2")
      rebuild_args+=("$1" "$2")
      redis_args+=("$1" "$2")
      ;;
    --redis-entries) redis_args+=(--entries "$2") ;;
    --webhook-events) redis_args+=("$1" "$2") ;;
    --metrics-events) metrics_args+=(--events "$2") ;;
    --wrk-seconds) metrics_args+=(--seconds "$2") ;;
    --handlers | --connections) metrics_args+=("$1" "$2") ;;
    --rebuild-events) rebuild_args+=(--events "$2") ;;
    --rebuild-rounds) rebuild_args+=(--rounds "$2") ;;
    --kills) scale_args+=(--kills "$2") ;;
    --failover-rate) scale_args+=(--rate "$2") ;;
    --failover-handlers) scale_args+=("$1" "$2") ;;
    --scale-events) scale_args+=(--events "$2") ;;
    --webhook-latency-ms | --partition-events | --wide-events) scale_args+=("$1" "$2") ;;
    --scale-part) scale_args+=(--part "$2") ;;
    *) usage ;;
  esac
  shift 2
done

build_dir=${BUILD_DIR:-build}
[[ $build_dir == /* ]] || build_dir=$root/$build_dir
ensure_packages
if [[ $which == metrics || $which == all ]]; then
  ensure_packages "${PROJECTORD_BENCH_PACKAGES[@]}"
fi
cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" --parallel "$(nproc)" --target projectord bench-catchup bench-live bench-metrics \
  bench-rebuild bench-redis bench-scale >/dev/null

# Under /tmp: the postgres system user must reach the directory when we run as root.
work=$(mktemp -d /tmp/projectord-bench.XXXXXX)
chmod 755 "$work"
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  stop_servers
  rm -rf "$work"
}
trap cleanup EXIT
# Sized like a production server for a store of a million events (fsync stays on); the same server runs
# projectord and the baselines, so the ratios compare like with like. bench-metrics runs 100 handlers of
# two connections each.
export PROJECTORD_PG_SETTINGS="shared_buffers = 1GB
max_wal_size = 4GB
checkpoint_timeout = 15min
max_connections = 300"
start_postgres "$work/pg"
if [[ $which == redis || $which == all ]]; then
  start_redis "$work/redis"
fi

status=0
if [[ $which == catchup || $which == all ]]; then
  "$build_dir/bench/bench-catchup" --url "$PROJECTORD_PG_CONNINFO" --projectord "$build_dir/projectord" \
    "${catchup_args[@]}" || status=1
  echo
  "$build_dir/bench/bench-catchup" --url "$PROJECTORD_PG_CONNINFO" --projectord "$build_dir/projectord" \
    --store all --codec all "${matrix_args[@]}" || status=1
  echo
  "$build_dir/bench/bench-catchup" --url "$PROJECTORD_PG_CONNINFO" --projectord "$build_dir/projectord" \
    --read-models sql --events "$sql_events" "${sql_args[@]}" || status=1
fi
if [[ $which == live || $which == all ]]; then
  if [[ $which == all ]]; then
    echo
  fi
  "$build_dir/bench/bench-live" --url "$PROJECTORD_PG_CONNINFO" --projectord "$build_dir/projectord" \
    "${live_args[@]}" || status=1
fi
if [[ $which == metrics || $which == all ]]; then
  if [[ $which == all ]]; then
    echo
  fi
  "$build_dir/bench/bench-metrics" --url "$PROJECTORD_PG_CONNINFO" --projectord "$build_dir/projectord" \
    --wrk "$(command -v wrk)" "${metrics_args[@]}" || status=1
fi
if [[ $which == rebuild || $which == all ]]; then
  if [[ $which == all ]]; then
    echo
  fi
  "$build_dir/bench/bench-rebuild" --url "$PROJECTORD_PG_CONNINFO" --projectord "$build_dir/projectord" \
    "${rebuild_args[@]}" || status=1
fi
if [[ $which == redis || $which == all ]]; then
  if [[ $which == all ]]; then
    echo
  fi
  "$build_dir/bench/bench-redis" --url "$PROJECTORD_PG_CONNINFO" --redis "$PROJECTORD_REDIS_URL" \
    --projectord "$build_dir/projectord" --redis-benchmark "$(command -v redis-benchmark)" "${redis_args[@]}" || status=1
fi
if [[ $which == scale || $which == all ]]; then
  if [[ $which == all ]]; then
    echo
  fi
  "$build_dir/bench/bench-scale" --url "$PROJECTORD_PG_CONNINFO" --projectord "$build_dir/projectord" \
    "${scale_args[@]}" || status=1
fi
exit "$status"
