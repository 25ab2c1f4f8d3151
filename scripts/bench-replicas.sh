#!/usr/bin/env bash
# Two gateway replicas on one Postgres database writing one tenant's chain: both
# saturated at once (wrk -c16 each), then their combined throughput and what the
# database did meanwhile: transactions committed and rolled back (a rolled back one is
# mostly an append that lost the race for the chain's head), and audit records written.
# The replicas run as every benchmark's gateway does (bench-common.sh), metrics on.
#
#   INTENTGATE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test scripts/bench-replicas.sh
#   BENCH_BIN=/path/to/other/build scripts/bench-replicas.sh     # before/after
#
# Environment: INTENTGATE_TEST_POSTGRES_URL (a server where a scratch database may be
# created), BENCH_SECS (8), BENCH_BIN (another build's binaries), BENCH_NO_BUDGET
# (non-empty: a token without a budget, so no call is counted).
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${BENCH_SECS:-8}
UPSTREAM_PORT=19110
PORTS=(19111 19112)
: "${INTENTGATE_TEST_POSTGRES_URL:?set INTENTGATE_TEST_POSTGRES_URL}"
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 2; }
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh

db="ig_bench_replicas_$$"
scratch_database "$db"
GATEWAY_PG_URL=$SCRATCH_URL
xacts() { psql -qtA "$INTENTGATE_TEST_POSTGRES_URL" -c \
    "SELECT xact_commit || ' ' || xact_rollback FROM pg_stat_database WHERE datname = '$db'"; }

start_demo $UPSTREAM_PORT
mint_call_script
for port in "${PORTS[@]}"; do start_gateway postgres "$port"; done

read -r commits0 rollbacks0 < <(xacts)
wrk -t1 -c16 -d"${SECS}s" -s "$work/call.lua" "http://127.0.0.1:${PORTS[0]}/v1/mcp" >"$work/wrk-a" &
first=$!
wrk -t1 -c16 -d"${SECS}s" -s "$work/call.lua" "http://127.0.0.1:${PORTS[1]}/v1/mcp" >"$work/wrk-b"
wait "$first"
sleep 1 # the statistics reach pg_stat_database within a second
read -r commits1 rollbacks1 < <(xacts)
rps=$(cat "$work/wrk-a" "$work/wrk-b" | awk '/^Requests\/sec/ {s += $2} END {printf "%.0f", s}')
records=$(psql -qtA "$GATEWAY_PG_URL" -c "SELECT count(*) FROM audit_events")
echo "two replicas, one chain: $rps req/s combined; $((commits1 - commits0)) transactions" \
    "committed, $((rollbacks1 - rollbacks0)) rolled back;" \
    "$records audit records${BENCH_NO_BUDGET:+ (a token without a budget)}"
