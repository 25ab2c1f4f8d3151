#!/usr/bin/env bash
# Instructions the gateway executes per forwarded call, counted by callgrind: repeatable
# to a fraction of a per cent whatever else the machine does, where wall-clock runs here
# move by 15-20 %. The gateway (release build, capability token required, sync audit,
# metrics on) forwards to the demo tool server; 300 calls warm it up, then the counters
# are zeroed and N calls counted. Background work (audit trees) counts too: it is paid
# per call.
#
#   scripts/instructions-per-call.sh                  # memory store, 2000 calls
#   STORE=sled N=1000 scripts/instructions-per-call.sh
#   EXTRA="RUST_LOG=debug" scripts/instructions-per-call.sh
#   BENCH_BIN=/path/to/other/build scripts/instructions-per-call.sh   # before/after
#   BENCH_NO_BUDGET=1 scripts/instructions-per-call.sh   # non-empty: a token without a budget
#
# Under valgrind the CPU reports no SHA extensions, so SHA-256 (token MACs, audit
# hashes) runs in software and weighs several times what it does natively. Compare
# builds with each other, not with wall-clock shares. Writes the profile to
# target/callgrind.out for callgrind_annotate --inclusive=yes.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-2000}
STORE=${STORE:-memory}
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 2; }
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh

start_demo 19200
mint_call_script
GATEWAY_WRAPPER="valgrind --tool=callgrind --callgrind-out-file=$work/cg.out"
# shellcheck disable=SC2086 # the extra settings, split on purpose
start_gateway "$STORE" 19201 ${EXTRA:-}
gw=$gateway_pid
calls() {
    oha --no-tui -n "$1" -c 8 -m POST -H "Content-Type: application/json" \
        -H "Authorization: Bearer $TOKEN" -d "$BODY" http://127.0.0.1:19201/v1/mcp >/dev/null
}
calls 300
callgrind_control -z "$gw" >/dev/null
calls "$N"
callgrind_control -d "$gw" >/dev/null
sleep 1
out=$(ls -t "$work"/cg.out* | head -1)
cp "$out" target/callgrind.out
total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "instructions per call: $((total / N)) ($N calls, store $STORE${EXTRA:+, $EXTRA}${BENCH_NO_BUDGET:+, a token without a budget})"
