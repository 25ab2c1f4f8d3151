#!/usr/bin/env bash
# What a burst leaves behind: for each variant, the gateway's p99 at a fixed rate
# (open loop, oha, latency-corrected) on a fresh gateway after 2 s of warm-up, then
# its saturation throughput (wrk -c32, 8 s), then the p99 in windows right after it,
# while background work the burst left (the audit trees' growth) catches up. One line
# per variant; the variants as tail-latency.sh takes them ("DIR", "VAR=value ...",
# "DIR VAR=value ..."; "" is this build as configured), each on a fresh gateway and
# data directory.
#
#   STORE=sled scripts/after-burst.sh "" INTENTGATE_CHECKPOINT_ENTRIES=0
#   STORE=sled BENCH_BIN=/tmp/before scripts/after-burst.sh "" /tmp/after "" /tmp/after
#
# Environment: STORE (sled; memory; postgres with INTENTGATE_TEST_POSTGRES_URL, a
# scratch database per variant), RATE (2000 req/s), WINDOWS (5 after the burst),
# BENCH_SECS (6 per window), BENCH_BIN (the build for "" and for the demo tool
# server), BENCH_NO_BUDGET (non-empty: a token without a budget, so no call is counted).
set -euo pipefail
cd "$(dirname "$0")/.."

STORE=${STORE:-sled}
RATE=${RATE:-2000}
WINDOWS=${WINDOWS:-5}
SECS=${BENCH_SECS:-6}
PORT=19191
(($# > 0)) || { echo "usage: $0 VARIANT... (see the header)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 2; }
if [[ $STORE == postgres ]]; then
    : "${INTENTGATE_TEST_POSTGRES_URL:?STORE=postgres needs INTENTGATE_TEST_POSTGRES_URL}"
fi
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh

# The p99 of a window, and how many calls failed if any did.
p99() {
    open_loop "http://127.0.0.1:$PORT/v1/mcp" "$RATE" "$1" |
        awk '{printf "%s", $3} $7 {printf " %s %s", $7, $8} END {print ""}'
}

start_demo 19190
mint_call_script
echo "store $STORE${BENCH_NO_BUDGET:+, a token without a budget}: p99 in ms at $RATE req/s fresh | saturation | p99 in ${WINDOWS} windows of ${SECS} s after it"
n=0
for variant in "$@"; do
    n=$((n + 1))
    if [[ $STORE == postgres ]]; then
        scratch_database "ig_bench_burst_$$_$n"
        GATEWAY_PG_URL=$SCRATCH_URL
    fi
    start_variant "$STORE" "$PORT" "$variant"
    p99 2 >/dev/null # warm-up
    line="$(p99 "$SECS") | "
    line+=$(wrk -t1 -c32 -d8s -s "$work/call.lua" "http://127.0.0.1:$PORT/v1/mcp" |
        awk '/^Requests\/sec/ {printf "%.0f req/s", $2}')
    line+=" |"
    for _ in $(seq "$WINDOWS"); do line+=" $(p99 "$SECS")"; done
    echo "[${variant:-as built}]: $line"
    kill "$gateway_pid"
    wait "$gateway_pid" 2>/dev/null || true
done
