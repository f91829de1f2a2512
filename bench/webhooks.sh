#!/usr/bin/env bash
# Webhook benchmark: ingest throughput with 5 subscriptions beside none, and delivery
# latency (causing commit -> receiver) under 1,000 events/s of ingest. See bench/webhooks.py.
#
#   bash bench/webhooks.sh
#   SECONDS_THROUGHPUT=10 SECONDS_LATENCY=20 SKIP_BUILD=1 bash bench/webhooks.sh
#
# Writes the table to bench/results/webhooks-<date>.md too.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
target_dir=${CARGO_TARGET_DIR:-$repo/target}
if ! command -v wrk >/dev/null 2>&1; then
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  CARGO_TARGET_DIR=$target_dir cargo build --release --quiet --bin offerlab
fi
mkdir -p bench/results
OFFERLAB_BIN=$target_dir/release/offerlab WRK_SCRIPT_DIR=bench/wrk \
  RESULT=bench/results/webhooks-$(date -u +%Y-%m-%d).md python3 bench/webhooks.py
