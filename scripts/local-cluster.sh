#!/usr/bin/env bash
# Starts a three-broker weir cluster on this machine for trying weir out:
# every broker votes in the metadata quorum, topics get three replicas.
# Ctrl-C (or SIGTERM) stops all three cleanly, each handing its partition
# leaderships away first. Data and logs stay in ./weir-local (delete it to
# start over).
#
#   broker  Kafka            internal (gRPC)   HTTP (/metrics)
#   0       127.0.0.1:9092   127.0.0.1:9093    127.0.0.1:8080
#   1       127.0.0.1:9094   127.0.0.1:9095    127.0.0.1:8081
#   2       127.0.0.1:9096   127.0.0.1:9097    127.0.0.1:8082
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p weir-broker
target="${CARGO_TARGET_DIR:-target}"
binary="$target/release/weir-broker"
dir="${WEIR_LOCAL_DIR:-weir-local}"
mkdir -p "$dir"

voters="0@127.0.0.1:9093,1@127.0.0.1:9095,2@127.0.0.1:9097"
pids=()
stop() {
  echo "stopping the brokers (controlled shutdown)..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped; data and logs are in $dir"
}
trap stop INT TERM

for i in 0 1 2; do
  "$binary" \
    --node-id "$i" \
    --listeners "PLAINTEXT://127.0.0.1:$((9092 + 2 * i))" \
    --internal-listener "127.0.0.1:$((9093 + 2 * i))" \
    --controller-voters "$voters" \
    --http-listener "127.0.0.1:$((8080 + i))" \
    --data-dir "$dir/broker-$i" \
    --override default.replication.factor=3 \
    --override min.insync.replicas=2 \
    >"$dir/broker-$i.log" 2>&1 &
  pids+=("$!")
done

for i in 0 1 2; do
  until curl -fs "127.0.0.1:$((8080 + i))/readyz" >/dev/null 2>&1; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "broker $i exited; its log:" >&2
      cat "$dir/broker-$i.log" >&2
      stop
      exit 1
    fi
    sleep 0.2
  done
done
echo "three brokers are up: bootstrap 127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"
echo "logs: $dir/broker-{0,1,2}.log; Ctrl-C stops them"
wait
