#!/usr/bin/env bash
# MCP interop harness: stock official MCP SDK clients against stock official MCP SDK
# (Python) servers, either directly (--direct, the baseline) or through the IntentGate
# gateway (--gateway, the default). See README.md beside this file.
#
#   tests/mcp_interop/run.sh [--direct|--gateway] [--clients "a b"] [--modes "x y"]
#                            [--install-only] [--list]
#
# Environment:
#   MCP_INTEROP_CACHE   install + run directory   (default: <repo>/target/mcp-interop)
#   INTENTGATE_BIN      gateway binary            (default: <repo>/target/debug/intentgate)
#   IGCTL_BIN           igctl binary              (default: <repo>/target/debug/igctl)
#   MCP_INTEROP_CLIENT_TIMEOUT  seconds per client run (default: 60)
#   MCP_INTEROP_TOTAL_BUDGET    seconds for all cells; cells after it are FAIL, not run (default: 600)
#
# Exit status: 0 when every applicable cell passed, 1 when any failed, 2 on setup errors.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE="${MCP_INTEROP_CACHE:-$REPO/target/mcp-interop}"
INTENTGATE_BIN="${INTENTGATE_BIN:-$REPO/target/debug/intentgate}"
IGCTL_BIN="${IGCTL_BIN:-$REPO/target/debug/igctl}"
CLIENT_TIMEOUT="${MCP_INTEROP_CLIENT_TIMEOUT:-60}"
TOTAL_BUDGET="${MCP_INTEROP_TOTAL_BUDGET:-600}" # seconds for all cells; later cells are not run
SERVICE_LIFETIME=900 # hard cap on any server this script starts, should the trap not run

ALL_MODES="stateless-json stateless-sse stateful-json stateful-sse stateful-sse-resumable"
ALL_CLIENTS="py-1.30.0 py-2.3.0-auto py-2.3.0-legacy py-2.3.0-pin2026 ts-sdk-1.32.2 ts-client-2.3.1 ts-client-2.3.1-auto ts-client-2.3.1-pin2026"

TARGET=gateway
MODES="$ALL_MODES"
CLIENTS="$ALL_CLIENTS"
INSTALL_ONLY=0

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "run.sh: $*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --direct) TARGET=direct ;;
    --gateway) TARGET=gateway ;;
    --clients) CLIENTS="${2:?--clients needs a list}"; shift ;;
    --modes) MODES="${2:?--modes needs a list}"; shift ;;
    --install-only) INSTALL_ONLY=1 ;;
    --list) echo "clients: $ALL_CLIENTS"; echo "modes:   $ALL_MODES"; exit 0 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
  shift
done
for c in $CLIENTS; do [[ " $ALL_CLIENTS " == *" $c "* ]] || die "unknown client $c (try --list)"; done
for m in $MODES; do [[ " $ALL_MODES " == *" $m "* ]] || die "unknown mode $m (try --list)"; done

