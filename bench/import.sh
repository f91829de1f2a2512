#!/usr/bin/env bash
# CSV import benchmark of offerlab: `offerlab import` of generated files beside the
# batch-ingest figure of the same run. One command, rerunnable by anyone.
#
#   bash bench/import.sh                     # 100k and 1M rows; ingest.sh with DURATION=15s
#   ROWS="100000" DURATION=5s bash bench/import.sh
#
# 1. Builds release (unless SKIP_BUILD=1).
# 2. Generates the files: the batch scenario's mix (per 1,000 rows: 500 exposures of new
#    customers, then 250 pre-orders and 250 responses of customers exposed before), with
#    an event_id column and no occurred_at, like bench/wrk/batch.lua.
# 3. Runs bench/ingest.sh (SQLite, synchronous=full by default) and takes its `batch` events/s.
# 4. For each file: a fresh SQLite database, segment + initiative + launch through the API,
#    the server stopped, then `/usr/bin/time -v offerlab import bench FILE`: rows/s from the
#    import's own summary, peak memory (maximum resident set size) from time(1); then it
#    checks that the summary holds exactly the file's exposures and pre-orders.
# Prints a table (with the load average) and writes it to bench/results/import-<date>.md.
#
# Environment: ROWS (default "100000 1000000"), DURATION (ingest.sh, default 15s),
# SKIP_BUILD, CARGO_TARGET_DIR, OFFERLAB__DATABASE__SQLITE_SYNCHRONOUS (default full).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

ROWS=${ROWS:-100000 1000000}
DURATION=${DURATION:-15s}
SKIP_BUILD=${SKIP_BUILD:-0}
target_dir=${CARGO_TARGET_DIR:-$repo/target}
synchronous=${OFFERLAB__DATABASE__SQLITE_SYNCHRONOUS:-full}
export OFFERLAB__DATABASE__SQLITE_SYNCHRONOUS=$synchronous
export OFFERLAB__LOG__FILTER=${OFFERLAB__LOG__FILTER:-warn}

die() { echo "import.sh: $*" >&2; exit 1; }
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (apt-get install time)"
command -v curl >/dev/null && command -v jq >/dev/null || die "curl and jq are needed"

if [[ "$SKIP_BUILD" != 1 ]]; then
  echo "== cargo build --release (target dir: $target_dir)"
  CARGO_TARGET_DIR=$target_dir cargo build --release --quiet --bin offerlab --example bare_json
fi
bin=$target_dir/release/offerlab
[[ -x "$bin" ]] || die "$bin missing (build first)"

work=$(mktemp -d "${TMPDIR:-/tmp}/offerlab-import.XXXXXX")
server=""
cleanup() {
  local status=$?
  if [[ -n "$server" ]]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

# --- files ------------------------------------------------------------------------------
generate() { # generate ROWS FILE
  awk -v rows="$1" 'BEGIN {
    split("love like neutral dislike", s, " ")
    print "event_id,type,customer_id,segment,amount_cents,currency,sentiment"
    for (b = 0; b * 1000 < rows; b++) {
      for (i = 1; i <= 500; i++) printf "x%d-%d,exposure,c%d-%d,smb,,,\n", b, i, b, i
      for (i = 1; i <= 250; i++) printf "p%d-%d,preorder,c%d-%d,,1900,EUR,\n", b, i, b, i
      for (i = 251; i <= 500; i++) printf "r%d-%d,response,c%d-%d,,,,%s\n", b, i, b, i, s[i % 4 + 1]
    }
  }' >"$2"
}
for n in $ROWS; do
  [[ $((n % 1000)) -eq 0 ]] || die "ROWS must be multiples of 1000 (got $n)"
  generate "$n" "$work/events-$n.csv"
  echo "== generated $n rows: $(du -h "$work/events-$n.csv" | cut -f1)"
done

# --- batch ingest, same run -------------------------------------------------------------
echo "== batch ingest: bash bench/ingest.sh (DURATION=$DURATION)"
# The batch scenario's events/s from its BENCH line (also when ingest.sh stops afterwards,
# e.g. on requests left unanswered on a loaded machine: that is reported, not hidden).
ingest_status=0
SKIP_BUILD=1 CARGO_TARGET_DIR=$target_dir DURATION=$DURATION bash bench/ingest.sh \
  >"$work/ingest.out" 2>&1 || ingest_status=$?
