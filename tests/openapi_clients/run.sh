#!/usr/bin/env bash
# Proves that the OpenAPI document the gateway serves tells the truth, with generators and a
# fuzzer we did not write. Stages (each one a unit of the final "N passed, M failed"):
#   openapi-sync   GET /openapi.json of the running binary equals openapi/openapi.json
#   schemathesis   (a) schemathesis --checks all over every operation, bounded, seeded
#   python-client  (b) openapi-python-client generates a client; scenario.py drives every
#                      operation through it, no hand edits
#   typescript     (c) openapi-typescript types + openapi-fetch; scenario.ts must pass
#                      `tsc --strict --noEmit`, then runs the same calls
# Each stage gets a fresh gateway (memory store) seeded the same way, so what one stage
# changes (a fuzzer promoting a draft, a scenario's rollback) cannot decide another's result.
# Tools are pinned (requirements.txt, package.json + package-lock.json) and installed once
# into $OPENAPI_CLIENTS_CACHE; generated code and reports live there too, never in git.
# Usage: tests/openapi_clients/run.sh   (see README.md beside this file)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${OPENAPI_CLIENTS_CACHE:-$REPO/target/openapi-clients}
BIN=${INTENTGATE_BIN:-$REPO/target/debug/intentgate}
IGCTL=${IGCTL_BIN:-$(dirname "$BIN")/igctl}
PYTHON=${OPENAPI_CLIENTS_PYTHON:-python3}
ST_MAX_EXAMPLES=${ST_MAX_EXAMPLES:-50}
ST_SEED=${ST_SEED:-20261205}
ST_WALL_S=${ST_WALL_S:-240}
TENANT=acme

# The gateway reads INTENTGATE_* at startup: nothing from the caller's environment leaks in.
for var in $(compgen -e | grep '^INTENTGATE_' || true); do unset "$var"; done

mkdir -p "$CACHE"
RUN=$CACHE/run
VENV=$CACHE/venv
TS=$CACHE/ts
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    timeout 10 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Children that may still run; a child is dropped from the list once reaped, so the trap
# never signals a process id the system may have handed to someone else since.
forget() {
  local keep=() pid
  for pid in "${PIDS[@]}"; do
    [[ $pid == "$1" ]] || keep+=("$pid")
  done
  PIDS=("${keep[@]}")
}

say() { printf '%s\n' "$*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# Runs a command in the background, bounded, and waits for it (so INT/TERM reach the trap
# at once): run_bounded SECONDS LOGFILE command...
run_bounded() {
  local secs=$1 log=$2
  shift 2
  timeout --kill-after=5 "$secs" "$@" >"$log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  local rc=0
  wait "$pid" || rc=$?
  forget "$pid"
  return "$rc"
}

sha() { cat "$@" | sha256sum | cut -d' ' -f1; }

# One run at a time per cache directory.
exec 9>"$CACHE/.lock"
if ! flock -w 600 9; then
  say "another run holds $CACHE/.lock for more than 600s"
  exit 1
fi

# ---- pinned tools, installed once ----------------------------------------------------------

install_python() {
  local want
  want=$(sha "$HERE/requirements.txt" <("$PYTHON" -c 'import sys; print(sys.version)'))
  if [[ -x $VENV/bin/python && "$(cat "$VENV/.pins" 2>/dev/null)" == "$want" ]]; then
    return 0
  fi
  say "installing the Python tools (requirements.txt changed or first run) into $VENV"
  rm -rf "$VENV"
  timeout 120 "$PYTHON" -m venv "$VENV"
  timeout 900 "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input --no-deps \
    -r "$HERE/requirements.txt"
  timeout 120 "$VENV/bin/pip" check
  printf '%s' "$want" >"$VENV/.pins"
}

install_node() {
  local want
  want=$(sha "$HERE/package.json" "$HERE/package-lock.json" <(node --version))
  if [[ -d $TS/node_modules && "$(cat "$TS/.pins" 2>/dev/null)" == "$want" ]]; then
    return 0
  fi
  say "installing the npm tools (package-lock.json changed or first run) into $TS"
  rm -rf "$TS"
  mkdir -p "$TS"
  cp "$HERE/package.json" "$HERE/package-lock.json" "$TS/"
  # --ignore-scripts: none of the pinned packages needs an install script.
  (cd "$TS" && timeout 900 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  printf '%s' "$want" >"$TS/.pins"
}

t0=$(now)
install_python
install_node
PY=$VENV/bin/python
HARNESS=("$PY" "$HERE/harness.py")
say "tools: schemathesis $("$VENV/bin/schemathesis" --version | awk '{print $NF}'), openapi-python-client $("$VENV/bin/openapi-python-client" --version | awk '{print $NF}'), openapi-typescript $(node -p "require('$TS/node_modules/openapi-typescript/package.json').version"), openapi-fetch $(node -p "require('$TS/node_modules/openapi-fetch/package.json').version"), typescript $(node -p "require('$TS/node_modules/typescript/package.json').version"), node $(node --version) ($(since "$t0"))"

rm -rf "$RUN"
mkdir -p "$RUN"

for exe in "$BIN" "$IGCTL"; do
  if [[ ! -x $exe ]]; then
    say "missing binary $exe (build it, or set INTENTGATE_BIN / IGCTL_BIN)"
    say "0 passed, 4 failed"
    exit 1
  fi
done

# ---- the gateway ------------------------------------------------------------------------------

ADMIN_TOKEN=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(24))')
TENANT_TOKEN=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(24))')
MASTER_KEY=$(timeout 10 "$IGCTL" gen-key)
export IG_ADMIN_TOKEN=$ADMIN_TOKEN IG_TENANT_TOKEN=$TENANT_TOKEN IG_TENANT=$TENANT
GW_PID=
URL=

