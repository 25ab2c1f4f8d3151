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
# Environment: STORE (memory; sled; postgres with INTENTGATE_TEST_POSTGRES_URL, one
# scratch database for all), RATE (2000 req/s), ROUNDS (3), BENCH_SECS (8 per sample,
# after 2 s of warm-up), BENCH_BIN (the build for "" and for the demo tool server).
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
    db="ig_bench_tail_$$"
    psql -q "$INTENTGATE_TEST_POSTGRES_URL" -c "CREATE DATABASE $db"
    trap 'cleanup; psql -q "$INTENTGATE_TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"' EXIT
    GATEWAY_PG_URL="${INTENTGATE_TEST_POSTGRES_URL%/*}/$db"
fi
start_demo 19120
mint_call_script

load() { # url seconds → "p50 / p99 / p99.9 ms"
    oha --no-tui --output-format json -z "$2s" -q "$RATE" --latency-correction -c 64 -m POST \
        -H "Content-Type: application/json" -H "Authorization: Bearer $TOKEN" -d "$BODY" "$1" |
        python3 -c 'import json,sys
r = json.load(sys.stdin); p = r["latencyPercentiles"]; codes = r.get("statusCodeDistribution", {})
bad = sum(n for c, n in codes.items() if c != "200")
print("%.2f / %.2f / %.2f ms%s" % (p["p50"] * 1e3, p["p99"] * 1e3, p["p99.9"] * 1e3,
      " (%d failed)" % bad if bad else ""))'
}

build=$BIN
echo "p50 / p99 / p99.9 at $RATE req/s, store $STORE, ${SECS}s per sample"
echo "direct: $(load "$UPSTREAM_URL" "$SECS")"
for round in $(seq "$ROUNDS"); do
    for variant in "$@"; do
        read -r first rest <<<"$variant"
        BIN=$build settings=$variant
        if [[ -n ${first:-} && -d $first ]]; then BIN=$first settings=${rest:-}; fi
        # shellcheck disable=SC2086 # the variant's settings, split on purpose
        start_gateway "$STORE" 19121 $settings
        load "http://127.0.0.1:19121/v1/mcp" 2 >/dev/null
        echo "round $round, [${variant:-as built}]: $(load "http://127.0.0.1:19121/v1/mcp" "$SECS")"
        kill "$gateway_pid"
        wait "$gateway_pid" 2>/dev/null || true
    done
done
echo "direct: $(load "$UPSTREAM_URL" "$SECS")"
