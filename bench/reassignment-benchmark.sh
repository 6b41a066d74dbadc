#!/usr/bin/env bash
# Reproduces the reassignment figures in docs/benchmarks.md: how long moving
# a 1 GiB partition replica to another broker takes, unthrottled and
# throttled, and the p99 of an idempotent acks=all producer (5,000
# records/s, linger 0, on another topic) while it moves.
#
#   cargo build --release --locked -p weir-broker -p weir-bench
#   bash bench/reassignment-benchmark.sh     # results in ./bench-results/reassignment
#
# Environment: BROKER, BENCH (binaries), OUT (results folder), GIB_RECORDS
# (10 KiB records making up the moved replica; default 104,858 = 1 GiB),
# THROTTLE (bytes/s for the throttled move; default 50,000,000). Four
# brokers on loopback ports 39092-39139; every process it starts, it stops.
set -euo pipefail

TARGET=${CARGO_TARGET_DIR:-target}
BROKER=${BROKER:-$TARGET/release/weir-broker}
BENCH=${BENCH:-$TARGET/release/weir-bench}
OUT=${OUT:-bench-results/reassignment}
GIB_RECORDS=${GIB_RECORDS:-104858}
THROTTLE=${THROTTLE:-50000000}
DATA=$(mktemp -d /tmp/weir-move-bench.XXXXXX)
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.log

BASE_PORT=39092
# shellcheck source=bench/lib-brokers.sh
source "$(dirname "$0")/lib-brokers.sh"

for n in 0 1 2; do start "$n" "$VOTERS"; done
wait_ready 0 1 2
# Filled while brokers 0-2 are the only ones: both topics live on them.
"$BENCH" produce --bootstrap "$BOOT3" --topic bulk --partitions 1 --replication-factor 3 \
  --records "$GIB_RECORDS" --record-size 10240 --acks all --linger-ms 5 --json \
  >"$OUT/fill.json" 2>>"$OUT/bench.log"
"$BENCH" produce --bootstrap "$BOOT3" --topic live --partitions 3 --replication-factor 3 \
  --records 1000 --record-size 100 --acks all --json >/dev/null 2>>"$OUT/bench.log"
start 3 "$VOTERS"
wait_ready 3
BYTES=$((GIB_RECORDS * 10240))

# move NAME TARGET [THROTTLE]: the move, with the producer running meanwhile.
move() {
  local name=$1 target=$2 throttle=${3:-}
  "$BENCH" produce --bootstrap "$BOOT3" --topic live --duration 40 --record-size 100 \
    --acks all --idempotence --linger-ms 0 --throughput 5000 --json \
    >"$OUT/$name-producer.json" 2>>"$OUT/bench.log" &
  local producer=$!
  sleep 5
  local extra=()
  [ -n "$throttle" ] && extra=(--throttle "$throttle")
  echo "== $(date +%T) $name: move bulk-0 to $target ${throttle:+(throttle $throttle B/s)}" >&2
  "$BENCH" move --bootstrap "127.0.0.1:$(kafka_port 0)" --topic bulk --to "$target" \
    --bytes "$BYTES" "${extra[@]}" --json >"$OUT/$name.json" 2>>"$OUT/bench.log"
  wait "$producer" || true
}

move unthrottled 1,2,3
move throttled 0,1,2 "$THROTTLE"

python3 - "$OUT" <<'EOF'
import json, os, sys
out = sys.argv[1]
def load(name):
    with open(os.path.join(out, name + ".json")) as f:
        return json.load(f)
for name in ["unthrottled", "throttled"]:
    m, p = load(name), load(name + "-producer")
    rate = m["bytes_per_sec"] / 1e6 if m["bytes_per_sec"] else float("nan")
    print(f"{name}: moved in {m['elapsed_secs']:.1f} s ({rate:.1f} MB/s, throttle {m['throttle']}); "
          f"producer during the run: p50 {p['latency']['p50_ms']} ms p99 {p['latency']['p99_ms']} ms "
          f"max {p['latency']['max_ms']} ms, failed {p['records_failed']}")
EOF