# start_gateway NAME: a fresh gateway on a free loopback port, ready and seeded.
start_gateway() {
  local name=$1 port
  port=$("${HARNESS[@]}" free-port)
  URL=http://127.0.0.1:$port
  mkdir -p "$RUN/data-$name"
  INTENTGATE_STORE=memory \
    INTENTGATE_DATA_DIR="$RUN/data-$name" \
    INTENTGATE_ADDR=127.0.0.1:$port \
    INTENTGATE_ADMIN_TOKEN=$ADMIN_TOKEN \
    INTENTGATE_TENANT_ADMINS=$TENANT:$TENANT_TOKEN \
    INTENTGATE_MASTER_KEY=$MASTER_KEY \
    INTENTGATE_AUDIT_TARGET=none \
    INTENTGATE_APPROVALS_BACKEND=memory \
    INTENTGATE_APPROVAL_TIMEOUT_S=20 \
    INTENTGATE_POLICY_FILE="$HERE/policy.rego" \
    RUST_LOG=warn \
    "$BIN" serve >"$RUN/gateway-$name.log" 2>&1 &
  GW_PID=$!
  PIDS+=("$GW_PID")
  if ! timeout 40 "${HARNESS[@]}" wait-ready "$URL" 30 ||
    ! run_bounded 60 "$RUN/seed-$name.log" "${HARNESS[@]}" seed "$URL" "$RUN/seed-$name.json"; then
    say "gateway ($name) did not start or could not be seeded:"
    tail -n 20 "$RUN/gateway-$name.log" "$RUN/seed-$name.log" 2>/dev/null || true
    return 1
  fi
}

stop_gateway() {
  if [[ -n $GW_PID ]]; then
    kill "$GW_PID" 2>/dev/null || true
    timeout 10 tail --pid="$GW_PID" -f /dev/null 2>/dev/null || kill -9 "$GW_PID" 2>/dev/null || true
    wait "$GW_PID" 2>/dev/null || true
    forget "$GW_PID"
    GW_PID=
  fi
}

PASSED=0
FAILED=0
SUMMARY=()
record() { # record STAGE RC DURATION DETAIL
  if [[ $2 -eq 0 ]]; then
    PASSED=$((PASSED + 1))
    SUMMARY+=("stage $1: PASS ($3) $4")
  else
    FAILED=$((FAILED + 1))
    SUMMARY+=("stage $1: FAIL ($3) $4")
  fi
  say "${SUMMARY[-1]}"
}

DOC=$RUN/openapi.json

# ---- openapi-sync + (a) schemathesis ------------------------------------------------------------

t=$(now)
if start_gateway schemathesis && timeout 20 "${HARNESS[@]}" fetch "$URL/openapi.json" "$DOC"; then
  rc=0
  timeout 20 "${HARNESS[@]}" compare-docs "$DOC" "$REPO/openapi/openapi.json" >"$RUN/openapi-sync.log" 2>&1 || rc=$?
  cat "$RUN/openapi-sync.log"
  record openapi-sync "$rc" "$(since "$t")" "- GET /openapi.json vs openapi/openapi.json"

  t=$(now)
  mkdir -p "$RUN/schemathesis"
  rc=0
  # GET /v1/mcp is excluded: it is the MCP session's server-to-client event stream. With no
  # tool server (this harness runs the stub upstream) it has nothing to offer and always
  # answers 405; with one it streams until the session ends. Neither gives a fuzzer a
  # request it could judge; tests/api/mcp_transport.rs covers the route. Everything else
  # is fuzzed, including the data plane (with a capability token minted while seeding).
  # One worker: with two, hypothesis' source inspection raced ("AST constructor recursion
  # depth mismatch" runtime errors), and one is fast enough.
  IG_CAP_TOKEN=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["capability_token"])' "$RUN/seed-schemathesis.json")
  export IG_CAP_TOKEN
  run_bounded "$ST_WALL_S" "$RUN/schemathesis/cli.txt" \
    env -C "$RUN/schemathesis" \
    "$VENV/bin/schemathesis" --config-file "$HERE/schemathesis.toml" run "$URL/openapi.json" \
    --checks all \
    --exclude-name 'GET /v1/mcp' \
    --max-examples "$ST_MAX_EXAMPLES" \
    --continue-on-failure \
    --seed "$ST_SEED" \
    --generation-database none \
    --workers 1 \
    --request-timeout 30 \
    --no-color \
    --report junit,ndjson \
    --report-dir "$RUN/schemathesis" || rc=$?
  "${HARNESS[@]}" st-digest "$RUN/schemathesis/cli.txt" >"$RUN/schemathesis/digest.txt" 2>&1 || true
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then
    detail="- stopped after ${ST_WALL_S}s"
  else
    detail="- $(grep -E '^=+ .* in [0-9.]+s =+$' "$RUN/schemathesis/cli.txt" | tail -n1 | tr -d '=' | sed 's/^ *//; s/ *$//')"
  fi
  if [[ $rc -ne 0 ]]; then
    say "schemathesis failures (operation | check | detail | status | body, then a curl to reproduce):"
    sed 's/^/  /' "$RUN/schemathesis/digest.txt"
    say "  full output: $RUN/schemathesis/cli.txt; JUnit and NDJSON reports beside it"
  fi
  record schemathesis "$rc" "$(since "$t")" "$detail"
