# Sourced by bench/pg_statements.sh and bench/pg_perf.sh: one `offerlab serve` on a fresh
# PostgreSQL database holding a running pilot `bench` (segment `smb`), both gone on exit.
#
# Set before sourcing: `name` (a word naming the database and the scratch folder) and PORT;
# optionally POSTGRES_URL (a role that may CREATE DATABASE; default the CI one), OFFERLAB_BIN
# (default target/release/offerlab), KEEP_WORK=1 to keep the scratch folder.
# Gives: repo (the checkout, also the working directory), db, url, work (scratch folder),
# key (an admin API key), api (the instance's /api/v1 address), server (its pid).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
POSTGRES_URL=${POSTGRES_URL:-postgres://offerlab:offerlab@127.0.0.1:5432/postgres}
OFFERLAB_BIN=${OFFERLAB_BIN:-$repo/target/release/offerlab}
[[ -x $OFFERLAB_BIN ]] || { echo "build first: cargo build --release" >&2; exit 1; }
db=offerlab_${name}_$$
url=${POSTGRES_URL%/*}/$db
work=$(mktemp -d "${TMPDIR:-/tmp}/offerlab-$name.XXXXXX")
server=""
cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null && sleep 0.5
  psql -qX "$POSTGRES_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  [[ ${KEEP_WORK:-0} == 1 ]] || rm -rf "$work"
}
trap cleanup EXIT
psql -qX "$POSTGRES_URL" -c "CREATE DATABASE $db" >/dev/null
export OFFERLAB__LOG__FILTER=warn OFFERLAB__LIMITS__REQUESTS_PER_SECOND_PER_KEY=0
key=$("$OFFERLAB_BIN" keys create --role admin --label "$name" --database "$url" | tail -n 1)
(cd "$work" && exec "$OFFERLAB_BIN" serve --database "$url" --bind "127.0.0.1:$PORT") >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 300); do grep -q 'listening on' "$work/server.log" && break; sleep 0.1; done
api=http://127.0.0.1:$PORT/api/v1
post() { curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $key" ${2:+--data "$2"} "$api$1"; }
post /segments '{"key":"smb","name":"Small businesses"}'
post /initiatives '{"key":"bench","name":"Bench","kind":"value_engineering","hypothesis":"h","owner_team":"growth","offer":{"price_cents":1900,"currency":"EUR"},"core_segments":["smb"],"criteria":{"target_preorder_rate":0.05}}'
post /initiatives/bench/launch
