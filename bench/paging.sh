#!/usr/bin/env bash
# Event paging benchmark: the latency of GET /api/v1/initiatives/{key}/events?limit=100
# should not depend on how many events the initiative holds.
#
#   bash bench/paging.sh                                  # SQLite and PostgreSQL, 10 k and 5 M
#   BACKENDS=sqlite SIZES="10000 1000000" bash bench/paging.sh
#
# For each backend and size: a fresh database made by `offerlab migrate`, an initiative
# created and launched over HTTP, then SIZE exposure events bulk-inserted straight into the
# events table with one SQL statement (recursive CTE on SQLite, generate_series on
# PostgreSQL; minutes instead of hours through HTTP; aggregates are not needed to page).
# The release server then answers REQUESTS requests per page over one keep-alive
# connection (curl -w time_total): the first page, and a deep page (cursor in the middle).
# Prints p50/p90 per case.
#
# Environment:
#   BACKENDS      sqlite, postgres or "sqlite postgres" (default)
#   SIZES         events in the initiative (default "10000 5000000")
#   REQUESTS      requests per page (default 200)
#   PG_ADMIN_URL  PostgreSQL admin URL (default postgres://offerlab:offerlab@127.0.0.1:5432/postgres);
#                 a database offerlab_bench_paging is created and dropped
#   SKIP_BUILD    1: use target/release/offerlab as built
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
BACKENDS=${BACKENDS:-sqlite postgres}
SIZES=${SIZES:-10000 5000000}
REQUESTS=${REQUESTS:-200}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://offerlab:offerlab@127.0.0.1:5432/postgres}
target_dir=${CARGO_TARGET_DIR:-$repo/target}

die() { echo "paging.sh: $*" >&2; exit 1; }
for tool in curl sqlite3 psql awk; do
  command -v "$tool" >/dev/null || die "$tool is needed"
done
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  cargo build --release --quiet --bin offerlab
fi
bin=$target_dir/release/offerlab
[[ -x "$bin" ]] || die "no $bin"

work=$(mktemp -d "${TMPDIR:-/tmp}/offerlab-paging.XXXXXX")
server_pid=""
pg_db=offerlab_bench_paging
pg_base=${PG_ADMIN_URL%/*}
stop_server() {
  if [[ -n "$server_pid" ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
cleanup() {
  stop_server
  psql -q "$PG_ADMIN_URL" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

export OFFERLAB__LOG__FILTER=warn
export OFFERLAB__LIMITS__REQUESTS_PER_SECOND_PER_KEY=0

# quantiles FILE: "p50 p90" in milliseconds of the seconds in FILE.
quantiles() {
  sort -n "$1" | awk '{ v[NR] = $1 } END {
    printf "%.2f %.2f", 1000 * v[int((NR + 1) * 0.5)], 1000 * v[int(NR * 0.9)] }'
}

# measure URL: one curl process, REQUESTS transfers on one connection.
measure() {
  local url=$1 args=() i
  for ((i = 0; i < REQUESTS; i++)); do args+=(-o /dev/null "$url"); done
  # One warm-up round first: the first request opens the connection.
  curl -fsS -o /dev/null -H "Authorization: Bearer $key" "$url"
  curl -fsS -w '%{time_total}\n' -H "Authorization: Bearer $key" "${args[@]}" \
    >"$work/times"
  quantiles "$work/times"
}

results=()
for backend in $BACKENDS; do
  for size in $SIZES; do
    case $backend in
      sqlite)
        rm -f "$work"/bench.db*
        db="sqlite://$work/bench.db"
        ;;
      postgres)
        psql -q "$PG_ADMIN_URL" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null
        psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE $pg_db" >/dev/null
        db="$pg_base/$pg_db"
        ;;
      *) die "unknown backend $backend" ;;
    esac
    "$bin" migrate --database "$db" >/dev/null
    key=$("$bin" keys create --role admin --label bench --database "$db" | tail -n 1)
    "$bin" serve --database "$db" --bind 127.0.0.1:0 >"$work/server.log" 2>&1 &
    server_pid=$!
    port=""
    for _ in $(seq 300); do
      port=$(sed -n 's#.*listening on http://[^:]*:\([0-9][0-9]*\).*#\1#p' "$work/server.log" | head -n 1)
      [[ -n "$port" ]] && break
      kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; die "server exited"; }
      sleep 0.1
    done
    [[ -n "$port" ]] || die "server did not start"
    api=http://127.0.0.1:$port/api/v1
    post() {
      curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $key" ${2:+--data "$2"} "$api$1" || die "POST $1"
    }
    post /segments '{"key":"smb","name":"Small businesses"}'
    post /initiatives '{"key":"bench","name":"Bench","kind":"value_engineering","hypothesis":"h","owner_team":"growth","offer":{"price_cents":1900,"currency":"EUR"},"core_segments":["smb"],"criteria":{"target_preorder_rate":0.05}}'
    post /initiatives/bench/launch

    start=$(date +%s.%N)
    columns="initiative_id, event_id, event_type, customer_id, occurred_at, received_at, segment"
    case $backend in
      sqlite)
        sqlite3 "$work/bench.db" "PRAGMA busy_timeout = 10000;
          INSERT INTO events ($columns)
          WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $size)
          SELECT (SELECT id FROM initiatives WHERE key = 'bench'), 'e' || i, 'exposure', 'c' || i,
                 '2026-11-25 10:00:00', '2026-11-25 10:00:00', 'smb' FROM n;" >/dev/null
        ;;
      postgres)
        # ANALYZE as autovacuum would after such a load, so the plan is the steady one.
        psql -q "$db" -c "INSERT INTO events ($columns)
          SELECT (SELECT id FROM initiatives WHERE key = 'bench'), 'e' || i, 'exposure', 'c' || i,
                 TIMESTAMP '2026-11-25 10:00:00', TIMESTAMP '2026-11-25 10:00:00', 'smb'
          FROM generate_series(1, $size) AS i" -c "ANALYZE events" >/dev/null
        ;;
    esac
    load=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
    echo "== $backend, $size events loaded in ${load} s"

    first=$(measure "$api/initiatives/bench/events?limit=100")
    # A cursor in the middle of the initiative's events.
    middle=$(curl -fsS -H "Authorization: Bearer $key" \
      "$api/initiatives/bench/events?limit=1&after=$((size / 2))" |
      sed -n 's/.*"next_cursor":"\([0-9]*\)".*/\1/p')
    [[ -n "$middle" ]] || die "no cursor"
    deep=$(measure "$api/initiatives/bench/events?limit=100&after=$middle")
    line="| $backend | $size | ${first% *} | ${first#* } | ${deep% *} | ${deep#* } |"
    echo "$line"
    results+=("$line")
    stop_server
  done
done

echo
echo "GET /api/v1/initiatives/bench/events?limit=100, $REQUESTS requests per page, one connection (ms)"
echo
echo "| backend | events | first page p50 | first page p90 | deep page p50 | deep page p90 |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${results[@]}"
