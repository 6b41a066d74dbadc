#!/usr/bin/env bash
# Reproduces the replication figures in docs/benchmarks.md in one session:
# one broker with acks=1 against three brokers with RF 3 and acks=all
# (throughput and broker CPU), acks=all latency at 5,000 records/s with
# linger 0, and the longest gap in acknowledgements when the leader of the
# produced partition is stopped with SIGTERM or killed with SIGKILL.
#
#   cargo build --release --locked -p weir-broker -p weir-bench
#   bash bench/replication-benchmarks.sh      # results in ./bench-results/replication
#
# Environment: BROKER, BENCH (binaries; default $CARGO_TARGET_DIR/release or
# target/release), OUT (results folder), RUNS (default 3), RECORDS (default
# 1,000,000), SECTIONS (default "throughput failover"), RESTART_AFTER
# (seconds before a stopped leader is started again; default 12, longer
# than the default broker.session.timeout.ms of 9 s, so a SIGKILL's gap
# shows the fencing and not the restart). Everything listens on loopback (ports 29092-29199); every
# process this script starts, it stops.
set -euo pipefail

TARGET=${CARGO_TARGET_DIR:-target}
BROKER=${BROKER:-$TARGET/release/weir-broker}
BENCH=${BENCH:-$TARGET/release/weir-bench}
OUT=${OUT:-bench-results/replication}
RUNS=${RUNS:-3}
RECORDS=${RECORDS:-1000000}
DATA=$(mktemp -d /tmp/weir-repl-bench.XXXXXX)
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.txt "$OUT"/*.log

BASE_PORT=29092
# shellcheck source=bench/lib-brokers.sh
source "$(dirname "$0")/lib-brokers.sh"

stop_all() {
  for node in "${!PIDS[@]}"; do kill -TERM "${PIDS[$node]}" 2>/dev/null || true; done
  for node in "${!PIDS[@]}"; do wait "${PIDS[$node]}" 2>/dev/null || true; done
  PIDS=()
  rm -rf "${DATA:?}"/*
}

# cpu_ticks: utime+stime of every running broker, in clock ticks.
cpu_ticks() {
  local sum=0
  for pid in "${PIDS[@]}"; do
    sum=$((sum + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$sum"
}

bench() { # NAME ARGS...: one weir-bench run, JSON to $OUT/NAME.json
  local name=$1
  shift
  echo "== $(date +%T) $name: weir-bench $*" >&2
  timeout 600 "$BENCH" "$@" --json >"$OUT/$name.json" 2>>"$OUT/bench.log" || true
}

# leader_of TOPIC: the node id leading partition 0 of TOPIC.
leader_of() {
  kcat -b "$BOOT3" -L -t "$1" -J | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["topics"][0]["partitions"][0]["leader"])'
}

{
  echo "date: $(date -u +%FT%TZ)"
  echo "load before: $(uptime)"
  echo "nproc: $(nproc)"
  echo "clock ticks per second: $(getconf CLK_TCK)"
} >"$OUT/machine.txt"

P="--record-size 100 --linger-ms 5 --records $RECORDS --partitions 1"
SECTIONS=${SECTIONS:-throughput failover}
RESTART_AFTER=${RESTART_AFTER:-12}

if [[ " $SECTIONS " == *" throughput "* ]]; then
# --- one broker, acks=1
start 0
wait_ready 0
for i in $(seq 1 "$RUNS"); do
  before=$(cpu_ticks)
  bench "one-acks1-$i" produce --bootstrap "127.0.0.1:$(kafka_port 0)" --topic "one-$i" $P --acks 1
  echo "one-acks1-$i $(( $(cpu_ticks) - before ))" >>"$OUT/cpu-ticks.txt"
done
stop_all

# --- three brokers, RF 3, acks=all
for n in 0 1 2; do start "$n" "$VOTERS"; done
wait_ready 0 1 2
for i in $(seq 1 "$RUNS"); do
  before=$(cpu_ticks)
  bench "three-acksall-$i" produce --bootstrap "$BOOT3" --topic "three-$i" $P \
    --replication-factor 3 --acks all
  echo "three-acksall-$i $(( $(cpu_ticks) - before ))" >>"$OUT/cpu-ticks.txt"
done
for i in $(seq 1 "$RUNS"); do
  bench "latency5000-$i" produce --bootstrap "$BOOT3" --topic "lat-$i" --partitions 1 \
    --replication-factor 3 --records 50000 --record-size 100 --acks all --linger-ms 0 \
    --throughput 5000
done

stop_all
fi

if [[ " $SECTIONS " == *" failover "* ]]; then
for n in 0 1 2; do start "$n" "$VOTERS"; done
wait_ready 0 1 2
# --- failover: the leader of the produced partition is stopped mid-run
for signal in TERM KILL; do
  for i in $(seq 1 "$RUNS"); do
    topic="failover-$signal-$i"
    timeout 600 "$BENCH" produce --bootstrap "$BOOT3" --topic "$topic" --partitions 1 \
      --replication-factor 3 --duration $((RESTART_AFTER + 20)) --record-size 100 --acks all --idempotence \
      --linger-ms 0 --throughput 5000 --json >"$OUT/failover-$signal-$i.json" \
      2>>"$OUT/bench.log" &
    bench_pid=$!
    sleep 8
    leader=$(leader_of "$topic")
    echo "failover-$signal-$i: stopping broker $leader with SIG$signal" >&2
    kill "-$signal" "${PIDS[$leader]}"
    wait "${PIDS[$leader]}" 2>/dev/null || true
    sleep "$RESTART_AFTER"
    start "$leader" "$VOTERS"
    wait_ready "$leader"
    wait "$bench_pid" || true
    # Let the returned broker rejoin every ISR before the next round.
    sleep 5
  done
done
stop_all
fi

python3 - "$OUT" <<'EOF'
import json, os, statistics, sys
out = sys.argv[1]
def load(name):
    with open(os.path.join(out, name + ".json")) as f:
        return json.load(f)
runs = int(os.environ.get("RUNS", "3"))
ticks_file = os.path.join(out, "cpu-ticks.txt")
ticks = dict(l.split() for l in open(ticks_file)) if os.path.exists(ticks_file) else {}
hz = os.sysconf("SC_CLK_TCK")
for kind in ["one-acks1", "three-acksall"] if ticks else []:
    rates, cpu = [], []
    for i in range(1, runs + 1):
        r = load(f"{kind}-{i}")
        rates.append(r["records_per_sec"])
        gb = r["records_acked"] * r["record_size"] / 1e9
        cpu.append(int(ticks[f"{kind}-{i}"]) / hz / gb)
    print(f"{kind}: records/s {[round(x) for x in rates]} median {statistics.median(rates):.0f}; "
          f"broker CPU-s per GB produced {[round(x, 1) for x in cpu]} median {statistics.median(cpu):.1f}")
lat = [load(f"latency5000-{i}")["latency"] for i in range(1, runs + 1)] if ticks else []
if lat:
  print("acks=all at 5,000/s linger 0: p50 ms", [l["p50_ms"] for l in lat], "p99 ms",
      [l["p99_ms"] for l in lat], "max ms", [l["max_ms"] for l in lat])
for signal in ["TERM", "KILL"] if os.path.exists(os.path.join(out, "failover-KILL-1.json")) else []:
    rs = [load(f"failover-{signal}-{i}") for i in range(1, runs + 1)]
    print(f"SIG{signal} of the leader: longest ack gap ms",
          [round(r["longest_ack_gap_ms"]) for r in rs], "failed",
          [r["records_failed"] for r in rs], "acked", [r["records_acked"] for r in rs])
EOF
