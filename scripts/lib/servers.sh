# shellcheck shell=bash
# Throwaway PostgreSQL 15 and Redis servers for the tests and the demo: loopback only, random free ports,
# all state in a directory the caller chooses (and removes). Sourced by scripts/*.sh; call the functions
# directly (not in $(...)) because they export variables and remember what to stop.
#
#   start_postgres DIR  -> PROJECTORD_PG_PORT, PROJECTORD_PG_CONNINFO (dbname=postgres, user postgres, trust),
#                          PROJECTORD_PG_BINDIR (initdb, pg_ctl, psql, createdb, ...)
#   start_redis DIR     -> PROJECTORD_REDIS_PORT, PROJECTORD_REDIS_URL (redis://127.0.0.1:PORT),
#                          PROJECTORD_REDIS_SOCKET (DIR/redis.sock; empty when DIR is too deep for a socket)
#   start_pgbouncer DIR -> PROJECTORD_PGBOUNCER_PORT, PROJECTORD_PGBOUNCER_CONNINFO (dbname=postgres, user
#                          postgres): pgbouncer in transaction pooling in front of start_postgres's server
#   stop_servers        stops whatever they started; safe to call twice and from an EXIT trap
#   stop_leftover_postgres DIR   stops a server a crashed earlier run left running in DIR

_projectord_pg_data=""
_projectord_redis_pid=""
_projectord_pgbouncer_pidfile=""

# Seconds a server gets to come up or shut down.
PROJECTORD_SERVER_TIMEOUT=${PROJECTORD_SERVER_TIMEOUT:-60}

# Prints a TCP port on 127.0.0.1 that was free a moment ago (start_* retry if another process takes it).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Polls "$@" until it succeeds; fails after TIMEOUT seconds.
_wait_for() {
  local timeout=$1
  shift
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 0.1
  done
}

