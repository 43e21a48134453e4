#!/usr/bin/env bash
# Installs projectord into a temporary prefix, builds examples/custom_handler against it with
# find_package(projectord), and runs that daemon against the test PostgreSQL (PROJECTORD_TEST_PG): its own
# keys are in --help and check-config's file:line errors, and its `orders` read model ends with the totals.
# Usage: custom_handler.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir=$1
build_dir=$2
: "${PROJECTORD_TEST_PG:?the test PostgreSQL (scripts/test.sh sets it)}"

work=$(mktemp -d -t projectord-example.XXXXXX)
database="projectord_example_$$"
cleanup() {
  psql "$PROJECTORD_TEST_PG" -qc "DROP DATABASE IF EXISTS $database" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$source_dir/examples/custom_handler" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_PREFIX_PATH="$work/prefix" "${launcher[@]}" >/dev/null
cmake --build "$work/build" -j2 >/dev/null
daemon=$work/build/orders-projectord

# grep reads the whole help: with -q it may exit at the match, and the daemon's later writes then fail with
# SIGPIPE, which pipefail reports as a failure.
"$daemon" --help | grep "amount_path .*(only: orders)" >/dev/null || fail "--help lacks the orders keys"

psql "$PROJECTORD_TEST_PG" -qc "CREATE DATABASE $database" >/dev/null
url="$PROJECTORD_TEST_PG dbname=$database"
psql "$url" -q >/dev/null <<'SQL'
CREATE TABLE order_events (id bigserial PRIMARY KEY, stream_id text NOT NULL, type text NOT NULL,
                           data jsonb NOT NULL);
INSERT INTO order_events (stream_id, type, data) VALUES
  ('o1', 'OrderPlaced', '{"customer_id": "ada", "amount": 1200}'),
  ('o2', 'OrderPlaced', '{"customer_id": "bob", "amount": 500}'),
  ('o2', 'OrderCancelled', '{"customer_id": "bob"}'),
  ('o3', 'OrderPlaced', '{"customer_id": "ada", "amount": 300}');
SQL

cat >"$work/orders.toml" <<TOML
[database]
url = "$url"
[http]
listen = ""
[sources.shop]
preset = "generic"
table = "order_events"
position_column = "id"
stream_id_column = "stream_id"
type_column = "type"
payload_column = "data"
[handlers.totals]
kind = "orders"
amount_path = "data.amount"
TOML
sed 's/amount_path = "data.amount"/amount_path = "data..amount"/' "$work/orders.toml" >"$work/bad.toml"
if output=$("$daemon" --config "$work/bad.toml" check-config 2>&1); then fail "check-config accepted a bad amount_path"; fi
grep -q "bad.toml:14: handlers.totals.amount_path: " <<<"$output" || fail "check-config said: $output"

"$daemon" --config "$work/orders.toml" migrate >/dev/null
"$daemon" --config "$work/orders.toml" run --exit-when-caught-up 2>"$work/run.log" || fail "run: $(cat "$work/run.log")"
totals=$(psql "$url" -tAc "SELECT string_agg(customer_id || '=' || orders || '/' || total, ' ' ORDER BY customer_id)
                           FROM customer_order_totals")
[[ $totals == "ada=2/1500 bob=1/500" ]] || fail "customer_order_totals holds: $totals"
echo "ok: $totals"