# ---------------------------------------------------------------------------------------
# Child processes: every one is recorded and killed (by pid) on exit.
PIDS=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.3
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stop_pid() { # stop one child and forget it
  local pid="$1" keep=() p
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [[ "$p" != "$pid" ]] && keep+=("$p"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
}

# ---------------------------------------------------------------------------------------
# Installs: pinned, into the cache, once (a stamp holds the hash of the pin file).
hash_of() { sha256sum "$@" | sha256sum | cut -c1-16; }

install_venv() { # name requirements-file
  local dir="$CACHE/$1" req="$HERE/$2" stamp want
  want="$(hash_of "$req")"
  stamp="$dir/.interop-stamp"
  if [[ -x "$dir/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "  $1: up to date ($(grep -E '^mcp==' "$req"))"
    return
  fi
  echo "  $1: installing $(grep -E '^mcp==' "$req") into $dir"
  rm -rf "$dir"
  timeout 120 python3 -m venv "$dir"
  timeout 600 "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" \
    >"$CACHE/install-$1.log" 2>&1 || { tail -20 "$CACHE/install-$1.log" >&2; die "pip install failed for $1"; }
  echo "$want" >"$stamp"
}

install_node() {
  local dir="$CACHE/node" want
  want="$(hash_of "$HERE/package.json" "$HERE/package-lock.json")"
  if [[ -d "$dir/node_modules/@modelcontextprotocol/sdk" && -f "$dir/.interop-stamp" && "$(cat "$dir/.interop-stamp")" == "$want" ]]; then
    echo "  node: up to date (@modelcontextprotocol/sdk, @modelcontextprotocol/client as locked)"
  else
    echo "  node: npm ci into $dir"
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$HERE/package.json" "$HERE/package-lock.json" "$dir/"
    (cd "$dir" && timeout 600 npm ci --no-audit --no-fund >"$CACHE/install-node.log" 2>&1) \
      || { tail -20 "$CACHE/install-node.log" >&2; die "npm ci failed"; }
    echo "$want" >"$dir/.interop-stamp"
  fi
  # ESM resolves packages from the script's own folder: keep the script beside node_modules.
  cp "$HERE/client.mjs" "$dir/client.mjs"
}

command -v python3 >/dev/null || die "python3 not found"
command -v node >/dev/null || die "node not found"
command -v npm >/dev/null || die "npm not found"
command -v curl >/dev/null || die "curl not found"
mkdir -p "$CACHE"
echo "== install (cache: $CACHE)"
install_venv py-mcp2 requirements-mcp2.txt
install_venv py-mcp1 requirements-mcp1.txt
install_node
[[ $INSTALL_ONLY == 1 ]] && exit 0

# ---------------------------------------------------------------------------------------
RUN="$CACHE/runs/$(date +%Y%m%d-%H%M%S)-$TARGET-$$"
CELLS="$RUN/cells"
mkdir -p "$CELLS"
ln -sfn "$RUN" "$CACHE/runs/latest-$TARGET"
RESULTS="$RUN/results.tsv"
: >"$RESULTS"
echo "== run: $TARGET, logs in $RUN"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_http() { # url seconds pid
  local url="$1" secs="$2" pid="$3" i
  for ((i = 0; i < secs * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || return 1
    curl -fsS -m 2 -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

if [[ $TARGET == gateway ]]; then
  [[ -x "$INTENTGATE_BIN" ]] || die "gateway binary not found: $INTENTGATE_BIN (build it, or set INTENTGATE_BIN)"
  [[ -x "$IGCTL_BIN" ]] || die "igctl binary not found: $IGCTL_BIN (set IGCTL_BIN)"
  MASTER_KEY="$(timeout 20 "$IGCTL_BIN" gen-key)" || die "igctl gen-key failed"
  TOKEN="$(timeout 20 "$IGCTL_BIN" mint --master-key "$MASTER_KEY" --subject interop-agent \
    --tools read_invoice,slow_count --ttl 1h)" || die "igctl mint failed"
  EXPECT_TOOLS="read_invoice,slow_count"
  SEND_EMAIL=deny
  echo "  token: minted for subject interop-agent, tools read_invoice,slow_count, ttl 1h"
else
  TOKEN="interop-direct-token"
  EXPECT_TOOLS="read_invoice,send_email,slow_count"
  SEND_EMAIL=allow
fi

client_cmd() { # client url progress_min -> CMD array
  local c="$1" url="$2" pmin="$3"
  local common=(--url "$url" --token "$TOKEN" --expect-tools "$EXPECT_TOOLS" --send-email "$SEND_EMAIL" --progress-min "$pmin" --n 5)
  case "$c" in
    py-1.30.0) CMD=("$CACHE/py-mcp1/bin/python" "$HERE/client.py" "${common[@]}" --mode legacy) ;;
    py-2.3.0-auto) CMD=("$CACHE/py-mcp2/bin/python" "$HERE/client.py" "${common[@]}" --mode auto) ;;
    py-2.3.0-legacy) CMD=("$CACHE/py-mcp2/bin/python" "$HERE/client.py" "${common[@]}" --mode legacy) ;;
    py-2.3.0-pin2026) CMD=("$CACHE/py-mcp2/bin/python" "$HERE/client.py" "${common[@]}" --mode 2026-07-28) ;;
    ts-sdk-1.32.2) CMD=(node "$CACHE/node/client.mjs" --sdk v1 "${common[@]}") ;;
    ts-client-2.3.1) CMD=(node "$CACHE/node/client.mjs" --sdk v2 "${common[@]}" --negotiation legacy) ;;
    ts-client-2.3.1-auto) CMD=(node "$CACHE/node/client.mjs" --sdk v2 "${common[@]}" --negotiation auto) ;;
    ts-client-2.3.1-pin2026) CMD=(node "$CACHE/node/client.mjs" --sdk v2 "${common[@]}" --negotiation 2026-07-28) ;;
    *) die "no command for client $c" ;;
  esac
}

record() { # client mode status short reason
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$RESULTS"
}

lines_of() { if [[ -f "$1" ]]; then wc -l <"$1"; else echo 0; fi; }