else
  record openapi-sync 1 "$(since "$t")" "- no document from the gateway"
  record schemathesis 1 "0s" "- not run"
fi
stop_gateway

if [[ ! -s $DOC ]]; then
  record python-client 1 "0s" "- not run: no document"
  record typescript 1 "0s" "- not run: no document"
  say "$PASSED passed, $FAILED failed"
  exit 1
fi

# ---- (b) Python client --------------------------------------------------------------------------

t=$(now)
rc=0
detail=""
PYC=$CACHE/py-client
mkdir -p "$PYC"
# --meta none: the output path is the importable package itself (on PYTHONPATH below).
# ruff (a pinned dependency of the generator) must be on PATH for its post-generation hooks.
if ! run_bounded 120 "$RUN/python-generate.log" \
  env PATH="$VENV/bin:$PATH" "$VENV/bin/openapi-python-client" generate --path "$DOC" --output-path "$PYC/intentgate_client" \
  --overwrite --meta none; then
  rc=1
  detail="- openapi-python-client generate failed"
  cat "$RUN/python-generate.log"
elif start_gateway python; then
  run_bounded 120 "$RUN/python-scenario.log" \
    env PYTHONPATH="$PYC" IG_URL="$URL" IG_PY_CLIENT_PKG=intentgate_client "$PY" "$HERE/scenario.py" || rc=$?
  grep -Ei 'warning' "$RUN/python-generate.log" | sed 's/^/  generator: /' || true
  cat "$RUN/python-scenario.log"
  detail="- $(grep -E '^python scenario: ' "$RUN/python-scenario.log" | tail -n1 || echo 'no result line')"
else
  rc=1
  detail="- gateway did not start"
fi
stop_gateway
record python-client "$rc" "$(since "$t")" "$detail"

# ---- (c) TypeScript ------------------------------------------------------------------------------

t=$(now)
rc=0
detail=""
cp "$HERE/scenario.ts" "$HERE/tsconfig.json" "$TS/"
rm -rf "$TS/build" "$TS/schema.d.ts"
if ! run_bounded 60 "$RUN/ts-generate.log" "$TS/node_modules/.bin/openapi-typescript" "$DOC" -o "$TS/schema.d.ts"; then
  rc=1
  detail="- openapi-typescript failed"
  cat "$RUN/ts-generate.log"
else
  tsc_rc=0
  run_bounded 180 "$RUN/tsc.log" env -C "$TS" "$TS/node_modules/.bin/tsc" -p tsconfig.json --strict --noEmit || tsc_rc=$?
  errors=$(grep -c 'error TS' "$RUN/tsc.log" || true)
  if [[ $tsc_rc -ne 0 ]]; then
    say "tsc --strict --noEmit: $errors errors"
    "${HARNESS[@]}" tsc-annotate "$RUN/tsc.log" "$TS" | head -n 300 | sed 's/^/  /'
  fi
  # Emit even when the type check failed, so the run below still shows what the gateway
  # answers; the stage fails either way.
  run_bounded 180 "$RUN/tsc-emit.log" env -C "$TS" "$TS/node_modules/.bin/tsc" -p tsconfig.json --noEmitOnError false || true
  run_rc=0
  if [[ ! -f $TS/build/scenario.js ]]; then
    run_rc=1
    say "tsc emitted no build/scenario.js"
  elif start_gateway typescript; then
    run_bounded 120 "$RUN/ts-scenario.log" \
      env IG_URL="$URL" IG_POLICY_FILE="$HERE/policy.rego" node "$TS/build/scenario.js" || run_rc=$?
    cat "$RUN/ts-scenario.log"
  else
    run_rc=1
  fi
  stop_gateway
  [[ $tsc_rc -eq 0 && $run_rc -eq 0 ]] || rc=1
  detail="- type check: $([[ $tsc_rc -eq 0 ]] && echo pass || echo "$errors errors"); $(grep -E '^typescript scenario: ' "$RUN/ts-scenario.log" 2>/dev/null | tail -n1 || echo 'scenario: no result line')"
fi
record typescript "$rc" "$(since "$t")" "$detail"

say ""
for line in "${SUMMARY[@]}"; do say "$line"; done
say "reports: $RUN (total $(since "$t0"))"
say "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
