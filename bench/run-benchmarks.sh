#!/usr/bin/env bash
# Reproduces the numbers in docs/benchmarks.md: weir-broker against the
# weir-bench sink in one session, three runs of each, medians at the end.
#
#   cargo build --release -p weir-broker -p weir-bench
#   bash bench/run-benchmarks.sh            # results in ./bench-results
#
# Environment: BROKER, BENCH (binaries; default target/release or
# $CARGO_TARGET_DIR/release), OUT (results folder), RUNS (default 3),
# QUIET_CMD (run before every measurement, e.g. a script that waits until
# no other process is busy; default: none).
# Everything listens on loopback only: broker 127.0.0.1:19092 (HTTP 18080),
# sink 127.0.0.1:19099. Every process this script starts, it stops.
set -euo pipefail

TARGET=${CARGO_TARGET_DIR:-target}
BROKER=${BROKER:-$TARGET/release/weir-broker}
BENCH=${BENCH:-$TARGET/release/weir-bench}
OUT=${OUT:-bench-results}
RUNS=${RUNS:-3}
DATA=${DATA:-$(mktemp -d /tmp/weir-bench-data.XXXXXX)}
KAFKA=127.0.0.1:19092
HTTP=127.0.0.1:18080
SINK=127.0.0.1:19099

mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.txt
BROKER_PID=
SINK_PID=
SAMPLER_PID=
cleanup() {
  for pid in $SAMPLER_PID $SINK_PID $BROKER_PID; do
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap cleanup EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# start_broker LABEL: starts the broker on $DATA, appends "LABEL ms" to readyz.txt.
start_broker() {
  local start end
  start=$(now_ms)
  "$BROKER" --data-dir "$DATA" --listeners "PLAINTEXT://$KAFKA" \
    --http-listener "$HTTP" >>"$OUT/broker.log" 2>&1 &
  BROKER_PID=$!
  for _ in $(seq 1 6000); do
    if curl -sf -o /dev/null "http://$HTTP/readyz"; then
      end=$(now_ms)
      echo "$1 $((end - start))" >>"$OUT/readyz.txt"
      return 0
    fi
    sleep 0.005
  done
  echo "broker did not become ready" >&2
  exit 1
}

stop_broker() { # SIGNAL
  kill "-$1" "$BROKER_PID"
  wait "$BROKER_PID" 2>/dev/null || true
  BROKER_PID=
}

start_sink() { # PARTITIONS
  "$BENCH" sink --listen "$SINK" --partitions "$1" >>"$OUT/sink.log" 2>&1 &
  SINK_PID=$!
  sleep 0.5
}

stop_sink() {
  kill "$SINK_PID"
  wait "$SINK_PID" 2>/dev/null || true
  SINK_PID=
}

rss() { awk '/^VmRSS/ {print $2}' "/proc/$BROKER_PID/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$BROKER_PID/status"; }

bench() { # NAME ARGS...: one weir-bench run, JSON to $OUT/NAME.json
  local name=$1
  shift
  ${QUIET_CMD:-true} || true
  echo "== $(date +%T) $name: weir-bench $*" >&2
  timeout 600 "$BENCH" "$@" --json >"$OUT/$name.json" 2>>"$OUT/bench.log"
}

{
  echo "date: $(date -u +%FT%TZ)"
  echo "load before: $(uptime)"
  echo "nproc: $(nproc)"
  lscpu | head -n 20
  free -h | head -n 2
  echo "broker: $BROKER"
  echo "bench: $BENCH"
} >"$OUT/machine.txt"

# --- fresh start and idle footprint
rm -rf "$DATA" && mkdir -p "$DATA"
start_broker fresh
sleep 2
echo "idle_fresh_kb $(rss)" >>"$OUT/rss.txt"

# Sample the broker's RSS every 200 ms while under load.
( while kill -0 "$BROKER_PID" 2>/dev/null; do
    awk '/^VmRSS/ {print $2}' "/proc/$BROKER_PID/status" 2>/dev/null || true
    sleep 0.2
  done ) >"$OUT/rss-samples.txt" &
SAMPLER_PID=$!

P="--record-size 100 --acks 1 --linger-ms 5"
start_sink 1
for i in $(seq 1 "$RUNS"); do
  bench "produce200k-broker-$i" produce --bootstrap $KAFKA --topic p200k $P --records 200000
  bench "produce200k-sink-$i" produce --bootstrap $SINK --topic p200k $P --records 200000
done
for i in $(seq 1 "$RUNS"); do
  bench "produce2m-broker-$i" produce --bootstrap $KAFKA --topic p2m $P --records 2000000
  bench "produce2m-sink-$i" produce --bootstrap $SINK --topic p2m $P --records 2000000
done
for i in $(seq 1 "$RUNS"); do
  bench "consume2m-broker-$i" consume --bootstrap $KAFKA --topic p2m --records 2000000
  # librdkafka stops fetching for fetch.queue.backoff.ms (1 s) whenever more
  # than queued.min.messages (100,000) records wait in its queue.
  bench "consume2mtuned-broker-$i" consume --bootstrap $KAFKA --topic p2m --records 2000000 \
    -X queued.min.messages=1000000
  # The same through a consumer group (a new group each time, so it starts
  # at the beginning; includes the group join in the startup time).
  bench "consumegroup-broker-$i" consume --bootstrap $KAFKA --topic p2m --records 2000000 \
    --group "bench-$i-$(date +%s%N)" -X queued.min.messages=1000000
done
for i in $(seq 1 "$RUNS"); do
  bench "acksall5k-broker-$i" produce --bootstrap $KAFKA --topic all5k --record-size 100 \
    --acks all --linger-ms 5 --throughput 5000 --records 50000
  bench "acksall5k-sink-$i" produce --bootstrap $SINK --topic all5k --record-size 100 \
    --acks all --linger-ms 5 --throughput 5000 --records 50000
done
stop_sink
start_sink 8
for i in $(seq 1 "$RUNS"); do
  bench "p8x4-broker-$i" produce --bootstrap $KAFKA --topic p8x4 --partitions 8 --producers 4 \
    $P --records 2000000
  bench "p8x4-sink-$i" produce --bootstrap $SINK --topic p8x4 $P --producers 4 --records 2000000
done
stop_sink
for i in $(seq 1 "$RUNS"); do
  bench "consume8x4-broker-$i" consume --bootstrap $KAFKA --topic p8x4 --consumers 4 \
    --records 2000000
done
for i in $(seq 1 "$RUNS"); do
  bench "e2e-broker-$i" e2e --bootstrap $KAFKA --topic e2e --records 10000 --throughput 1000 \
    --record-size 100 --acks 1 --linger-ms 0
done
kill "$SAMPLER_PID" 2>/dev/null || true
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=
echo "peak_hwm_kb $(hwm)" >>"$OUT/rss.txt"
echo "peak_sampled_kb $(sort -n "$OUT/rss-samples.txt" | tail -n 1)" >>"$OUT/rss.txt"
sleep 2
echo "idle_after_load_kb $(rss)" >>"$OUT/rss.txt"
du -sk "$DATA" | awk '{print "data_kb", $1}' >>"$OUT/rss.txt"

# --- restarts: clean (SIGTERM) and after SIGKILL (recovery)
for i in $(seq 1 "$RUNS"); do
  stop_broker TERM
  start_broker "restart-clean-$i"
done
sleep 2
echo "idle_restarted_kb $(rss)" >>"$OUT/rss.txt"
for i in $(seq 1 "$RUNS"); do
  stop_broker KILL
  start_broker "restart-after-kill-$i"
done
stop_broker TERM
for i in $(seq 2 "$RUNS"); do
  rm -rf "$DATA" && mkdir -p "$DATA"
  start_broker fresh
  stop_broker TERM
done
rm -rf "$DATA"

echo "load after: $(uptime)" >>"$OUT/machine.txt"

python3 - "$OUT" <<'EOF'
import glob, json, os, statistics, sys
out = sys.argv[1]
def runs(prefix):
    return [json.load(open(f)) for f in sorted(glob.glob(os.path.join(out, prefix + "-*.json")))]
def med(values):
    return statistics.median(values) if values else float("nan")
rows = []
for name in ["produce200k", "produce2m", "acksall5k", "p8x4"]:
    for target in ["broker", "sink"]:
        r = runs(f"{name}-{target}")
        if not r:
            continue
        rows.append((f"{name} {target}", len(r), med([x["records_per_sec"] for x in r]),
                     med([x["mb_per_sec"] for x in r]), med([x["latency"]["p50_ms"] for x in r]),
                     med([x["latency"]["p99_ms"] for x in r]), med([x["latency"]["p999_ms"] for x in r]),
                     med([x["latency"]["max_ms"] for x in r])))
print("| run | n | records/s | MB/s | p50 ms | p99 ms | p99.9 ms | max ms |")
print("|---|---|---|---|---|---|---|---|")
for row in rows:
    print("| %s | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f |" % row)
for name in ["consume2m-broker", "consume2mtuned-broker", "consumegroup-broker", "consume8x4-broker"]:
    r = runs(name)
    if r:
        print(f"{name}: n={len(r)} records/s={med([x['records_per_sec'] for x in r]):.0f} "
              f"MB/s={med([x['mb_per_sec'] for x in r]):.2f} "
              f"startup_s={med([x['time_to_first_record_secs'] for x in r]):.3f} "
              f"all={[round(x['records_per_sec']) for x in r]}")
r = runs("e2e-broker")
if r:
    for k in ["p50_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms"]:
        print(f"e2e {k}: median {med([x['e2e_latency'][k] for x in r]):.3f} "
              f"all={[x['e2e_latency'][k] for x in r]}")
for name in ["produce200k", "produce2m", "p8x4"]:
    b, s = runs(f"{name}-broker"), runs(f"{name}-sink")
    if b and s:
        print(f"{name}: broker/sink records/s = {med([x['records_per_sec'] for x in b]) / med([x['records_per_sec'] for x in s]):.3f}")
        print(f"  broker all={[round(x['records_per_sec']) for x in b]} sink all={[round(x['records_per_sec']) for x in s]}")
EOF
cat "$OUT/rss.txt" "$OUT/readyz.txt"
