#!/usr/bin/env bash
# Context switches and CPU per forwarded call, per kind of gateway thread: the gateway
# (release build, capability token required, sync audit) in front of the demo tool
# server, saturated by wrk -c32; each thread's counters (/proc/<pid>/task/*) are read
# before and after. Voluntary switches are a thread going to sleep (a lock, a condvar,
# no work); involuntary ones, a thread preempted (on this machine, mostly by the reader
# its own send() just woke). BREAKDOWN=1 also records the switches' stacks with perf and
# sorts them by why the thread stopped (needs perf and a build with symbols).
#
#   scripts/switches-per-call.sh                       # memory store
#   STORE=sled scripts/switches-per-call.sh
#   BREAKDOWN=1 BENCH_BIN=/path/to/other/build scripts/switches-per-call.sh
#
# Environment: STORE (memory), BREAKDOWN, BENCH_BIN (another build's binaries),
# BENCH_NO_BUDGET (non-empty: a token without a budget, so no call is counted).
set -euo pipefail
cd "$(dirname "$0")/.."

STORE=${STORE:-memory}
SECS=${BENCH_SECS:-6}
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 2; }
if [[ -n ${BREAKDOWN:-} ]]; then
    command -v perf >/dev/null || { echo "BREAKDOWN needs perf (apt-get install linux-perf)" >&2; exit 2; }
fi
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh

start_demo 19200
mint_call_script
start_gateway "$STORE" 19201
gw=$gateway_pid
url=http://127.0.0.1:19201/v1/mcp
wrk -t1 -c8 -d1s -s "$work/call.lua" "$url" >/dev/null

threads() { # one line per thread: id name voluntary involuntary cpu-ticks
    for t in /proc/"$gw"/task/*; do
        printf '%s %s %s %s\n' "${t##*/}" "$(tr ' ' _ <"$t/comm")" \
            "$(awk '/^voluntary_ctxt/ {v=$2} /^nonvoluntary_ctxt/ {n=$2} END {print v, n}' "$t/status")" \
            "$(awk '{sub(/.*\) /, ""); print $12 + $13}' "$t/stat")" # utime + stime, after "(name) "
    done
}
threads >"$work/before"
wrk -t1 -c32 -d"${SECS}s" -s "$work/call.lua" "$url" >"$work/wrk"
threads >"$work/after"
rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk")
calls=$(awk '/requests in/ {print $1}' "$work/wrk")
echo "store $STORE: $rps req/s (wrk -c32, ${SECS}s${BENCH_NO_BUDGET:+, a token without a budget})"
# A thread started under load (tokio's blocking pool grows on demand) counts from zero;
# one that ended during the run is not counted.
awk -v calls="$calls" -v hz="$(getconf CLK_TCK)" '
    FNR == NR { v0[$1] = $3; i0[$1] = $4; c0[$1] = $5; next }
    { name = $2; sub(/-[0-9]+$/, "", name); n[name]++
      v[name] += $3 - v0[$1]; i[name] += $4 - i0[$1]; c[name] += $5 - c0[$1] }
    END {
      printf "| threads | voluntary switches per call | involuntary per call | CPU per call |\n|---|---|---|---|\n"
      for (k in n) if (c[k] > 0)
          printf "| %s (%d) | %.3f | %.3f | %.1f µs |\n", k, n[k], v[k] / calls, i[k] / calls, c[k] / hz * 1e6 / calls
    }' "$work/before" "$work/after"
if [[ -n ${BREAKDOWN:-} ]]; then
    # A second run: recording stacks slows the gateway, so the counters above come
    # from a run without it.
    wrk -t1 -c32 -d"$((SECS < 4 ? 4 : SECS))s" -s "$work/call.lua" "$url" >/dev/null &
    load=$!
    pids+=("$load")
    sleep 1
    perf record -q -e sched:sched_switch --call-graph dwarf,16384 -p "$gw" \
        -o "$work/switches.data" -- sleep 2 >/dev/null
    wait "$load"
    echo
    echo "why the threads stopped (perf, sched:sched_switch):"
    perf script -i "$work/switches.data" 2>/dev/null | awk -v RS= '
        /sched_switch/ {
          total++
          if (/lll_lock_wait/) why["asleep on a malloc arena lock"]++
          else if (/exit_to_user_mode|irqentry_exit/) why["preempted"]++
          else if (/epoll_wait/) why["parked in epoll_wait"]++
          else if (/futex/) why["a mutex, condvar or park (futex)"]++
          else why["other"]++
        }
        END { for (k in why) printf "%5.1f %%  %s\n", 100 * why[k] / total, k }' | sort -rn
fi