cat "$work/ingest.out"
batch_eps=$(sed -n 's/^ *BENCH scenario=batch .* eps=\([0-9.]*\) .*/\1/p' "$work/ingest.out" | tail -n 1)
[[ -n "$batch_eps" ]] || die "no batch figure from ingest.sh"
[[ $ingest_status -eq 0 ]] || echo "WARNING: ingest.sh exited $ingest_status after its batch figure (see above)" >&2

# --- imports ----------------------------------------------------------------------------
setup() { # setup DB: segment, initiative `bench`, launched; the server stopped again
  local db=$1 key port=""
  key=$("$bin" keys create --role admin --label bench --database "$db" | tail -n 1)
  "$bin" serve --database "$db" --bind 127.0.0.1:0 >"$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 300); do
    port=$(sed -n 's#.*listening on http://[^:]*:\([0-9][0-9]*\).*#\1#p' "$work/serve.log" | head -n 1)
    [[ -n "$port" ]] && break
    sleep 0.1
  done
  [[ -n "$port" ]] || die "server did not start"
  local api=http://127.0.0.1:$port/api/v1
  post() { curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $key" ${2:+--data "$2"} "$api$1" || die "POST $1 failed"; }
  post /segments '{"key":"smb","name":"Small businesses"}'
  post /initiatives '{"key":"bench","name":"Bench","kind":"value_engineering","hypothesis":"h","owner_team":"growth","offer":{"price_cents":1900,"currency":"EUR"},"core_segments":["smb"],"criteria":{"target_preorder_rate":0.05}}'
  post /initiatives/bench/launch
  kill -TERM "$server"; wait "$server" 2>/dev/null || true; server=""
}

declare -A rate rss secs
for n in $ROWS; do
  db="sqlite://$work/import-$n.db"
  setup "$db"
  echo "== offerlab import of $n rows"
  /usr/bin/time -v "$bin" import bench "$work/events-$n.csv" --database "$db" \
    >"$work/import-$n.out" 2>"$work/import-$n.err" || { cat "$work/import-$n.err" >&2; die "import failed"; }
  cat "$work/import-$n.out"
  rate[$n]=$(sed -n 's/.*(\([0-9]*\) rows\/s).*/\1/p' "$work/import-$n.out")
  secs[$n]=$(sed -n 's/.* in \([0-9.]*\) s .*/\1/p' "$work/import-$n.out")
  rss[$n]=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$work/import-$n.err")
  report=$("$bin" report bench --format json --database "$db")
  exposures=$(jq -r '.demand.exposures' <<<"$report")
  [[ "$exposures" == $((n / 2)) ]] || die "MISMATCH: $exposures exposures stored, $((n / 2)) in the file"
  echo "   check: $exposures exposures stored = exposures in the file"
done

load=$(cut -d' ' -f1-3 /proc/loadavg)
stamp=$(date +%Y-%m-%d)
mkdir -p bench/results
out=bench/results/import-$stamp.md
[[ -e "$out" ]] && out=bench/results/import-$stamp-$(date +%H%M%S).md
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
{
  echo "# CSV import benchmark, $(date '+%Y-%m-%d %H:%M %Z')"
  echo
  echo "\`bash bench/import.sh\` (ROWS=\"$ROWS\", ingest.sh DURATION=$DURATION); SQLite" \
    "synchronous=$synchronous; $(nproc) cores ($cpu_model); load average at the end: $load;" \
    "ingest.sh exit status $ingest_status."
  echo
  echo "| rows | seconds | rows/s | ÷ batch ingest events/s ($batch_eps) | peak RSS MiB |"
  echo "| ---: | ---: | ---: | ---: | ---: |"
  for n in $ROWS; do
    printf '| %s | %s | %s | %.2f | %s |\n' "$n" "${secs[$n]}" "${rate[$n]}" \
      "$(awk -v a="${rate[$n]}" -v b="$batch_eps" 'BEGIN { print (b > 0 ? a / b : 0) }')" "${rss[$n]}"
  done
} >"$out"
echo
cat "$out"
echo "written to $out"
