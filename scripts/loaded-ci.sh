#!/usr/bin/env bash
# Runs the whole of `.ci/run` several times in a row (default 5) while two
# busy-loop processes keep both cores busy, to prove the suite does not
# depend on an idle machine. Prints each run's result and time, then the
# pass count; exits non-zero if any run failed.
#
# Usage: scripts/loaded-ci.sh [RUNS]   (logs in ${WEIR_LOADED_LOGS:-/tmp/weir-loaded-ci})
set -uo pipefail
cd "$(dirname "$0")/.."

runs="${1:-5}"
logs="${WEIR_LOADED_LOGS:-/tmp/weir-loaded-ci}"
mkdir -p "$logs"

busy=()
for _ in 1 2; do
  bash -c 'while :; do :; done' &
  busy+=("$!")
done
trap 'kill "${busy[@]}" 2>/dev/null' EXIT

passed=0
for run in $(seq 1 "$runs"); do
  started=$(date +%s)
  if CI=true bash .ci/run < /dev/null > "$logs/run-$run.log" 2>&1; then
    result=passed
    passed=$((passed + 1))
  else
    result="FAILED (see $logs/run-$run.log)"
  fi
  echo "run $run: $result in $(( $(date +%s) - started )) s"
done
echo "$passed of $runs runs passed with two busy loops on the cores"
[ "$passed" -eq "$runs" ]
