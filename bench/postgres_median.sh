#!/usr/bin/env bash
# bench/postgres.sh run RUNS times (default 3), then the median of each ratio it prints:
# on a shared 2-core machine one run's ratios move by more than the goals' margins.
#
#   RUNS=3 SKIP_BUILD=1 DURATION=10s bash bench/postgres_median.sh
#
# Every run's whole output is kept in $OUT (default: a fresh temporary folder).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-3}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/offerlab-pgmedian.XXXXXX")}
mkdir -p "$OUT"
for n in $(seq "$RUNS"); do
  echo "== run $n of $RUNS"
  bash "$repo/bench/postgres.sh" >"$OUT/run-$n.txt" 2>&1 || { tail -n 30 "$OUT/run-$n.txt" >&2; exit 1; }
  grep -E '^[a-z0-9]+ .* = [0-9.]+' "$OUT/run-$n.txt" | sed 's/^/   /'
done
echo "== median of $RUNS runs (outputs in $OUT)"
lines=$(cat "$OUT"/run-*.txt | grep -E '^[a-z0-9]+ .* = [0-9.]+')
while IFS= read -r key; do
  values=$(grep -F "$key = " <<<"$lines" | sed 's/.* = \([0-9.]*\).*/\1/' | sort -n)
  goal=$(grep -F "$key = " <<<"$lines" | head -n 1 | sed 's/.* = [0-9.]*[[:space:]]*//')
  median=$(awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }' <<<"$values")
  printf '%s = %s  %s  (runs: %s)\n' "$key" "$median" "$goal" "$(tr '\n' ' ' <<<"$values" | sed 's/ $//')"
done < <(sed 's/ = .*//' <<<"$lines" | sort -u)
