#!/usr/bin/env python3
"""Webhook benchmark of offerlab (run through bench/webhooks.sh; stdlib only).

1. Throughput: wrk's batch scenario (bench/wrk/batch.lua, 1,000 events per request)
   against one running pilot with no subscription and with 5 subscriptions, in the
   order none, five, five, none (so drift cancels); events/s of each, and the ratio.
2. Latency: with the 5 subscriptions, 1,000 events/s of ingest (10 requests/s of 100
   events) on the same pilot, while (a) every 200 ms a pilot is launched
   (initiative.launched: 5 deliveries) and (b) every second a fresh pilot gets one
   request of 60 exposures and 20 pre-orders that moves its verdict from collecting to
   validated (verdict.changed, detected on ingest: 5 deliveries). Latency of a delivery =
   its arrival at the local receiver - the payload's timestamp (taken in the causing
   transaction, just before its commit).

Environment: OFFERLAB_BIN, WRK_SCRIPT_DIR, SECONDS_THROUGHPUT (per phase, default 15),
SECONDS_LATENCY (default 30), RESULT (markdown file to write).
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BIN = os.environ["OFFERLAB_BIN"]
WRK_DIR = os.environ.get("WRK_SCRIPT_DIR", "bench/wrk")
T_PUT = int(os.environ.get("SECONDS_THROUGHPUT", "15"))
T_LAT = int(os.environ.get("SECONDS_LATENCY", "30"))

arrivals = []  # (arrival unix time, payload timestamp unix time, type)
arr_lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        now = time.time()
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        try:
            payload = json.loads(body)
            ts = datetime.fromisoformat(payload["timestamp"].replace("Z", "+00:00")).timestamp()
            with arr_lock:
                arrivals.append((now, ts, payload["type"]))
        except Exception:  # noqa: BLE001
            pass
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()


def main():
    work = tempfile.mkdtemp(prefix="offerlab-webhook-bench.")
    db = f"sqlite://{work}/offerlab.db"
    key = subprocess.run([BIN, "keys", "create", "--role", "admin", "--label", "bench", "--database", db],
                         check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    env = dict(os.environ, OFFERLAB__WEBHOOKS__ALLOW_PRIVATE_NETWORKS="true",
               OFFERLAB__LIMITS__REQUESTS_PER_SECOND_PER_KEY="0", OFFERLAB__LOG__FILTER="warn")
    log = open(f"{work}/offerlab.log", "w")
    server = subprocess.Popen([BIN, "serve", "--database", db, "--bind", "127.0.0.1:0"],
                              stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    try:
        port = None
        for line in server.stdout:
            m = re.search(r"listening on http://[^:]+:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
        run(port, key)
    finally:
        server.terminate()
        server.wait(timeout=30)


def call(port, key, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read()
        return json.loads(text) if text else None


def initiative(key, min_exposures=None):
    criteria = {"target_preorder_rate": 0.05}
    if min_exposures:
        criteria["min_exposures"] = min_exposures
    return {"key": key, "name": key, "kind": "value_engineering", "hypothesis": "h",
            "owner_team": "growth", "offer": {"price_cents": 1900, "currency": "EUR"},
            "core_segments": ["smb"], "criteria": criteria}


def wrk(port, key, seconds, tag):
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds + 3}s", "--timeout", "30s", "-s", f"{WRK_DIR}/batch.lua",
         f"http://127.0.0.1:{port}/api/v1/initiatives/bench/events"],
        check=True, capture_output=True, text=True,
        env=dict(os.environ, BENCH_SECONDS=str(seconds), BENCH_TAG=tag, BENCH_KEY=key)).stdout
    line = [l for l in out.splitlines() if l.startswith("BENCH ")][-1]
    fields = dict(kv.split("=", 1) for kv in line.split()[1:])
    if int(fields["non2xx"]) != 0:
        sys.exit(f"non-2xx answers: {line}")
    return float(fields["accepted"]) / float(fields["seconds"])


def pct(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    i = min(len(values) - 1, max(0, int(round(p / 100 * len(values) + 0.5)) - 1))
    return values[i]


def run(port, key):
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    receiver.daemon_threads = True
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    call(port, key, "POST", "/segments", {"key": "smb"})
    call(port, key, "POST", "/initiatives", initiative("bench"))
    call(port, key, "POST", "/initiatives/bench/launch", {})
    types = ["verdict.changed", "srm.detected", "plan.reached", "decision.recorded",
             "initiative.launched", "initiative.concluded"]

    def subscribe():
        return [call(port, key, "POST", "/webhooks", {"url": hook, "event_types": types})["id"]
                for _ in range(5)]

    def unsubscribe(ids):
        for i in ids:
            call(port, key, "DELETE", f"/webhooks/{i}")

    # 1. Throughput: none, five, five, none.
    rates = {"none": [], "five": []}
    rates["none"].append(wrk(port, key, T_PUT, "n1"))
    ids = subscribe()
    rates["five"].append(wrk(port, key, T_PUT, "f1"))
    rates["five"].append(wrk(port, key, T_PUT, "f2"))
    unsubscribe(ids)
    rates["none"].append(wrk(port, key, T_PUT, "n2"))
    none = sum(rates["none"]) / 2
    five = sum(rates["five"]) / 2

    # 2. Latency under 1,000 events/s.
    subscribe()
    arrivals.clear()
    stop = time.time() + T_LAT
    sent_events = [0]

    def ingest():
        n = 0
        next_at = time.time()
        while time.time() < stop:
            events = [{"event_id": f"l{n}-{i}", "type": "exposure", "customer_id": f"lc{n}-{i}", "segment": "smb"}
                      for i in range(100)]
            call(port, key, "POST", "/initiatives/bench/events", {"events": events})
            sent_events[0] += 100
            n += 1
            next_at += 0.1
            time.sleep(max(0.0, next_at - time.time()))

    def launches():
        n = 0
        next_at = time.time()
        while time.time() < stop:
            k = f"launch-{n}"
            call(port, key, "POST", "/initiatives", initiative(k))
            call(port, key, "POST", f"/initiatives/{k}/launch", {})
            n += 1
            next_at += 0.2
            time.sleep(max(0.0, next_at - time.time()))

    def verdicts():
        n = 0
        next_at = time.time()
        while time.time() < stop:
            k = f"verdict-{n}"
            call(port, key, "POST", "/initiatives", initiative(k, min_exposures=20))
            call(port, key, "POST", f"/initiatives/{k}/launch", {})
            events = [{"event_id": f"e{i}", "type": "exposure", "customer_id": f"c{i}", "segment": "smb"}
                      for i in range(60)]
            events += [{"event_id": f"p{i}", "type": "preorder", "customer_id": f"c{i}",
                        "amount_cents": 1900, "currency": "EUR"} for i in range(20)]
            call(port, key, "POST", f"/initiatives/{k}/events", {"events": events})
            n += 1
            next_at += 1.0
            time.sleep(max(0.0, next_at - time.time()))

    started = time.time()
    workers = [threading.Thread(target=f) for f in (ingest, launches, verdicts)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.time() - started
    time.sleep(3)  # the last deliveries
    with arr_lock:
        got = list(arrivals)
    by_type = {}
    for arrival, ts, t in got:
        by_type.setdefault(t, []).append((arrival - ts) * 1000)
    every = [x for v in by_type.values() for x in v]
    rows = [("all", every)] + sorted(by_type.items())
    out = []
    out.append(f"Ingest throughput (batch scenario, 1,000 events/request, {T_PUT} s per phase, order none/five/five/none):")
    out.append("")
    out.append("| subscriptions | events/s (runs) | mean events/s |")
    out.append("|---|---|---|")
    out.append(f"| none | {', '.join(f'{r:,.0f}' for r in rates['none'])} | {none:,.0f} |")
    out.append(f"| 5 | {', '.join(f'{r:,.0f}' for r in rates['five'])} | {five:,.0f} |")
    out.append("")
    out.append(f"Ratio 5 subscriptions / none: **{five / none:.2f}x** (goal >= 0.9x)")
    out.append("")
    out.append(f"Delivery latency, causing commit -> local receiver, under {sent_events[0] / elapsed:,.0f} events/s of ingest "
               f"({elapsed:.0f} s, 5 subscriptions):")
    out.append("")
    out.append("| deliveries | count | p50 ms | p99 ms | max ms |")
    out.append("|---|---|---|---|---|")
    for name, v in rows:
        out.append(f"| {name} | {len(v)} | {pct(v, 50):.0f} | {pct(v, 99):.0f} | {max(v) if v else float('nan'):.0f} |")
    text = "\n".join(out)
    print(text)
    if os.environ.get("RESULT"):
        with open(os.environ["RESULT"], "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