START=$SECONDS
for mode in $MODES; do
  pmin=1
  [[ $mode == *-json ]] && pmin=0
  up_log="$RUN/upstream-$mode.requests.jsonl"
  : >"$up_log"
  port_file="$RUN/upstream-$mode.port"
  timeout -k 5 "$SERVICE_LIFETIME" "$CACHE/py-mcp2/bin/python" "$HERE/server.py" --mode "$mode" --port 0 \
    --port-file "$port_file" --log "$up_log" >"$RUN/upstream-$mode.log" 2>&1 &
  up_pid=$!
  PIDS+=("$up_pid")
  up_ok=0
  for _ in $(seq 1 100); do
    [[ -s "$port_file" ]] && break
    kill -0 "$up_pid" 2>/dev/null || break
    sleep 0.2
  done
  if [[ -s "$port_file" ]] && wait_http "http://127.0.0.1:$(cat "$port_file")/healthz" 20 "$up_pid"; then up_ok=1; fi
  if [[ $up_ok != 1 ]]; then
    reason="upstream $mode did not start: $(tail -3 "$RUN/upstream-$mode.log" | tr '\n\t' '  ')"
    for c in $CLIENTS; do record "$c" "$mode" FAIL "" "$reason"; done
    stop_pid "$up_pid"
    continue
  fi
  up_port="$(cat "$port_file")"
  url="http://127.0.0.1:$up_port/mcp"
  gw_log=""
  gw_pid=""

  if [[ $TARGET == gateway ]]; then
    gw_port="$(free_port)"
    gw_log="$RUN/gateway-$mode.log"
    mkdir -p "$RUN/gw-data-$mode"
    (
      cd "$RUN/gw-data-$mode"
      exec env INTENTGATE_STORE=memory \
        INTENTGATE_DATA_DIR="$RUN/gw-data-$mode" \
        INTENTGATE_ADDR="127.0.0.1:$gw_port" \
        INTENTGATE_UPSTREAM_URL="$url" \
        INTENTGATE_MASTER_KEY="$MASTER_KEY" \
        INTENTGATE_REQUIRE_CAPABILITY=true \
        INTENTGATE_AUDIT_TARGET=none \
        INTENTGATE_POLICY_FILE="$HERE/policy_interop.rego" \
        timeout -k 5 "$SERVICE_LIFETIME" "$INTENTGATE_BIN"
    ) >"$gw_log" 2>&1 &
    gw_pid=$!
    PIDS+=("$gw_pid")
    if ! wait_http "http://127.0.0.1:$gw_port/healthz" 30 "$gw_pid"; then
      reason="gateway did not start: $(tail -3 "$gw_log" | tr '\n\t' '  ')"
      for c in $CLIENTS; do record "$c" "$mode" FAIL "" "$reason"; done
      stop_pid "$gw_pid"
      stop_pid "$up_pid"
      continue
    fi
    url="http://127.0.0.1:$gw_port/v1/mcp"
  fi

  echo "-- upstream $mode on :$up_port${gw_pid:+ via gateway :$gw_port}"
  for c in $CLIENTS; do
    cell="$CELLS/${c}__${mode}"
    if ((SECONDS - START > TOTAL_BUDGET)); then
      record "$c" "$mode" FAIL "" "not run: MCP_INTEROP_TOTAL_BUDGET (${TOTAL_BUDGET}s) used up"
      continue
    fi
    client_cmd "$c" "$url" "$pmin"
    up_before="$(lines_of "$up_log")"
    gw_before=0
    [[ -n "$gw_log" ]] && gw_before="$(lines_of "$gw_log")"
    t0=$SECONDS
    set +e
    timeout -k 5 "$CLIENT_TIMEOUT" "${CMD[@]}" >"$cell.out" 2>"$cell.err" </dev/null
    rc=$?
    set -e
    sleep 0.2 # let the last request (a DELETE) reach the logs
    tail -n +"$((up_before + 1))" "$up_log" >"$cell.upstream.jsonl" || true
    [[ -n "$gw_log" ]] && { tail -n +"$((gw_before + 1))" "$gw_log" >"$cell.gateway.log" || true; }
    IFS=$'\x1f' read -r status short reason < <(python3 "$HERE/report.py" cell "$cell.out" "$cell.err" "$rc")
    reason="${reason//$'\t'/ }"
    record "$c" "$mode" "$status" "$short" "$reason"
    printf '   %-24s %-4s %3ss  %s\n' "$c" "$status" "$((SECONDS - t0))" "$([[ $status == PASS ]] && echo "$short" || echo "${reason:0:150}")"
  done

  [[ -n "$gw_pid" ]] && stop_pid "$gw_pid"
  stop_pid "$up_pid"
done

echo
python3 "$HERE/report.py" headers "$CELLS" >"$RUN/headers.txt" || true
set +e
python3 "$HERE/report.py" matrix "$RESULTS" "$CLIENTS" "$MODES" \
  "== MCP interop matrix, target: $TARGET$([[ $TARGET == gateway ]] && echo " ($INTENTGATE_BIN)")" | tee "$RUN/matrix.txt"
status=${PIPESTATUS[0]}
set -e
echo "(${SECONDS}s; $((SECONDS - START))s for the cells) per-cell stdout/stderr and upstream request logs: $CELLS"
echo "request headers the upstream saw, per cell: $RUN/headers.txt"
exit "$status"
