# Shared by the benchmark scripts that run several brokers on loopback:
# sourced after BROKER, OUT, DATA and BASE_PORT are set. Broker N listens
# for Kafka on BASE_PORT+10N, internally on +1 and for HTTP on +2; the
# first three vote. Every broker started here is SIGKILLed on exit.

declare -A PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT

kafka_port() { echo $((BASE_PORT + 10 * $1)); }
internal_port() { echo $((BASE_PORT + 1 + 10 * $1)); }
http_port() { echo $((BASE_PORT + 2 + 10 * $1)); }
VOTERS="0@127.0.0.1:$(internal_port 0),1@127.0.0.1:$(internal_port 1),2@127.0.0.1:$(internal_port 2)"
BOOT3="127.0.0.1:$(kafka_port 0),127.0.0.1:$(kafka_port 1),127.0.0.1:$(kafka_port 2)"

# start NODE [VOTERS]: starts broker NODE (a cluster of its own when VOTERS
# is empty; otherwise with min.insync.replicas=2).
start() {
  local node=$1 voters=${2:-}
  local args=(--node-id "$node" --data-dir "$DATA/broker-$node"
    --listeners "PLAINTEXT://127.0.0.1:$(kafka_port "$node")"
    --internal-listener "127.0.0.1:$(internal_port "$node")"
    --http-listener "127.0.0.1:$(http_port "$node")")
  [ -n "$voters" ] && args+=(--controller-voters "$voters" --override min.insync.replicas=2)
  "$BROKER" "${args[@]}" >>"$OUT/broker-$node.log" 2>&1 &
  PIDS[$node]=$!
}

# wait_ready NODE...: waits for each broker's /readyz, or exits.
wait_ready() {
  for node in "$@"; do
    for _ in $(seq 1 600); do
      curl -sf -o /dev/null "http://127.0.0.1:$(http_port "$node")/readyz" && continue 2
      sleep 0.1
    done
    echo "broker $node did not become ready" >&2
    exit 1
  done
}
