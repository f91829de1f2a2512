#!/usr/bin/env bash
# PostgreSQL benchmark of offerlab: one command, one run, every ratio from the same run.
#
#   bash bench/postgres.sh
#   DURATION=10s CONNECTIONS=64 SKIP_BUILD=1 bash bench/postgres.sh
#
# On a fresh database of the PostgreSQL server at $POSTGRES_URL it runs, in order:
#   copy      the rows of the batch scenario written with COPY into a table shaped and
#             indexed like `events` (the engine's own speed for these rows)
#   single    one-exposure requests to one instance            (wrk bench/wrk/single.lua)
#   bare      the same body to the bare actix-web server       (examples/bare_json.rs)
#   batch1    1,000-event requests to one instance             (wrk bench/wrk/batch.lua)
#   batch2    the same to two instances on the database, one pilot, one wrk per instance
#   batch3    the same to three instances
#   nosync    batch1 on an instance whose connections set synchronous_commit=off (how much
#             of a batch is the commit's WAL flush; offerlab never runs like this)
#   BASELINE_BIN=path: batch1 and batch2 again with that offerlab binary (e.g. main's)
# While batch1 and batch3 run, the database's client backends are sampled every 20 ms
# (state and wait event from pg_stat_activity): where the server's time goes.
# Every scenario checks that the summary holds exactly the exposures acknowledged.
#
# Environment:
#   POSTGRES_URL  a role that may CREATE DATABASE (default: the CI one,
#                 postgres://offerlab:offerlab@127.0.0.1:5432/postgres)
#   DURATION (10s), CONNECTIONS (64, single and bare), BATCH_CONNECTIONS (12, split across the
#   instances of a batch scenario), DRAIN (4),
#   COPY_ROWS (200000), COPY_RUNS (3, the median is used), SKIP_BUILD (1: use the release binaries already built),
#   CARGO_TARGET_DIR, BASELINE_BIN
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

POSTGRES_URL=${POSTGRES_URL:-postgres://offerlab:offerlab@127.0.0.1:5432/postgres}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
DRAIN=${DRAIN:-4}
# Batches queue for their instance's writer: few connections keep their latency under DRAIN
# (which must stay under the servers' 5 s keep-alive).
BATCH_CONNECTIONS=${BATCH_CONNECTIONS:-12}
COPY_ROWS=${COPY_ROWS:-200000}
# One COPY of 200,000 rows takes 2 s and moved 78-121 k rows/s between runs: take the median.
COPY_RUNS=${COPY_RUNS:-3}
SKIP_BUILD=${SKIP_BUILD:-0}
BASELINE_BIN=${BASELINE_BIN:-}
target_dir=${CARGO_TARGET_DIR:-$repo/target}

die() { echo "postgres.sh: $*" >&2; exit 1; }
seconds=${DURATION%s}
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || die "DURATION must look like 10s or 10"
for tool in wrk curl jq psql; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install wrk curl jq postgresql-client)"
done

if [[ "$SKIP_BUILD" != 1 ]]; then
  echo "== cargo build --release"
  CARGO_TARGET_DIR=$target_dir cargo build --release --quiet --bin offerlab --example bare_json
fi
offerlab_bin=$target_dir/release/offerlab
bare_bin=$target_dir/release/examples/bare_json
[[ -x "$offerlab_bin" && -x "$bare_bin" ]] || die "release binaries missing in $target_dir/release"

