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
scenario=${1:-single}; conns=${2:-64}; seconds=${3:-10}
name=statements PORT=${PORT:-18555}
source "$(dirname "${BASH_SOURCE[0]}")/one_instance.sh"
superuser() { if [[ -n ${SUPERUSER_PSQL:-} ]]; then $SUPERUSER_PSQL -d "$db" "$@"; else su postgres -c "psql -qX -d $db $(printf '%q ' "$@")"; fi; }
superuser -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' >/dev/null
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
