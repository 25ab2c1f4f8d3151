#!/usr/bin/env bash
# Where a call's audit wait goes at a fixed rate: for each variant, the gateway's p50 /
# p99 / p99.9 under open-loop load (oha, latency-corrected), and from its /metrics over
# the same seconds how many audit commit rounds ran, their events and mean duration
# (write and flush), the share that took over 0.4 ms, and the gateway's CPU per call.
# Short rounds under a long p99 mean calls wait around the rounds, not in them.
# Variants as tail-latency.sh takes them: a build directory, settings, or both.
#
#   STORE=sled scripts/audit-rounds.sh "" INTENTGATE_AUDIT_DURABILITY=async
#   STORE=sled scripts/audit-rounds.sh /tmp/before /tmp/after
#
# Environment: STORE (sled; memory; postgres with INTENTGATE_TEST_POSTGRES_URL, a
# scratch database per variant), RATE (2000 req/s), BENCH_SECS (8 per sample, after 2 s
# of warm-up), BENCH_BIN (the build for "" and for the demo tool server),
# BENCH_NO_BUDGET (non-empty: a token without a budget, so no call is counted).
set -euo pipefail
cd "$(dirname "$0")/.."

STORE=${STORE:-sled}
RATE=${RATE:-2000}
SECS=${BENCH_SECS:-8}
PORT=19141
DURATION=intentgate_gateway_audit_append_duration_seconds
(($# > 0)) || { echo "usage: $0 VARIANT... (see the header)" >&2; exit 2; }
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh

# Rounds that took 0.4 ms or less so far: the histogram's cumulative bucket.
quick_rounds() {
    curl -fs "http://127.0.0.1:$PORT/metrics" |
        awk -v b="${DURATION}_bucket{le=\"0.0004\"}" '$1 == b {n=$2} END {print n+0}'
}

start_demo 19140
mint_call_script
echo "at $RATE req/s, store $STORE, ${SECS}s per sample${BENCH_NO_BUDGET:+, a token without a budget}"
echo "direct: $(open_loop "$UPSTREAM_URL" "$RATE" "$SECS")"
n=0
for variant in "$@"; do
    n=$((n + 1))
    if [[ $STORE == postgres ]]; then
        : "${INTENTGATE_TEST_POSTGRES_URL:?set INTENTGATE_TEST_POSTGRES_URL}"
        scratch_database "ig_bench_rounds_$$_$n"
        GATEWAY_PG_URL=$SCRATCH_URL
    fi
    start_variant "$STORE" "$PORT" "$variant"
    url=http://127.0.0.1:$PORT/v1/mcp
    open_loop "$url" "$RATE" 2 >/dev/null
    read -r took0 rounds0 < <(metric_sum "$PORT" "$DURATION")
    read -r events0 _ < <(metric_sum "$PORT" intentgate_gateway_audit_batch_size)
    quick0=$(quick_rounds) ticks0=$(cpu_ticks "$gateway_pid")
    latency=$(open_loop "$url" "$RATE" "$SECS")
    if ! kill -0 "$gateway_pid" 2>/dev/null; then
        echo "the gateway stopped during the sample:" >&2
        cat "$work/gateway-$PORT.log" >&2
        exit 1
    fi
    ticks1=$(cpu_ticks "$gateway_pid") quick1=$(quick_rounds)
    read -r events1 _ < <(metric_sum "$PORT" intentgate_gateway_audit_batch_size)
    read -r took1 rounds1 < <(metric_sum "$PORT" "$DURATION")
    awk -v v="${variant:-as built}" -v l="$latency" -v r="$((rounds1 - rounds0))" \
        -v e="$((${events1%.*} - ${events0%.*}))" -v t="$took0" -v u="$took1" \
        -v q="$((quick1 - quick0))" -v c="$((ticks1 - ticks0))" -v hz="$(getconf CLK_TCK)" \
        -v calls="$((RATE * SECS))" 'BEGIN {
            printf "[%s]: %s; %d audit rounds, %.2f events each, mean %.3f ms, %.1f %% over 0.4 ms; %.0f µs of gateway CPU per call\n",
                v, l, r, r ? e / r : 0, r ? (u - t) * 1e3 / r : 0, r ? 100 * (r - q) / r : 0,
                c / hz * 1e6 / calls }'
    kill "$gateway_pid"
    wait "$gateway_pid" 2>/dev/null || true
done
