#!/usr/bin/env bash
# Tail latency at a fixed rate: p50 / p99 / p99.9 of the gateway (open loop, oha,
# latency-corrected) for each variant, the variants alternated for several rounds so
# that a noisy machine shows as spread within a variant rather than as a difference
# between them; the tool server called directly before and after. A variant is a build
# directory, settings, or both: "DIR", "VAR=value ...", "DIR VAR=value ..."; "" is this
# build as configured.
#
#   scripts/tail-latency.sh "" INTENTGATE_CHECKPOINT_ENTRIES=0
#   scripts/tail-latency.sh /tmp/before /tmp/after          # two builds' binaries
#   STORE=sled RATE=3000 ROUNDS=5 scripts/tail-latency.sh /tmp/before /tmp/after
#
# Environment: STORE (memory; sled; postgres with INTENTGATE_TEST_POSTGRES_URL, a
# scratch database per variant), RATE (2000 req/s), ROUNDS (3; the order reverses every
# other round), BENCH_SECS (8 per sample, after 2 s of warm-up), BENCH_BIN (the build
# for "" and for the demo tool server), BENCH_NO_BUDGET (non-empty: a token without a
# budget, so no call is counted).
set -euo pipefail
cd "$(dirname "$0")/.."

STORE=${STORE:-memory}
RATE=${RATE:-2000}
ROUNDS=${ROUNDS:-3}
SECS=${BENCH_SECS:-8}
(($# > 0)) || { echo "usage: $0 VARIANT... (see the header)" >&2; exit 2; }
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh

if [[ $STORE == postgres ]]; then
    : "${INTENTGATE_TEST_POSTGRES_URL:?set INTENTGATE_TEST_POSTGRES_URL}"
    # One database per variant: builds may differ in their migrations, and each
    # variant's audit table grows only with its own samples.
    urls=()
    for i in $(seq $#); do
        scratch_database "ig_bench_tail_$$_$i"
        urls+=("$SCRATCH_URL")
    done
fi
start_demo 19120
mint_call_script

variants=("$@")
echo "p50 / p99 / p99.9 at $RATE req/s, store $STORE, ${SECS}s per sample${BENCH_NO_BUDGET:+, a token without a budget}"
echo "direct: $(open_loop "$UPSTREAM_URL" "$RATE" "$SECS")"
for round in $(seq "$ROUNDS"); do
    # A, B, B, A, ...: neither variant always runs first, on a machine that drifts.
    order=$(seq 0 $(($# - 1)))
    ((round % 2 == 0)) && order=$(seq $(($# - 1)) -1 0)
    for i in $order; do
        variant=${variants[i]}
        if [[ $STORE == postgres ]]; then
            GATEWAY_PG_URL=${urls[i]}
        fi
        start_variant "$STORE" 19121 "$variant"
        open_loop "http://127.0.0.1:19121/v1/mcp" "$RATE" 2 >/dev/null
        result=$(open_loop "http://127.0.0.1:19121/v1/mcp" "$RATE" "$SECS")
        echo "round $round, [${variant:-as built}]: $result"
        kill "$gateway_pid"
        wait "$gateway_pid" 2>/dev/null || true
    done
done
echo "direct: $(open_loop "$UPSTREAM_URL" "$RATE" "$SECS")"
