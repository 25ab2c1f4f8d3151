#!/usr/bin/env bash
# The path users run, measured side by side in one run on loopback: the demo tool server
# (a real upstream process) called directly, then the gateway in front of it on each
# store, with a capability token required and sync audit. Outside load generators only:
# wrk for saturation, oha (open loop, latency-corrected) for percentiles at fixed rates.
#
#   scripts/bench-real.sh                 # memory, sled, and Postgres when the URL is set
#   BENCH_STORES="sled" scripts/bench-real.sh
#
# Environment: INTENTGATE_TEST_POSTGRES_URL (a server where a scratch database may be
# created), BENCH_SECS (saturation seconds, 8), BENCH_RATES ("2000"), BENCH_PG_RATES
# ("2000 5000"), BENCH_NO_BUDGET (non-empty: a token without a budget; the max_calls check
# across replicas still mints its own). Prints a markdown table plus, per store: audit
# events per commit round, the gateway's CPU per call, Postgres transactions and (a
# local server's) CPU per call, how much of the machine sat idle during the saturation
# run (idle cores mean calls wait on something other than CPU), and the gateway's RSS
# idle and after load; and for Postgres, what one statement and one commit take on
# their own (pgbench).
# BENCH_AB="VAR=value ..." runs each store twice, as configured and with those settings
# added or overriding (e.g. BENCH_AB="INTENTGATE_CHECKPOINT_ENTRIES=0": background
# checkpoints off), each in a fresh data directory (Postgres variants share one database).
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${BENCH_SECS:-8}
RATES=${BENCH_RATES:-2000}
PG_RATES=${BENCH_PG_RATES:-2000 5000}
STORES=${BENCH_STORES:-memory sled postgres}
UPSTREAM_PORT=19100
GATEWAY_PORT=19101
FLOOR_PORT=19102

command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 2; }
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh

start_demo $UPSTREAM_PORT
mint_call_script

