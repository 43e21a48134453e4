#!/usr/bin/env bash
# The projectord demo: a Django-style event store (eventsourcing_django's stored_events, zlib payloads) is
# filled with user events, projectord projects them into read models (user_projection, user_event_log,
# signups_per_day), keeps tailing while more events arrive, and the result is shown with psql. Beside it a
# Redis stream of page views is projected into page_views, and registrations are published to a Redis
# stream (a side effect).
# Everything lives in ./var: PostgreSQL in var/pg (wiped at the start of each run), Redis in var/redis, the
# daemon's log in var/projectord.log.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/deps.sh
source scripts/lib/deps.sh
# shellcheck source=scripts/lib/servers.sh
source scripts/lib/servers.sh

readonly CONFIG=examples/projectord.toml
readonly APP=Shop  # application_name of the events; examples/projectord.toml filters the source on it
readonly SEED=1
readonly INITIAL_EVENTS=3000
readonly LIVE_ROUNDS=4 LIVE_EVENTS_PER_ROUND=250
readonly CATCH_UP_TIMEOUT=60
readonly PAGE_VIEWS=300
readonly VAR_DIR=$PWD/var PG_DIR=$PWD/var/pg REDIS_DIR=$PWD/var/redis DAEMON_LOG=$PWD/var/projectord.log

step() { printf '\n==> %s\n' "$*"; }

daemon_pid=""
stop_daemon() {
  local pid=$daemon_pid deadline=$((SECONDS + 35))
  daemon_pid=""
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "projectord did not stop within 35 s of SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  local rc=0
  wait "$pid" 2>/dev/null || rc=$?
  return "$rc"
}
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  stop_daemon || true
  stop_servers
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_packages
step "Building"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)" --target projectord projectord-demo-writer

step "Starting a throwaway PostgreSQL in var/pg"
stop_leftover_postgres "$PG_DIR"  # a run that was killed too hard to clean up
if [[ -L $PG_DIR ]]; then
  rm -rf "$(readlink "$PG_DIR")"
fi
rm -rf "$PG_DIR"
mkdir -p "$VAR_DIR"
chmod 755 "$VAR_DIR"
if ((EUID == 0)) && ! runuser -u postgres -- test -x "$VAR_DIR"; then
  # The server runs as the postgres user, which cannot reach this checkout (e.g. under /root).
  pg_real_dir=$(mktemp -d -t projectord-demo-pg.XXXXXX)
  chmod 755 "$pg_real_dir"
  ln -s "$pg_real_dir" "$PG_DIR"
  echo "note: the postgres user cannot reach $VAR_DIR; var/pg links to $pg_real_dir"
fi
start_postgres "$PG_DIR"
"$PROJECTORD_PG_BINDIR/createdb" -h 127.0.0.1 -p "$PROJECTORD_PG_PORT" -U postgres demo
export PROJECTORD_DATABASE_URL="host=127.0.0.1 port=$PROJECTORD_PG_PORT user=postgres dbname=demo"

step "Starting a throwaway Redis in var/redis"
rm -rf "$REDIS_DIR"
start_redis "$REDIS_DIR"
redis_demo() { redis-cli -h 127.0.0.1 -p "$PROJECTORD_REDIS_PORT" "$@"; }
# The web tier's page views: users u1..u20 visiting five paths.
view_pages() {
  redis_demo EVAL "for i = 1, tonumber(ARGV[1]) do
      local paths = {'/', '/pricing', '/docs', '/signup', '/account'}
      redis.call('XADD', KEYS[1], '*', 'type', 'PageViewed', 'stream_id', 'u' .. (i % 20 + 1),
                 'data', '{\"path\": \"' .. paths[i % 5 + 1] .. '\"}')
    end return tonumber(ARGV[1])" 1 user-activity "$1" >/dev/null
}

psql_demo() {
  "$PROJECTORD_PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -P pager=off -d "$PROJECTORD_DATABASE_URL" "$@"
}
write_events() {
  build/examples/projectord-demo-writer --url "$PROJECTORD_DATABASE_URL" --app "$APP" --zlib --seed "$SEED" \
    --events "$1"
}
status() {
  build/projectord status --config "$CONFIG"
}
# True when `projectord status` shows at least one handler and lag=0 on every line that has a lag.
caught_up() {
  local out lags
  out=$(status 2>&1) || return 1
  lags=$(grep -oE '(^|[[:space:]])lag=[0-9]+' <<<"$out" | tr -d ' \t') || return 1
  [[ -n $lags ]] && ! grep -qvx 'lag=0' <<<"$lags"
}
# shellcheck disable=SC2317  # invoked by wait_until
page_views_counted() {
  [[ $(psql_demo -At -c "SELECT coalesce(sum(views), 0) FROM page_views" 2>/dev/null) == "$PAGE_VIEWS" ]]
}
# shellcheck disable=SC2317  # invoked by wait_until
feed_has() { (($(redis_demo XLEN user-feed) >= $1)); }
# Runs `command...` every 0.2 s until it succeeds; at `deadline` (a value of $SECONDS) says that it did not,
# with `failure` and the end of the daemon's log, and ends the demo.
wait_until() {
  local deadline=$1 failure=$2
  shift 2
  until "$@"; do
    if ((SECONDS >= deadline)); then
      echo "$failure within $CATCH_UP_TIMEOUT s; the end of var/projectord.log:" >&2
      tail -n 30 "$DAEMON_LOG" >&2
      exit 1
    fi
    sleep 0.2
  done
}

