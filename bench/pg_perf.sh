#!/usr/bin/env bash
# Where the machine's CPU goes on the ingest path: one offerlab instance on a fresh database,
# one wrk scenario, and `perf record -a` over its middle; then the share of each thread kind
# (PostgreSQL backends, the ingest writer, the HTTP workers, wrk, idle) and the top symbols of
# PostgreSQL, of the writer and of the HTTP workers. The profiles in BENCHMARKS.md (issue 15,
# session 6) come from it.
#
#   bash bench/pg_perf.sh batch 12 10      # scenario (single | batch), connections, seconds
#   bash bench/pg_perf.sh single 64 10
#
# Needs perf (linux-perf) and the rights to record system-wide (root, or
# kernel.perf_event_paranoid <= -1). Release builds keep their symbols (Cargo.toml,
# [profile.release] debug); PostgreSQL's exported symbols name most of its functions.
#
# Environment: POSTGRES_URL (a role that may CREATE DATABASE; default the CI one),
# OFFERLAB_BIN (default target/release/offerlab), PORT (18556), TOP (symbols listed, 25),
# KEEP (1: keep perf.data, whose path is printed), and any OFFERLAB__* setting.
set -euo pipefail
scenario=${1:-batch}; conns=${2:-12}; seconds=${3:-10}
TOP=${TOP:-25}
KEEP=${KEEP:-0}
command -v perf >/dev/null || { echo "perf is missing (apt-get install linux-perf)" >&2; exit 1; }
(( seconds >= 5 )) || { echo "seconds: at least 5 (perf records from the 2nd to the (n-1)th)" >&2; exit 1; }
name=perf PORT=${PORT:-18556} KEEP_WORK=$KEEP
source "$(dirname "${BASH_SOURCE[0]}")/one_instance.sh"
# Record from the 2nd second to one second before the senders stop: the steady state only.
( sleep 2; perf record -F 999 -a -g -o "$work/perf.data" -- sleep $((seconds - 3)) >/dev/null 2>&1 ) &
recorder=$!
BENCH_SECONDS=$seconds BENCH_TAG="pf$$" BENCH_KEY=$key wrk -t1 -c"$conns" -d"$((seconds + 3))s" \
  --timeout 30s -s "bench/wrk/$scenario.lua" "$api/initiatives/bench/events" | grep '^BENCH'
wait "$recorder"
# `head` closes the pipe early: perf's SIGPIPE is not a failure.
set +o pipefail
report() { perf report -i "$work/perf.data" --no-children -q -g none "$@" 2>/dev/null; }
echo "== share of all samples by thread (on 2 cores, 50% is one core; swapper is idle time)"
report --sort comm | head -n 8
echo "== PostgreSQL, by backend"
report --comm postgres --sort pid | head -n 4
echo "== PostgreSQL, top symbols"
report --comm postgres --sort sym | head -n "$TOP"
echo "== the ingest writer (offerlab-ingest-N threads), top symbols"
report --comm offerlab-ingest --sort sym | head -n "$TOP"
echo "== the HTTP workers (actix threads: routing, JSON, validation), top symbols"
report --comm 'actix-rt|system' --sort sym | head -n "$TOP"
[[ $KEEP == 1 ]] && echo "perf data: $work/perf.data"
exit 0
