# Sourced by the benchmark scripts: the call they send, the binaries they run (built
# here unless BENCH_BIN names another build's), and a scratch directory plus the child
# processes, cleaned up at exit.
# shellcheck shell=bash

BODY='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_invoice","arguments":{"id":"inv-42"}}}'
command -v oha >/dev/null || cargo install --locked oha --version 1.16.0
BIN=${BENCH_BIN:-target/release} # another build's binaries, e.g. to compare before/after
if [[ -z ${BENCH_BIN:-} ]]; then
    cargo build --release -q --bin intentgate --bin igctl --example demo_tools --example forward_floor
fi
DEMO=$BIN/demo_tools
[[ -x $DEMO ]] || DEMO=$BIN/examples/demo_tools
FLOOR=$BIN/examples/forward_floor # absent from builds older than the example

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Mints the benchmarks' capability token (master key $KEY) into $TOKEN and writes the
# wrk script that sends $BODY with it to $work/call.lua.
mint_call_script() {
    TOKEN=$("$BIN/igctl" mint --master-key "$KEY" --subject bench-agent --tenant bench \
        --tools read_invoice --max-calls 1000000000 --ttl 24h)
    cat >"$work/call.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
}