# --- a database of its own, dropped at the end ------------------------------------------
db=offerlab_bench_$$
base=${POSTGRES_URL%/*}
url=$base/$db
psql -qX "$POSTGRES_URL" -c "CREATE DATABASE $db" >/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/offerlab-pgbench.XXXXXX")
pids=()
cleanup() {
  local status=$?
  # Servers are started inside $(...) subshells: their pids are in $work/*.pid.
  for f in "$work"/*.pid; do [[ -f $f ]] && pids+=("$(cat "$f")"); done
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ $status -ne 0 ]]; then
    for log in "$work"/*.log; do [[ -f $log ]] && { echo "--- $log" >&2; tail -n 15 "$log" >&2; }; done
  fi
  psql -qX "$POSTGRES_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export OFFERLAB__LOG__FILTER=warn
export OFFERLAB__LIMITS__REQUESTS_PER_SECOND_PER_KEY=0
# A shared, loaded machine makes a connect or a group commit take seconds at times: wait up to
# 60 s before answering 503 (the service's default is 2 s), so overload shows as latency.
export OFFERLAB__DATABASE__ACQUIRE_TIMEOUT_MS=${OFFERLAB__DATABASE__ACQUIRE_TIMEOUT_MS:-60000}
BENCH_KEY=$("$offerlab_bin" keys create --role admin --label bench --database "$url" | tail -n 1)
export BENCH_KEY

wait_port() { # wait_port LOG PID
  local port=""
  for _ in $(seq 300); do
    port=$(sed -n 's#.*listening on http://[^:]*:\([0-9][0-9]*\).*#\1#p' "$1" | head -n 1)
    [[ -n $port ]] && { echo "$port"; return 0; }
    kill -0 "$2" 2>/dev/null || die "server exited early ($1)"
    sleep 0.1
  done
  die "server did not start ($1)"
}
start() { # start NAME BINARY DATABASE-URL: prints the port (run in $(...): the pid goes to a file)
  # From the scratch folder: each binary reads only its built-in defaults (not this
  # checkout's config/, which an older BASELINE_BIN may not know).
  (cd "$work" && exec "$2" serve --database "$3" --bind 127.0.0.1:0) >"$work/$1.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$work/$1.pid"
  wait_port "$work/$1.log" "$pid"
}
declare -A port
for n in 1 2 3; do port[o$n]=$(start "offerlab$n" "$offerlab_bin" "$url"); done
port[nosync]=$(start nosync "$offerlab_bin" "$url?options=-csynchronous_commit%3Doff")
if [[ -n $BASELINE_BIN ]]; then
  for n in 1 2; do port[b$n]=$(start "baseline$n" "$BASELINE_BIN" "$url"); done
fi
"$bare_bin" 0 >"$work/bare.log" 2>&1 &
pids+=("$!")
port[bare]=$(wait_port "$work/bare.log" "$!")
api=http://127.0.0.1:${port[o1]}/api/v1
post() {
  curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $BENCH_KEY" ${2:+--data "$2"} "$api$1" || die "POST $1 failed"
}
post /segments '{"key":"smb","name":"Small businesses"}'
post /initiatives '{"key":"bench","name":"Bench","kind":"value_engineering","hypothesis":"h","owner_team":"growth","offer":{"price_cents":1900,"currency":"EUR"},"core_segments":["smb"],"criteria":{"target_preorder_rate":0.05}}'
post /initiatives/bench/launch

# --- measurement helpers --------------------------------------------------------------------
clk=$(getconf CLK_TCK)
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
idle_ticks() { awk '/^cpu / { print $5 + $6; exit }' /proc/stat; }
pg_ticks() { # CPU ticks of the PostgreSQL server's processes (all its backends)
  local t=0 p
  for p in $(pgrep -f '^postgres: ' || true); do
    t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }
sample_waits() { # sample_waits OUT SECONDS: state / wait event of the database's client backends
  psql -qAtX "$url" >"$1.tmp" 2>&1 <<SQL || true
CREATE TEMP TABLE s (k text);
DO \$\$ BEGIN
  FOR i IN 1..($2 * 50) LOOP
    PERFORM pg_stat_clear_snapshot();
    INSERT INTO s SELECT coalesce(state, '?') || ' / ' || coalesce(wait_event_type || ':' || wait_event, 'on CPU')
      FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
        AND application_name = '';
    PERFORM pg_sleep(0.02);
  END LOOP;
END \$\$;
SELECT round(100.0 * count(*) / sum(count(*)) OVER (), 1) || '% ' || k FROM s GROUP BY k ORDER BY count(*) DESC LIMIT 8;
SQL
  mv "$1.tmp" "$1"
}

declare -A eps rps p99 cpu_note
acked=0
run() { # run NAME SCRIPT TARGET... (TARGET = port key; one wrk per target, connections split)
  local name=$1 script=$2; shift 2
  local total=$CONNECTIONS
  [[ $script == batch ]] && total=$BATCH_CONNECTIONS
  local k=$# c=$((total / $#)) wpids=() outs=() t i=0
  local b0 i0 g0 b1 i1 g1 sampler=""
  echo "== $name: $k x wrk -t1 -c$c, ${seconds}s + ${DRAIN}s drain"
  if [[ $name == batch1 || $name == batch3 ]]; then
    sample_waits "$work/waits-$name" "$seconds" &
    sampler=$!
  fi
  b0=$(busy_ticks); i0=$(idle_ticks); g0=$(pg_ticks)
  for t in "$@"; do
    i=$((i + 1))
    local path=/api/v1/initiatives/bench/events
    [[ $t == bare ]] && path=/echo
    BENCH_SECONDS=$seconds BENCH_TAG="$name$i-$$" wrk -t1 -c"$c" -d"$((seconds + DRAIN))s" \
      --timeout 30s --latency -s "bench/wrk/$script.lua" "http://127.0.0.1:${port[$t]}$path" \
      >"$work/wrk-$name-$i.out" 2>&1 &
    wpids+=("$!")
    outs+=("$work/wrk-$name-$i.out")
  done
  for p in "${wpids[@]}"; do wait "$p" || die "wrk failed ($name)"; done
  b1=$(busy_ticks); i1=$(idle_ticks); g1=$(pg_ticks)
  [[ -n $sampler ]] && wait "$sampler"
  local total_eps=0 total_rps=0 worst=0 line ok
  for o in "${outs[@]}"; do
    line=$(grep '^BENCH ' "$o" | tail -n 1) || die "no result from wrk ($name): $(cat "$o")"
    [[ $(field "$line" non2xx) -eq 0 ]] || { grep -i 'HTTP' "$o" >&2; die "$name: non-2xx answers"; }
    [[ $(field "$line" unanswered) -eq 0 ]] || die "$name: unanswered requests"
    total_eps=$(awk -v a="$total_eps" -v b="$(field "$line" eps)" 'BEGIN { print a + b }')
    total_rps=$(awk -v a="$total_rps" -v b="$(field "$line" rps)" 'BEGIN { print a + b }')
    worst=$(awk -v a="$worst" -v b="$(field "$line" p99_ms)" 'BEGIN { print (b > a ? b : a) }')
    [[ $script != bare ]] && acked=$((acked + $(field "$line" exposures_acked)))
  done
  eps[$name]=$total_eps; rps[$name]=$total_rps; p99[$name]=$worst
  cpu_note[$name]=$(awk -v b=$((b1 - b0)) -v i=$((i1 - i0)) -v g=$((g1 - g0)) -v hz="$clk" -v s="$((seconds + DRAIN))" \
    'BEGIN { printf "machine %.0f%% busy, PostgreSQL %.0f%% of a core", 100 * b / (b + i), 100 * g / hz / s }')
  if [[ $script != bare ]]; then
    local got
    got=$(curl -fsS -H "Authorization: Bearer $BENCH_KEY" "$api/initiatives/bench/summary" | jq -r .total.exposures)
    [[ $got == "$acked" ]] || die "MISMATCH after $name: stored exposures $got != acknowledged $acked"
  fi
  printf '   %.0f requests/s, %.0f events/s, worst p99 %s ms; %s; exposures stored = acknowledged = %s\n' \
    "$total_rps" "$total_eps" "$worst" "${cpu_note[$name]}" "$acked"
}

# --- COPY of the batch scenario's rows into an indexed copy of `events` ---------------------
awk -v n="$COPY_ROWS" 'BEGIN {
  OFS = ","; split("love,like,neutral,dislike", s, ",")
  for (r = 0; r < n; r++) {
    b = int(r / 1000); i = r % 1000; c = "cb" b "-" (i % 500)
    if (i < 500) print 1, "x" b "-" i, "exposure", c, "2026-11-26 00:00:00", "2026-11-26 00:00:00", "smb", "", "", "", ""
    else if (i < 750) print 1, "p" b "-" i, "preorder", c, "2026-11-26 00:00:00", "2026-11-26 00:00:00", "", "", 1900, "EUR", ""
    else print 1, "r" b "-" i, "response", c, "2026-11-26 00:00:00", "2026-11-26 00:00:00", "", "", "", "", s[i % 4 + 1]
  }
}' >"$work/rows.csv"
echo "== copy: $COPY_ROWS rows with COPY into a table indexed like events, $COPY_RUNS times (median)"
copy_rates=()
for n in $(seq "$COPY_RUNS"); do
  # A fresh table each time: every COPY meets the same empty table and indexes.
  psql -qX "$url" -c "DROP TABLE IF EXISTS copy_target; CREATE TABLE copy_target (LIKE events INCLUDING DEFAULTS INCLUDING INDEXES)" >/dev/null
  t0=$(date +%s.%N)
  psql -qX "$url" -c "\\copy copy_target (initiative_id, event_id, event_type, customer_id, occurred_at, received_at, segment, variant, amount_cents, currency, sentiment) FROM '$work/rows.csv' WITH (FORMAT csv)" >/dev/null
  t1=$(date +%s.%N)
  copy_rates+=("$(awk -v n="$COPY_ROWS" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')")
done
copy_rps=$(printf '%s\n' "${copy_rates[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
echo "   $copy_rps rows/s (median of: ${copy_rates[*]})"

run single single o1
run bare bare bare
run batch1 batch o1
run batch2 batch o1 o2
run batch3 batch o1 o2 o3
run nosync batch nosync
if [[ -n $BASELINE_BIN ]]; then
  run base1 batch b1
  run base2 batch b1 b2
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo
echo "| scenario | requests/s | events/s | worst p99 ms | CPU over the run |"
echo "|---|---:|---:|---:|---|"
echo "| COPY into indexed table | | $copy_rps rows/s | | |"
names="single bare batch1 batch2 batch3 nosync"
[[ -n $BASELINE_BIN ]] && names="$names base1 base2"
for n in $names; do
  printf '| %s | %.0f | %.0f | %s | %s |\n' "$n" "${rps[$n]}" "${eps[$n]}" "${p99[$n]}" "${cpu_note[$n]}"
done
echo
echo "batch1 events/s / COPY rows/s         = $(ratio "${eps[batch1]}" "$copy_rps")  (goal >= 0.4)"
echo "single req/s / bare req/s             = $(ratio "${rps[single]}" "${rps[bare]}")  (goal >= 0.15)"
echo "batch2 / batch1 (two instances)       = $(ratio "${eps[batch2]}" "${eps[batch1]}")  (goal >= 1.3)"
echo "batch3 / batch1 (three instances)     = $(ratio "${eps[batch3]}" "${eps[batch1]}")  (goal >= 1.3)"
echo "nosync / batch1 (commit flush cost)   = $(ratio "${eps[nosync]}" "${eps[batch1]}")"
if [[ -n $BASELINE_BIN ]]; then
  echo "baseline batch1 / COPY                = $(ratio "${eps[base1]}" "$copy_rps")"
  echo "baseline two instances / one          = $(ratio "${eps[base2]}" "${eps[base1]}")"
fi
for n in batch1 batch3; do
  echo
  echo "Where the database's client backends were (pg_stat_activity every 20 ms during $n):"
  sed 's/^/  /' "$work/waits-$n"
done
echo
echo "$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); load before the run: see uptime; $(uptime)"