saturate() { # url → req/s
    wrk -t1 -c32 -d"${SECS}s" -s "$work/call.lua" "$1" | awk '/^Requests\/sec/ {printf "%.0f", $2}'
}
percentiles() { open_loop "$1" "$2" 6; } # url rate
rss_mb() { awk '/^VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
pg_ticks() { # every process named postgres on this machine (0 when the server is elsewhere)
    local sum=0 pid
    for pid in $(pgrep -x postgres || true); do
        sum=$((sum + $(cpu_ticks "$pid" 2>/dev/null || echo 0)))
    done
    echo "$sum"
}
idle_ticks() { awk '/^cpu / {print $5 + $6; exit}' /proc/stat; } # idle + iowait, all cores
cores=$(grep -c '^cpu[0-9]' /proc/stat) # what /proc/stat counts, whatever the affinity
per_call() { # clock ticks → µs per call of the last saturation run ($rps)
    awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v r="$rps" -v s="$SECS" \
        'BEGIN {printf "%.0f", r ? t / hz * 1e6 / (r * s) : 0}'
}

pg_db=""
if [[ -n "${INTENTGATE_TEST_POSTGRES_URL:-}" ]]; then
    pg_db="ig_bench_real_$$"
    scratch_database "$pg_db"
    GATEWAY_PG_URL=$SCRATCH_URL
fi
pg_xacts() { psql -qtA "$INTENTGATE_TEST_POSTGRES_URL" -c \
    "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$pg_db'"; }
# What the server takes on its own, before the gateway adds anything: a forwarded call
# on Postgres waits for three round trips in turn (its budget count, the decision's
# audit round and the outcome's, the two audit rounds each a durable commit); two
# under BENCH_NO_BUDGET.
pg_floor() { # → "SELECT 1 in X ms, a one-row commit in Y ms"
    command -v pgbench >/dev/null || { echo "not measured (no pgbench)"; return; }
    psql -q "$GATEWAY_PG_URL" -c "CREATE TABLE bench_floor (n BIGINT)" || { echo "not measured"; return; }
    echo 'SELECT 1;' >"$work/select1.sql"
    echo 'INSERT INTO bench_floor VALUES (1);' >"$work/commit1.sql"
    latency() { pgbench -n -c1 -T3 -M prepared -f "$1" "$GATEWAY_PG_URL" 2>&1 |
        awk '/^latency average/ {print $4; found=1} END {if (!found) print "(pgbench failed)"}'; }
    echo "SELECT 1 in $(latency "$work/select1.sql") ms, a one-row commit in $(latency "$work/commit1.sql") ms"
    psql -q "$GATEWAY_PG_URL" -c "DROP TABLE bench_floor" || true
}

direct_url=$UPSTREAM_URL
notes=()
[[ -n ${BENCH_NO_BUDGET:-} ]] && notes+=("a token without a budget (BENCH_NO_BUDGET): no call counted")
if [[ -n $pg_db && " $STORES " == *" postgres "* ]]; then
    notes+=("Postgres round trips (pgbench, one client, 3 s each): $(pg_floor)")
fi
wrk -t1 -c8 -d1s -s "$work/call.lua" "$direct_url" >/dev/null
# The machine's speed drifts during a run (shared cores): each gateway row is compared
# with the tool server measured directly just before it.
echo "| target | saturation, wrk -c32 | direct just before | share of direct | p50 / p99 / p99.9 (open loop, oha) |"
echo "|---|---|---|---|---|"
row="| demo tool server, direct | $(saturate "$direct_url") req/s | | 1.00 |"
for r in $RATES; do row+=" $(percentiles "$direct_url" "$r") at $r |"; done
echo "$row"
# The forwarding floor: a bare proxy (hyper's client) that checks and records nothing.
if [[ -x $FLOOR ]]; then
    FLOOR_ADDR=127.0.0.1:$FLOOR_PORT FLOOR_UPSTREAM=$direct_url "$FLOOR" &
    floor=$!
    pids+=("$floor")
    sleep 0.3
    direct=$(saturate "$direct_url")
    t0=$(cpu_ticks "$floor")
    rps=$(saturate "http://127.0.0.1:$FLOOR_PORT/")
    floor_cpu=$(per_call $(($(cpu_ticks "$floor") - t0)))
    row="| bare forwarding proxy (forward_floor) | $rps req/s | $direct req/s | $(awk -v a="$rps" -v b="$direct" 'BEGIN {printf "%.2f", a/b}') |"
    # What one forwarding hop alone adds to the tail, for the gateway rows to be read against.
    for r in $RATES; do row+=" $(percentiles "http://127.0.0.1:$FLOOR_PORT/" "$r") at $r |"; done
    echo "$row"
    notes+=("bare forwarding proxy: $floor_cpu µs of CPU per call")
    kill "$floor"; wait "$floor" 2>/dev/null || true
fi

variants=("")
[[ -n ${BENCH_AB:-} ]] && variants+=("$BENCH_AB")
for store in $STORES; do
  for variant in "${variants[@]}"; do
    if [[ $store == postgres && -z $pg_db ]]; then
        echo "postgres skipped: set INTENTGATE_TEST_POSTGRES_URL" >&2; continue
    fi
    # shellcheck disable=SC2086 # the variant's settings, split on purpose
    start_gateway "$store" "$GATEWAY_PORT" $variant
    gw=$gateway_pid
    url=http://127.0.0.1:$GATEWAY_PORT/v1/mcp
    idle=$(rss_mb "$gw")
    wrk -t1 -c8 -d1s -s "$work/call.lua" "$url" >/dev/null
    read -r ev0 rounds0 < <(metric_sum "$GATEWAY_PORT" intentgate_gateway_audit_batch_size)
    x0=$([[ $store == postgres ]] && pg_xacts || echo 0)
    direct=$(saturate "$direct_url")
    t0=$(cpu_ticks "$gw") p0=$(pg_ticks) i0=$(idle_ticks)
    rps=$(saturate "$url")
    t1=$(cpu_ticks "$gw") p1=$(pg_ticks) i1=$(idle_ticks)
    x1=$([[ $store == postgres ]] && pg_xacts || echo 0)
    read -r ev1 rounds1 < <(metric_sum "$GATEWAY_PORT" intentgate_gateway_audit_batch_size)
    loaded=$(rss_mb "$gw")
    row="| gateway, $store${variant:+ ($variant)} | $rps req/s | $direct req/s | $(awk -v a="$rps" -v b="$direct" 'BEGIN {printf "%.2f", a/b}') |"
    rates=$RATES
    [[ $store == postgres ]] && rates=$PG_RATES
    for r in $rates; do row+=" $(percentiles "$url" "$r") at $r |"; done
    echo "$row"
    calls=$(awk -v e0="$ev0" -v e1="$ev1" 'BEGIN {print (e1-e0)/2}') # two events per forwarded call
    note="$store${variant:+ ($variant)}: $(awk -v e="$((${ev1%.*} - ${ev0%.*}))" -v r="$((${rounds1%.*} - ${rounds0%.*}))" \
        'BEGIN {printf "%.1f audit events per commit round", r ? e/r : 0}')"
    if [[ $store == postgres ]]; then
        note+=", $(awk -v x="$((x1 - x0))" -v c="$calls" 'BEGIN {printf "%.2f", c ? x/c : 0}') transactions per call"
    fi
    note+=", $(per_call $((t1 - t0))) µs of gateway CPU per call"
    if [[ $store == postgres ]]; then
        note+=", $(per_call $((p1 - p0))) µs of Postgres server CPU per call"
    fi
    note+=", cores idle $(awk -v i="$((i1 - i0))" -v hz="$(getconf CLK_TCK)" -v s="$SECS" \
        -v n="$cores" 'BEGIN {printf "%.0f", 100 * i / hz / (s * n)}') % of the run"
    note+=", RSS idle $idle MB, after load $(rss_mb "$gw") MB (peak $(awk '/^VmHWM/ {printf "%.0f", $2/1024}' "/proc/$gw/status") MB)"
    notes+=("$note")
    kill "$gw"; wait "$gw" 2>/dev/null || true
    : "$loaded"
  done
done
echo
printf -- '- %s\n' "${notes[@]}"

# Two replicas on one Postgres: combined saturation (16 connections each, at once), then a
# budget of $LIMIT calls spent through both at once must admit exactly $LIMIT.
if [[ -n $pg_db && " $STORES " == *" postgres "* ]]; then
    LIMIT=500
    start_gateway postgres $GATEWAY_PORT
    start_gateway postgres $((GATEWAY_PORT + 1))
    both() { # lua-script seconds → combined req/s
        wrk -t1 -c16 -d"$2s" -s "$1" "http://127.0.0.1:$GATEWAY_PORT/v1/mcp" >"$work/wrk-a" &
        local first=$!
        wrk -t1 -c16 -d"$2s" -s "$1" "http://127.0.0.1:$((GATEWAY_PORT + 1))/v1/mcp" >"$work/wrk-b"
        wait "$first"
        cat "$work/wrk-a" "$work/wrk-b" | awk '/^Requests\/sec/ {s += $2} END {printf "%.0f", s}'
    }
    echo "two replicas on one Postgres: $(both "$work/call.lua" "$SECS") req/s combined"
    limited=$("$BIN/igctl" mint --master-key "$KEY" --subject bench-agent --tenant bench \
        --tools read_invoice --max-calls $LIMIT --ttl 1h)
    jti=$("$BIN/igctl" decode "$limited" | python3 -c 'import json,sys; print(json.load(sys.stdin)["jti"])')
    sed "s|Bearer $TOKEN|Bearer $limited|" "$work/call.lua" >"$work/limited.lua"
    both "$work/limited.lua" 4 >/dev/null
    admitted=$(psql -qtA "$GATEWAY_PG_URL" -c \
        "SELECT count(*) FROM audit_events WHERE capability_token_id = '$jti'
         AND check_stage = 'upstream' AND decision = 'allow'")
    refused=$(psql -qtA "$GATEWAY_PG_URL" -c \
        "SELECT count(*) FROM audit_events WHERE capability_token_id = '$jti' AND check_stage = 'budget'")
    echo "max_calls=$LIMIT through both replicas: $admitted forwarded, $refused refused by the budget"
    [[ $admitted == "$LIMIT" ]] || { echo "max_calls was not exact across replicas" >&2; exit 1; }
fi
