# Sourced by the benchmark scripts: the call they send, the binaries they run (built
# here unless BENCH_BIN names another build's), a scratch directory plus the child
# processes, cleaned up at exit, and how the demo tool server and the gateway start.
# shellcheck shell=bash

# The master key every benchmark's gateway runs with and mints its token from.
KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8
BODY='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_invoice","arguments":{"id":"inv-42"}}}'
command -v oha >/dev/null || cargo install --locked oha --version 1.16.0
BIN=${BENCH_BIN:-target/release} # another build's binaries, e.g. to compare before/after
if [[ -z ${BENCH_BIN:-} ]]; then
    cargo build --release -q --bin intentgate --bin igctl --example demo_tools --example forward_floor
fi
DEMO=$BIN/demo_tools
[[ -x $DEMO ]] || DEMO=$BIN/examples/demo_tools
FLOOR=$BIN/forward_floor # absent from builds older than the example
[[ -x $FLOOR ]] || FLOOR=$BIN/examples/forward_floor

work=$(mktemp -d)
pids=()
databases=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for db in "${databases[@]}"; do
        psql -q "$INTENTGATE_TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
    done
    rm -rf "$work"
}
trap cleanup EXIT

# Creates the empty database $1 on the server INTENTGATE_TEST_POSTGRES_URL names, to be
# dropped at exit, and sets $SCRATCH_URL to it.
scratch_database() { # name
    psql -q "$INTENTGATE_TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" \
        -c "CREATE DATABASE $1"
    databases+=("$1")
    SCRATCH_URL=${INTENTGATE_TEST_POSTGRES_URL%/*}/$1
}

# Mints the benchmarks' capability token (master key $KEY) into $TOKEN and writes the
# wrk script that sends $BODY with it to $work/call.lua. The token has a budget, so each
# call is counted, unless BENCH_NO_BUDGET is non-empty.
mint_call_script() {
    local budget=(--max-calls 1000000000)
    [[ -n ${BENCH_NO_BUDGET:-} ]] && budget=()
    TOKEN=$("$BIN/igctl" mint --master-key "$KEY" --subject bench-agent --tenant bench \
        --tools read_invoice "${budget[@]}" --ttl 24h)
    cat >"$work/call.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
}

# Starts the demo tool server (the real upstream every benchmark forwards to) on
# 127.0.0.1:$1 and sets $UPSTREAM_URL to it.
start_demo() { # port
    DEMO_ADDR=127.0.0.1:$1 "$DEMO" >"$work/demo-$1.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    UPSTREAM_URL=http://127.0.0.1:$1/
    for _ in $(seq 100); do
        # Any HTTP answer will do, but from this process: not a stale one on the port.
        kill -0 "$pid" 2>/dev/null || break
        curl -s --max-time 2 -o /dev/null "$UPSTREAM_URL" && return 0
        sleep 0.05
    done
    echo "the demo tool server did not start:" >&2
    cat "$work/demo-$1.log" >&2
    return 1
}

# p50 / p99 / p99.9 under open-loop load at a fixed rate (oha, latency-corrected, 64
# connections) and how many calls failed (non-200 answers and connection errors; not
# the requests still in flight when the time ran out).
open_loop() { # url rate seconds → "p50 / p99 / p99.9 ms (N failed)"
    oha --no-tui --output-format json -z "$3s" -q "$2" --latency-correction -c 64 -m POST \
        -H "Content-Type: application/json" -H "Authorization: Bearer $TOKEN" -d "$BODY" "$1" |
        python3 -c 'import json,sys
r = json.load(sys.stdin); p = r["latencyPercentiles"]; codes = r.get("statusCodeDistribution", {})
errors = {e: n for e, n in r.get("errorDistribution", {}).items() if "deadline" not in e}
bad = sum(n for c, n in codes.items() if c != "200") + sum(errors.values())
print("%.2f / %.2f / %.2f ms%s" % (p["p50"] * 1e3, p["p99"] * 1e3, p["p99.9"] * 1e3,
      " (%d failed)" % bad if bad else ""))'
}

# Starts the gateway as every benchmark measures it, in front of $UPSTREAM_URL: store
# $1 on 127.0.0.1:$2 (Postgres at $GATEWAY_PG_URL, which only a Postgres gateway is
# given), a fresh data directory, the benchmarks' master key, a capability token
# required, sync audit, metrics on, audit lines off; further arguments are VAR=value
# settings that override those. Runs it under $GATEWAY_WRAPPER when set (e.g.
# valgrind), waits until it is ready, and leaves its pid in $gateway_pid (the
# wrapper's, if the wrapper forks rather than execs) and its log in
# $work/gateway-$2.log.
start_gateway() { # store port [VAR=value ...]
    local store=$1 port=$2 data pg_url=""
    shift 2
    data=$(mktemp -d "$work/data.XXXX")
    if [[ $store == postgres ]]; then pg_url=${GATEWAY_PG_URL:-}; fi
    # shellcheck disable=SC2086 # the wrapper's words, split on purpose
    env INTENTGATE_ADDR="127.0.0.1:$port" INTENTGATE_STORE="$store" \
        INTENTGATE_DATA_DIR="$data" INTENTGATE_POSTGRES_URL="$pg_url" \
        INTENTGATE_MASTER_KEY="$KEY" INTENTGATE_UPSTREAM_URL="$UPSTREAM_URL" \
        INTENTGATE_REQUIRE_CAPABILITY=true INTENTGATE_AUDIT_DURABILITY=sync \
        INTENTGATE_METRICS_ENABLED=true INTENTGATE_AUDIT_TARGET=none "$@" \
        ${GATEWAY_WRAPPER:-} "$BIN/intentgate" >"$work/gateway-$port.log" 2>&1 &
    gateway_pid=$!
    pids+=("$gateway_pid")
    for _ in $(seq 600); do # valgrind takes seconds to start it
        curl -fs --max-time 2 -o /dev/null "http://127.0.0.1:$port/readyz" && return 0
        kill -0 "$gateway_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "the gateway did not start:" >&2
    cat "$work/gateway-$port.log" >&2
    return 1
}

# Starts the gateway for one variant as tail-latency.sh and audit-rounds.sh take them:
# a build directory, settings, or both ("DIR", "VAR=value ...", "DIR VAR=value ..."),
# "" being $BIN as configured; on store $1 and port $2, as start_gateway does.
start_variant() { # store port variant
    local first rest bin=$BIN settings=$3
    read -r first rest <<<"$3"
    if [[ -n ${first:-} && -d $first ]]; then bin=$first settings=${rest:-}; fi
    # shellcheck disable=SC2086 # the variant's settings, split on purpose
    BIN=$bin start_gateway "$1" "$2" $settings
}

# The sum and count of histogram $2 on the gateway's /metrics at port $1.
metric_sum() { # port name
    curl -fs "http://127.0.0.1:$1/metrics" |
        awk -v m="$2" '$1 == m"_sum" {s=$2} $1 == m"_count" {c=$2} END {print s+0, c+0}'
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system, in clock ticks
