#!/usr/bin/env bash
# Password sign-in cost: POST /sign-in with a wrong password for a known email, with an
# unknown email, and with the right password (Argon2id, the crate's defaults m=19 MiB,
# t=2, p=1, on the blocking pool). The unknown email should cost the same as the known one
# (it is verified against a dummy hash), so timing does not tell which emails have accounts.
#
#   bash bench/sign-in.sh
#   REQUESTS=50 SKIP_BUILD=1 bash bench/sign-in.sh
#
# A fresh SQLite database; one user invited with `offerlab users invite` and its password
# set through the invite page; the sign-in limits raised so that no attempt is refused.
# Each case: REQUESTS sequential requests (curl -w time_total), p50 and p90 printed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
REQUESTS=${REQUESTS:-30}
target_dir=${CARGO_TARGET_DIR:-$repo/target}
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  cargo build --release --quiet --bin offerlab
fi
bin=$target_dir/release/offerlab
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
db=$work/bench.db
export OFFERLAB__DASHBOARD__SIGN_IN_FAILURES_PER_ACCOUNT=100000
export OFFERLAB__DASHBOARD__SIGN_IN_FAILURES_PER_ADDRESS=100000
export OFFERLAB__LOG__FILTER=warn

link=$("$bin" users invite --email bench@example.com --name Bench --role viewer \
  --base-url http://x --database "$db" | tail -n 1)
path=${link#http://x}
"$bin" serve --bind 127.0.0.1:0 --database "$db" >"$work/out" 2>&1 &
server=$!
for _ in $(seq 100); do
  address=$(grep -o 'listening on http://[0-9.:]*' "$work/out" | head -n 1 | sed 's/listening on //') || true
  [[ -n "${address:-}" ]] && break
  sleep 0.1
done
[[ -n "${address:-}" ]] || { echo "server did not start" >&2; exit 1; }
password="bench passphrase 123"
curl -s -o /dev/null -w '%{http_code}\n' -X POST "$address$path" \
  --data-urlencode "password=$password" --data-urlencode "confirm=$password" | grep -q 303

run() { # name email password expected-status
  local times=()
  for _ in $(seq "$REQUESTS"); do
    read -r code t < <(curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -X POST "$address/sign-in" \
      --data-urlencode "email=$2" --data-urlencode "password=$3")
    [[ "$code" == "$4" ]] || { echo "$1: status $code, expected $4" >&2; exit 1; }
    times+=("$t")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v name="$1" '
    { t[NR] = $1 * 1000 }
    END { printf "%-28s p50 %6.1f ms   p90 %6.1f ms   (n=%d)\n", name, t[int(NR*0.5+0.5)], t[int(NR*0.9+0.5)], NR }'
}
run "known email, wrong password" bench@example.com "not the password" 401
run "unknown email" nobody@example.com "not the password" 401
run "right password" bench@example.com "$password" 303