step "Writing $INITIAL_EVENTS events into stored_events, as a Django app with eventsourcing_django would"
write_events "$INITIAL_EVENTS"

step "projectord migrate"
build/projectord migrate --config "$CONFIG"

step "projectord run (log: var/projectord.log)"
build/projectord run --config "$CONFIG" </dev/null >"$DAEMON_LOG" 2>&1 &
daemon_pid=$!

step "Adding $PAGE_VIEWS page views to the Redis stream user-activity while it runs"
view_pages "$PAGE_VIEWS"

step "Writing $((LIVE_ROUNDS * LIVE_EVENTS_PER_ROUND)) more events while it runs"
for ((round = 1; round <= LIVE_ROUNDS; round++)); do
  write_events "$LIVE_EVENTS_PER_ROUND"
done

step "Waiting until every handler has caught up (lag=0, at most $CATCH_UP_TIMEOUT s)"
deadline=$((SECONDS + CATCH_UP_TIMEOUT))
until caught_up; do
  if ! kill -0 "$daemon_pid" 2>/dev/null; then
    echo "projectord exited early; the end of var/projectord.log:" >&2
    tail -n 30 "$DAEMON_LOG" >&2
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    echo "projectord did not catch up within $CATCH_UP_TIMEOUT s; status and the end of its log:" >&2
    status >&2 || true
    tail -n 30 "$DAEMON_LOG" >&2
    exit 1
  fi
  sleep 0.2
done
wait_until "$deadline" "page_views did not reach $PAGE_VIEWS views" page_views_counted
echo "caught up after $((SECONDS + CATCH_UP_TIMEOUT - deadline)) s"

step "Read model: user_projection"
psql_demo -c "SELECT count(*) AS users, count(*) FILTER (WHERE is_active) AS active FROM user_projection"
psql_demo -c "SELECT username, email, first_name, last_name, phone, is_active, current_version
              FROM user_projection ORDER BY username LIMIT 10"

step "Audit log: user_event_log, per event type"
psql_demo -c "SELECT event_type, count(*) FROM user_event_log GROUP BY event_type ORDER BY event_type"
psql_demo -c "SELECT (SELECT count(*) FROM stored_events WHERE application_name = '$APP') AS stored_events,
                     (SELECT count(*) FROM user_event_log) AS logged_events"

step "Declarative SQL projection: signups_per_day"
psql_demo -c "SELECT * FROM signups_per_day ORDER BY 1"

step "From Redis: page_views, projected from the stream user-activity"
psql_demo -c "SELECT * FROM page_views ORDER BY views DESC, path"
printf 'entries the group projectord:page_views has not acknowledged: '
redis_demo XPENDING user-activity projectord:page_views | head -n 1

step "To Redis: the side effect user_feed published registrations and deactivations to the stream user-feed"
registrations=$(psql_demo -At -c "SELECT count(*) FROM user_event_log
                                  WHERE event_type IN ('UserRegistered', 'UserDeactivated')")
wait_until $((SECONDS + CATCH_UP_TIMEOUT)) "user-feed did not reach $registrations entries" \
  feed_has "$registrations"
echo "XLEN user-feed: $(redis_demo XLEN user-feed) (registrations and deactivations in user_event_log: $registrations)"
redis_demo XREVRANGE user-feed + - COUNT 1

step "projectord status"
status

step "HTTP endpoints of the running daemon (127.0.0.1:9464)"
for path in /healthz /readyz; do
  printf 'GET %s -> ' "$path"
  curl -sS "http://127.0.0.1:9464$path"
done
echo "GET /status ->"
curl -sS http://127.0.0.1:9464/status | python3 -m json.tool
echo "GET /metrics (projectord_events_applied_total):"
curl -sS http://127.0.0.1:9464/metrics | grep '^projectord_events_applied_total'

step "Read-your-writes: append 5 events, then GET /wait until user_projection shows the last one"
write_events 5
newest=$(psql_demo -At -c "SELECT max(id) FROM stored_events")
printf 'GET /wait/users?position=%s -> ' "$newest"
curl -sS "http://127.0.0.1:9464/wait/users?position=$newest&timeout_ms=5000"

step "Blue/green rebuild of user_projection (projectord rebuild users) while the old copy keeps serving"
table_before=$(psql_demo -At -c "SELECT 'user_projection'::regclass::oid")
build/projectord rebuild users --config "$CONFIG"
wait_until $((SECONDS + CATCH_UP_TIMEOUT)) "the rebuild did not finish" \
  grep -q 'handler=users event=rebuild_ended swapped=true' "$DAEMON_LOG"
grep -E 'handler=users event=(rebuild_started|rebuild_swapped)' "$DAEMON_LOG" | sed 's/^/  log: /'
psql_demo -c "SELECT count(*) AS users, '$table_before' AS table_before,
                     'user_projection'::regclass::oid AS table_after FROM user_projection"

step "Stopping projectord (SIGTERM)"
daemon_rc=0
stop_daemon || daemon_rc=$?
echo "projectord exited with status $daemon_rc"
stop_servers
echo
echo "Demo finished. PostgreSQL data stays in var/pg until the next run; the daemon's log is var/projectord.log."
exit "$daemon_rc"