# initdb, pg_ctl and postgres refuse to run as root: as root they run as the postgres system user.
_as_pg_owner() {
  if ((EUID == 0)); then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

_pg_bindir() {
  local bindir
  bindir=$(pg_config --bindir 2>/dev/null || true)
  if [[ ! -x $bindir/initdb ]]; then
    bindir=/usr/lib/postgresql/15/bin
  fi
  if [[ ! -x $bindir/initdb ]]; then
    echo "start_postgres: initdb not found (is postgresql-15 installed?)" >&2
    return 1
  fi
  printf '%s\n' "$bindir"
}

start_postgres() {
  local dir=${1:?usage: start_postgres DIR}
  local bindir
  bindir=$(_pg_bindir) || return 1
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  if ((EUID == 0)); then
    chown postgres:postgres "$dir"
    if ! runuser -u postgres -- test -w "$dir" -a -x "$dir"; then
      echo "start_postgres: the postgres user cannot reach $dir; make its parent directories traversable" \
        "(chmod o+x) or use a directory under /tmp" >&2
      return 1
    fi
  fi

  _as_pg_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    return 1
  }
  # A Unix socket path is limited to 107 bytes; a deep directory gets TCP only.
  local socket_dir=$dir
  if ((${#dir} > 80)); then
    socket_dir=""
  fi
  cat >>"$dir/data/postgresql.conf" <<EOF

# projectord throwaway server (scripts/lib/servers.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$socket_dir'
shared_buffers = 128MB
max_connections = 200
fsync = on
EOF
  # Callers may add or override settings (later lines win), e.g. bench/run.sh sizes the server for a
  # million-event store.
  if [[ -n ${PROJECTORD_PG_SETTINGS:-} ]]; then
    printf '%s\n' "$PROJECTORD_PG_SETTINGS" >>"$dir/data/postgresql.conf"
  fi
  cat >"$dir/data/pg_hba.conf" <<'EOF'
local all all trust
host  all all 127.0.0.1/32 trust
EOF
  _projectord_pg_data=$dir/data

  local attempt port
  for attempt in 1 2 3; do
    port=$(free_port)
    # pg_ctl -w polls until the server accepts connections or the postmaster dies.
    if _as_pg_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "-p $port" \
      -w -t "$PROJECTORD_SERVER_TIMEOUT" start >/dev/null; then
      if _wait_for "$PROJECTORD_SERVER_TIMEOUT" \
        "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; then
        export PROJECTORD_PG_PORT=$port
        export PROJECTORD_PG_CONNINFO="host=127.0.0.1 port=$port user=postgres dbname=postgres"
        export PROJECTORD_PG_BINDIR=$bindir
        echo "start_postgres: PostgreSQL $("$bindir/postgres" -V | awk '{print $3}') on 127.0.0.1:$port" \
          "(data in $dir/data)" >&2
        return 0
      fi
      _as_pg_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    echo "start_postgres: attempt $attempt on port $port failed" >&2
  done
  tail -n 20 "$dir/postgres.log" >&2 || true
  return 1
}

_redis_answers() {
  [[ $(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]]
}

start_redis() {
  local dir=${1:?usage: start_redis DIR}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  local attempt port pid deadline socket=$dir/redis.sock
  # A Unix socket path is limited to 107 bytes; a deep directory gets TCP only.
  if ((${#socket} > 100)); then
    socket=""
  fi
  for attempt in 1 2 3; do
    port=$(free_port)
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
      ${socket:+--unixsocket "$socket" --unixsocketperm 700} --dir "$dir" >>"$dir/redis.log" 2>&1 &
    pid=$!
    deadline=$((SECONDS + PROJECTORD_SERVER_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
      if _redis_answers "$port"; then
        _projectord_redis_pid=$pid
        export PROJECTORD_REDIS_PORT=$port
        export PROJECTORD_REDIS_URL="redis://127.0.0.1:$port"
        export PROJECTORD_REDIS_SOCKET=$socket
        echo "start_redis: Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2) on 127.0.0.1:$port" >&2
        return 0
      fi
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "start_redis: attempt $attempt on port $port failed" >&2
  done
  tail -n 20 "$dir/redis.log" >&2 || true
  return 1
}

# pgbouncer in pool_mode = transaction in front of the server start_postgres started (PROJECTORD_PG_PORT):
# every database of that server under its own name, few server connections per database and user so that
# clients really share them. Trust as the server has it: any user the server knows (auth_query asks it).
start_pgbouncer() {
  local dir=${1:?usage: start_pgbouncer DIR}
  if [[ -z ${PROJECTORD_PG_PORT:-} ]]; then
    echo "start_pgbouncer: start_postgres first" >&2
    return 1
  fi
  if ! command -v pgbouncer >/dev/null; then
    echo "start_pgbouncer: pgbouncer not found (is the pgbouncer package installed?)" >&2
    return 1
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  if ((EUID == 0)); then
    chown postgres:postgres "$dir"
  fi
  local attempt port pidfile=$dir/pgbouncer.pid
  for attempt in 1 2 3; do
    port=$(free_port)
    cat >"$dir/pgbouncer.ini" <<EOF
; projectord throwaway pooler (scripts/lib/servers.sh)
[databases]
* = host=127.0.0.1 port=$PROJECTORD_PG_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
pidfile = $pidfile
logfile = $dir/pgbouncer.log
pool_mode = transaction
default_pool_size = 4
max_client_conn = 1000
auth_type = trust
auth_user = postgres
auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename = \$1
auth_file = $dir/userlist.txt
admin_users = postgres
EOF
    printf '"postgres" ""\n' >"$dir/userlist.txt"
    if ((EUID == 0)); then
      chown postgres:postgres "$dir/pgbouncer.ini" "$dir/userlist.txt"
    fi
    if _as_pg_owner pgbouncer -d -q "$dir/pgbouncer.ini" 2>>"$dir/pgbouncer.stderr" &&
      _wait_for "$PROJECTORD_SERVER_TIMEOUT" \
        "$PROJECTORD_PG_BINDIR/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c 'SELECT 1'; then
      _projectord_pgbouncer_pidfile=$pidfile
      export PROJECTORD_PGBOUNCER_PORT=$port
      export PROJECTORD_PGBOUNCER_CONNINFO="host=127.0.0.1 port=$port user=postgres dbname=postgres"
      echo "start_pgbouncer: PgBouncer $(pgbouncer --version | awk 'NR == 1 {print $2}') on 127.0.0.1:$port" \
        "(transaction pooling in front of 127.0.0.1:$PROJECTORD_PG_PORT)" >&2
      return 0
    fi
    if [[ -f $pidfile ]]; then
      kill -9 "$(cat "$pidfile")" 2>/dev/null || true
    fi
    echo "start_pgbouncer: attempt $attempt on port $port failed" >&2
  done
  tail -n 20 "$dir/pgbouncer.stderr" "$dir/pgbouncer.log" >&2 || true
  return 1
}

# Stops the PostgreSQL whose data directory is DIR/data if one is still running there.
stop_leftover_postgres() {
  local data=${1:?usage: stop_leftover_postgres DIR}/data
  if [[ -f $data/postmaster.pid ]]; then
    _as_pg_owner "$(_pg_bindir)/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
}

stop_servers() {
  if [[ -n $_projectord_pgbouncer_pidfile ]]; then
    local pidfile=$_projectord_pgbouncer_pidfile
    _projectord_pgbouncer_pidfile=""
    if [[ -f $pidfile ]]; then
      # SIGINT: pgbouncer's safe shutdown, which closes its server connections before the server stops.
      local bouncer deadline=$((SECONDS + 10))
      bouncer=$(cat "$pidfile")
      kill -INT "$bouncer" 2>/dev/null || true
      while kill -0 "$bouncer" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.05
      done
      kill -9 "$bouncer" 2>/dev/null || true
    fi
  fi
  if [[ -n $_projectord_redis_pid ]]; then
    local pid=$_projectord_redis_pid deadline=$((SECONDS + 10))
    _projectord_redis_pid=""
    kill "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
      sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [[ -n $_projectord_pg_data ]]; then
    local data=$_projectord_pg_data
    _projectord_pg_data=""
    if ! _as_pg_owner "$(_pg_bindir)/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1; then
      # pg_ctl could not stop it cleanly: kill the postmaster; its children exit when it is gone.
      if [[ -f $data/postmaster.pid ]]; then
        kill -9 "$(head -n 1 "$data/postmaster.pid")" 2>/dev/null || true
      fi
    fi
  fi
}
