#!/usr/bin/env bash
# Where PostgreSQL's time goes on the ingest path: one offerlab instance on a fresh database,
# one wrk scenario, then pg_stat_statements for that database (calls, execution and planning
# time per statement). The per-statement table in BENCHMARKS.md (issue 15) comes from it.
#
#   bash bench/pg_statements.sh single 64 10     # scenario (single | batch), connections, seconds
#   bash bench/pg_statements.sh batch 12 10
#
# Needs the pg_stat_statements module loaded by the server, e.g. (then restart the cluster):
#   echo "shared_preload_libraries = 'pg_stat_statements'
#   pg_stat_statements.track_planning = on" > /etc/postgresql/15/main/conf.d/statements.conf
# and a superuser to create the extension (SUPERUSER_PSQL, default: su postgres -c psql).
#
# Environment: POSTGRES_URL (a role that may CREATE DATABASE; default the CI one),
# OFFERLAB_BIN (default target/release/offerlab), PORT (18555), and any OFFERLAB__* setting,
# e.g. OFFERLAB__INGEST__WRITERS=2.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
scenario=${1:-single}; conns=${2:-64}; seconds=${3:-10}
POSTGRES_URL=${POSTGRES_URL:-postgres://offerlab:offerlab@127.0.0.1:5432/postgres}
OFFERLAB_BIN=${OFFERLAB_BIN:-$repo/target/release/offerlab}
PORT=${PORT:-18555}
[[ -x $OFFERLAB_BIN ]] || { echo "build first: cargo build --release" >&2; exit 1; }
db=offerlab_statements_$$
url=${POSTGRES_URL%/*}/$db
work=$(mktemp -d "${TMPDIR:-/tmp}/offerlab-statements.XXXXXX")
superuser() { if [[ -n ${SUPERUSER_PSQL:-} ]]; then $SUPERUSER_PSQL -d "$db" "$@"; else su postgres -c "psql -qX -d $db $(printf '%q ' "$@")"; fi; }
server=""
cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null && sleep 0.5
  psql -qX "$POSTGRES_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
psql -qX "$POSTGRES_URL" -c "CREATE DATABASE $db" >/dev/null
superuser -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' >/dev/null
export OFFERLAB__LOG__FILTER=warn OFFERLAB__LIMITS__REQUESTS_PER_SECOND_PER_KEY=0
key=$("$OFFERLAB_BIN" keys create --role admin --label statements --database "$url" | tail -n 1)
(cd "$work" && exec "$OFFERLAB_BIN" serve --database "$url" --bind "127.0.0.1:$PORT") >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 300); do grep -q 'listening on' "$work/server.log" && break; sleep 0.1; done
api=http://127.0.0.1:$PORT/api/v1
post() { curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $key" ${2:+--data "$2"} "$api$1"; }
post /segments '{"key":"smb","name":"Small businesses"}'
post /initiatives '{"key":"bench","name":"Bench","kind":"value_engineering","hypothesis":"h","owner_team":"growth","offer":{"price_cents":1900,"currency":"EUR"},"core_segments":["smb"],"criteria":{"target_preorder_rate":0.05}}'
post /initiatives/bench/launch
superuser -c 'SELECT pg_stat_statements_reset()' >/dev/null
BENCH_SECONDS=$seconds BENCH_TAG="st$$" BENCH_KEY=$key wrk -t1 -c"$conns" -d"$((seconds + 3))s" \
  --timeout 30s -s "bench/wrk/$scenario.lua" "$api/initiatives/bench/events" | grep '^BENCH'
superuser -c "SELECT calls, round(total_exec_time::numeric, 0) AS exec_ms,
  round(total_plan_time::numeric, 0) AS plan_ms,
  round(((total_exec_time + total_plan_time) / greatest(calls, 1))::numeric, 3) AS ms_per_call,
  left(regexp_replace(query, '\s+', ' ', 'g'), 80) AS statement
FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
WHERE d.datname = current_database() AND query NOT LIKE '%pg_stat_statements%'
ORDER BY total_exec_time + total_plan_time DESC LIMIT 12"
